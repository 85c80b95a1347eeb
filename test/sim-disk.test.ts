import { expect } from 'chai';
import { BOTTOM } from '../src/replica/ballot.js';
import type { Entry } from '../src/replica/entry.js';
import { SimDisk } from '../src/sim/disk.js';
import { Rng } from '../src/sim/rng.js';

const entry = (seq: number): Entry => ({ kind: 'command', command: { clientId: 'c', seq, op: { kind: 'get', key: 'k' } } });
const fixed = { latencyMinUs: 100, latencyMaxUs: 100, spikeChance: 0, spikeMinUs: 0, spikeMaxUs: 0 };

describe('sim: disk', () => {
  it('releases nothing until a batch is durable; an empty write with nothing pending is durable at once', () => {
    const disk = new SimDisk<string>(new Rng(1), fixed);
    expect(disk.write([], 'a', 0)).to.deep.equal({ kind: 'durable' });
    const w = disk.write([{ kind: 'append', entries: [entry(1)] }], 'b', 0);
    expect(w).to.deep.equal({ kind: 'pending', scheduleAt: 100 });
    expect(disk.durable.log).to.have.length(0);
    // A later step without writes still waits for the earlier batch.
    expect(disk.write([], 'c', 10)).to.deep.equal({ kind: 'pending', scheduleAt: null });
    expect(disk.completeHead()).to.deep.equal(['b', 'c']);
    expect(disk.durable.log).to.deep.equal([entry(1)]);
    expect(disk.pendingCount).to.equal(0);
  });

  it('makes batches durable in FIFO order even when a later one would be faster', () => {
    const seed = 3;
    console.log(`      seed ${seed}`);
    const disk = new SimDisk<number>(new Rng(seed), { ...fixed, latencyMinUs: 10, latencyMaxUs: 5000 });
    let last = 0;
    for (let i = 0; i < 50; i++) {
      const w = disk.write([{ kind: 'append', entries: [entry(i)] }], i, i);
      if (w.kind !== 'pending' || w.scheduleAt === null) throw new Error('expected a new batch');
      expect(w.scheduleAt).to.be.at.least(last);
      last = w.scheduleAt;
    }
    for (let i = 0; i < 50; i++) expect(disk.completeHead()).to.deep.equal([i]);
    expect(disk.durable.log.map(e => e.kind === 'command' && e.command.seq)).to.deep.equal([...Array(50).keys()]);
  });

  it('a crash drops every pending batch and keeps the durable state', () => {
    const disk = new SimDisk<string>(new Rng(1), fixed);
    disk.write([{ kind: 'append', entries: [entry(1)] }, { kind: 'set-decided-idx', idx: 1 }], 'a', 0);
    disk.completeHead();
    disk.write([{ kind: 'set-promise', ballot: { n: 2, priority: 0, pid: 1 } }], 'b', 0);
    disk.write([{ kind: 'append', entries: [entry(2)] }], 'c', 0);
    const epoch = disk.epoch;
    expect(disk.crash()).to.equal(2);
    expect(disk.epoch).to.equal(epoch + 1);
    expect(disk.pendingCount).to.equal(0);
    const loaded = disk.load();
    expect(loaded).to.deep.equal({ promised: BOTTOM, acceptedRnd: BOTTOM, snapshot: null, log: [entry(1)], decidedIdx: 1 });
    loaded.log.push(entry(9));
    expect(disk.durable.log, 'load returns a copy').to.have.length(1);
    expect(disk.batchesLost).to.equal(2);
  });

  it('applies a batch atomically, with the entries it had when written', () => {
    const disk = new SimDisk<string>(new Rng(1), fixed);
    const entries = [entry(1)];
    disk.write([{ kind: 'append', entries: [entry(0)] }], undefined, 0);
    disk.write([
      { kind: 'set-accepted-rnd', ballot: { n: 1, priority: 0, pid: 2 } },
      { kind: 'append-on-prefix', fromIdx: 0, entries },
    ], undefined, 0);
    entries.push(entry(2)); // the replica changing its array afterwards must not change the write
    disk.completeHead();
    expect(disk.durable.log).to.deep.equal([entry(0)]);
    disk.completeHead();
    expect(disk.durable.log).to.deep.equal([entry(1)]);
    expect(disk.durable.acceptedRnd).to.deep.equal({ n: 1, priority: 0, pid: 2 });
  });

  it('is slow while slowUntil is in the future', () => {
    const disk = new SimDisk<string>(new Rng(1), fixed);
    disk.slowUntil = 1000;
    disk.slowRange = [50_000, 50_000];
    expect(disk.write([{ kind: 'set-decided-idx', idx: 0 }], undefined, 0)).to.deep.equal({ kind: 'pending', scheduleAt: 50_000 });
    disk.crash();
    expect(disk.write([{ kind: 'set-decided-idx', idx: 0 }], undefined, 2000)).to.deep.equal({ kind: 'pending', scheduleAt: 2100 });
  });
});
