/**
 * kvnode over real TCP and real WALs, several nodes in this process: bootstrap, forwarding,
 * retries applied once, many requests in flight, request timeouts, restart from the WAL (with
 * and without the bootstrap server), operator queries.
 */
import { expect } from 'chai';
import { parseAddr } from '../src/client/addr.js';
import { fetchLog, fetchStatus } from '../src/client/admin.js';
import { Connection } from '../src/client/connection.js';
import type { KvOp } from '../src/replica/entry.js';
import type { ClientResponse } from '../src/wire/messages.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

let uniq = 0;
function clientId(): string {
  return `test-${process.pid}-${++uniq}`;
}

async function send(conn: Connection, id: string, seq: number, op: KvOp, timeoutMs = 5000): Promise<ClientResponse> {
  const r = await conn.request({ kind: 'client-request', command: { clientId: id, seq, op } }, timeoutMs);
  if (r.kind === 'no-answer') throw new Error(`no answer: ${r.cause} ${r.detail}`);
  return r;
}

/**
 * Like a client: an `unknown` answer is retried with the same (clientId, seq), which the node
 * applies at most once. (A leader change in the middle — seen on a loaded CI machine — leaves a
 * proposal undecided; a stalled cluster still fails, since every retry would time out too.)
 */
async function sendUntilKnown(conn: Connection, id: string, seq: number, op: KvOp): Promise<ClientResponse> {
  let r = await send(conn, id, seq, op);
  for (let attempt = 1; attempt < 4 && r.status === 'unknown'; attempt++) r = await send(conn, id, seq, op);
  return r;
}

function result(r: ClientResponse): unknown {
  return r.status === 'result' ? r.result : { status: r.status };
}

describe('kvnode in process (3 nodes)', function () {
  this.timeout(60_000);
  let cluster: InProcessCluster;
  let leader: number;
  const conns: Connection[] = [];
  const open = (id: number): Connection => {
    const c = new Connection(parseAddr(cluster.clientAddr(id)));
    conns.push(c);
    return c;
  };

  before(async () => {
    cluster = await InProcessCluster.create(3, {}, true);
    await cluster.start();
    leader = await cluster.waitForLeader();
  });
  afterEach(async function () {
    // A failure is easier to read with what the nodes said and where they stand.
    if (this.currentTest?.state === 'failed') {
      for (const l of cluster.lines.slice(-60)) console.log(`        ${JSON.stringify(l)}`);
      for (const id of [1, 2, 3]) {
        console.log(`        ${JSON.stringify(await fetchStatus(cluster.clientAddr(id)).catch((e: Error) => e.message))}`);
      }
    }
  });
  after(async () => {
    for (const c of conns) c.close();
    await cluster?.destroy();
  });

  it('boots through the bootstrap server and persists the node table', () => {
    expect(cluster.events('booted').map((l) => l.node).sort()).to.deep.equal([1, 2, 3]);
    expect(cluster.events('checked-in', 1).length).to.be.at.least(1);
    expect(cluster.fatal).to.deep.equal([]);
  });

  it('serves PUT / GET / CAS / DELETE entering through a follower', async () => {
    const follower = [1, 2, 3].find((n) => n !== leader)!;
    const c = open(follower);
    const id = clientId();
    expect(result(await send(c, id, 1, { kind: 'put', key: 'k', value: 'v1' }))).to.deep.equal({ kind: 'ok' });
    expect(result(await send(c, id, 2, { kind: 'get', key: 'k' }))).to.deep.equal({ kind: 'value', value: 'v1' });
    expect(result(await send(c, id, 3, { kind: 'cas', key: 'k', expected: 'v1', value: 'v2' }))).to.deep.equal({ kind: 'ok' });
    expect(result(await send(c, id, 4, { kind: 'cas', key: 'k', expected: 'v1', value: 'v3' }))).to.deep.equal({ kind: 'mismatch', current: 'v2' });
    expect(result(await send(c, id, 5, { kind: 'delete', key: 'k' }))).to.deep.equal({ kind: 'deleted', existed: true });
    expect(result(await send(c, id, 6, { kind: 'get', key: 'k' }))).to.deep.equal({ kind: 'not-found' });
    // Another node saw the same history.
    const other = open([1, 2, 3].find((n) => n !== follower)!);
    expect(result(await send(other, clientId(), 1, { kind: 'get', key: 'k' }))).to.deep.equal({ kind: 'not-found' });
  });

  it('applies a retried (clientId, seq) once, wherever the retry enters', async () => {
    const id = clientId();
    const op: KvOp = { kind: 'cas', key: 'once', expected: null, value: 'first' };
    const a = await send(open(1), id, 1, op);
    const b = await send(open(2), id, 1, op);
    const c = await send(open(3), id, 1, op);
    expect(result(a)).to.deep.equal({ kind: 'ok' });
    expect(result(b)).to.deep.equal({ kind: 'ok' });
    expect(result(c)).to.deep.equal({ kind: 'ok' });
    // A new seq with the same CAS is a new command: the key exists now.
    expect(result(await send(open(2), id, 2, op))).to.deep.equal({ kind: 'mismatch', current: 'first' });
  });

  it('answers many requests in flight on one connection, matched by requestId', async () => {
    const c = open(leader === 1 ? 2 : 1);
    const n = 200;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) =>
      send(c, clientId(), 1, { kind: 'put', key: `many-${i}`, value: String(i) })));
    expect(answers.map(result)).to.deep.equal(Array(n).fill({ kind: 'ok' }));
    const reads = await Promise.all(Array.from({ length: n }, (_, i) => send(c, clientId(), 1, { kind: 'get', key: `many-${i}` })));
    expect(reads.map(result)).to.deep.equal(Array.from({ length: n }, (_, i) => ({ kind: 'value', value: String(i) })));
  });

  it('reports status and log entries', async () => {
    leader = await cluster.waitForLeader();
    const s = await fetchStatus(cluster.clientAddr(leader));
    expect(s.nodeId).to.equal(leader);
    expect(s.role).to.equal('leader');
    expect(s.fsync).to.equal(true);
    expect(s.peers.map((p) => p.connected)).to.deep.equal([true, true]);
    expect(s.decidedIdx).to.be.at.least(400);
    const log = await fetchLog(cluster.clientAddr(leader), 0, 3);
    expect(log.from).to.equal(0);
    expect(log.entries).to.have.length(3);
    // The node that was not there at the boot joined through the log (a join entry) early on.
    expect(log.entries.map((e) => e.kind).filter((k) => k !== 'join')).to.include('command');
    const past = await fetchLog(cluster.clientAddr(leader), 10 ** 9, 5);
    expect(past.entries).to.deep.equal([]);
    expect(past.from).to.equal(past.logLength);
  });
});

describe('kvnode in process: restarts and timeouts', function () {
  this.timeout(60_000);
  let cluster: InProcessCluster | null = null;
  const conns: Connection[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.close();
    await cluster?.destroy();
    cluster = null;
  });

  it('restarts from the WAL, and rejoins without the bootstrap server', async () => {
    cluster = await InProcessCluster.create(3, {}, true);
    await cluster.start();
    await cluster.waitForLeader();
    const c1 = new Connection(parseAddr(cluster.clientAddr(2)));
    conns.push(c1);
    const id = clientId();
    for (let i = 1; i <= 20; i++) expect(result(await send(c1, id, i, { kind: 'put', key: `r${i}`, value: `v${i}` }))).to.deep.equal({ kind: 'ok' });
    await cluster.stop();
    // Node 1 runs the bootstrap server; leave it down.
    await cluster.start(2, 3);
    expect(cluster.events('rejoining').map((l) => l.node).sort()).to.deep.equal([2, 3]);
    await cluster.waitForLeader();
    const c2 = new Connection(parseAddr(cluster.clientAddr(3)));
    conns.push(c2);
    for (let i = 1; i <= 20; i++) expect(result(await send(c2, clientId(), 1, { kind: 'get', key: `r${i}` }))).to.deep.equal({ kind: 'value', value: `v${i}` });
    // The bootstrap server comes back and catches up.
    await cluster.start(1);
    await cluster.waitForLeader();
    const c3 = new Connection(parseAddr(cluster.clientAddr(1)));
    conns.push(c3);
    expect(result(await send(c3, clientId(), 1, { kind: 'get', key: 'r20' }))).to.deep.equal({ kind: 'value', value: 'v20' });
    expect(cluster.fatal).to.deep.equal([]);
  });

  it('answers unknown (indeterminate) when no quorum decides within requestTimeoutMs', async () => {
    cluster = await InProcessCluster.create(3, { requestTimeoutMs: 300 });
    await cluster.start();
    await cluster.waitForLeader();
    await cluster.stop(2, 3);
    const c = new Connection(parseAddr(cluster.clientAddr(1)));
    conns.push(c);
    const r = await send(c, clientId(), 1, { kind: 'put', key: 'x', value: 'y' });
    expect(r.status).to.equal('unknown');
  });

  it('reports compactedIdx in status, and answers a log-request for compacted entries from compactedIdx', async () => {
    cluster = await InProcessCluster.create(3, {}, false, { snapshotEntries: 20 });
    await cluster.start();
    await cluster.waitForLeader();
    const c = new Connection(parseAddr(cluster.clientAddr(1)));
    conns.push(c);
    const id = clientId();
    for (let i = 1; i <= 70; i++) expect(result(await sendUntilKnown(c, id, i, { kind: 'put', key: `s${i % 7}`, value: `v${i}` }))).to.deep.equal({ kind: 'ok' });
    const s = await fetchStatus(cluster.clientAddr(1));
    expect(s.compactedIdx, 'compactedIdx').to.be.at.least(20);
    expect(s.compactedIdx).to.be.at.most(s.appliedIdx);
    const log = await fetchLog(cluster.clientAddr(1), 0, 5);
    expect(log.from, 'from = compactedIdx, not the requested 0').to.equal(s.compactedIdx);
    expect(log.entries).to.have.length(5);
    expect(log.logLength).to.be.at.least(70);
    const zero = await fetchLog(cluster.clientAddr(1), 3, 0);
    expect(zero).to.deep.include({ from: s.compactedIdx, entries: [] });
    expect(cluster.fatal).to.deep.equal([]);
  });

  it('rejects client requests before the node has booted', async () => {
    cluster = await InProcessCluster.create(3);
    // Node 2 alone: the bootstrap server (node 1) is not up, so it cannot boot.
    await cluster.start(2);
    const c = new Connection(parseAddr(cluster.clientAddr(2)));
    conns.push(c);
    const r = await send(c, clientId(), 1, { kind: 'get', key: 'x' });
    expect(r.status).to.equal('rejected');
    const s = await fetchStatus(cluster.clientAddr(2));
    expect(s.phase).to.equal('none');
  });
});
