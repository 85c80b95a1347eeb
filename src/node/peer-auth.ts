/**
 * Peer authentication: the challenge–response handshake at the start of every peer-port
 * connection (peer links and bootstrap check-ins alike). protocol.md, "Peer authentication".
 *
 *   dialer → acceptor   peer-hello(dialerId, clusterId), auth-challenge(dialerNonce)
 *   acceptor → dialer   auth-challenge(acceptorNonce), auth-proof(MAC("acceptor"))
 *   dialer → acceptor   auth-proof(MAC("dialer"))
 *
 * MAC(role) = HMAC-SHA-256(secret, macInput(role, clusterId, dialerId, acceptorId, dialerNonce, acceptorNonce)).
 * Both nonces are fresh per connection, so a recorded proof is worthless on another one; the
 * role label keeps the acceptor's proof from being reflected back as the dialer's; the ids and
 * the cluster id bind the proof to this pair of nodes.
 *
 * The state machines here do no I/O: they take the messages received and say what to send,
 * whether the handshake is done, or why it failed. The socket glue is in peer-auth-socket.ts.
 * A node without a secret (`--insecure`) skips the handshake, and fails any connection whose
 * other side tries to authenticate: a secure node never talks to an insecure one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../replica/ballot.js';
import { ByteWriter } from '../wire/bytes.js';
import { AUTH_NONCE_BYTES, type ErrorCode, type PeerHello, type WireMessage } from '../wire/messages.js';

export type AuthRole = 'dialer' | 'acceptor';

/** What each side of the handshake signs, before the nonces: one label per role. */
export const ROLE_LABEL: Record<AuthRole, string> = {
  dialer: 'kvsh peer-auth v1 dialer',
  acceptor: 'kvsh peer-auth v1 acceptor',
};

/** How long a connection may take to complete the handshake before it is closed. */
export const DEFAULT_AUTH_TIMEOUT_MS = 5000;

/**
 * The worked example of protocol.md ("Peer authentication") and of the golden vectors: node 1
 * dials node 3 of cluster "local". Not a secret anyone uses.
 */
export const AUTH_EXAMPLE = {
  secret: new Uint8Array(Buffer.from('kvsh example secret, not for use', 'utf8')),
  ids: { clusterId: 'local', dialerId: 1, acceptorId: 3 } satisfies AuthIds,
  dialerNonce: Uint8Array.from({ length: AUTH_NONCE_BYTES }, (_, i) => i),
  acceptorNonce: Uint8Array.from({ length: AUTH_NONCE_BYTES }, (_, i) => 0x20 + i),
} as const;

export type NonceSource = () => Uint8Array;
export const randomNonce: NonceSource = () => new Uint8Array(randomBytes(AUTH_NONCE_BYTES));

export interface AuthIds {
  readonly clusterId: string;
  readonly dialerId: NodeId;
  readonly acceptorId: NodeId;
}

/**
 * The bytes a proof is computed over, in the wire's own encodings:
 * `string label · string clusterId · u32 dialerId · u32 acceptorId · 32 bytes dialerNonce · 32 bytes acceptorNonce`.
 */
export function macInput(role: AuthRole, ids: AuthIds, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): Uint8Array {
  if (dialerNonce.length !== AUTH_NONCE_BYTES || acceptorNonce.length !== AUTH_NONCE_BYTES) {
    throw new RangeError(`nonces must be ${AUTH_NONCE_BYTES} bytes`);
  }
  const w = new ByteWriter();
  w.string(ROLE_LABEL[role]).string(ids.clusterId).u32(ids.dialerId).u32(ids.acceptorId).raw(dialerNonce).raw(acceptorNonce);
  return w.bytes().slice();
}

export function authMac(secret: Uint8Array, role: AuthRole, ids: AuthIds, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update(macInput(role, ids, dialerNonce, acceptorNonce)).digest());
}

/** Constant-time comparison; a MAC of the wrong length is simply wrong. */
export function macMatches(expected: Uint8Array, got: Uint8Array): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/**
 * One step of a handshake:
 * - `continue`: send `messages`, wait for more;
 * - `done`: send `messages`, then the connection is authenticated (`peer` is the other node);
 * - `fail`: send the error frame `code` (unless `remote`: the other side already sent one, and
 *   error frames are never answered) and close; `reason` is for the log.
 */
export type AuthStep =
  | { readonly kind: 'continue'; readonly messages: readonly WireMessage[] }
  | { readonly kind: 'done'; readonly messages: readonly WireMessage[]; readonly peer: NodeId }
  | { readonly kind: 'fail'; readonly code: ErrorCode; readonly reason: string; readonly remote: boolean };

const fail = (code: ErrorCode, reason: string, remote = false): AuthStep => ({ kind: 'fail', code, reason, remote });

/** A received error frame ends the handshake; anything else out of turn is auth-failed. */
function outOfTurn(m: WireMessage, expected: string): AuthStep {
  if (m.kind === 'error') return fail(m.code, `the other side sent error ${m.code}: ${m.message}`, true);
  return fail('auth-failed', `expected ${expected}, got ${m.kind} before the handshake completed`);
}

export interface DialerOptions extends AuthIds {
  /** null: no secret (`--insecure`): send peer-hello only. */
  readonly secret: Uint8Array | null;
  readonly nonce?: NonceSource;
}

/** The side that opened the connection. */
export class DialerHandshake {
  private state: 'new' | 'challenge' | 'proof' | 'done' | 'failed' = 'new';
  private readonly dialerNonce: Uint8Array;
  private acceptorNonce: Uint8Array | null = null;

  constructor(private readonly o: DialerOptions) {
    this.dialerNonce = o.secret ? (o.nonce ?? randomNonce)() : new Uint8Array(0);
  }

  /** The first frames to send once connected. Without a secret the handshake is then done. */
  start(): AuthStep {
    const hello: PeerHello = { kind: 'peer-hello', nodeId: this.o.dialerId, clusterId: this.o.clusterId };
    if (!this.o.secret) {
      this.state = 'done';
      return { kind: 'done', messages: [hello], peer: this.o.acceptorId };
    }
    this.state = 'challenge';
    return { kind: 'continue', messages: [hello, { kind: 'auth-challenge', nonce: this.dialerNonce }] };
  }

  receive(m: WireMessage): AuthStep {
    const step = this.step(m);
    if (step.kind === 'fail') this.state = 'failed';
    return step;
  }

  private step(m: WireMessage): AuthStep {
    const secret = this.o.secret;
    switch (this.state) {
      case 'challenge':
        if (m.kind !== 'auth-challenge') return outOfTurn(m, 'auth-challenge');
        this.acceptorNonce = m.nonce;
        this.state = 'proof';
        return { kind: 'continue', messages: [] };
      case 'proof': {
        if (m.kind !== 'auth-proof') return outOfTurn(m, 'auth-proof');
        const expected = authMac(secret!, 'acceptor', this.o, this.dialerNonce, this.acceptorNonce!);
        if (!macMatches(expected, m.mac)) return fail('auth-failed', `node ${this.o.acceptorId} did not prove the cluster secret (wrong secret, or not node ${this.o.acceptorId})`);
        this.state = 'done';
        const mac = authMac(secret!, 'dialer', this.o, this.dialerNonce, this.acceptorNonce!);
        return { kind: 'done', messages: [{ kind: 'auth-proof', mac }], peer: this.o.acceptorId };
      }
      default:
        return fail('auth-failed', `handshake is ${this.state}`);
    }
  }
}

export interface AcceptorOptions {
  readonly self: NodeId;
  /** null: no secret (`--insecure`): a valid peer-hello is enough, and any auth message fails. */
  readonly secret: Uint8Array | null;
  /** The cluster id a hello must name. */
  readonly clusterId: string;
  /** Why a hello's node may not connect here (not a peer), or null. Checked after the cluster id. */
  readonly checkPeer: (id: NodeId) => string | null;
  readonly nonce?: NonceSource;
}

/** The side that accepted the connection. */
export class AcceptorHandshake {
  private state: 'hello' | 'challenge' | 'proof' | 'done' | 'failed' = 'hello';
  private peerId: NodeId | null = null;
  private dialerNonce: Uint8Array | null = null;
  private acceptorNonce: Uint8Array | null = null;

  constructor(private readonly o: AcceptorOptions) {}

  /** The dialer's id, once its hello was accepted. */
  get peer(): NodeId | null {
    return this.peerId;
  }

  receive(m: WireMessage): AuthStep {
    const step = this.step(m);
    if (step.kind === 'fail') this.state = 'failed';
    return step;
  }

  private ids(): AuthIds {
    return { clusterId: this.o.clusterId, dialerId: this.peerId!, acceptorId: this.o.self };
  }

  private step(m: WireMessage): AuthStep {
    const secret = this.o.secret;
    switch (this.state) {
      case 'hello': {
        if (m.kind === 'error') return outOfTurn(m, 'peer-hello');
        if (m.kind !== 'peer-hello') return fail('unexpected-message', `the first frame on a peer connection must be peer-hello, not ${m.kind}`);
        if (m.clusterId !== this.o.clusterId) return fail('wrong-cluster', `this node belongs to cluster "${this.o.clusterId}", not "${m.clusterId}"`);
        const problem = m.nodeId === this.o.self ? `node ${m.nodeId} is this node` : this.o.checkPeer(m.nodeId);
        if (problem) return fail('unexpected-message', problem);
        this.peerId = m.nodeId;
        if (!secret) {
          this.state = 'done';
          return { kind: 'done', messages: [], peer: m.nodeId };
        }
        this.state = 'challenge';
        return { kind: 'continue', messages: [] };
      }
      case 'challenge': {
        if (m.kind !== 'auth-challenge') return outOfTurn(m, 'auth-challenge (this node requires peer authentication)');
        this.dialerNonce = m.nonce;
        this.acceptorNonce = (this.o.nonce ?? randomNonce)();
        this.state = 'proof';
        const mac = authMac(secret!, 'acceptor', this.ids(), this.dialerNonce, this.acceptorNonce);
        return { kind: 'continue', messages: [{ kind: 'auth-challenge', nonce: this.acceptorNonce }, { kind: 'auth-proof', mac }] };
      }
      case 'proof': {
        if (m.kind !== 'auth-proof') return outOfTurn(m, 'auth-proof');
        const expected = authMac(secret!, 'dialer', this.ids(), this.dialerNonce!, this.acceptorNonce!);
        if (!macMatches(expected, m.mac)) return fail('auth-failed', `node ${this.peerId} did not prove the cluster secret`);
        this.state = 'done';
        return { kind: 'done', messages: [], peer: this.peerId! };
      }
      default:
        return fail('auth-failed', `handshake is ${this.state}`);
    }
  }
}

/**
 * An auth message on a connection whose handshake is over, or on a node without a secret:
 * a node without one cannot authenticate, and must not pretend to (no silent downgrade).
 */
export function lateAuthMessage(secure: boolean, kind: string): { code: ErrorCode; reason: string } {
  return secure
    ? { code: 'unexpected-message', reason: `${kind} after the handshake completed` }
    : { code: 'auth-failed', reason: `${kind} received, but this node runs without a cluster secret (--insecure) and cannot authenticate` };
}
