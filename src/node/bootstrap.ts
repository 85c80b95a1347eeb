/**
 * Bootstrap: how the first nodes of a cluster learn the node table, once.
 *
 * The bootstrap server (the node `bootstrap` in the config) counts check-ins, itself
 * included. When `bootThreshold` distinct nodes have checked in — and every node, or a second
 * has passed (DEFAULT_BOOT_GRACE_MS) — it boots, with a genesis membership whose voters are the
 * incarnations that checked in (src/replica/membership.ts): it persists the
 * table and sends boot to every node that checked in; later check-ins get boot at once. A node
 * persists the table it was sent, answers boot-ready and starts the replica. After a restart a
 * node finds its table on disk and never needs the bootstrap server again; a booted node (any
 * node, not only the server) answers a check-in with its table.
 *
 * The table is the server's configured node list: membership is fixed, and the threshold only
 * says how many nodes must be alive before the cluster starts.
 */
import { connect } from 'node:net';
import { z } from 'zod';
import type { NodeId } from '../replica/ballot.js';
import { genesisMembers, type Member } from '../replica/membership.js';
import type { Boot, NodeAddress, WireMessage } from '../wire/messages.js';
import { FramedSocket } from './framed-socket.js';
import type { Logger } from './logger.js';
import { DEFAULT_AUTH_TIMEOUT_MS, DialerHandshake, type NonceSource } from './peer-auth.js';
import { AuthGate } from './peer-auth-socket.js';

/** What a node persists once it has booted (meta.json in its data directory). */
export interface NodeMeta {
  readonly clusterId: string;
  readonly nodes: readonly NodeAddress[];
  /** The genesis membership (src/replica/membership.ts): the same on every node of the cluster. */
  readonly members: readonly Member[];
}

const addressSchema = z.object({
  id: z.number().int().min(1),
  host: z.string().min(1),
  peerPort: z.number().int().min(1).max(65535),
  clientPort: z.number().int().min(1).max(65535),
}).strict();

const memberSchema = z.object({ id: z.number().int().min(1), incarnation: z.string(), voter: z.boolean() }).strict();

const nodeMetaSchema = z.object({
  clusterId: z.string().min(1), nodes: z.array(addressSchema).min(1), members: z.array(memberSchema).min(1),
}).strict();

export function parseNodeMeta(json: unknown): NodeMeta {
  return nodeMetaSchema.parse(json);
}

/** Why a boot message cannot be used by node `self`, or null if it can. */
export function bootProblem(boot: Boot, self: NodeId, clusterId: string): string | null {
  if (boot.clusterId !== clusterId) return `boot is for cluster "${boot.clusterId}", this node belongs to "${clusterId}"`;
  if (!boot.nodes.some((n) => n.id === self)) return `boot's node table (${boot.nodes.map((n) => n.id).join(', ')}) does not include node ${self}`;
  if (new Set(boot.nodes.map((n) => n.id)).size !== boot.nodes.length) return 'boot\'s node table has duplicate ids';
  const ids = boot.nodes.map((n) => n.id).sort((a, b) => a - b).join(',');
  if (boot.members.map((m) => m.id).sort((a, b) => a - b).join(',') !== ids) return 'boot\'s membership does not name the nodes of its table';
  return null;
}

/** How long a bootstrap server that reached its threshold waits for the nodes still missing. */
export const DEFAULT_BOOT_GRACE_MS = 1000;

/** The bootstrap server's side: counts check-ins until the threshold, then boots. */
export class BootstrapServer {
  /** Node → the incarnation it checked in with: the genesis voters. */
  private readonly checkedIn = new Map<NodeId, string>();
  private table: NodeMeta | null = null;
  private readonly waiting = new Set<FramedSocket>();
  /** Booting started (the table is being persisted). */
  private booting = false;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Our own table is durable: only now may anyone be told to boot. */
  private booted = false;

  constructor(
    private readonly self: NodeId,
    selfIncarnation: string,
    private readonly threshold: number,
    /** The configured cluster: its id and node table (the membership is made at boot). */
    private readonly cluster: { readonly clusterId: string; readonly nodes: readonly NodeAddress[] },
    private readonly logger: Logger,
    /** Persists the table and starts this node's replica; resolves when the table is durable. */
    private readonly bootSelf: (meta: NodeMeta) => Promise<void>,
    /** Booting failed (the disk): the node must stop. */
    private readonly fatal: (err: unknown) => void,
    /** How long to wait for the other nodes once the threshold is reached (maybeBoot). */
    private graceMs = DEFAULT_BOOT_GRACE_MS,
  ) {
    this.checkedIn.set(self, selfIncarnation);
  }

  /** Call once the server is listening: with a threshold of 1 it boots at once. */
  start(): void {
    this.logger.info('bootstrap-waiting', { checkedIn: this.checkedIn.size, threshold: this.threshold });
    this.maybeBoot();
  }

  checkIn(conn: FramedSocket, node: NodeAddress, incarnation: string): void {
    // Until the boot the latest incarnation a node checked in with is the one that will vote
    // (a node whose directory was recreated meanwhile checks in with its new one).
    if (!this.booting && this.checkedIn.get(node.id) !== incarnation) {
      this.checkedIn.set(node.id, incarnation);
      this.logger.info('checked-in', { peer: node.id, incarnation, checkedIn: this.checkedIn.size, threshold: this.threshold });
    }
    if (this.booted) {
      conn.send(bootMessage(this.table!));
      return;
    }
    this.waiting.add(conn);
    this.maybeBoot();
  }

  forget(conn: FramedSocket): void {
    this.waiting.delete(conn);
  }

  /**
   * Once the threshold is reached, the server still waits up to `graceMs` for the nodes that have
   * not checked in: a node in the genesis membership votes from the first entry, while one that
   * checks in later must first have its join decided by the genesis voters — if one of them dies
   * meanwhile, a cluster that booted with just a bare majority is stuck until it comes back.
   * Nodes started together all make it into the genesis this way.
   */
  private maybeBoot(): void {
    if (this.booting || this.checkedIn.size < this.threshold) return;
    if (this.checkedIn.size < this.cluster.nodes.length && this.graceMs > 0) {
      if (this.graceTimer === null) {
        this.graceTimer = setTimeout(() => { this.graceMs = 0; this.maybeBoot(); }, this.graceMs);
        this.graceTimer.unref?.();
      }
      return;
    }
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.booting = true;
    this.table = {
      clusterId: this.cluster.clusterId, nodes: this.cluster.nodes,
      members: genesisMembers(this.cluster.nodes.map((n) => n.id), this.checkedIn),
    };
    // Persist our own table before telling anyone: a bootstrap server that crashed after
    // sending boot must come back booted, or the nodes it booted (which never check in again)
    // would wait for it forever. Check-ins that arrive meanwhile wait in `waiting`.
    this.bootSelf(this.table).then(() => {
      this.booted = true;
      const boot = bootMessage(this.table!);
      for (const conn of this.waiting) conn.send(boot);
      this.waiting.clear();
    }, this.fatal);
  }
}

export function bootMessage(meta: NodeMeta): Boot {
  return { kind: 'boot', clusterId: meta.clusterId, nodes: meta.nodes, members: meta.members };
}

export interface CheckInOptions {
  readonly self: NodeAddress;
  /** This data directory's incarnation (identity.ts). */
  readonly incarnation: string;
  readonly clusterId: string;
  /** The bootstrap server: its node id (the handshake proves it is that node) and where to dial it. */
  readonly serverId: NodeId;
  readonly server: { readonly host: string; readonly port: number };
  /** The cluster secret's bytes; null: `--insecure`. */
  readonly secret: Uint8Array | null;
  readonly authTimeoutMs?: number;
  readonly nonce?: NonceSource;
  readonly logger: Logger;
  /** Check-in resend period while connected, and the re-dial pause. */
  readonly retryMs?: number;
}

/**
 * A node with no table: dial the bootstrap server, check in until boot arrives, and resolve
 * with it. `ack` sends boot-ready once the caller has persisted the table. Keeps trying (with
 * a log line per failure, not per retry) until `cancel` is called.
 */
export function checkInUntilBooted(options: CheckInOptions): {
  readonly boot: Promise<Boot>;
  ack(): void;
  cancel(): void;
} {
  const retryMs = options.retryMs ?? 250;
  let cancelled = false;
  let conn: FramedSocket | null = null;
  let timer: NodeJS.Timeout | null = null;
  let loggedFailure = false;
  /** The last auth failure logged (one line per reason, not per retry). */
  let authFailure: string | null = null;
  let resolveBoot!: (b: Boot) => void;
  const boot = new Promise<Boot>((r) => { resolveBoot = r; });
  let received: Boot | null = null;

  const attempt = (): void => {
    timer = null;
    if (cancelled || received) return;
    const socket = connect({ host: options.server.host, port: options.server.port });
    let gate: AuthGate | null = null;
    const framed: FramedSocket = new FramedSocket(socket, {
      onMessage: (m: WireMessage) => {
        // Nothing but the handshake until it completes.
        if (!gate || gate.feed(m)) return;
        if (m.kind === 'boot') {
          const problem = bootProblem(m, options.self.id, options.clusterId);
          if (problem) {
            options.logger.error('boot-refused', { error: problem });
            return;
          }
          if (!received) {
            received = m;
            resolveBoot(m);
          }
        } else if (m.kind === 'error') {
          // auth-failed: this node runs without a secret (--insecure) and the server requires one.
          options.logger.warn(m.code === 'auth-failed' ? 'auth-failed' : 'bootstrap-error', {
            port: 'bootstrap', peer: options.serverId, code: m.code, error: m.message,
          });
        }
      },
      onClose: (reason) => {
        gate?.cancel();
        if (conn === framed) conn = null;
        if (!received && !cancelled) {
          if (!loggedFailure) options.logger.warn('bootstrap-unreachable', { server: `${options.server.host}:${options.server.port}`, reason });
          loggedFailure = true;
          timer = setTimeout(attempt, retryMs);
        }
      },
      onBadInput: (b) => options.logger.warn('bad-input', { port: 'bootstrap', code: b.code, error: b.message }),
    });
    conn = framed;
    socket.once('connect', () => {
      loggedFailure = false;
      const resend = (): void => {
        if (cancelled || received || conn !== framed || !framed.isOpen) return;
        framed.send({ kind: 'check-in', node: options.self, incarnation: options.incarnation });
        timer = setTimeout(resend, retryMs * 4);
      };
      const handshake = new DialerHandshake({
        secret: options.secret, clusterId: options.clusterId, dialerId: options.self.id, acceptorId: options.serverId,
        ...(options.nonce ? { nonce: options.nonce } : {}),
      });
      gate = new AuthGate(framed, handshake, {
        role: 'dialer',
        timeoutMs: options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
        onDone: () => {
          authFailure = null;
          resend();
        },
        onFail: (code, reason) => {
          loggedFailure = true; // the server is reachable: no bootstrap-unreachable line on close
          if (authFailure === reason) return;
          authFailure = reason;
          options.logger.warn('auth-failed', {
            port: 'bootstrap', role: 'dialer', peer: options.serverId, remote: `${options.server.host}:${options.server.port}`, code, reason,
          });
        },
      });
      gate.apply(handshake.start());
    });
  };
  attempt();
  return {
    boot,
    ack: () => {
      conn?.send({ kind: 'boot-ready', nodeId: options.self.id });
      const c = conn;
      setTimeout(() => c?.destroy('booted'), 100).unref();
    },
    cancel: () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
      conn?.destroy('cancelled');
    },
  };
}
