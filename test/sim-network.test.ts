import { expect } from 'chai';
import { Network, type Transmission } from '../src/sim/network.js';
import { Rng } from '../src/sim/rng.js';

const opts = { delayMinUs: 100, delayMaxUs: 500, inFlightDrop: 1 };

function arrivals(t: Transmission): readonly number[] {
  return t.kind === 'sent' ? t.arrivals : [];
}

describe('sim: network', () => {
  const seed = 7;
  before(() => console.log(`      seed ${seed}`));

  it('delays each message within the bounds, so messages on one link overtake each other', () => {
    const net = new Network([1, 2], new Rng(seed), opts);
    const times = Array.from({ length: 200 }, (_, i) => arrivals(net.transmit(1, 2, i * 10))[0]!);
    for (const [i, t] of times.entries()) expect(t - i * 10).to.be.within(100, 500);
    const reordered = times.some((t, i) => i > 0 && t < times[i - 1]!);
    expect(reordered, 'some message overtook an earlier one').to.equal(true);
  });

  it('loses and duplicates messages at roughly the configured rates', () => {
    const net = new Network([1, 2, 3], new Rng(seed), opts);
    net.loss = 0.2;
    net.dup = 0.1;
    let lost = 0;
    let dup = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const t = net.transmit(2, 3, 0);
      if (t.kind === 'dropped') {
        expect(t.why).to.equal('loss');
        lost++;
      } else if (t.arrivals.length === 2) dup++;
    }
    expect(lost / n).to.be.within(0.17, 0.23);
    expect(dup / (n - lost)).to.be.within(0.08, 0.12);
  });

  it('full partition: no link between groups, links inside groups stay up', () => {
    const net = new Network([1, 2, 3, 4, 5], new Rng(seed), opts);
    net.partition([[1, 2], [3, 4, 5]]);
    expect(net.transmit(1, 3, 0)).to.deep.equal({ kind: 'dropped', why: 'link down' });
    expect(net.transmit(5, 2, 0)).to.deep.equal({ kind: 'dropped', why: 'link down' });
    expect(net.transmit(1, 2, 0).kind).to.equal('sent');
    expect(net.transmit(4, 3, 0).kind).to.equal('sent');
    expect(net.downLinks()).to.have.length(12);
    net.healAll();
    expect(net.downLinks()).to.deep.equal([]);
    expect(net.transmit(1, 3, 0).kind).to.equal('sent');
  });

  it('one-way partition: A→B down, B→A up', () => {
    const net = new Network([1, 2, 3], new Rng(seed), opts);
    net.oneWay([1], [2, 3]);
    expect(net.isUp(1, 2)).to.equal(false);
    expect(net.isUp(1, 3)).to.equal(false);
    expect(net.isUp(2, 1)).to.equal(true);
    expect(net.isUp(3, 1)).to.equal(true);
    expect(net.isUp(2, 3)).to.equal(true);
  });

  it('partial partition and exact topologies: "leader 3 keeps only its link to 1"', () => {
    const net = new Network([1, 2, 3, 4, 5], new Rng(seed), opts);
    net.isolate(3, [1]);
    for (const other of [2, 4, 5]) {
      expect(net.isUp(3, other)).to.equal(false);
      expect(net.isUp(other, 3)).to.equal(false);
    }
    expect(net.isUp(3, 1) && net.isUp(1, 3)).to.equal(true);
    net.cutLinks([[2, 4], [4, 2]]);
    expect(net.isUp(2, 4) || net.isUp(4, 2)).to.equal(false);
    expect(net.restore(2, 4)).to.equal(true);
    expect(net.restore(2, 4)).to.equal(false);
    expect(net.isUp(2, 4)).to.equal(true);
    expect(net.isUp(4, 2)).to.equal(false);
  });

  it('a message in flight when its link goes down may be dropped on arrival', () => {
    const net = new Network([1, 2], new Rng(seed), opts);
    const t = net.transmit(1, 2, 0);
    if (t.kind !== 'sent') throw new Error('expected a send');
    expect(net.arrives(1, 2, t.epoch)).to.equal(true);
    net.cut(1, 2);
    expect(net.arrives(1, 2, t.epoch), 'link still down').to.equal(false);
    net.restore(1, 2);
    expect(net.arrives(1, 2, t.epoch), 'cut while in flight, inFlightDrop 1').to.equal(false);
    const fresh = net.transmit(1, 2, 0);
    expect(fresh.kind === 'sent' && net.arrives(1, 2, fresh.epoch)).to.equal(true);
  });

  it('rejects unknown nodes and duplicate ids', () => {
    expect(() => new Network([1, 1], new Rng(1), opts)).to.throw(/twice/);
    const net = new Network([1, 4, 9], new Rng(1), opts);
    expect(() => net.transmit(1, 2, 0)).to.throw(/no link 1→2/);
    expect(net.transmit(4, 9, 0).kind).to.equal('sent');
  });
});
