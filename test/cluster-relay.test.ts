/**
 * The local cluster's link relays (src/cluster/link-relay.ts) and their fault state
 * (src/cluster/network-faults.ts), with plain TCP servers and clients writing length-prefixed
 * frames; and the `dialVia` config field the nodes use to reach a relay.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import * as lp from 'it-length-prefixed';
import { LinkRelay } from '../src/cluster/link-relay.js';
import { NetworkFaults } from '../src/cluster/network-faults.js';
import { ConfigError, dialRoutes, parseClusterConfig, parseHostPort } from '../src/node/config.js';
import { projectRoot } from './support/paths.js';

/** One end of a TCP connection that speaks frames of text. */
class FramePeer {
  readonly frames: string[] = [];
  /** When each frame arrived (performance.now()). */
  readonly arrivals: number[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    this.closed = new Promise((ok) => socket.once('close', () => {
      this.isClosed = true;
      ok();
      this.wake();
    }));
    void (async () => {
      try {
        for await (const f of lp.decode(socket as AsyncIterable<Uint8Array>)) {
          this.frames.push(Buffer.from(f.subarray()).toString());
          this.arrivals.push(performance.now());
          this.wake();
        }
      } catch { /* the connection broke: `closed` tells */ }
    })();
  }

  send(...texts: string[]): void {
    for (const t of texts) this.socket.write(lp.encode.single(Buffer.from(t)).subarray());
  }

  /** Resolves once `n` frames have arrived; rejects if the connection closes first. */
  async waitFrames(n: number): Promise<string[]> {
    while (this.frames.length < n) {
      if (this.isClosed) throw new Error(`closed after ${this.frames.length} of ${n} frames: ${this.frames.join(',')}`);
      await new Promise<void>((ok) => this.waiters.push(ok));
    }
    return this.frames.slice(0, n);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A stand-in for a node's peer port: every accepted connection becomes a FramePeer. */
class FrameServer {
  readonly peers: FramePeer[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly server: Server, readonly port: number) {}

  static async start(): Promise<FrameServer> {
    const server = createServer();
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const fs = new FrameServer(server, (server.address() as { port: number }).port);
    server.on('connection', (s) => {
      fs.peers.push(new FramePeer(s));
      for (const w of fs.waiters.splice(0)) w();
    });
    return fs;
  }

  async peer(i: number): Promise<FramePeer> {
    while (this.peers.length <= i) await new Promise<void>((ok) => this.waiters.push(ok));
    return this.peers[i]!;
  }

  close(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

function dial(port: number): Promise<FramePeer> {
  return new Promise((ok, fail) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => ok(new FramePeer(s)));
    s.once('error', fail);
  });
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('link relay (src/cluster/link-relay.ts)', () => {
  let server: FrameServer;
  let faults: NetworkFaults;
  let relay: LinkRelay;
  const closeReasons: string[] = [];
  const clients: FramePeer[] = [];

  const client = async (): Promise<FramePeer> => {
    const c = await dial(relay.port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await FrameServer.start();
    faults = new NetworkFaults([1, 2, 3]);
    closeReasons.length = 0;
    relay = await LinkRelay.start({
      from: 1, to: 2, target: { host: '127.0.0.1', port: server.port }, faults,
      onPairClosed: (r) => closeReasons.push(r),
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await relay.close();
    await server.close();
  });

  it('passes frames both ways, in order; closing one side closes the other', async () => {
    const c = await client();
    c.send('hello', 'a', 'b');
    const s = await server.peer(0);
    expect(await s.waitFrames(3)).to.deep.equal(['hello', 'a', 'b']);
    s.send('x', 'y');
    expect(await c.waitFrames(2)).to.deep.equal(['x', 'y']);
    expect(relay.stats()).to.include({ pairs: 1, passed: 5, dropped: 0 });
    c.socket.end();
    await s.closed;
    await c.closed;
    await waitFor(() => relay.stats().pairs === 0, 'the pair to go');
  });

  it('a one-way cut drops only that direction; the hello still passes', async () => {
    faults.cut(1, 2);
    const c = await client();
    c.send('hello', 'lost');
    const s = await server.peer(0);
    expect(await s.waitFrames(1)).to.deep.equal(['hello']);
    await waitFor(() => relay.stats().dropped === 1, 'the dropped frame');
    s.send('reply');
    expect(await c.waitFrames(1)).to.deep.equal(['reply']);
    expect(s.frames).to.deep.equal(['hello']);

    // The other way round: the dialer's frames arrive, the replies do not.
    faults.heal();
    await c.closed; // it had dropped a frame: reset
    faults.cut(2, 1);
    const c2 = await client();
    c2.send('hello', 'arrives');
    const s2 = await server.peer(1);
    expect(await s2.waitFrames(2)).to.deep.equal(['hello', 'arrives']);
    s2.send('lost');
    await waitFor(() => relay.stats().dropped === 2, 'the dropped reply');
    c2.send('still arrives');
    expect(await s2.waitFrames(3)).to.deep.equal(['hello', 'arrives', 'still arrives']);
    expect(c2.frames).to.deep.equal([]);
  });

  it('a delayed link delivers late and in order, also across the end of the delay', async () => {
    const c = await client();
    c.send('hello');
    const s = await server.peer(0);
    await s.waitFrames(1);
    faults.delay([1], [2], 150);
    expect(faults.describe()).to.equal('1→2 +150ms');
    const sent = performance.now();
    c.send('a', 'b', 'c');
    await waitFor(() => relay.stats().delayed === 3, 'three delayed frames');
    faults.delay([1], [2], 0);
    expect(faults.describe()).to.equal('no faults');
    // Passable now, but it must not overtake the delayed frames before it.
    c.send('d');
    expect(await s.waitFrames(5)).to.deep.equal(['hello', 'a', 'b', 'c', 'd']);
    // A lower bound only (a timer never fires early), with slack for clock granularity.
    expect(s.arrivals[1]! - sent).to.be.at.least(140);
    expect(closeReasons).to.deep.equal([]);
  });

  it('heal resets only the connections that dropped frames', async () => {
    const lossy = await client();
    lossy.send('hello');
    const sLossy = await server.peer(0);
    await sLossy.waitFrames(1);
    const quiet = await client();
    quiet.send('hello');
    const sQuiet = await server.peer(1);
    await sQuiet.waitFrames(1);

    faults.partition([[1], [2]]);
    lossy.send('lost');
    await waitFor(() => relay.stats().dropped === 1, 'the dropped frame');
    faults.heal();
    await Promise.all([lossy.closed, sLossy.closed]);
    expect(closeReasons).to.have.length(1);
    expect(closeReasons[0]).to.match(/1→2 passes again after dropping frames/);
    expect(relay.stats()).to.include({ resets: 1, pairs: 1 });

    // The quiet connection lost nothing and goes on; a new one works too.
    quiet.send('after heal');
    expect(await sQuiet.waitFrames(2)).to.deep.equal(['hello', 'after heal']);
    const fresh = await client();
    fresh.send('hello', 'again');
    expect(await (await server.peer(2)).waitFrames(2)).to.deep.equal(['hello', 'again']);
  });

  it('after a dropped frame nothing later passes on that connection until it is reset', async () => {
    const c = await client();
    c.send('hello');
    const s = await server.peer(0);
    await s.waitFrames(1);
    faults.cut(1, 3); // another link: no effect here
    c.send('one');
    await s.waitFrames(2);
    faults.cut(1, 2);
    c.send('lost');
    await waitFor(() => relay.stats().dropped === 1, 'the dropped frame');
    faults.cut(2, 1); // a change that heals nothing: the connection stays
    c.send('also lost');
    await waitFor(() => relay.stats().dropped === 2, 'the second dropped frame');
    expect(c.isClosed).to.equal(false);
    expect(s.frames).to.deep.equal(['hello', 'one']);
  });

  it('garbage bytes destroy that pair only; the relay keeps serving the others', async () => {
    const good = await client();
    good.send('hello');
    const sGood = await server.peer(0);
    await sGood.waitFrames(1);
    const bad = await client();
    await server.peer(1); // its target side is open: the next connection is peer 2
    // A varint length prefix longer than 8 bytes: not a frame.
    bad.socket.write(Buffer.alloc(12, 0xff));
    await bad.closed;
    expect(closeReasons.some((r) => /undecodable/.test(r)), closeReasons.join('; ')).to.equal(true);
    good.send('still here');
    expect(await sGood.waitFrames(2)).to.deep.equal(['hello', 'still here']);
    const next = await client();
    next.send('hello');
    expect(await (await server.peer(2)).waitFrames(1)).to.deep.equal(['hello']);
  });

  it('a target that refuses the connection closes the dialer side too', async () => {
    const dead = await FrameServer.start();
    const port = dead.port;
    await dead.close();
    const r = await LinkRelay.start({ from: 1, to: 2, target: { host: '127.0.0.1', port }, faults });
    try {
      const c = await dial(r.port);
      await c.closed;
      expect(r.stats().pairs).to.equal(0);
    } finally {
      await r.close();
    }
  });

  it('close() destroys every pair and stops listening', async () => {
    const c = await client();
    c.send('hello');
    await (await server.peer(0)).waitFrames(1);
    await relay.close();
    await c.closed;
    let refused = false;
    await dial(relay.port).catch(() => { refused = true; });
    expect(refused).to.equal(true);
  });
});

describe('network faults (src/cluster/network-faults.ts)', () => {
  it('partition cuts both ways between groups; nodes in no group keep their links', () => {
    const f = new NetworkFaults([1, 2, 3, 4, 5]);
    f.partition([[1], [3]]);
    expect(f.describe()).to.equal('1→3 cut, 3→1 cut');
    expect(f.linkFault(1, 2).kind).to.equal('pass');
    expect(f.linkFault(2, 3).kind).to.equal('pass');
    f.heal();
    f.partition([[1, 2], [3, 4, 5]]);
    expect(f.linkFault(1, 2).kind).to.equal('pass');
    expect(f.linkFault(4, 5).kind).to.equal('pass');
    for (const a of [1, 2]) for (const b of [3, 4, 5]) {
      expect(f.linkFault(a, b).kind).to.equal('cut');
      expect(f.linkFault(b, a).kind).to.equal('cut');
    }
  });

  it('one-way cuts, delays and heal; describe lists the faulty directed links', () => {
    const f = new NetworkFaults([1, 2, 3, 4]);
    let changes = 0;
    const off = f.onChange(() => { changes++; });
    f.cutOneWay([1], [2, 3]);
    f.delay([2], [4], 200);
    f.delay([3], [4], 50, true);
    expect(f.describe()).to.equal('1→2 cut, 1→3 cut, 2→4 +200ms, 3→4 +50ms, 4→3 +50ms');
    expect(f.linkFault(2, 1).kind).to.equal('pass');
    expect(f.linkFault(2, 4)).to.deep.equal({ kind: 'delay', ms: 200 });
    f.cut(2, 4); // a cut link drops, whatever its delay
    expect(f.linkFault(2, 4).kind).to.equal('cut');
    f.heal();
    expect(f.describe()).to.equal('no faults');
    expect(changes).to.equal(5);
    off();
    f.cut(1, 2);
    expect(changes).to.equal(5);
  });

  it('rejects unknown node ids, a node in two groups, self links and bad delays', () => {
    const f = new NetworkFaults([1, 2, 3]);
    expect(() => f.cut(1, 9)).to.throw(/node 9 is not in the cluster \(ids: 1, 2, 3\)/);
    expect(() => f.partition([[1], [0]])).to.throw(/node 0 is not in the cluster/);
    expect(() => f.partition([[1, 2], [2, 3]])).to.throw(/node 2 is in two groups/);
    expect(() => f.cutOneWay([1], [4])).to.throw(/node 4/);
    expect(() => f.delay([7], [1], 10)).to.throw(/node 7/);
    expect(() => f.cut(2, 2)).to.throw(/no link to itself/);
    expect(() => f.delay([1], [2], -1)).to.throw(RangeError);
    expect(() => f.delay([1], [2], 1.5)).to.throw(RangeError);
    expect(f.describe(), 'a rejected call changes nothing').to.equal('no faults');
  });
});

describe('cluster config: dialVia', () => {
  const good = (): Record<string, any> => JSON.parse(readFileSync(join(projectRoot, 'cluster.config.json'), 'utf8')) as Record<string, any>;

  it('accepts routes to other nodes and gives each node its own', () => {
    const c = good();
    c.nodes[0].dialVia = { 2: '127.0.0.1:9001', 3: 'relay.local:9002' };
    c.nodes[2].dialVia = { 1: '[::1]:9003' };
    const config = parseClusterConfig(c, 'test.json');
    expect([...dialRoutes(config, 1)]).to.deep.equal([[2, { host: '127.0.0.1', port: 9001 }], [3, { host: 'relay.local', port: 9002 }]]);
    expect([...dialRoutes(config, 3)]).to.deep.equal([[1, { host: '::1', port: 9003 }]]);
    expect(dialRoutes(config, 2).size).to.equal(0);
  });

  const cases: [string, unknown, RegExp][] = [
    ['an unknown peer', { 9: '127.0.0.1:9001' }, /nodes\[0\]\.dialVia\.9: "9" is not the id of a node in nodes/],
    ['a peer id that is not canonical', { '02': '127.0.0.1:9001' }, /nodes\[0\]\.dialVia\.02: "02" is not the id/],
    ['the node itself', { 1: '127.0.0.1:9001' }, /nodes\[0\]\.dialVia\.1: node 1 cannot dial itself/],
    ['no port', { 2: '127.0.0.1' }, /nodes\[0\]\.dialVia\.2: "127\.0\.0\.1" is not host:port/],
    ['port 0', { 2: '127.0.0.1:0' }, /nodes\[0\]\.dialVia\.2: .*not host:port/],
    ['a port out of range', { 2: 'localhost:65536' }, /nodes\[0\]\.dialVia\.2: .*not host:port/],
    ['no host', { 2: ':9001' }, /nodes\[0\]\.dialVia\.2: .*not host:port/],
    ['a bare IPv6 address', { 2: '::1:9001' }, /nodes\[0\]\.dialVia\.2: .*not host:port/],
    ['an address that is not a string', { 2: 9001 }, /nodes\[0\]\.dialVia\.2: .*string/],
    ['not an object', '127.0.0.1:9001', /nodes\[0\]\.dialVia: .*expected record/],
  ];
  for (const [what, dialVia, message] of cases) {
    it(`names the field: ${what}`, () => {
      const c = good();
      c.nodes[0].dialVia = dialVia;
      expect(() => parseClusterConfig(c, 'test.json')).to.throw(ConfigError, message);
    });
  }

  it('parseHostPort', () => {
    expect(parseHostPort('a:1')).to.deep.equal({ host: 'a', port: 1 });
    expect(parseHostPort('[fe80::1]:65535')).to.deep.equal({ host: 'fe80::1', port: 65535 });
    for (const bad of ['', 'a', 'a:', 'a:x', 'a:123456', 'a b:1', '[::1]', 'a:1:2']) expect(parseHostPort(bad), bad).to.equal(null);
  });
});

describe('cluster relays (src/cluster/cluster-relays.ts)', () => {
  it('never takes a port of the config for a relay, even when the OS offers one (nodes not yet listening)', async () => {
    const { ClusterRelays } = await import('../src/cluster/cluster-relays.js');
    // Three nodes whose ports are free right now, like a cluster whose nodes have not started.
    const free = await Promise.all(Array.from({ length: 6 }, () => new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => ok(port));
      });
    })));
    const config = parseClusterConfig({
      clusterId: 't', bootstrap: 1, bootThreshold: 2, dataDir: 'd', fsync: false,
      timing: { tickMs: 20, electionTicks: 5, resendTicks: 2, requestTimeoutMs: 1000 },
      nodes: [0, 1, 2].map((i) => ({ id: i + 1, host: '127.0.0.1', peerPort: free[2 * i]!, clientPort: free[2 * i + 1]! })),
    });
    // The "OS" first offers every port the nodes will need, then picks freely.
    const offers = [...free];
    const relays = await ClusterRelays.start(config, new NetworkFaults([1, 2, 3]), () => offers.shift() ?? 0);
    try {
      const used = [1, 2, 3].flatMap((a) => [1, 2, 3].filter((b) => b !== a).map((b) => relays.relay(a, b).port));
      expect(used.filter((p) => free.includes(p))).to.deep.equal([]);
      // The refused ports were given back: a node can listen on each.
      for (const port of free) {
        await new Promise<void>((ok, fail) => {
          const s = createServer().once('error', fail).listen(port, '127.0.0.1', () => s.close(() => ok()));
        });
      }
    } finally {
      await relays.close();
    }
  });
});
