import { expect } from 'chai';
import { Connection, type Reply } from '../src/client/connection.js';
import type { Command } from '../src/replica/entry.js';
import { encodeMessage } from '../src/wire/codec.js';
import { PROTOCOL_VERSION, type ClientRequest } from '../src/wire/messages.js';
import { FakeNode } from './support/fake-node.js';

const put = (clientId: string, seq: number, value: string): Command => ({ clientId, seq, op: { kind: 'put', key: 'k', value } });

describe('client: connection', () => {
  let node: FakeNode;
  let conn: Connection;
  beforeEach(async () => {
    node = await FakeNode.start();
    conn = new Connection(node.addr);
  });
  afterEach(async () => {
    conn.close();
    await node.stop();
  });

  it('matches many requests in flight, answered out of order, by requestId', async () => {
    node.policy = () => ({ do: 'hold' });
    const n = 20;
    const replies = Array.from({ length: n }, (_, i) =>
      conn.request({ kind: 'client-request', command: { clientId: `c${i}`, seq: 1, op: { kind: 'put', key: `k${i}`, value: `v${i}` } } }, 10_000));
    await node.untilHeld(n);
    expect(conn.inFlight).to.equal(n);
    const ids = node.held.map(h => h.request.requestId);
    expect(new Set(ids).size).to.equal(n);
    // One connection carried them all.
    expect(node.connections).to.equal(1);
    // Answer in reverse order.
    for (const h of [...node.held].reverse()) h.answer({ do: 'apply' });
    const got = await Promise.all(replies);
    for (const r of got) expect(r).to.include({ kind: 'client-response', status: 'result' });
    for (let i = 0; i < n; i++) expect(node.store.sm.get(`k${i}`)).to.equal(`v${i}`);
    // Each reply carries the requestId of its own request.
    got.forEach((r, i) => {
      const req = node.held.find(h => h.request.command.clientId === `c${i}`)!.request;
      expect((r as { requestId: number }).requestId).to.equal(req.requestId);
    });
    expect(conn.inFlight).to.equal(0);
  });

  it('requests written in one event-loop turn (corked into one write) all arrive and get answers', async () => {
    const replies = [0, 1, 2, 3, 4].map(i => conn.request({ kind: 'client-request', command: put(`b${i}`, 1, 'x') }, 10_000));
    const got = await Promise.all(replies);
    expect(got.every(r => r.kind === 'client-response')).to.equal(true);
  });

  it('a timeout settles only that request; a late answer is dropped', async () => {
    node.script.push({ do: 'hold' });
    const slow = conn.request({ kind: 'client-request', command: put('a', 1, 'x') }, 50);
    const r = await slow;
    expect(r).to.deep.include({ kind: 'no-answer', cause: 'timeout' });
    node.held[0]!.answer({ do: 'apply' }); // late: nobody waits for it
    const next = await conn.request({ kind: 'client-request', command: put('b', 1, 'y') }, 10_000);
    expect(next).to.include({ kind: 'client-response', status: 'result' });
    expect(conn.closed).to.equal(false);
  });

  it('the connection closing settles every unanswered request as no-answer', async () => {
    node.policy = () => ({ do: 'hold' });
    const replies = [1, 2, 3].map(i => conn.request({ kind: 'client-request', command: put(`c${i}`, 1, 'x') }, 10_000));
    await node.untilHeld(3);
    node.dropConnections();
    for (const r of await Promise.all(replies)) expect(r).to.deep.include({ kind: 'no-answer', cause: 'closed' });
    expect(conn.closed).to.equal(true);
    // A closed connection answers at once.
    expect(await conn.request({ kind: 'status-request' }, 10_000)).to.include({ kind: 'no-answer', cause: 'closed' });
  });

  it('an error frame settles every unanswered request as no-answer and closes', async () => {
    node.script.push({ do: 'hold' }, { do: 'hold' }, { do: 'error', code: 'malformed', message: 'bad op' });
    const replies = [1, 2, 3].map(i => conn.request({ kind: 'client-request', command: put(`c${i}`, 1, 'x') }, 10_000));
    const got = await Promise.all(replies);
    for (const r of got) {
      expect(r).to.include({ kind: 'no-answer', cause: 'error-frame' });
      expect((r as Extract<Reply<'client-request'>, { kind: 'no-answer' }>).detail).to.match(/sent error malformed: bad op/);
    }
    expect(conn.closed).to.equal(true);
  });

  it('a frame that does not decode gets an error frame back, and pending requests no answer', async () => {
    node.script.push({ do: 'raw', body: Uint8Array.from([PROTOCOL_VERSION, 0x41, 0, 0]) }); // a client-response cut short
    const r = await conn.request({ kind: 'client-request', command: put('a', 1, 'x') }, 10_000);
    expect(r).to.include({ kind: 'no-answer', cause: 'protocol' });
    await node.until(() => node.received.some(x => x.message.kind === 'error'));
    const err = node.received.find(x => x.message.kind === 'error')!.message;
    expect(err).to.include({ kind: 'error', code: 'malformed' });
  });

  it('a response of the wrong type for its requestId is a protocol error', async () => {
    node.policy = () => ({ do: 'hold' });
    const p = conn.request({ kind: 'client-request', command: put('a', 1, 'x') }, 10_000);
    await node.untilHeld(1);
    const req: ClientRequest = node.held[0]!.request;
    // A log-response carrying the client-request's id.
    node.held[0]!.answer({ do: 'raw', body: encodeMessage({ kind: 'log-response', requestId: req.requestId, from: 0, decidedIdx: 0, logLength: 0, entries: [] }) });
    const r = await p;
    expect(r).to.include({ kind: 'no-answer', cause: 'protocol' });
    await node.until(() => node.received.some(x => x.message.kind === 'error'));
    expect(node.received.find(x => x.message.kind === 'error')!.message).to.include({ code: 'unexpected-message' });
  });

  it('closing the client settles requests in flight; a refused connection answers no-answer', async () => {
    node.policy = () => ({ do: 'drop' });
    const p = conn.request({ kind: 'client-request', command: put('a', 1, 'x') }, 10_000);
    await node.untilRequests(1);
    conn.close();
    expect(await p).to.include({ kind: 'no-answer', cause: 'closed' });

    const addr = node.addr;
    await node.stop();
    const dead = new Connection(addr);
    const r = await dead.request({ kind: 'status-request' }, 10_000);
    expect(r).to.include({ kind: 'no-answer', cause: 'closed' });
    expect((r as { detail: string }).detail).to.match(/ECONNREFUSED/);
    node = await FakeNode.start(); // for afterEach
  });

  it('an op too large for a frame is never sent', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const r = await conn.request({ kind: 'client-request', command: { clientId: 'a', seq: 1, op: { kind: 'cas', key: big, expected: big, value: big + big } } }, 10_000);
    expect(r).to.include({ kind: 'no-answer', cause: 'unsendable' });
    expect(conn.closed).to.equal(false);
  });
});
