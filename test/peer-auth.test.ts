/**
 * Peer authentication, the pure part (src/node/peer-auth.ts): the MAC's input layout and golden
 * values, and the dialer / acceptor state machines run against each other in memory — right
 * secret, wrong secret, replay, reflection, frames out of turn, error frames, no secret on either
 * side. Also where the secret comes from (src/node/cluster-secret.ts).
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveClusterSecret, SECRET_ENV } from '../src/node/cluster-secret.js';
import { ConfigError, parseClusterConfig, type ClusterConfig } from '../src/node/config.js';
import {
  AcceptorHandshake, AUTH_EXAMPLE, authMac, DialerHandshake, macInput, type AuthStep,
} from '../src/node/peer-auth.js';
import { decodeMessage, encodeMessage, toHex } from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const key = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const SECRET = key('a cluster secret of some length');
const OTHER = key('another cluster secret entirely');

/** A nonce source that hands out 0x11…, 0x12…, … so runs are repeatable and nonces distinct. */
function counterNonces(start: number): () => Uint8Array {
  let next = start;
  return () => new Uint8Array(32).fill(next++);
}

function dialer(secret: Uint8Array | null, opts: { nonce?: () => Uint8Array; acceptorId?: number } = {}): DialerHandshake {
  return new DialerHandshake({
    secret, clusterId: 'local', dialerId: 1, acceptorId: opts.acceptorId ?? 3, nonce: opts.nonce ?? counterNonces(0x11),
  });
}

function acceptor(secret: Uint8Array | null, nonce = counterNonces(0x81)): AcceptorHandshake {
  return new AcceptorHandshake({
    self: 3, secret, clusterId: 'local', nonce,
    checkPeer: (id) => ([1, 2].includes(id) ? null : `node ${id} is not a peer of node 3`),
  });
}

/** The frames a step sends (none when it failed). */
const sent = (s: AuthStep): readonly WireMessage[] => (s.kind === 'fail' ? [] : s.messages);

/** Each message goes through the codec, as on the wire. */
const wire = (m: WireMessage): WireMessage => decodeMessage(encodeMessage(m));

/**
 * Runs both machines against each other until neither has anything to send. Returns the last
 * step of each and every frame the dialer sent (for replay tests).
 */
function run(d: DialerHandshake, a: AcceptorHandshake): { dialer: AuthStep; acceptor: AuthStep | null; dialerFrames: WireMessage[] } {
  const dialerFrames: WireMessage[] = [];
  let dStep = d.start();
  let aStep: AuthStep | null = null;
  let toAcceptor = [...sent(dStep)];
  for (let round = 0; round < 5 && toAcceptor.length > 0; round++) {
    const toDialer: WireMessage[] = [];
    for (const m of toAcceptor) {
      dialerFrames.push(m);
      aStep = a.receive(wire(m));
      if (aStep.kind === 'fail') return { dialer: dStep, acceptor: aStep, dialerFrames };
      toDialer.push(...sent(aStep));
    }
    toAcceptor = [];
    for (const m of toDialer) {
      dStep = d.receive(wire(m));
      if (dStep.kind === 'fail') return { dialer: dStep, acceptor: aStep, dialerFrames };
      toAcceptor.push(...sent(dStep));
    }
  }
  return { dialer: dStep, acceptor: aStep, dialerFrames };
}

describe('peer authentication: MAC', () => {
  it('MAC input is label, clusterId, dialerId, acceptorId, dialer nonce, acceptor nonce in wire encodings', () => {
    const input = macInput('dialer', AUTH_EXAMPLE.ids, AUTH_EXAMPLE.dialerNonce, AUTH_EXAMPLE.acceptorNonce);
    expect(hex(input)).to.equal(
      '00000018' + Buffer.from('kvsh peer-auth v1 dialer').toString('hex')
      + '00000005' + Buffer.from('local').toString('hex')
      + '00000001' + '00000003'
      + hex(AUTH_EXAMPLE.dialerNonce) + hex(AUTH_EXAMPLE.acceptorNonce));
    expect(hex(macInput('acceptor', AUTH_EXAMPLE.ids, AUTH_EXAMPLE.dialerNonce, AUTH_EXAMPLE.acceptorNonce)).slice(0, 8)).to.equal('0000001a');
  });

  it('golden values: HMAC-SHA-256 of protocol.md\'s example (also in test/vectors/messages.json)', () => {
    const { secret, ids, dialerNonce, acceptorNonce } = AUTH_EXAMPLE;
    expect(Buffer.from(secret).toString()).to.equal('kvsh example secret, not for use');
    expect(hex(authMac(secret, 'acceptor', ids, dialerNonce, acceptorNonce))).to.equal('fd8bc8bdce33ff18349d57549e93088e956b2d13a7259f73994960948031e6c1');
    expect(hex(authMac(secret, 'dialer', ids, dialerNonce, acceptorNonce))).to.equal('95bfe1885a2dc9e7c9cf7a6c8a963b92ad2e94634372416cb605fb70e9c85b7b');
    expect(toHex(encodeMessage({ kind: 'auth-proof', mac: authMac(secret, 'dialer', ids, dialerNonce, acceptorNonce) })))
      .to.equal('030695bfe1885a2dc9e7c9cf7a6c8a963b92ad2e94634372416cb605fb70e9c85b7b');
  });

  it('every input changes the MAC: role, cluster, either id, either nonce, the secret', () => {
    const { secret, ids, dialerNonce: d, acceptorNonce: a } = AUTH_EXAMPLE;
    const base = hex(authMac(secret, 'dialer', ids, d, a));
    const flip = (b: Uint8Array): Uint8Array => { const c = b.slice(); c[31]! ^= 1; return c; };
    const variants = [
      authMac(secret, 'acceptor', ids, d, a),
      authMac(secret, 'dialer', { ...ids, clusterId: 'other' }, d, a),
      authMac(secret, 'dialer', { ...ids, dialerId: 2 }, d, a),
      authMac(secret, 'dialer', { ...ids, acceptorId: 2 }, d, a),
      authMac(secret, 'dialer', ids, flip(d), a),
      authMac(secret, 'dialer', ids, d, flip(a)),
      authMac(key('kvsh example secret, not for usE'), 'dialer', ids, d, a),
      // The two nonces swapped: a dialer nonce is not an acceptor nonce.
      authMac(secret, 'dialer', ids, a, d),
    ].map(hex);
    expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
  });
});

describe('peer authentication: handshake state machines', () => {
  it('right secret: both sides done, the acceptor knows the dialer, three flights', () => {
    const d = dialer(SECRET);
    const a = acceptor(SECRET);
    const r = run(d, a);
    expect(r.dialer).to.deep.include({ kind: 'done', peer: 3 });
    expect(r.acceptor).to.deep.include({ kind: 'done', peer: 1 });
    expect(r.dialerFrames.map((m) => m.kind)).to.deep.equal(['peer-hello', 'auth-challenge', 'auth-proof']);
    expect(a.peer).to.equal(1);
  });

  it('wrong secret: the dialer refuses the acceptor\'s proof (auth-failed) and never sends its own', () => {
    const r = run(dialer(OTHER), acceptor(SECRET));
    expect(r.dialer).to.deep.include({ kind: 'fail', code: 'auth-failed', remote: false });
    expect(r.dialerFrames.map((m) => m.kind)).to.deep.equal(['peer-hello', 'auth-challenge']);
  });

  it('wrong secret, seen by the acceptor: a dialer proof made with another secret is auth-failed', () => {
    const a = acceptor(SECRET);
    a.receive({ kind: 'peer-hello', nodeId: 1, clusterId: 'local' });
    const dn = new Uint8Array(32).fill(7);
    const step = a.receive({ kind: 'auth-challenge', nonce: dn });
    const an = (sent(step)[0] as { nonce: Uint8Array }).nonce;
    const bad = authMac(OTHER, 'dialer', { clusterId: 'local', dialerId: 1, acceptorId: 3 }, dn, an);
    expect(a.receive({ kind: 'auth-proof', mac: bad })).to.deep.include({ kind: 'fail', code: 'auth-failed' });
  });

  it('a proof for the right nonces with the right secret passes (the check above is not vacuous)', () => {
    const a = acceptor(SECRET);
    a.receive({ kind: 'peer-hello', nodeId: 1, clusterId: 'local' });
    const dn = new Uint8Array(32).fill(7);
    const an = (sent(a.receive({ kind: 'auth-challenge', nonce: dn }))[0] as { nonce: Uint8Array }).nonce;
    const good = authMac(SECRET, 'dialer', { clusterId: 'local', dialerId: 1, acceptorId: 3 }, dn, an);
    expect(a.receive({ kind: 'auth-proof', mac: good })).to.deep.include({ kind: 'done', peer: 1 });
  });

  it('replay: the dialer frames of a successful handshake fail against a fresh acceptor nonce', () => {
    const recorded = run(dialer(SECRET), acceptor(SECRET)).dialerFrames;
    const a = acceptor(SECRET, counterNonces(0xc1)); // the acceptor's next nonce differs
    const steps = recorded.map((m) => a.receive(wire(m)));
    expect(steps.map((s) => s.kind)).to.deep.equal(['continue', 'continue', 'fail']);
    expect(steps[2]).to.deep.include({ code: 'auth-failed' });
  });

  it('reflection: the acceptor\'s own proof sent back as the dialer\'s is refused', () => {
    const a = acceptor(SECRET);
    a.receive({ kind: 'peer-hello', nodeId: 1, clusterId: 'local' });
    const out = sent(a.receive({ kind: 'auth-challenge', nonce: new Uint8Array(32).fill(9) }));
    const proof = out.find((m) => m.kind === 'auth-proof')!;
    expect(a.receive(proof)).to.deep.include({ kind: 'fail', code: 'auth-failed' });
  });

  it('a dialer that reached another node than it meant (ids differ) refuses its proof', () => {
    const r = run(dialer(SECRET, { acceptorId: 2 }), acceptor(SECRET));
    expect(r.dialer).to.deep.include({ kind: 'fail', code: 'auth-failed' });
  });

  for (const early of [
    { kind: 'heartbeat-request', round: 1 },
    { kind: 'prepare', n: { n: 1, priority: 0, pid: 1 }, decidedIdx: 0, acceptedRnd: { n: 0, priority: 0, pid: 0 }, acceptedIdx: 0 },
    { kind: 'check-in', node: { id: 1, host: '127.0.0.1', peerPort: 1, clientPort: 2 } },
    { kind: 'auth-proof', mac: new Uint8Array(32) },
  ] as WireMessage[]) {
    it(`acceptor: ${early.kind} before the handshake completes is auth-failed (after hello, and after the challenge)`, () => {
      const a1 = acceptor(SECRET);
      a1.receive({ kind: 'peer-hello', nodeId: 1, clusterId: 'local' });
      expect(a1.receive(early)).to.deep.include({ kind: 'fail', code: 'auth-failed' });
      if (early.kind === 'auth-proof') return;
      const a2 = acceptor(SECRET);
      a2.receive({ kind: 'peer-hello', nodeId: 1, clusterId: 'local' });
      a2.receive({ kind: 'auth-challenge', nonce: new Uint8Array(32) });
      expect(a2.receive(early)).to.deep.include({ kind: 'fail', code: 'auth-failed' });
      // Failed for good: even a valid-looking message later does not revive it.
      expect(a2.receive({ kind: 'heartbeat-request', round: 2 })).to.deep.include({ kind: 'fail' });
    });
  }

  it('acceptor: hello checks keep their codes (not hello, wrong cluster, not a peer, itself)', () => {
    expect(acceptor(SECRET).receive({ kind: 'heartbeat-request', round: 1 })).to.deep.include({ code: 'unexpected-message' });
    expect(acceptor(SECRET).receive({ kind: 'peer-hello', nodeId: 1, clusterId: 'x' })).to.deep.include({ code: 'wrong-cluster' });
    expect(acceptor(SECRET).receive({ kind: 'peer-hello', nodeId: 9, clusterId: 'local' })).to.deep.include({ code: 'unexpected-message' });
    expect(acceptor(SECRET).receive({ kind: 'peer-hello', nodeId: 3, clusterId: 'local' })).to.deep.include({ code: 'unexpected-message' });
  });

  it('dialer: a frame out of turn is auth-failed; an error frame ends it without an answer (remote)', () => {
    const d = dialer(SECRET);
    d.start();
    expect(d.receive({ kind: 'heartbeat-request', round: 1 })).to.deep.include({ kind: 'fail', code: 'auth-failed', remote: false });
    const d2 = dialer(SECRET);
    d2.start();
    expect(d2.receive({ kind: 'error', code: 'auth-failed', message: 'no' })).to.deep.include({ kind: 'fail', remote: true });
    const d3 = dialer(SECRET);
    d3.start();
    d3.receive({ kind: 'auth-challenge', nonce: new Uint8Array(32) });
    expect(d3.receive({ kind: 'auth-challenge', nonce: new Uint8Array(32) })).to.deep.include({ kind: 'fail', code: 'auth-failed' });
  });

  it('no secret on both sides (--insecure): hello only, done at once', () => {
    const r = run(dialer(null), acceptor(null));
    expect(r.dialer).to.deep.include({ kind: 'done', peer: 3 });
    expect(r.acceptor).to.deep.include({ kind: 'done', peer: 1 });
    expect(r.dialerFrames.map((m) => m.kind)).to.deep.equal(['peer-hello']);
  });

  it('an insecure dialer facing a secure acceptor fails: its next frame is auth-failed', () => {
    const a = acceptor(SECRET);
    expect(run(dialer(null), a).acceptor).to.deep.include({ kind: 'continue' });
    expect(a.receive({ kind: 'heartbeat-request', round: 1 })).to.deep.include({ kind: 'fail', code: 'auth-failed' });
  });

  it('nonces are fresh by default: two dialers send different challenges', () => {
    const n = (): string => hex((sent(new DialerHandshake({ secret: SECRET, clusterId: 'c', dialerId: 1, acceptorId: 2 })
      .start())[1] as { nonce: Uint8Array }).nonce);
    const a = n();
    expect(a).to.have.length(64);
    expect(n()).to.not.equal(a);
  });
});

describe('cluster secret sources', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-secret-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = {
    clusterId: 'c', bootstrap: 1, bootThreshold: 1, dataDir: 'data', fsync: false,
    timing: { tickMs: 20, electionTicks: 5, resendTicks: 2, requestTimeoutMs: 2000 },
    nodes: [{ id: 1, host: '127.0.0.1', peerPort: 7001, clientPort: 7002 }],
  };
  const cfg = (extra: object): ClusterConfig => parseClusterConfig({ ...base, ...extra });
  const text = (s: { key: Uint8Array } | null): string | null => (s ? Buffer.from(s.key).toString() : null);

  it('none configured: null', () => {
    expect(resolveClusterSecret(cfg({}), dir, {})).to.equal(null);
  });

  it('the environment wins over the config', () => {
    const s = resolveClusterSecret(cfg({ secret: 'from the config file' }), dir, { [SECRET_ENV]: 'from the environment' });
    expect(s?.source).to.equal('environment');
    expect(text(s)).to.equal('from the environment');
  });

  it('inline secret; secretFile relative to the config directory, final newline dropped', () => {
    expect(text(resolveClusterSecret(cfg({ secret: '0123456789abcdef' }), dir, {}))).to.equal('0123456789abcdef');
    writeFileSync(join(dir, 's.txt'), 'secret in a file, 30 chars.\n');
    const s = resolveClusterSecret(cfg({ secretFile: 's.txt' }), dir, {});
    expect(s?.source).to.equal('secretFile');
    expect(text(s)).to.equal('secret in a file, 30 chars.');
  });

  it('refused: too short (config, environment, file), empty environment, both secret and secretFile, unreadable file', () => {
    expect(() => cfg({ secret: 'short' })).to.throw(ConfigError, 'secret: must be at least 16 characters');
    expect(() => resolveClusterSecret(cfg({}), dir, { [SECRET_ENV]: 'fifteen chars!!' })).to.throw(ConfigError, 'at least 16 characters, got 15');
    expect(() => resolveClusterSecret(cfg({}), dir, { [SECRET_ENV]: '' })).to.throw(ConfigError, 'at least 16 characters, got 0');
    writeFileSync(join(dir, 'short.txt'), 'short\n');
    expect(() => resolveClusterSecret(cfg({ secretFile: 'short.txt' }), dir, {})).to.throw(ConfigError, 'at least 16 characters');
    expect(() => cfg({ secret: '0123456789abcdef', secretFile: 's.txt' })).to.throw(ConfigError, 'either secret or secretFile');
    expect(() => resolveClusterSecret(cfg({ secretFile: 'missing.txt' }), dir, {})).to.throw(ConfigError, 'cannot read');
  });

  it('error messages never contain the secret', () => {
    try {
      resolveClusterSecret(cfg({}), dir, { [SECRET_ENV]: 'hunter2-secret' });
      expect.fail('accepted a 14-character secret');
    } catch (e) {
      expect((e as Error).message).to.not.include('hunter2');
    }
  });
});
