import { expect } from 'chai';
import { connect, type KvClient } from '../src/client/client.js';
import { completionOf, HistoryRecorder } from '../src/client/recorder.js';
import { runWorkload, WORKLOADS } from '../src/client/workload.js';
import { checkHistorySync } from '../src/history/check-history.js';
import { parseHistory } from '../src/history/reader.js';
import { Rng } from '../src/history/synthetic.js';
import { HistoryWriter } from '../src/history/writer.js';
import type { KvOp } from '../src/replica/entry.js';
import { FakeNode, startFakeCluster, type Action, type FakeStore } from './support/fake-node.js';

function writer(): { history: HistoryWriter; lines: string[] } {
  const lines: string[] = [];
  return { history: new HistoryWriter(l => { lines.push(l); }), lines };
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err as Error);
  expect(e, 'expected a rejection').to.be.instanceOf(Error);
  expect(e!.message).to.match(re);
}

const events = (lines: string[]): Record<string, unknown>[] =>
  lines.map(l => JSON.parse(l) as Record<string, unknown>).map(({ time: _t, ...rest }) => rest);

describe('client: history recorder', () => {
  it('maps results to completions as the simulator does', () => {
    const get: KvOp = { kind: 'get', key: 'k' };
    const cas: KvOp = { kind: 'cas', key: 'k', expected: null, value: 'v' };
    expect(completionOf(get, { status: 'ok', value: null })).to.equal('ok');
    expect(completionOf(cas, { status: 'mismatch', current: 'x' })).to.equal('fail');
    expect(completionOf(get, { status: 'rejected', reason: 'r' })).to.equal('fail');
    expect(completionOf(cas, { status: 'rejected', reason: 'r' })).to.equal('info');
    expect(completionOf(get, { status: 'indeterminate', cause: 'timeout', reason: 'r' })).to.equal('info');
  });

  describe('against fake nodes', () => {
    let nodes: FakeNode[];
    let stop: () => Promise<void>;
    let client: KvClient | undefined;
    beforeEach(async () => { ({ nodes, stop } = await startFakeCluster(2)); });
    afterEach(async () => {
      client?.close();
      await stop();
    });

    it('records invoke and completion lines; an info moves the process to a new number', async () => {
      client = connect(nodes.map(n => n.addr), { prefer: nodes[0]!.addr, attemptTimeoutMs: 200, maxAttempts: 2 });
      const { history, lines } = writer();
      const rec = new HistoryRecorder(client, history, 10);
      const p = rec.process();
      await p.put('k', 'a');
      await p.get('k');
      await p.cas('k', 'zz', 'b');
      await p.get('absent');
      for (const n of nodes) n.script.push({ do: 'drop' });
      const r = await p.delete('k');
      expect(r.status).to.equal('indeterminate');
      expect(p.process).to.equal(11);
      await p.get('k');
      expect(events(lines)).to.deep.equal([
        { type: 'invoke', process: 10, id: 0, f: 'put', key: 'k', value: 'a' },
        { type: 'ok', process: 10, id: 0 },
        { type: 'invoke', process: 10, id: 1, f: 'get', key: 'k' },
        { type: 'ok', process: 10, id: 1, value: 'a' },
        { type: 'invoke', process: 10, id: 2, f: 'cas', key: 'k', expected: 'zz', value: 'b' },
        { type: 'fail', process: 10, id: 2 },
        { type: 'invoke', process: 10, id: 3, f: 'get', key: 'absent' },
        { type: 'ok', process: 10, id: 3, value: null },
        { type: 'invoke', process: 10, id: 4, f: 'delete', key: 'k' },
        { type: 'info', process: 10, id: 4 },
        { type: 'invoke', process: 11, id: 5, f: 'get', key: 'k' },
        { type: 'ok', process: 11, id: 5, value: 'a' }, // both copies of the delete were dropped
      ]);
      const first = p.get('k');
      await rejects(p.get('k'), /process 11 already has an operation in flight/);
      expect(await first).to.deep.equal({ status: 'ok', value: 'a' });
    });

    it('a history with a stale read from a node with its own map is not linearizable', async () => {
      // Two nodes that do not share a store: the second never sees the first's write.
      const lone = await FakeNode.start();
      try {
        const { history, lines } = writer();
        const a = connect([nodes[0]!.addr]);
        const b = connect([lone.addr]);
        try {
          await new HistoryRecorder(a, history, 0).process().put('k', 'v');
          await new HistoryRecorder(b, history, 1).process().get('k');
        } finally {
          a.close();
          b.close();
        }
        const report = checkHistorySync(parseHistory(lines.join('\n')));
        expect(report.verdict).to.equal('NOT LINEARIZABLE');
      } finally {
        await lone.stop();
      }
    });
  });
});

describe('client: workload', () => {
  let nodes: FakeNode[];
  let store: FakeStore;
  let stop: () => Promise<void>;
  let client: KvClient | undefined;
  beforeEach(async () => { ({ nodes, store, stop } = await startFakeCluster(3)); });
  afterEach(async () => {
    client?.close();
    await stop();
  });

  /** Seeded faults: lost requests, lost answers, `unknown`, connections closed after applying. */
  function faults(rng: Rng): (n: FakeNode) => void {
    return (n) => {
      n.policy = (): Action => {
        const r = rng.next();
        if (r < 0.08) return { do: 'drop' };
        if (r < 0.16) return { do: 'apply-silently' };
        if (r < 0.20) return { do: 'unknown' };
        if (r < 0.23) return { do: 'close', apply: rng.chance(0.5) };
        return { do: 'apply' };
      };
    };
  }

  for (const [name, expire] of [['with faults', false], ['with faults and session expiry (seq 1 never retried)', true]] as const) {
    it(`records a history the checker accepts (${name})`, async () => {
      const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 0x7fff_ffff));
      console.log(`      seed ${seed}`);
      const rng = new Rng(seed);
      nodes.forEach(faults(rng));
      if (expire) {
        // Expiry at any moment is only safe because seq 1 is never retried.
        let arrivals = 0;
        for (const n of nodes) {
          const policy = n.policy;
          n.policy = (req, conn) => {
            if (++arrivals % 40 === 0) store.expireAllSessions();
            return policy(req, conn);
          };
        }
      }
      client = connect(nodes.map(n => n.addr), {
        attemptTimeoutMs: 40, maxAttempts: 4, retryBackoffMs: 1, ...(expire ? { seqOneRetryMs: 0 } : {}),
      });
      const { history, lines } = writer();
      const report = await runWorkload(client, history, { clients: 6, keys: 3, ops: 300, seed });
      console.log(`      ${JSON.stringify({ ...report, elapsedMs: undefined })} attempts ${client.stats.attempts} renewed ${client.stats.sessionsRenewed}`);
      expect(report.seed).to.equal(seed);
      expect(report.invoked).to.equal(300);
      expect(report.ok + report.fail + report.info).to.equal(300);
      expect(report.ok).to.be.greaterThan(0);
      expect(history.pendingIds()).to.deep.equal([]);
      const check = checkHistorySync(parseHistory(lines.join('\n')));
      expect(check.verdict, `seed ${seed}`).to.equal('LINEARIZABLE');
      expect(check.operations).to.equal(300);
      if (expire) expect(client.stats.sessionsRenewed).to.be.greaterThan(0);
    });
  }

  it('stops on duration or signal and knows the named workloads', async () => {
    client = connect(nodes.map(n => n.addr));
    const { history } = writer();
    const ac = new AbortController();
    let n = 0;
    const r = await runWorkload(client, history, {
      clients: 2, mix: 'reads', signal: ac.signal, seed: 7, onResult: () => { if (++n === 10) ac.abort(); },
    });
    expect(r.invoked).to.be.within(10, 11);
    expect(r.seed).to.equal(7);
    const d = await runWorkload(client, history, { clients: 2, mix: 'cas', durationMs: 30 });
    expect(d.invoked).to.be.greaterThan(0);
    expect(Object.keys(WORKLOADS)).to.include.members(['mixed', 'reads', 'writes', 'cas']);
    await rejects(runWorkload(client, history, { clients: 1 }), /never stops/);
  });
});
