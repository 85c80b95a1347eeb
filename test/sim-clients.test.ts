import { expect } from 'chai';
import type { NodeId } from '../src/replica/ballot.js';
import type { Command, KvOp, KvResult } from '../src/replica/entry.js';
import { KvStateMachine } from '../src/replica/kv-state-machine.js';
import { checkHistorySync } from '../src/history/check-history.js';
import { parseHistory } from '../src/history/reader.js';
import { HistoryWriter } from '../src/history/writer.js';
import { ClientPool, completionFor, type ClientOptions } from '../src/sim/clients.js';
import { EventQueue } from '../src/sim/event-queue.js';
import { Rng } from '../src/sim/rng.js';

interface Sent { node: NodeId; command: Command; time: number }

/** A pool of clients against a scripted server, in virtual time. */
function harness(seed: number, server: (sent: Sent) => KvResult | null, options: Partial<ClientOptions> = {}) {
  const queue = new EventQueue<() => void>();
  let now = 0;
  const lines: string[] = [];
  const sent: Sent[] = [];
  const answered: Command[] = [];
  const bad: string[] = [];
  const stuck: string[] = [];
  const history = new HistoryWriter(l => { lines.push(l); }, () => now * 1000);
  let pool: ClientPool | undefined;
  pool = new ClientPool({
    rng: new Rng(seed),
    nodes: [1, 2, 3],
    history,
    now: () => now,
    timer: (at, client, token) => queue.push(at, () => pool!.onTimer(client, token)),
    send: (node, _client, command) => {
      const s = { node, command, time: now };
      sent.push(s);
      const result = server(s);
      if (result) queue.push(now + 100, () => pool!.onReply({ clientId: command.clientId, seq: command.seq, result }));
    },
    answered: c => answered.push(c),
    badReply: m => bad.push(m),
    noProgress: m => stuck.push(m),
  }, {
    clients: 3, keys: 2, opsTotal: 60, timeoutUs: 1000, maxAttempts: 3, thinkMinUs: 0, thinkMaxUs: 500, stopIssuingAtUs: 1e12,
    ...options,
  });
  const run = (until = Infinity) => {
    pool!.start();
    for (let e = queue.pop(); e && e.time <= until; e = queue.pop()) {
      now = e.time;
      e.event();
    }
    pool!.closePending();
  };
  return { pool, lines, sent, answered, bad, stuck, run };
}

const types = (lines: string[]) => lines.map(l => JSON.parse(l).type as string);

describe('sim: clients', () => {
  it('maps results to history completions', () => {
    const get: KvOp = { kind: 'get', key: 'k' };
    const cas: KvOp = { kind: 'cas', key: 'k', expected: null, value: 'v' };
    expect(completionFor(get, { kind: 'value', value: 'x' })).to.deep.equal({ kind: 'ok', value: 'x' });
    expect(completionFor(get, { kind: 'not-found' })).to.deep.equal({ kind: 'ok', value: null });
    expect(completionFor({ kind: 'put', key: 'k', value: 'v' }, { kind: 'ok' })).to.deep.equal({ kind: 'ok' });
    expect(completionFor(cas, { kind: 'ok' })).to.deep.equal({ kind: 'ok' });
    expect(completionFor(cas, { kind: 'mismatch', current: 'w' })).to.deep.equal({ kind: 'fail' });
    expect(completionFor({ kind: 'delete', key: 'k' }, { kind: 'deleted', existed: false })).to.deep.equal({ kind: 'ok' });
    expect(completionFor(get, { kind: 'ok' }).kind).to.equal('bad');
    expect(completionFor(cas, { kind: 'deleted', existed: true }).kind).to.equal('bad');
  });

  it('against an atomic store, records a linearizable history with one completion per invocation', () => {
    const seed = 11;
    console.log(`      seed ${seed}`);
    const kv = new KvStateMachine();
    const h = harness(seed, s => kv.apply({ kind: 'command', command: s.command })!.result);
    h.run();
    const history = parseHistory(h.lines.join('\n'));
    expect(history.operations).to.have.length(60);
    expect(history.operations.every(o => o.status !== 'info')).to.equal(true);
    expect(new Set(history.operations.map(o => o.f))).to.deep.equal(new Set(['get', 'put', 'cas', 'delete']));
    expect(history.operations.some(o => o.f === 'cas' && o.status === 'ok'), 'some CAS succeeds').to.equal(true);
    expect(history.operations.some(o => o.f === 'cas' && o.status === 'fail'), 'some CAS fails').to.equal(true);
    const writes = history.operations.filter(o => o.value !== undefined).map(o => o.value);
    expect(new Set(writes).size, 'written values are unique').to.equal(writes.length);
    expect(checkHistorySync(history).verdict).to.equal('LINEARIZABLE');
    expect(h.answered).to.have.length(60);
    expect(h.bad).to.deep.equal([]);
    // Every client numbers its commands 1, 2, 3, … with one outstanding at a time.
    for (const id of ['c0', 'c1', 'c2']) {
      const seqs = h.sent.filter(s => s.command.clientId === id).map(s => s.command.seq);
      expect(seqs).to.deep.equal(seqs.map((_, i) => i + 1));
    }
  });

  it('retries the same (clientId, seq) on other nodes, then records info and moves on as a new process', () => {
    const h = harness(5, () => null, { clients: 1, opsTotal: 2 });
    h.run();
    expect(h.sent).to.have.length(6);
    const first = h.sent.slice(0, 3);
    expect(first.every(s => s.command.clientId === 'c0' && s.command.seq === 1)).to.equal(true);
    expect(first[1]!.node).to.not.equal(first[0]!.node);
    expect(first[2]!.node).to.not.equal(first[1]!.node);
    expect(first.map(s => s.time)).to.deep.equal([first[0]!.time, first[0]!.time + 1000, first[0]!.time + 2000]);
    expect(h.sent.slice(3).every(s => s.command.seq === 2)).to.equal(true);
    expect(types(h.lines)).to.deep.equal(['invoke', 'info', 'invoke', 'info']);
    const processes = h.lines.map(l => JSON.parse(l).process as number);
    expect(processes[0]).to.equal(processes[1]);
    expect(processes[2]).to.not.equal(processes[0]);
    expect(h.pool.stats).to.include({ info: 2, retries: 4, invoked: 2 });
  });

  it('ignores an answer to an attempt it already gave up on', () => {
    // The server answers only the first attempt of seq 1, after every retry has timed out.
    const h = harness(5, () => null, { clients: 1, opsTotal: 2 });
    h.run();
    h.pool.onReply({ clientId: 'c0', seq: 1, result: { kind: 'ok' } });
    expect(types(h.lines)).to.deep.equal(['invoke', 'info', 'invoke', 'info']);
  });

  it('after session-expired, retries the operation under a new session from seq 1; the history sees one operation', () => {
    let expired = false;
    const h = harness(9, s => {
      if (!expired) {
        expired = true;
        return { kind: 'session-expired' };
      }
      return s.command.op.kind === 'get' ? { kind: 'not-found' }
        : s.command.op.kind === 'delete' ? { kind: 'deleted', existed: false } : { kind: 'ok' };
    }, { clients: 1, opsTotal: 2 });
    h.run();
    expect(h.sent.map(s => `${s.command.clientId}#${s.command.seq}`)).to.deep.equal(['c0#1', 'c0s1#1', 'c0s1#2']);
    expect(h.sent[0]!.command.op).to.deep.equal(h.sent[1]!.command.op);
    expect(types(h.lines)).to.deep.equal(['invoke', 'ok', 'invoke', 'ok']);
    expect(h.pool.stats.sessionsRenewed).to.equal(1);
  });

  it('session-expired answering a retry: the outcome is unknown (info), and the next operation starts the new session', () => {
    let calls = 0;
    const h = harness(9, s => {
      calls++;
      if (calls === 1) return null; // the first attempt goes unanswered: the client retries
      if (calls === 2) return { kind: 'session-expired' };
      return s.command.op.kind === 'get' ? { kind: 'not-found' }
        : s.command.op.kind === 'delete' ? { kind: 'deleted', existed: false } : { kind: 'ok' };
    }, { clients: 1, opsTotal: 2 });
    h.run();
    expect(h.sent.map(s => `${s.command.clientId}#${s.command.seq}`)).to.deep.equal(['c0#1', 'c0#1', 'c0s1#1']);
    expect(types(h.lines)).to.deep.equal(['invoke', 'info', 'invoke', 'ok']);
  });

  it('reports a reply that does not fit its operation, and records the operation as info', () => {
    // Whatever the operation, an answer of the wrong kind: a value for a write, 'ok' for a read.
    const h = harness(2, s => (s.command.op.kind === 'get' ? { kind: 'ok' } : { kind: 'value', value: 'x' }), { clients: 1, opsTotal: 1 });
    h.run();
    expect(types(h.lines)).to.deep.equal(['invoke', 'info']);
    expect(h.bad).to.have.length(1);
    expect(h.bad[0]).to.match(/^client c0 seq 1: \w+ answered/);
    expect(h.answered).to.deep.equal([]);
  });

  it('closes outstanding operations as info at the end of the run', () => {
    const h = harness(4, () => null, { clients: 2, opsTotal: 10, timeoutUs: 1e9 });
    h.run(5000);
    expect(types(h.lines)).to.deep.equal(['invoke', 'invoke', 'info', 'info']);
    expect(parseHistory(h.lines.join('\n')).operations.every(o => o.status === 'info')).to.equal(true);
  });

  it('reports an operation invoked after progressFromUs that ends without an answer', () => {
    const h = harness(5, () => null, { clients: 1, opsTotal: 3, progressFromUs: 2500 });
    h.run();
    // The first operation starts before 2500 µs; the later ones after it.
    expect(h.stuck).to.have.length(2);
    expect(h.stuck[0]).to.match(/^c0#2 \w+ k\d, invoked at [\d.]+ ms with the cluster whole, got no answer in 3 attempts$/);
  });

  it('sends only to its target nodes', () => {
    const kv = new KvStateMachine();
    const h = harness(8, s => kv.apply({ kind: 'command', command: s.command })!.result, { targets: [[2]] });
    h.run();
    expect(new Set(h.sent.map(s => s.node))).to.deep.equal(new Set([2]));
  });
});
