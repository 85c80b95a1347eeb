/**
 * Peer messages larger than a frame (4 MiB) travel in fragments: a snapshot of a big state, a
 * long log sync after a leader change. Codec, connection, and a whole cluster catching a node
 * up through a snapshot of more than 4 MiB.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { parseAddr } from '../src/client/addr.js';
import { Connection } from '../src/client/connection.js';
import { fetchStatus } from '../src/client/admin.js';
import { FramedSocket, type BadInput } from '../src/node/framed-socket.js';
import type { Entry } from '../src/replica/entry.js';
import {
  decodeMessage, encodeMessage, fragmentBodies, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, ProtocolError,
} from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

const MiB = 1024 * 1024;
const ballot = { n: 3, priority: 0, pid: 2 };

/** An AcceptDecide of `count` entries of `valueBytes` each. */
function bigMessage(count: number, valueBytes: number): WireMessage {
  const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
    kind: 'command', command: { clientId: `c${i}`, seq: 1, op: { kind: 'put', key: `k${i}`, value: String(i % 10).repeat(valueBytes) } },
  }));
  return { kind: 'accept-decide', n: ballot, seq: { session: 1, counter: 2 }, decidedIdx: 0, entries };
}

async function socketPair(): Promise<{ a: Socket; b: Socket; server: Server }> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((ok) => server.once('connection', ok));
  const a = connect({ host: '127.0.0.1', port });
  await new Promise<void>((ok) => a.once('connect', () => ok()));
  return { a, b: await accepted, server };
}

describe('large peer messages: fragments', function () {
  this.timeout(120_000);

  describe('codec', () => {
    it('splits a message over one frame into fragments that join back to it; a small one stays whole', () => {
      const msg = bigMessage(10, MiB - 200);
      const body = encodeMessage(msg, MAX_MESSAGE_BYTES);
      expect(body.length).to.be.greaterThan(MAX_FRAME_BYTES);
      expect(() => encodeMessage(msg)).to.throw(RangeError);
      const pieces = fragmentBodies(body);
      expect(pieces.length).to.equal(Math.ceil(body.length / MiB));
      const joined: Uint8Array[] = [];
      for (const p of pieces) {
        expect(p.length).to.be.below(MAX_FRAME_BYTES);
        const f = decodeMessage(p);
        expect(f.kind).to.equal('fragment');
        if (f.kind === 'fragment') {
          expect(f.total).to.equal(body.length);
          joined.push(f.chunk.slice());
        }
      }
      expect(decodeMessage(Buffer.concat(joined))).to.deep.equal(msg);
      const small = encodeMessage({ kind: 'heartbeat-request', round: 1 });
      expect(fragmentBodies(small)).to.deep.equal([small]);
    });

    it('refuses fragments of impossible sizes', () => {
      const bad = (total: number, chunk: number): void => {
        const b = encodeMessage({ kind: 'fragment', total, chunk: new Uint8Array(chunk) });
        expect(() => decodeMessage(b)).to.throw(ProtocolError, /malformed fragment/);
      };
      bad(100, 10); // a message that fits one frame is never fragmented
      bad(MAX_MESSAGE_BYTES + 1, 10);
      bad(MAX_FRAME_BYTES + 1, 0);
    });
  });

  describe('connection', () => {
    const cleanups: (() => void)[] = [];
    afterEach(() => { for (const c of cleanups.splice(0)) c(); });

    async function pair(acceptFragments: boolean) {
      const { a, b, server } = await socketPair();
      const got: WireMessage[] = [];
      const bad: BadInput[] = [];
      const receiver = new FramedSocket(b, { onMessage: (m) => got.push(m), onBadInput: (x) => bad.push(x) }, { acceptFragments });
      const sender = new FramedSocket(a, { onMessage: () => {} }, { acceptFragments: true });
      cleanups.push(() => { sender.destroy('done'); receiver.destroy('done'); server.close(); });
      return { sender, receiver, got, bad };
    }

    async function until(cond: () => boolean): Promise<void> {
      while (!cond()) await new Promise((r) => setTimeout(r, 10));
    }

    it('joins fragments into the message, in order with the messages around it', async () => {
      const { sender, got } = await pair(true);
      const big = bigMessage(9, MiB - 100);
      sender.send({ kind: 'heartbeat-request', round: 1 });
      sender.sendLarge(encodeMessage(big, MAX_MESSAGE_BYTES));
      sender.send({ kind: 'heartbeat-request', round: 2 });
      await until(() => got.length === 3);
      expect(got[0]).to.deep.equal({ kind: 'heartbeat-request', round: 1 });
      expect(got[1]).to.deep.equal(big);
      expect(got[2]).to.deep.equal({ kind: 'heartbeat-request', round: 2 });
    });

    it('a connection that does not take fragments (client port) refuses them', async () => {
      const { sender, bad, receiver } = await pair(false);
      sender.sendLarge(encodeMessage(bigMessage(5, MiB), MAX_MESSAGE_BYTES));
      await until(() => bad.length > 0);
      expect(bad[0]!.code).to.equal('unexpected-message');
      await until(() => !receiver.isOpen);
    });

    it('another message in the middle of a fragmented one is malformed', async () => {
      const { sender, bad } = await pair(true);
      const pieces = fragmentBodies(encodeMessage(bigMessage(5, MiB), MAX_MESSAGE_BYTES));
      sender.sendEncoded(pieces[0]!);
      sender.send({ kind: 'heartbeat-request', round: 1 });
      await until(() => bad.length > 0);
      expect(bad[0]!.code).to.equal('malformed');
      expect(bad[0]!.message).to.contain('in the middle of a fragmented message');
    });
  });

  describe('a cluster', () => {
    let cluster: InProcessCluster | undefined;
    const conns: Connection[] = [];
    afterEach(async () => {
      for (const c of conns.splice(0)) c.close();
      await cluster?.destroy();
      cluster = undefined;
    });

    it('catches a node up through a snapshot of more than 4 MiB', async () => {
      cluster = await InProcessCluster.create(3, {}, false, { snapshotEntries: 4 });
      await cluster.start();
      const leader = await cluster.waitForLeader();
      const down = [1, 2, 3].find((id) => id !== leader)!;
      const up = [1, 2, 3].filter((id) => id !== down);
      await cluster.stop(down);
      const c = new Connection(parseAddr(cluster.clientAddr(leader)));
      conns.push(c);
      // 12 keys of ~0.5 MiB: a 6 MiB state, so the snapshot the node needs takes two frames or more.
      const value = (i: number): string => String.fromCharCode(97 + i).repeat(512 * 1024);
      for (let i = 0; i < 12; i++) {
        const r = await c.request({ kind: 'client-request', command: { clientId: 'big', seq: i + 1, op: { kind: 'put', key: `b${i}`, value: value(i) } } }, 20_000);
        expect(r.kind === 'client-response' && r.status, `put b${i}`).to.equal('result');
      }
      const before = await Promise.all(up.map((id) => fetchStatus(cluster!.clientAddr(id))));
      for (const s of before) expect(s.compactedIdx, `node ${s.nodeId} compacted`).to.be.at.least(8);

      await cluster.start(down);
      const deadline = Date.now() + 30_000;
      let s = await fetchStatus(cluster.clientAddr(down));
      while (s.decidedIdx < 12 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        s = await fetchStatus(cluster.clientAddr(down));
      }
      expect(s.decidedIdx, 'caught up').to.be.at.least(12);
      expect(s.compactedIdx, 'through a snapshot').to.be.at.least(Math.min(...before.map((x) => x.compactedIdx)));
      // Its own state machine has every value: a read entering through it is answered by it.
      const viaDown = new Connection(parseAddr(cluster.clientAddr(down)));
      conns.push(viaDown);
      for (let i = 0; i < 12; i++) {
        const r = await viaDown.request({ kind: 'client-request', command: { clientId: 'reader', seq: i + 1, op: { kind: 'get', key: `b${i}` } } }, 20_000);
        expect(r.kind === 'client-response' && r.status === 'result' && r.result, `get b${i}`).to.deep.equal({ kind: 'value', value: value(i) });
      }
      expect(cluster.events('message-too-large')).to.deep.equal([]);
      expect(cluster.fatal).to.deep.equal([]);
    });
  });
});
