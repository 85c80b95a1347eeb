import { expect } from 'chai';
import { connect, type ClientEvent, type ClientOptions, type KvClient } from '../src/client/client.js';
import type { Command } from '../src/replica/entry.js';
import { startFakeCluster, type FakeNode, type FakeStore } from './support/fake-node.js';

/** Readable clientIds: s0, s1, … */
function ids(): () => string {
  let n = 0;
  return () => `s${n++}`;
}

/**
 * The attempt timeout of tests where an attempt is meant to time out (a dropped request). Long
 * enough that an answered attempt does not time out on a loaded machine.
 */
const SHORT = 200;

const show = (c: Command): string => `${c.clientId}#${c.seq} ${c.op.kind} ${c.op.key}`;

describe('client: operations and retries (fake nodes)', () => {
  let nodes: FakeNode[];
  let store: FakeStore;
  let stop: () => Promise<void>;
  let client: KvClient | undefined;
  let events: ClientEvent[];

  beforeEach(async () => {
    ({ nodes, store, stop } = await startFakeCluster(3));
    events = [];
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await stop();
  });

  const open = (options: ClientOptions = {}): KvClient => {
    client = connect(nodes.map(n => n.name), {
      newClientId: ids(), prefer: nodes[0]!.addr, attemptTimeoutMs: 2000, onEvent: e => events.push(e), ...options,
    });
    return client;
  };
  /** Every command the nodes received, in arrival order, as `n<index> clientId#seq op key`. */
  const all = (): string[] => store.arrivals.map(a => `n${a.nodeId - 1} ${show(a.command)}`);

  it('decodes every result type; sequential operations share one session with seq 1, 2, 3, …', async () => {
    const c = open();
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: null });
    expect(await c.put('k', 'v1')).to.deep.equal({ status: 'ok' });
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: 'v1' });
    expect(await c.cas('k', 'v1', 'v2')).to.deep.equal({ status: 'ok' });
    expect(await c.cas('k', 'v1', 'v3')).to.deep.equal({ status: 'mismatch', current: 'v2' });
    expect(await c.cas('j', 'x', 'y')).to.deep.equal({ status: 'mismatch', current: null });
    expect(await c.cas('j', null, 'y')).to.deep.equal({ status: 'ok' });
    expect(await c.delete('k')).to.deep.equal({ status: 'ok', existed: true });
    expect(await c.delete('k')).to.deep.equal({ status: 'ok', existed: false });
    expect(await c.get('')).to.deep.equal({ status: 'ok', value: null });
    expect(nodes[0]!.commands().map(x => `${x.clientId}#${x.seq}`)).to.deep.equal(
      ['s0#1', 's0#2', 's0#3', 's0#4', 's0#5', 's0#6', 's0#7', 's0#8', 's0#9', 's0#10']);
    expect(nodes[0]!.commands()[4]!.op).to.deep.equal({ kind: 'cas', key: 'k', expected: 'v1', value: 'v3' });
    expect(c.stats).to.include({ operations: 10, attempts: 10, retries: 0, sessionsCreated: 1 });
  });

  it('concurrent operations use distinct sessions on one connection, answered out of order', async () => {
    const c = open();
    nodes[0]!.policy = () => ({ do: 'hold' });
    const ops = Array.from({ length: 8 }, (_, i) => c.put(`k${i}`, `v${i}`));
    await nodes[0]!.untilHeld(8);
    const held = nodes[0]!.held;
    expect(new Set(held.map(h => h.request.command.clientId)).size).to.equal(8);
    expect(held.every(h => h.request.command.seq === 1)).to.equal(true);
    expect(nodes[0]!.connections).to.equal(1);
    for (const h of [...held].reverse()) h.answer({ do: 'apply' });
    for (const r of await Promise.all(ops)) expect(r).to.deep.equal({ status: 'ok' });
    // Answered out of order, each operation got its own answer.
    nodes[0]!.policy = () => ({ do: 'apply' });
    const reads = await Promise.all(Array.from({ length: 8 }, (_, i) => c.get(`k${i}`)));
    reads.forEach((r, i) => expect(r).to.deep.equal({ status: 'ok', value: `v${i}` }));
    // The 8 idle sessions were reused (seq 2), none created.
    expect(c.stats.sessionsCreated).to.equal(8);
    expect(nodes[0]!.commands().slice(8).every(x => x.seq === 2)).to.equal(true);
  });

  it('a timeout sends the same (clientId, seq, op) to the next node', async () => {
    const c = open({ attemptTimeoutMs: SHORT });
    nodes[0]!.script.push({ do: 'drop' });
    expect(await c.put('k', 'v')).to.deep.equal({ status: 'ok' });
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n1 s0#1 put k']);
    expect(nodes[1]!.commands()[0]).to.deep.equal(nodes[0]!.commands()[0]);
    const failed = events.filter(e => e.kind === 'attempt-failed');
    expect(failed.map(e => e.kind === 'attempt-failed' && e.cause)).to.deep.equal(['timeout']);
    expect(c.stats).to.include({ attempts: 2, retries: 1 });
  });

  it('a retry of a command applied earlier gets the remembered result', async () => {
    const c = open({ attemptTimeoutMs: SHORT });
    await c.put('k', 'old');
    // Applied at n0 but the answer is lost; the retry at n1 gets what the first copy did.
    nodes[0]!.script.push({ do: 'apply-silently' });
    expect(await c.cas('k', 'old', 'new')).to.deep.equal({ status: 'ok' });
    expect(store.log.filter(e => e.kind === 'command')).to.have.length(3); // both copies reached the log
    expect(store.sm.get('k')).to.equal('new');
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n0 s0#2 cas k', 'n1 s0#2 cas k']);
  });

  it('`unknown` is retried at the next node with the same command', async () => {
    const c = open({ retryBackoffMs: 1 });
    nodes[0]!.script.push({ do: 'unknown', reason: 'leader changed' });
    nodes[1]!.script.push({ do: 'unknown' });
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: null });
    expect(all()).to.deep.equal(['n0 s0#1 get k', 'n1 s0#1 get k', 'n2 s0#1 get k']);
  });

  it('a connection closed mid-flight, or an error frame, is retried elsewhere on a new connection', async () => {
    const c = open({ retryBackoffMs: 1 });
    nodes[0]!.script.push({ do: 'close', apply: true });
    expect(await c.put('k', 'v')).to.deep.equal({ status: 'ok' });
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n1 s0#1 put k']);
    nodes[0]!.script.push({ do: 'error', code: 'malformed' });
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: 'v' });
    expect(all().slice(2)).to.deep.equal(['n0 s0#2 get k', 'n1 s0#2 get k']);
    // The entry node is used again after each failure: on a fresh connection.
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: 'v' });
    expect(nodes[0]!.connections).to.equal(3);
    const causes = events.flatMap(e => (e.kind === 'attempt-failed' ? [e.cause] : []));
    expect(causes).to.deep.equal(['connection', 'connection']);
  });

  it('no definite answer within maxAttempts is indeterminate; the session goes on with seq n+1', async () => {
    const c = open({ attemptTimeoutMs: SHORT, maxAttempts: 4 });
    await c.put('k', 'a'); // s0#1
    for (const n of nodes) n.policy = () => ({ do: 'drop' });
    const r = await c.put('k', 'b');
    expect(r).to.include({ status: 'indeterminate', cause: 'timeout' });
    expect(r.status === 'indeterminate' && r.reason).to.match(new RegExp(`put "k" \\(s0#2\\) after 4 attempts: no answer from 127\\.0\\.0\\.1:\\d+ within ${SHORT} ms`));
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n0 s0#2 put k', 'n1 s0#2 put k', 'n2 s0#2 put k', 'n0 s0#2 put k']);
    for (const n of nodes) n.policy = () => ({ do: 'apply' });
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: 'a' });
    expect(all().at(-1)).to.equal('n0 s0#3 get k');
  });

  it('an indeterminate seq 1 retires its session', async () => {
    const c = open({ attemptTimeoutMs: SHORT, maxAttempts: 2 });
    for (const n of nodes) n.policy = () => ({ do: 'drop' });
    expect(await c.put('k', 'b')).to.include({ status: 'indeterminate', cause: 'timeout' });
    for (const n of nodes) n.policy = () => ({ do: 'apply' });
    await c.get('k');
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n1 s0#1 put k', 'n0 s1#1 get k']);
    expect(c.stats.sessionsRetired).to.equal(1);
  });

  it('seq 1 is not retried after seqOneRetryMs', async () => {
    const c = open({ attemptTimeoutMs: SHORT, seqOneRetryMs: 0 });
    nodes[0]!.script.push({ do: 'drop' });
    const r = await c.put('k', 'v');
    expect(r).to.include({ status: 'indeterminate', cause: 'deadline' });
    expect(r.status === 'indeterminate' && r.reason).to.match(/seq 1 is not retried/);
    expect(all()).to.deep.equal(['n0 s0#1 put k']);
    // Later seqs of a session are retried as usual.
    await c.put('k', 'w'); // s1#1
    nodes[0]!.script.push({ do: 'drop' });
    expect(await c.get('k')).to.deep.equal({ status: 'ok', value: 'w' });
    expect(all().slice(1)).to.deep.equal(['n0 s1#1 put k', 'n0 s1#2 get k', 'n1 s1#2 get k']);
  });

  it('session-expired to a first attempt: the operation runs again under a fresh session', async () => {
    const c = open();
    await c.put('k', 'v');
    store.expireAllSessions();
    expect(await c.put('k', 'w')).to.deep.equal({ status: 'ok' });
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n0 s0#2 put k', 'n0 s1#1 put k']);
    expect(store.sm.get('k')).to.equal('w');
    expect(events.filter(e => e.kind === 'session-renewed')).to.deep.equal([{ kind: 'session-renewed', expired: 's0', fresh: 's1' }]);
    expect(c.stats).to.include({ sessionsRenewed: 1, sessionsRetired: 1 });
  });

  it('session-expired to a retry is indeterminate, and the session is retired', async () => {
    const c = open({ attemptTimeoutMs: SHORT });
    await c.put('k', 'v');
    // The first copy takes effect but its answer is lost; the session expires before the retry.
    nodes[0]!.script.push({ do: 'apply-silently' });
    nodes[0]!.until(() => nodes[0]!.requests().length === 2).then(() => store.expireAllSessions(), () => {});
    const r = await c.put('k', 'w');
    expect(r).to.include({ status: 'indeterminate', cause: 'session-expired' });
    expect(store.sm.get('k')).to.equal('w'); // indeed it had taken effect
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n0 s0#2 put k', 'n1 s0#2 put k']);
    await c.get('k');
    expect(all().at(-1)).to.equal('n0 s1#1 get k');
  });

  it('`rejected` goes on to the next node; rejected by every attempt it is definite', async () => {
    const c = open({ attemptTimeoutMs: SHORT, maxAttempts: 3, retryBackoffMs: 1 });
    await c.put('k', 'v'); // s0#1
    // A node that has not booted refuses; the next one applies.
    nodes[0]!.script.push({ do: 'rejected', reason: 'not booted' });
    expect(await c.put('k', 'w')).to.deep.equal({ status: 'ok' });
    expect(all().slice(1)).to.deep.equal(['n0 s0#2 put k', 'n1 s0#2 put k']);

    // Every attempt refused: no copy took effect.
    for (const n of nodes) n.script.push({ do: 'rejected', reason: 'shutting down' });
    const r = await c.put('k', 'x');
    expect(r.status).to.equal('rejected');
    expect(r.status === 'rejected' && r.reason).to.match(/put "k" \(s0#3\): 127\.0\.0\.1:\d+ rejected it: shutting down/);
    expect(store.sm.get('k')).to.equal('w');
    expect(all().slice(3)).to.deep.equal(['n0 s0#3 put k', 'n1 s0#3 put k', 'n2 s0#3 put k']);

    // A copy that went unanswered may have taken effect: then the outcome is unknown.
    nodes[0]!.script.push({ do: 'apply-silently' });
    nodes[1]!.script.push({ do: 'rejected' });
    nodes[2]!.script.push({ do: 'rejected' });
    expect(await c.put('k', 'y')).to.include({ status: 'indeterminate', cause: 'timeout' });
    expect(store.sm.get('k')).to.equal('y');
  });

  it('session-expired after rejections only is still definite: the operation runs under a fresh session', async () => {
    const c = open({ retryBackoffMs: 1 });
    await c.put('k', 'v');
    store.expireAllSessions();
    nodes[0]!.script.push({ do: 'rejected' });
    expect(await c.put('k', 'w')).to.deep.equal({ status: 'ok' });
    expect(all()).to.deep.equal(['n0 s0#1 put k', 'n0 s0#2 put k', 'n1 s0#2 put k', 'n1 s1#1 put k']);
  });

  it('a rejected seq 1 retires its session', async () => {
    const c = open({ maxAttempts: 1 });
    nodes[0]!.script.push({ do: 'rejected' });
    expect((await c.get('k')).status).to.equal('rejected');
    await c.get('k');
    expect(all()).to.deep.equal(['n0 s0#1 get k', 'n0 s1#1 get k']);
  });

  it('a result that does not fit the operation is indeterminate (bad-answer)', async () => {
    const c = open();
    nodes[0]!.script.push({ do: 'result', result: { kind: 'deleted', existed: true } });
    const r = await c.get('k');
    expect(r).to.include({ status: 'indeterminate', cause: 'bad-answer' });
  });

  it('the overall deadline bounds an operation', async () => {
    const c = open({ attemptTimeoutMs: SHORT, deadlineMs: SHORT * 1.5, maxAttempts: 100 });
    for (const n of nodes) n.policy = () => ({ do: 'drop' });
    const r = await c.get('k');
    expect(r).to.include({ status: 'indeterminate', cause: 'deadline' });
    expect(c.stats.attempts).to.be.lessThan(10);
  });

  it('every node down: indeterminate after maxAttempts fast failures', async () => {
    const addrs = nodes.map(n => n.name);
    await stop();
    client = connect(addrs, { newClientId: ids(), retryBackoffMs: 1, maxAttempts: 3 });
    const r = await client.put('k', 'v');
    expect(r).to.include({ status: 'indeterminate', cause: 'connection' });
    expect(r.status === 'indeterminate' && r.reason).to.match(/after 3 attempts: .*ECONNREFUSED/);
    ({ nodes, store, stop } = await startFakeCluster(1)); // for afterEach
  });

  it('close(): operations in flight end indeterminate, later ones are rejected', async () => {
    const c = open();
    nodes[0]!.policy = () => ({ do: 'drop' });
    const p = c.put('k', 'v');
    await nodes[0]!.untilRequests(1);
    c.close();
    expect(await p).to.include({ status: 'indeterminate', cause: 'closed' });
    expect(await c.get('k')).to.deep.equal({ status: 'rejected', reason: 'the client is closed' });
  });

  it('refuses what it cannot send, without sending it', async () => {
    const c = open();
    const r = await c.put('k', 'x'.repeat(1024 * 1024 + 1));
    expect(r.status).to.equal('rejected');
    expect(r.status === 'rejected' && r.reason).to.match(/value is 1048577 bytes/);
    expect(all()).to.deep.equal([]);
  });

  it('validates its options', () => {
    expect(() => connect([])).to.throw(/at least one node/);
    expect(() => connect(['127.0.0.1:1'], { prefer: '127.0.0.1:2' })).to.throw(/prefer: 127\.0\.0\.1:2 is not one of the nodes/);
    expect(() => connect(['127.0.0.1:1'], { maxAttempts: 0 })).to.throw(/maxAttempts/);
    expect(() => connect(['nohost'])).to.throw(/expected host:port/);
  });

  it('without prefer, operations spread over the nodes round robin', async () => {
    client = connect(nodes.map(n => n.addr), { newClientId: ids() });
    for (let i = 0; i < 6; i++) await client.get('k');
    expect(nodes.map(n => n.requests().length)).to.deep.equal([2, 2, 2]);
  });
});
