/**
 * Peer authentication on real TCP (in-process kvnodes, so the log lines can be read): every
 * peer-port connection — peer links and bootstrap check-ins — must complete the HMAC
 * handshake before anything else is accepted, and one that fails or stalls is closed and logged.
 */
import { expect } from 'chai';
import { parseAddr } from '../src/client/addr.js';
import { Connection } from '../src/client/connection.js';
import { resolveClusterSecret } from '../src/node/cluster-secret.js';
import type { ClusterConfig } from '../src/node/config.js';
import { authMac } from '../src/node/peer-auth.js';
import { decodeMessage } from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';
import { InProcessCluster } from './support/inprocess-cluster.js';
import { RawPeer, recordingProxy, splitFrames, waitUntil } from './support/raw-peer.js';
import { createServer, type Socket } from 'node:net';

const WRONG = new Uint8Array(Buffer.from('not the secret of this cluster', 'utf8'));

function secretOf(c: InProcessCluster): Uint8Array {
  return resolveClusterSecret(c.config, c.dir, {})!.key;
}

/** The config with node `id` reaching node `to` through `port` on loopback (dialVia). */
function routed(config: ClusterConfig, id: number, to: number, port: number): ClusterConfig {
  return { ...config, nodes: config.nodes.map((n) => (n.id === id ? { ...n, dialVia: { [String(to)]: `127.0.0.1:${port}` } } : n)) };
}

const kinds = (frames: WireMessage[]): string[] => frames.map((f) => (f.kind === 'error' ? `error ${f.code}` : f.kind));

/** Runs the dialer side of the handshake by hand, with `secret`, against node `acceptorId`. */
async function handshake(p: RawPeer, c: InProcessCluster, dialerId: number, acceptorId: number, secret: Uint8Array): Promise<void> {
  const dialerNonce = new Uint8Array(32).fill(0x5a);
  p.send({ kind: 'peer-hello', nodeId: dialerId, clusterId: c.config.clusterId }, { kind: 'auth-challenge', nonce: dialerNonce });
  const challenge = await p.next();
  const proof = await p.next();
  expect([challenge.kind, proof.kind]).to.deep.equal(['auth-challenge', 'auth-proof']);
  const acceptorNonce = (challenge as { nonce: Uint8Array }).nonce;
  const ids = { clusterId: c.config.clusterId, dialerId, acceptorId };
  p.send({ kind: 'auth-proof', mac: authMac(secret, 'dialer', ids, dialerNonce, acceptorNonce) });
}

describe('peer authentication: real nodes', function () {
  this.timeout(60_000);

  describe('a cluster with the right secret', () => {
    let c: InProcessCluster;
    before(async () => {
      c = await InProcessCluster.create(3);
      await c.start();
      await c.waitForLeader();
    });
    after(async () => { await c?.destroy(); });

    it('forms and serves; every link authenticated, no failure logged, the secret never logged', async () => {
      const conn = new Connection(parseAddr(c.clientAddr(3)));
      try {
        const put = await conn.request({ kind: 'client-request', command: { clientId: 'auth-ok', seq: 1, op: { kind: 'put', key: 'a', value: '1' } } }, 5000);
        expect(put.kind === 'client-response' && put.status === 'result' ? put.result : put).to.deep.equal({ kind: 'ok' });
      } finally {
        conn.close();
      }
      for (const id of [1, 2, 3]) expect(c.events('listening', id)[0]?.['peerAuth']).to.equal('hmac-sha256');
      expect(c.events('auth-failed')).to.deep.equal([]);
      const secret = Buffer.from(secretOf(c)).toString();
      expect(c.lines.some((l) => JSON.stringify(l).includes(secret))).to.equal(false);
      // Links came up (node 1 dials 2 and 3, node 2 dials 3).
      expect(c.events('peer-up').length).to.be.at.least(6);
    });
  });

  describe('attacks and mistakes, against a running cluster', () => {
    let c: InProcessCluster;
    before(async () => {
      c = await InProcessCluster.create(3);
      await c.start(1, 2);
      await c.waitForLeader();
    });
    after(async () => { await c?.destroy(); });

    it('a handshake with the wrong secret: auth-failed error frame, connection closed, the node logs it with the remote address', async () => {
      const before = c.events('auth-failed', 2).length;
      const p = await RawPeer.connect(c.peerAddr(2).host, c.peerAddr(2).port);
      await handshake(p, c, 1, 2, WRONG);
      await p.closed;
      expect(kinds(p.frames)).to.deep.equal(['auth-challenge', 'auth-proof', 'error auth-failed']);
      await waitUntil(() => c.events('auth-failed', 2).length > before, 'the log line');
      const line = c.events('auth-failed', 2).at(-1)!;
      expect(line).to.include({ level: 'warn', role: 'acceptor', peer: 1, code: 'auth-failed' });
      expect(line['remote']).to.match(/^127\.0\.0\.1:\d+$/);
      expect(line['reason']).to.include('did not prove the cluster secret');
    });

    it('the same handshake with the right secret is accepted (the test above is not vacuous)', async () => {
      const p = await RawPeer.connect(c.peerAddr(2).host, c.peerAddr(2).port);
      try {
        await handshake(p, c, 1, 2, secretOf(c));
        // Authenticated as node 1: a heartbeat is answered like one from node 1.
        p.send({ kind: 'heartbeat-request', round: 7 });
        // (Node 2 may send its own messages first — heartbeats, a prepare: the link is up.)
        let reply = await p.next();
        while (reply.kind !== 'heartbeat-reply') reply = await p.next();
        expect(reply).to.deep.include({ kind: 'heartbeat-reply', round: 7 });
      } finally {
        p.destroy();
      }
    });

    it('a node started with the wrong secret gets no link: it cannot check in, both sides log auth-failed', async () => {
      c.overrides.set(3, { secret: WRONG });
      await c.start(3);
      await waitUntil(() => c.events('auth-failed', 3).length > 0 && c.events('auth-failed', 1).some((l) => l['peer'] === 3), 'auth-failed on both sides');
      expect(c.events('auth-failed', 3)[0]).to.include({ port: 'bootstrap', role: 'dialer', peer: 1 });
      expect(c.events('booted', 3)).to.deep.equal([]);
      // Retried every 250 ms, but logged once per reason.
      expect(c.events('auth-failed', 3).length).to.be.below(3);
      await c.stop(3);
      c.overrides.delete(3);
    });

    it('replay: the dialer frames of a real handshake, recorded on the wire, fail on a new connection', async () => {
      // Node 3 checks in with node 1 through a recording proxy.
      const proxy = await recordingProxy(c.peerAddr(1));
      try {
        c.overrides.set(3, { config: routed(c.config, 3, 1, proxy.port) });
        await c.start(3);
        await waitUntil(() => c.events('booted', 3).length > 0, 'node 3 booted through the proxy');
        const recorded = splitFrames(proxy.sent[0]!).bodies.map((b) => decodeMessage(b));
        expect(recorded.slice(0, 3).map((m) => m.kind)).to.deep.equal(['peer-hello', 'auth-challenge', 'auth-proof']);
        const before = c.events('auth-failed', 1).length;
        const p = await RawPeer.connect(c.peerAddr(1).host, c.peerAddr(1).port);
        p.send(...recorded.slice(0, 4)); // the handshake and the check-in after it
        await p.closed;
        expect(kinds(p.frames)).to.deep.equal(['auth-challenge', 'auth-proof', 'error auth-failed']);
        await waitUntil(() => c.events('auth-failed', 1).length > before, 'the log line');
      } finally {
        await c.stop(3);
        c.overrides.delete(3);
        await proxy.close();
      }
    });

    for (const [name, early] of [
      ['a heartbeat-request (BLE) right after hello', [{ kind: 'heartbeat-request', round: 1 }]],
      ['a prepare (Paxos) after the challenge, without a proof', [
        { kind: 'auth-challenge', nonce: new Uint8Array(32) },
        { kind: 'prepare', n: { n: 9, priority: 0, pid: 1 }, decidedIdx: 0, acceptedRnd: { n: 0, priority: 0, pid: 0 }, acceptedIdx: 0 },
      ]],
      ['an accept-decide (Paxos) right after hello', [
        { kind: 'accept-decide', n: { n: 9, priority: 0, pid: 1 }, seq: { session: 1, counter: 1 }, decidedIdx: 0, entries: [] },
      ]],
    ] as [string, WireMessage[]][]) {
      it(`a peer that sends ${name} before authenticating is closed with auth-failed`, async () => {
        const before = c.events('auth-failed', 2).length;
        const p = await RawPeer.connect(c.peerAddr(2).host, c.peerAddr(2).port);
        p.send({ kind: 'peer-hello', nodeId: 1, clusterId: c.config.clusterId }, ...early);
        await p.closed;
        expect(kinds(p.frames).at(-1)).to.equal('error auth-failed');
        expect(kinds(p.frames).slice(0, -1).every((k) => k.startsWith('auth-'))).to.equal(true);
        await waitUntil(() => c.events('auth-failed', 2).length > before, 'the log line');
        expect(c.events('auth-failed', 2).at(-1)!['reason']).to.include('before the handshake completed');
      });
    }
  });

  it('a fragment before the handshake completes is refused at once (unexpected-message), not buffered', async () => {
    const c = await InProcessCluster.create(2, {}, false);
    try {
      await c.start(1);
      const p = await RawPeer.connect(c.peerAddr(1).host, c.peerAddr(1).port);
      // The first piece of a 200 MiB message: buffering it would be the stranger's win.
      p.send({ kind: 'peer-hello', nodeId: 2, clusterId: c.config.clusterId }, { kind: 'fragment', total: 200 * 1024 * 1024, chunk: new Uint8Array(1024) });
      await p.closed;
      expect(kinds(p.frames).at(-1)).to.equal('error unexpected-message');
      expect(p.frames.at(-1)).to.deep.include({ message: 'fragments are accepted only on peer connections, once authenticated' });
    } finally {
      await c.destroy();
    }
  });

  describe('timeouts (short injected auth timeout)', () => {
    let c: InProcessCluster;
    before(async () => {
      c = await InProcessCluster.create(2, {}, false);
      for (const id of [1, 2]) c.overrides.set(id, { authTimeoutMs: 300 });
      await c.start(1);
    });
    after(async () => { await c?.destroy(); });

    for (const [name, first] of [
      ['sends nothing', []],
      ['stops after hello and its challenge', [{ kind: 'peer-hello', nodeId: 2, clusterId: 'test' }, { kind: 'auth-challenge', nonce: new Uint8Array(32) }]],
    ] as [string, WireMessage[]][]) {
      it(`acceptor: a connection that ${name} is closed once the timeout passes`, async () => {
        const before = c.events('auth-failed', 1).length;
        const started = Date.now();
        const p = await RawPeer.connect(c.peerAddr(1).host, c.peerAddr(1).port);
        p.send(...first);
        await p.closed;
        expect(Date.now() - started).to.be.at.least(250);
        expect(kinds(p.frames).at(-1)).to.equal('error auth-failed');
        await waitUntil(() => c.events('auth-failed', 1).length > before, 'the log line');
        expect(c.events('auth-failed', 1).at(-1)!['reason']).to.include('did not complete within 300 ms');
      });
    }

    it('dialer: a bootstrap server that accepts and never answers is dropped after the timeout', async () => {
      const seen: Socket[] = [];
      let closedOnce!: () => void;
      const closed = new Promise<void>((resolve) => { closedOnce = resolve; });
      const silent = createServer((s) => {
        seen.push(s);
        s.resume(); // read (and drop) the hello and challenge, so the node's close is seen
        s.on('error', () => {});
        s.on('close', () => closedOnce());
      });
      try {
        await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
        const port = (silent.address() as { port: number }).port;
        c.overrides.set(2, { authTimeoutMs: 300, config: routed(c.config, 2, 1, port) });
        await c.start(2);
        await closed; // node 2 gave up on the silent server
      } finally {
        for (const s of seen) s.destroy();
        silent.close();
      }
      await waitUntil(() => c.events('auth-failed', 2).length > 0, 'the dialer\'s log line');
      expect(c.events('auth-failed', 2)[0]).to.include({ role: 'dialer', port: 'bootstrap' });
      expect(c.events('auth-failed', 2)[0]!['reason']).to.include('did not complete within 300 ms');
      await c.stop(2);
    });
  });

  describe('bootstrap server', () => {
    let c: InProcessCluster;
    before(async () => {
      c = await InProcessCluster.create(3, {}, false);
      await c.start(1); // threshold 2: it waits for check-ins
    });
    after(async () => { await c?.destroy(); });

    it('rejects an unauthenticated check-in (auth-failed, closed, not counted); an authenticated one is counted', async () => {
      const p = await RawPeer.connect(c.peerAddr(1).host, c.peerAddr(1).port);
      const node2 = c.config.nodes.find((n) => n.id === 2)!;
      const address = { id: 2, host: node2.host, peerPort: node2.peerPort, clientPort: node2.clientPort };
      p.send({ kind: 'peer-hello', nodeId: 2, clusterId: c.config.clusterId }, { kind: 'check-in', node: address, incarnation: '0123456789abcdef' });
      await p.closed;
      expect(kinds(p.frames)).to.deep.equal(['error auth-failed']);
      await waitUntil(() => c.events('auth-failed', 1).length > 0, 'the log line');
      expect(c.events('checked-in', 1)).to.deep.equal([]);

      const q = await RawPeer.connect(c.peerAddr(1).host, c.peerAddr(1).port);
      try {
        await handshake(q, c, 2, 1, secretOf(c));
        q.send({ kind: 'check-in', node: address, incarnation: '0123456789abcdef' });
        await waitUntil(() => c.events('checked-in', 1).length > 0, 'the check-in counted');
        expect(await q.next()).to.deep.include({ kind: 'boot' });
      } finally {
        q.destroy();
      }
    });
  });

  describe('a secure node and an insecure one (--insecure)', () => {
    let c: InProcessCluster;
    before(async () => {
      c = await InProcessCluster.create(3, {}, false);
      c.overrides.set(2, { secret: null });
      await c.start(1, 2);
    });
    after(async () => { await c?.destroy(); });

    it('never link: the insecure node\'s check-in is refused, both log auth-failed', async () => {
      await waitUntil(() => c.events('auth-failed', 1).length > 0 && c.events('auth-failed', 2).length > 0, 'auth-failed on both');
      expect(c.events('booted', 2)).to.deep.equal([]);
      expect(c.events('listening', 2)[0]!['peerAuth']).to.equal('off (INSECURE)');
    });

    it('the insecure node refuses a dialer that tries to authenticate (no silent downgrade)', async () => {
      const p = await RawPeer.connect(c.peerAddr(2).host, c.peerAddr(2).port);
      p.send({ kind: 'peer-hello', nodeId: 1, clusterId: c.config.clusterId }, { kind: 'auth-challenge', nonce: new Uint8Array(32) });
      await p.closed;
      expect(kinds(p.frames)).to.deep.equal(['error auth-failed']);
      expect((p.frames[0] as { message: string }).message).to.include('without a cluster secret');
    });
  });
});
