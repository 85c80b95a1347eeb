import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import { checkHistorySync } from '../src/history/check-history.js';
import { checkKey } from '../src/history/check-key.js';
import { checkHistory } from '../src/history/driver.js';
import { isConcatenation } from '../src/history/kv-model.js';
import { atomicHistory, toHistory } from '../src/history/synthetic.js';
import { parseHistory } from '../src/history/reader.js';
import type { History } from '../src/history/types.js';

/**
 * A compact way to write small histories: one operation per entry,
 * [process, op, invoke, complete | null (never completed), outcome].
 */
type Spec = [number, string, number, number | null, 'ok' | 'fail' | 'info', string?];
function history(spec: Spec[]): History {
  const lines: string[] = [];
  spec.forEach(([p, op, inv, ret, outcome, read], id) => {
    const [f, key, a, b] = op.split(' ');
    const arg = (s: string | undefined) => (s === '_' ? null : s);
    const fields: Record<string, unknown> = { type: 'invoke', process: p, id, f, key, time: inv };
    if (f === 'put' || f === 'append') fields.value = a;
    if (f === 'cas') { fields.expected = arg(a); fields.value = b; }
    lines.push(JSON.stringify(fields));
    if (ret !== null) {
      const c: Record<string, unknown> = { type: outcome, process: p, id, time: ret };
      if (f === 'get' && outcome === 'ok') c.value = arg(read);
      lines.push(JSON.stringify(c));
    }
  });
  return parseHistory(lines.join('\n'));
}

function verdicts(h: History): [string, string] {
  return [checkHistorySync(h).verdict, checkHistorySync(h, { pruning: false }).verdict];
}

describe('checker semantics', () => {
  const cases: [string, Spec[], string][] = [
    ['a read of a completed write', [[1, 'put x 1', 0, 10, 'ok'], [2, 'get x', 20, 30, 'ok', '1']], 'LINEARIZABLE'],
    ['a stale read', [[1, 'put x 1', 0, 10, 'ok'], [2, 'get x', 20, 30, 'ok', '_']], 'NOT LINEARIZABLE'],
    ['a read of a concurrent write', [[1, 'put x 1', 0, 30, 'ok'], [2, 'get x', 10, 20, 'ok', '1']], 'LINEARIZABLE'],
    ['closed intervals: equal times are concurrent', [[1, 'put x 1', 0, 10, 'ok'], [2, 'get x', 10, 20, 'ok', '_']], 'LINEARIZABLE'],
    ['a read of a value never written', [[2, 'get x', 10, 20, 'ok', '7']], 'NOT LINEARIZABLE'],
    ['an info write may take effect late', [[1, 'put x 1', 0, 5, 'info'], [2, 'get x', 10, 20, 'ok', '_'], [3, 'get x', 30, 40, 'ok', '1']], 'LINEARIZABLE'],
    ['an info write may never take effect', [[1, 'put x 1', 0, null, 'info'], [2, 'get x', 10, 20, 'ok', '_']], 'LINEARIZABLE'],
    ['an info write cannot be undone', [[1, 'put x 1', 0, 5, 'info'], [2, 'get x', 10, 20, 'ok', '1'], [3, 'get x', 30, 40, 'ok', '_']], 'NOT LINEARIZABLE'],
    ['a failed cas constrains the order', [[1, 'put x 1', 0, 10, 'ok'], [2, 'cas x 1 2', 20, 30, 'fail']], 'NOT LINEARIZABLE'],
    ['a failed cas is no write', [[1, 'put x 1', 0, 10, 'ok'], [2, 'cas x 3 2', 20, 30, 'fail'], [3, 'get x', 40, 50, 'ok', '1']], 'LINEARIZABLE'],
    ['cas from absent', [[1, 'cas x _ 1', 0, 10, 'ok'], [2, 'cas x _ 2', 20, 30, 'fail'], [3, 'get x', 40, 50, 'ok', '1']], 'LINEARIZABLE'],
    ['delete makes absent', [[1, 'put x 1', 0, 10, 'ok'], [2, 'delete x', 20, 30, 'ok'], [3, 'get x', 40, 50, 'ok', '_']], 'LINEARIZABLE'],
    ['append appends', [[1, 'append x a', 0, 10, 'ok'], [2, 'append x b', 0, 10, 'ok'], [3, 'get x', 40, 50, 'ok', 'ba']], 'LINEARIZABLE'],
    ['appends in real-time order', [[1, 'append x a', 0, 10, 'ok'], [2, 'append x b', 20, 30, 'ok'], [3, 'get x', 40, 50, 'ok', 'ba']], 'NOT LINEARIZABLE'],
    ['keys are independent', [[1, 'put x 1', 0, 10, 'ok'], [2, 'get y', 20, 30, 'ok', '_']], 'LINEARIZABLE'],
    // Regression: the first version took a write of the value already there as a "harmless
    // read" and placed it without branching (found by the Knossos corpus).
    ['a rewrite of the current value is a real write', [
      [1, 'put x 4', 0, 10, 'ok'], [2, 'cas x 4 1', 20, 30, 'ok'],
      [3, 'put x 2', 40, 60, 'ok'], [2, 'put x 1', 50, 70, 'ok'], [4, 'get x', 80, 90, 'ok', '1'],
    ], 'LINEARIZABLE'],
  ];
  for (const [name, spec, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      expect(verdicts(history(spec))).to.deep.equal([expected, expected]);
    });
  }
});

describe('checker explanations', () => {
  it('names the stale read, the prefix and the value at that point', () => {
    const h = history([[1, 'put x 1', 0, 10, 'ok'], [1, 'put x 2', 20, 30, 'ok'], [2, 'get x', 40, 50, 'ok', '1']]);
    // By default a violation is explained by the plain search (the most direct account).
    const r = checkKey('x', h.operations);
    expect(r.verdict).to.equal('not-linearizable');
    expect(r.linearization.map(s => s.op)).to.deep.equal([0, 1]);
    expect(r.failure!.stuck).to.equal(2);
    expect(r.failure!.state).to.equal('2');
    expect(r.failure!.reason).to.equal('it read "1", but the value was "2"');
    // The pruned search alone stops one step earlier: placing the second write would strand
    // the value the read needs.
    const pruned = checkKey('x', h.operations, { explain: false });
    expect(pruned.verdict).to.equal('not-linearizable');
    expect(pruned.failure!.stuck).to.equal(1);
    expect(pruned.failure!.reason).to.equal('after it the value could never be "1" again, yet a later operation needs that (id 2: get x → "1")');
  });

  it('says when a read can never be satisfied again', () => {
    const h = history([[1, 'put x 1', 0, 10, 'ok'], [1, 'put x 2', 20, 30, 'ok'], [2, 'get x', 25, 50, 'ok', '3']]);
    expect(checkKey('x', h.operations).failure!.reason).to.equal('it read "3", but the value was "2"');
    const r = checkKey('x', h.operations, { explain: false });
    expect(r.failure!.stuck).to.equal(2);
    expect(r.failure!.reason).to.match(/no operation left can make it "3"/);
  });

  it('gives the linearization with states when there is one', () => {
    const h = history([[1, 'put x 1', 0, 30, 'ok'], [2, 'get x', 10, 20, 'ok', '_']]);
    const r = checkKey('x', h.operations);
    expect(r.linearization).to.deep.equal([{ op: 1, before: null, after: null }, { op: 0, before: null, after: '1' }]);
  });

  it('reports unknown, not a crash, when the memo is full', () => {
    const spec: Spec[] = [];
    for (let i = 0; i < 20; i++) spec.push([i, `put x v${i}`, i, 100 + i, 'ok']);
    spec.push([99, 'get x', 200, 201, 'ok', 'nobody']);
    const r = checkKey('x', history(spec).operations, { pruning: false, maxConfigs: 5000 });
    expect(r.verdict).to.equal('unknown');
    expect(r.unknownBecause).to.equal('memory');
    expect(r.configs).to.be.within(5000, 7000);
  });

  it('reports unknown when told to stop', () => {
    const spec: Spec[] = [];
    for (let i = 0; i < 3000; i++) spec.push([i % 7, `put x ${i % 5}`, i, i + 50, 'ok']);
    const r = checkKey('x', history(spec).operations, { shouldStop: () => true });
    expect(r.verdict).to.equal('unknown');
  });
});

describe('checker driver', () => {
  const twoKeys = (): History => history([
    [1, 'put x 1', 0, 10, 'ok'], [2, 'get x', 20, 30, 'ok', '_'],
    [3, 'put y 1', 0, 10, 'ok'], [4, 'get y', 20, 30, 'ok', '1'],
  ]);

  it('settles on the first violation and skips the rest, unless asked for all keys', async () => {
    const some = await checkHistory(twoKeys());
    expect(some.verdict).to.equal('NOT LINEARIZABLE');
    expect(some.keys.map(k => [k.key, k.verdict])).to.deep.include.members([['x', 'not-linearizable']]);
    const all = await checkHistory(twoKeys(), { allKeys: true });
    expect(all.keys.map(k => [k.key, k.verdict])).to.deep.equal([['x', 'not-linearizable'], ['y', 'linearizable']]);
  });

  it('gives the same verdicts on worker threads', async () => {
    const spec: Spec[] = [];
    for (let k = 0; k < 6; k++) {
      for (let i = 0; i < 50; i++) {
        spec.push([k * 10 + (i % 3), `put k${k} ${i}`, i * 100, i * 100 + 150, 'ok']);
        spec.push([k * 10 + 5, `get k${k}`, i * 100 + 160, i * 100 + 170, 'ok', String(i)]);
      }
    }
    spec.push([99, 'get k3', 100_000, 100_010, 'ok', '7']);
    const h = history(spec);
    const seq = await checkHistory(h, { workers: 0, allKeys: true });
    const par = await checkHistory(h, { workers: 2, allKeys: true });
    expect(par.workers).to.equal(2);
    expect(par.keys.map(k => [k.key, k.verdict])).to.deep.equal(seq.keys.map(k => [k.key, k.verdict]));
    // 'auto' hands the keys still running after the budget (here: at once) to workers.
    const handedOff = await checkHistory(h, { allKeys: true, handOffMs: 0 });
    if (availableParallelism() > 1) expect(handedOff.workers).to.be.greaterThan(0);
    expect(handedOff.keys.map(k => [k.key, k.verdict])).to.deep.equal(seq.keys.map(k => [k.key, k.verdict]));
    expect(seq.verdict).to.equal('NOT LINEARIZABLE');
    expect(seq.keys.filter(k => k.verdict === 'not-linearizable').map(k => k.key)).to.deep.equal(['k3']);
  });
});

describe('append reachability (R5 for appends)', () => {
  it('accepts exactly the concatenations of pending append values', () => {
    const pending = new Map([['ab', 1], ['c', 2], ['zz', 0]]);
    expect(isConcatenation('', pending)).to.equal(true);
    expect(isConcatenation('abcab', pending)).to.equal(true);
    expect(isConcatenation('ca', pending)).to.equal(false);
    expect(isConcatenation('zz', pending)).to.equal(false); // count 0: already placed
    expect(isConcatenation('x', new Map())).to.equal(false);
  });
});

describe('checker search order', () => {
  // Found by the property test (FC_RUNS=8, FC_SEED=150109792): with determinate moves tried
  // before indeterminate ones, this linearizable history (82 ops, 41 unknown outcomes,
  // appends) took 570,000 configurations and ran into a 20 s limit; in list order, ~100.
  it('finds the linearization of an append history with many unknown outcomes', () => {
    const history = toHistory(atomicHistory({
      seed: 520651799, ops: 82, clients: 3, keys: 1, values: 4, pInfo: 0.5,
      fs: ['get', 'put', 'cas', 'delete', 'append'], maxGap: 1, maxDuration: 7,
    }));
    const deadline = performance.now() + 20_000; // a limit that yields UNKNOWN, not a timing assertion
    const r = checkKey('k0', history.operations, { explain: false, shouldStop: () => performance.now() > deadline });
    expect(r.verdict).to.equal('linearizable');
    expect(r.configs).to.be.below(100_000);
  });
});
