/**
 * The links to the other nodes: one TCP connection per pair, carrying messages both ways.
 *
 * Who dials: the node with the lower id dials the higher one, so a pair never ends up with two
 * connections racing each other. The dialler sends peer-hello first; the accepting side hands
 * the connection over (`adopt`) once it has checked the hello.
 *
 * A new connection is a new session: whatever was in flight on the old one may be lost, so
 * `onConnected` lets the replica ask to be prepared again (the `reconnected` input). Within a
 * connection TCP keeps messages in order (FIFO). A message for a peer with no connection is
 * dropped — the replica's resend timers cover loss, as they do in the simulator.
 */
import { connect } from 'node:net';
import type { NodeId } from '../replica/ballot.js';
import type { PeerMessage } from '../replica/messages.js';
import { encodeMessage, isPeerMessage, MAX_MESSAGE_BYTES } from '../wire/codec.js';
import type { NodeAddress, PeerLink, WireMessage } from '../wire/messages.js';
import { FramedSocket, type FramedSocketHandlers } from './framed-socket.js';
import type { Logger } from './logger.js';
import { DEFAULT_AUTH_TIMEOUT_MS, DialerHandshake, lateAuthMessage, type NonceSource } from './peer-auth.js';
import { AuthGate } from './peer-auth-socket.js';

const CONNECT_TIMEOUT_MS = 2000;
const KEEPALIVE_MS = 1000;

export interface PeerLinksOptions {
  readonly self: NodeId;
  readonly clusterId: string;
  /** Every node of the cluster, this one included. */
  readonly nodes: readonly NodeAddress[];
  readonly logger: Logger;
  readonly onMessage: (from: NodeId, msg: PeerMessage) => void;
  readonly onConnected: (peer: NodeId) => void;
  /**
   * Peers reached through another address than the one in the node table (the config's
   * `dialVia`: a relay); the others are dialed at their own peer port.
   */
  readonly dialVia?: ReadonlyMap<NodeId, { readonly host: string; readonly port: number }>;
  /** The cluster secret's bytes; null: `--insecure`, no peer authentication. */
  readonly secret: Uint8Array | null;
  /** How long a dialled connection may take to authenticate. */
  readonly authTimeoutMs?: number;
  readonly nonce?: NonceSource;
  /** First and longest pause before re-dialling a peer, ms. */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
}

interface Link {
  socket: FramedSocket | null;
  /** Re-dial timer (dialling side only). */
  timer: NodeJS.Timeout | null;
  backoffMs: number;
  /** Whether a peer-down was logged since the last peer-up (one line per change, not per retry). */
  down: boolean;
  /** The last auth failure logged since the last peer-up (one line per reason, not per retry). */
  authFailure: string | null;
}

export class PeerLinks {
  private readonly links = new Map<NodeId, Link>();
  private readonly addresses = new Map<NodeId, NodeAddress>();
  private stopped = false;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;

  constructor(private readonly options: PeerLinksOptions) {
    this.backoffMinMs = options.backoffMinMs ?? 50;
    this.backoffMaxMs = options.backoffMaxMs ?? 1000;
    for (const n of options.nodes) {
      if (n.id === options.self) continue;
      this.addresses.set(n.id, n);
      this.links.set(n.id, { socket: null, timer: null, backoffMs: this.backoffMinMs, down: false, authFailure: null });
    }
  }

  start(): void {
    for (const id of this.links.keys()) if (this.dials(id)) this.dial(id);
  }

  stop(): void {
    this.stopped = true;
    for (const link of this.links.values()) {
      if (link.timer) clearTimeout(link.timer);
      link.socket?.destroy('node stopping');
    }
  }

  has(peer: NodeId): boolean {
    return this.links.has(peer);
  }

  send(to: NodeId, msg: PeerMessage): void {
    const socket = this.links.get(to)?.socket;
    if (!socket?.isOpen) return;
    let body: Uint8Array;
    try {
      // A message over one frame (a Promise or AcceptSync with a snapshot or a long log suffix)
      // travels in fragments.
      body = encodeMessage(msg, MAX_MESSAGE_BYTES);
    } catch (err) {
      // Over even that (256 MiB): dropped like a lost message, and said loudly — the receiver
      // cannot catch up through this message (resent, it is just as large); protocol.md "Limits".
      this.options.logger.error('message-too-large', { peer: to, kind: msg.kind, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    socket.sendLarge(body);
  }

  status(): PeerLink[] {
    return [...this.links.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, l]) => ({ id, connected: l.socket?.isOpen === true }));
  }

  /**
   * Takes over an accepted connection whose hello named `peer`. Replaces an older connection
   * from the same peer: the peer restarted or re-dialled, and the old one is dead or about to be.
   */
  adopt(peer: NodeId, socket: FramedSocket): void {
    const link = this.links.get(peer);
    if (!link || this.stopped) {
      socket.destroy(this.stopped ? 'node stopping' : `node ${peer} is not a peer`);
      return;
    }
    if (link.socket && link.socket !== socket) link.socket.destroy('replaced by a new connection from the same peer');
    socket.setHandlers(this.handlersFor(peer, socket));
    this.up(peer, link, socket);
  }

  private dials(peer: NodeId): boolean {
    return this.options.self < peer;
  }

  private dial(peer: NodeId): void {
    const link = this.links.get(peer)!;
    link.timer = null;
    if (this.stopped) return;
    const addr = this.addresses.get(peer)!;
    const target = this.options.dialVia?.get(peer) ?? { host: addr.host, port: addr.peerPort };
    const raw = connect({ host: target.host, port: target.port });
    const framed: FramedSocket = new FramedSocket(raw, {
      onMessage: () => {},
      onClose: (reason) => this.closed(peer, framed, reason),
    }); // fragments: allowed by the AuthGate once the handshake completes
    // A host that drops packets would hold a dial for the kernel's SYN timeout (minutes),
    // during which the link cannot be re-dialled even after the network heals.
    const connectTimer = setTimeout(() => framed.destroy(`no connection within ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
    raw.once('close', () => clearTimeout(connectTimer));
    raw.once('connect', () => {
      clearTimeout(connectTimer);
      // Detects a peer whose host vanished without closing the connection.
      raw.setKeepAlive(true, KEEPALIVE_MS);
      if (this.stopped) {
        framed.destroy('node stopping');
        return;
      }
      // Nothing but the handshake until it completes; the link is up only then.
      const { secret, clusterId, self, logger } = this.options;
      const handshake = new DialerHandshake({
        secret, clusterId, dialerId: self, acceptorId: peer, ...(this.options.nonce ? { nonce: this.options.nonce } : {}),
      });
      const gate = new AuthGate(framed, handshake, {
        role: 'dialer',
        timeoutMs: this.options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
        onDone: () => {
          framed.setHandlers(this.handlersFor(peer, framed));
          link.backoffMs = this.backoffMinMs;
          this.up(peer, link, framed);
        },
        onFail: (code, reason) => {
          // Re-dialled every second while it fails: one line per distinct reason.
          if (link.authFailure === reason) return;
          link.authFailure = reason;
          logger.warn('auth-failed', { port: 'peer', role: 'dialer', peer, remote: framed.remote, code, reason });
        },
      });
      framed.setHandlers({
        onMessage: (m) => { gate.feed(m); },
        onClose: (reason) => {
          gate.cancel();
          this.closed(peer, framed, reason);
        },
        onBadInput: (b) => logger.warn('bad-input', { port: 'peer', peer, code: b.code, error: b.message }),
      });
      gate.apply(handshake.start());
    });
  }

  private handlersFor(peer: NodeId, socket: FramedSocket): FramedSocketHandlers {
    return {
      onMessage: (m: WireMessage) => {
        if (isPeerMessage(m)) this.options.onMessage(peer, m);
        else if (m.kind === 'error') {
          // Error frames are never answered; say why the link ends (an insecure node refused by a secure one, …).
          this.options.logger.warn(m.code === 'auth-failed' ? 'auth-failed' : 'peer-error', { port: 'peer', peer, code: m.code, reason: m.message });
          socket.destroy(`node ${peer} sent error ${m.code}: ${m.message}`);
        } else if (m.kind === 'auth-challenge' || m.kind === 'auth-proof') {
          const late = lateAuthMessage(this.options.secret !== null, m.kind);
          this.options.logger.warn('auth-failed', { port: 'peer', peer, code: late.code, reason: late.reason });
          socket.fail(late.code, late.reason);
        } else socket.fail('unexpected-message', `${m.kind} is not a peer message`);
      },
      onClose: (reason) => this.closed(peer, socket, reason),
      onBadInput: (b) => this.options.logger.warn('bad-input', { port: 'peer', peer, code: b.code, error: b.message }),
      onHandlerError: (err, m) => this.options.logger.error('handler-error', {
        port: 'peer', peer, message: m.kind, error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    };
  }

  /** A connection to `peer` closed: the current one, an old one, or a dial that failed. */
  private closed(peer: NodeId, socket: FramedSocket, reason: string): void {
    const link = this.links.get(peer)!;
    const current = link.socket === socket;
    if (current) link.socket = null;
    if (current || link.socket === null) this.noteDown(peer, link, reason);
    if (this.dials(peer) && link.socket === null) this.redial(peer, link);
  }

  private redial(peer: NodeId, link: Link): void {
    if (this.stopped || link.timer) return;
    link.timer = setTimeout(() => this.dial(peer), link.backoffMs);
    link.backoffMs = Math.min(this.backoffMaxMs, link.backoffMs * 2);
  }

  private up(peer: NodeId, link: Link, socket: FramedSocket): void {
    link.socket = socket;
    link.down = false;
    link.authFailure = null;
    this.options.logger.info('peer-up', { peer, direction: this.dials(peer) ? 'dialled' : 'accepted' });
    this.options.onConnected(peer);
  }

  private noteDown(peer: NodeId, link: Link, reason: string): void {
    if (link.down || this.stopped) return;
    link.down = true;
    this.options.logger.info('peer-down', { peer, reason });
  }
}
