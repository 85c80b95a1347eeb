import { expect } from 'chai';
import { EventQueue } from '../src/sim/event-queue.js';
import { Rng } from '../src/sim/rng.js';

describe('sim: event queue', () => {
  it('pops in time order', () => {
    const q = new EventQueue<string>();
    q.push(30, 'c');
    q.push(10, 'a');
    q.push(20, 'b');
    expect(q.peekTime()).to.equal(10);
    expect([q.pop()!.event, q.pop()!.event, q.pop()!.event]).to.deep.equal(['a', 'b', 'c']);
    expect(q.pop()).to.equal(undefined);
    expect(q.size).to.equal(0);
  });

  it('breaks ties by insertion order, whatever the heap shape', () => {
    const q = new EventQueue<number>();
    for (let i = 0; i < 100; i++) q.push(i % 3 === 0 ? 5 : 7, i);
    const out: number[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.event);
    const fives = out.slice(0, 34);
    const sevens = out.slice(34);
    expect(fives).to.deep.equal([...Array(100).keys()].filter(i => i % 3 === 0));
    expect(sevens).to.deep.equal([...Array(100).keys()].filter(i => i % 3 !== 0));
  });

  it('matches a stable sort on random input, with pushes between pops', () => {
    const seed = 20250101;
    console.log(`      seed ${seed}`);
    const rng = new Rng(seed);
    const q = new EventQueue<number>();
    const model: { time: number; order: number }[] = [];
    let order = 0;
    const popped: number[] = [];
    const expected: number[] = [];
    for (let round = 0; round < 2000; round++) {
      if (rng.chance(0.6) || model.length === 0) {
        const time = rng.int(0, 50);
        q.push(time, order);
        model.push({ time, order });
        order++;
      } else {
        model.sort((a, b) => a.time - b.time || a.order - b.order);
        expected.push(model.shift()!.order);
        popped.push(q.pop()!.event);
      }
    }
    expect(popped).to.deep.equal(expected);
  });

  it('rejects a non-finite time', () => {
    expect(() => new EventQueue<number>().push(Infinity, 1)).to.throw(/finite/);
  });
});
