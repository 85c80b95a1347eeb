/**
 * A kvnode: the replica core (src/replica) run over real TCP and a real write-ahead log.
 *
 *   peer port   — peer links (peer-links.ts) and bootstrap check-ins (bootstrap.ts)
 *   client port — client requests and operator queries (client-server.ts)
 *   data dir    — meta.json (the node table, once booted), the WAL (src/storage) and LOCK (one owner)
 *
 * Start-up: listen on both ports; if meta.json exists, recover from the WAL and run. Otherwise
 * take part in bootstrap (run the server, or check in with it), persist the table, then run.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { NodeId } from '../replica/ballot.js';
import { compareBallots } from '../replica/ballot.js';
import type { Command } from '../replica/entry.js';
import { Replica } from '../replica/replica.js';
import { compactedIdx, logLength, type PersistentState } from '../replica/storage.js';
import type { Notice, ReplicaStatus } from '../replica/types.js';
import { acquireDirLock, openWal, readMeta, writeMeta, type DirLock, type StorageEvent, type Wal } from '../storage/index.js';
import { FSYNC_OFF_WARNING } from '../storage/wal.js';
import { isPeerMessage } from '../wire/codec.js';
import type { NodeAddress, WireMessage } from '../wire/messages.js';
import { BootstrapServer, bootMessage, checkInUntilBooted, parseNodeMeta, type NodeMeta } from './bootstrap.js';
import { ClientServer } from './client-server.js';
import { dialRoutes, nodeById, type ClusterConfig } from './config.js';
import { FramedSocket } from './framed-socket.js';
import { DataDirError, inspectDataDir, type DataDirIdentity } from './identity.js';
import type { Logger } from './logger.js';
import { AcceptorHandshake, DEFAULT_AUTH_TIMEOUT_MS, lateAuthMessage, type NonceSource } from './peer-auth.js';
import { AuthGate } from './peer-auth-socket.js';
import { strangerLogLimiter } from './log-limiter.js';
import { PeerLinks } from './peer-links.js';
import { ReplicaDriver } from './replica-driver.js';

export interface KvNodeOptions {
  readonly config: ClusterConfig;
  /** Directory the config's relative `dataDir` is resolved against (the config file's). */
  readonly configDir: string;
  readonly id: NodeId;
  /** Overrides the config's fsync policy. */
  readonly fsync?: boolean;
  /** Overrides `<dataDir>/node-<id>`. */
  readonly dataDir?: string;
  /** `--replace`: this directory takes the place of the node's lost one (identity.ts, membership.ts). */
  readonly replace?: boolean;
  readonly logger: Logger;
  /**
   * The cluster secret's bytes (cluster-secret.ts): every peer-port connection must prove it
   * (peer-auth.ts). null: `--insecure`, no authentication — and no link with a node that has one.
   */
  readonly secret: Uint8Array | null;
  /** How long a peer-port connection may take to authenticate (default 5 s); tests shorten it. */
  readonly authTimeoutMs?: number;
  /** Nonces for the handshake (default: crypto.randomBytes); tests only. */
  readonly nonce?: NonceSource;
  /** The node cannot go on (WAL failure, broken invariant): the caller must exit. */
  readonly onFatal: (err: unknown) => void;
}

export function nodeDataDir(config: ClusterConfig, configDir: string, id: NodeId): string {
  return join(resolve(configDir, config.dataDir), `node-${id}`);
}

export class KvNode {
  readonly id: NodeId;
  readonly dataDir: string;
  readonly fsync: boolean;
  private readonly self: NodeAddress;
  /** The config's `dialVia` for this node: routing of this start only, never persisted. */
  private readonly dialVia: ReadonlyMap<NodeId, { host: string; port: number }>;
  private readonly logger: Logger;
  private readonly peerServer: Server;
  private readonly clientServer: ClientServer;
  private readonly accepted = new Set<FramedSocket>();
  /** Bad frames and failed handshakes from strangers on the peer port (log-limiter.ts). */
  private readonly peerPortLog = strangerLogLimiter();
  /** Peer connections accepted before this node booted, adopted when it does. */
  private readonly earlyPeers = new Map<NodeId, FramedSocket>();
  private meta: NodeMeta | null = null;
  private identity: DataDirIdentity | null = null;
  private links: PeerLinks | null = null;
  private driver: ReplicaDriver | null = null;
  private wal: Wal | null = null;
  private dirLock: DirLock | null = null;
  private bootstrapServer: BootstrapServer | null = null;
  private cancelCheckIn: (() => void) | null = null;
  private lastStatus: ReplicaStatus | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: KvNodeOptions) {
    const { config, id } = options;
    const n = nodeById(config, id);
    this.id = id;
    this.self = { id, host: n.host, peerPort: n.peerPort, clientPort: n.clientPort };
    this.dialVia = dialRoutes(config, id);
    this.logger = options.logger;
    this.fsync = options.fsync ?? config.fsync;
    this.dataDir = options.dataDir ?? nodeDataDir(config, options.configDir, id);
    this.peerServer = createServer((s) => this.acceptPeer(s));
    this.clientServer = new ClientServer({
      nodeId: id,
      fsync: this.fsync,
      replicaStatus: () => this.driver?.status() ?? null,
      peers: () => this.links?.status() ?? [],
      log: () => ({ from: this.driver?.compactedIdx ?? 0, entries: this.driver?.log ?? [] }),
      submit: (command: Command) => this.driver?.push({ kind: 'request', command }),
    }, this.logger, config.timing.requestTimeoutMs, {
      ...(config.limits?.maxClientConnections !== undefined && { maxConnections: config.limits.maxClientConnections }),
      ...(config.limits?.maxRequestsInFlightPerConnection !== undefined && { maxInFlightPerConnection: config.limits.maxRequestsInFlightPerConnection }),
    });
  }

  /** Listens, then recovers or bootstraps. Resolves once both ports listen. */
  async start(): Promise<void> {
    const { config } = this.options;
    if (!this.fsync) this.logger.warn('fsync-off', { warning: FSYNC_OFF_WARNING });
    await mkdir(this.dataDir, { recursive: true });
    // One process per data directory, before anything in it is read (src/storage/dir-lock.ts).
    this.dirLock = acquireDirLock(this.dataDir, { what: `node ${this.id}'s data directory`, by: `kvnode ${this.id}` });
    // Then the directory's identity: a new one gets its incarnation, durable before we speak.
    const dir = await inspectDataDir(this.dataDir, { clusterId: config.clusterId, nodeId: this.id });
    this.identity = dir.identity;
    if (dir.created) this.logger.info('identity-created', { incarnation: dir.identity.incarnation });
    this.meta = await readMeta(this.dataDir, parseNodeMeta);
    if (this.meta && this.meta.clusterId !== config.clusterId) {
      throw new DataDirError(`${this.dataDir} booted in cluster "${this.meta.clusterId}", but the config says "${config.clusterId}"`);
    }
    // A node that has joined recovers its log before it listens: a damaged log stops it here,
    // before anyone (the cluster manager, a client, a peer) sees it up.
    const recovered = this.meta ? await this.openLog(true) : null;
    await listen(this.peerServer, this.self.host, this.self.peerPort);
    await this.clientServer.listen(this.self.host, this.self.clientPort);
    this.logger.info('listening', {
      host: this.self.host, peerPort: this.self.peerPort, clientPort: this.self.clientPort,
      dataDir: this.dataDir, incarnation: this.identity.incarnation, fsync: this.fsync ? 'on' : 'off (UNSAFE)',
      peerAuth: this.options.secret ? 'hmac-sha256' : 'off (INSECURE)',
    });
    if (this.meta) {
      this.logger.info('rejoining', { clusterId: this.meta.clusterId, nodes: this.meta.nodes.map((n) => n.id).join(',') });
      this.run(this.meta, recovered!);
      return;
    }
    const table = {
      clusterId: config.clusterId,
      nodes: config.nodes.map((n) => ({ id: n.id, host: n.host, peerPort: n.peerPort, clientPort: n.clientPort })),
    };
    // With --replace the cluster exists already: this node never boots a new one (not even as
    // the bootstrap server, whose directory may be the one that was lost); it asks every other
    // node, and any booted one answers with the cluster's table.
    if (config.bootstrap === this.id && !this.options.replace) {
      this.bootstrapServer = new BootstrapServer(this.id, this.identity.incarnation,
        config.bootThreshold, table, this.logger, (meta) => this.boot(meta), (err) => this.options.onFatal(err));
      this.bootstrapServer.start();
      return;
    }
    const servers = this.options.replace ? config.nodes.filter((n) => n.id !== this.id) : [nodeById(config, config.bootstrap)];
    const checkIns = servers.map((n) => {
      const server = this.dialVia.get(n.id) ?? { host: n.host, port: n.peerPort };
      this.logger.info('checking-in', { server: `${server.host}:${server.port}`, node: n.id });
      return checkInUntilBooted({
        self: this.self, incarnation: this.identity!.incarnation, clusterId: config.clusterId, serverId: n.id, server,
        logger: this.logger, ...this.authOptions(),
      });
    });
    this.cancelCheckIn = () => { for (const c of checkIns) c.cancel(); };
    void Promise.race(checkIns.map((c) => c.boot.then((boot) => ({ c, boot })))).then(async ({ c, boot }) => {
      for (const other of checkIns) if (other !== c) other.cancel();
      if (this.stopping) return;
      await this.boot({ clusterId: boot.clusterId, nodes: boot.nodes, members: boot.members });
      c.ack();
    }).catch((err: unknown) => this.options.onFatal(err));
  }

  /** Stops everything this node started; waits for the WAL to settle. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('stopping');
      this.cancelCheckIn?.();
      this.driver?.stop();
      this.links?.stop();
      for (const c of this.accepted) c.destroy('node stopping');
      await this.clientServer.close();
      await new Promise<void>((r) => this.peerServer.close(() => r()));
      await this.wal?.close().catch(() => {});
      this.dirLock?.release();
    })();
    return this.stopping;
  }

  /** First boot: the WAL is created before meta.json, so a node with a table always has a log. */
  private async boot(meta: NodeMeta): Promise<void> {
    if (this.meta) return;
    // Create the log first: once meta.json exists a restart insists on finding the log (a
    // node that lost it could vote twice). A crash in between leaves an empty log and no
    // table, and the node simply checks in again.
    const opened = await this.openLog(false);
    if (this.stopping) return;
    this.run(meta, opened);
    await writeMeta(this.dataDir, meta);
    this.meta = meta;
    this.logger.info('booted', { clusterId: meta.clusterId, nodes: meta.nodes.map((n) => n.id).join(',') });
  }

  /** Opens (or creates) the log and reports what recovery found. */
  private async openLog(mustExist: boolean): Promise<PersistentState> {
    const { wal, state, recovery } = await openWal(this.dataDir, {
      fsync: this.fsync, mustExist, log: (e) => this.logStorage(e),
    });
    this.wal = wal;
    this.logger.info('recovered', {
      records: recovery.records, bytes: recovery.bytes, logLength: logLength(state), decidedIdx: state.decidedIdx,
      compactedIdx: compactedIdx(state), walVersion: recovery.version, checkpointBytes: recovery.checkpointBytes,
    });
    return state;
  }

  /** The replica over the opened log, its peer links and its driver. */
  private run(meta: NodeMeta, state: PersistentState): void {
    const { config } = this.options;
    const wal = this.wal!;
    if (this.stopping) return;
    const me = meta.nodes.find((n) => n.id === this.id);
    if (!me) throw new Error(`node ${this.id} is not in its persisted node table`);
    const replica = new Replica({
      id: this.id,
      nodes: meta.nodes.map((n) => n.id),
      incarnation: this.identity!.incarnation,
      genesis: meta.members,
      replace: this.options.replace === true,
      priority: config.nodes.find((n) => n.id === this.id)?.priority ?? 0,
      electionTicks: config.timing.electionTicks,
      resendTicks: config.timing.resendTicks,
      ...(config.snapshotEntries === undefined ? {} : { snapshotEntries: config.snapshotEntries }),
    }, state);
    this.links = new PeerLinks({
      self: this.id, clusterId: meta.clusterId, nodes: meta.nodes, logger: this.logger, dialVia: this.dialVia, ...this.authOptions(),
      onMessage: (from, msg) => this.driver?.push({ kind: 'message', from, msg }),
      onConnected: (peer) => this.driver?.push({ kind: 'reconnected', peer }),
    });
    this.driver = new ReplicaDriver(replica, wal, {
      send: (to, msg) => this.links?.send(to, msg),
      reply: (r) => this.clientServer.deliver(r),
      released: (ready) => {
        this.noteChanges();
        if (ready.notices) for (const n of ready.notices) this.logNotice(n);
      },
      fatal: (err) => {
        this.logger.error('fatal', { error: err instanceof Error ? err.message : String(err) });
        this.options.onFatal(err);
      },
    });
    this.driver.start(config.timing.tickMs);
    this.links.start();
    for (const [peer, conn] of this.earlyPeers) {
      this.accepted.delete(conn);
      if (conn.isOpen && this.links.has(peer)) this.links.adopt(peer, conn);
    }
    this.earlyPeers.clear();
  }

  /** One log line per change of role or elected leader. */
  private noteChanges(): void {
    const s = this.driver!.status();
    const prev = this.lastStatus;
    this.lastStatus = s;
    if (!prev || compareBallots(prev.bleLeader, s.bleLeader) !== 0) {
      this.logger.info('leader-change', { leader: s.bleLeader.pid, ballot: `${s.bleLeader.n}.${s.bleLeader.priority}.${s.bleLeader.pid}` });
    }
    if (prev && prev.role !== s.role) {
      this.logger.info('role', { role: s.role, ballot: `${s.leaderBallot.n}.${s.leaderBallot.priority}.${s.leaderBallot.pid}` });
    }
  }

  /** What the replica says about identities: the operator must hear of a refused voter. */
  private logNotice(n: Notice): void {
    switch (n.kind) {
      case 'vote-refused':
        this.logger.warn('vote-refused', {
          peer: n.id, incarnation: n.incarnation, known: n.known || '(none yet)',
          reason: n.known
            ? `node ${n.id} speaks from a data directory the cluster does not know (incarnation ${n.incarnation}; it knows ${n.known}): its votes do not count`
            : `node ${n.id} has not joined yet: its votes count once it has`,
        });
        break;
      case 'not-a-voter':
        this.logger.error('not-a-voter', {
          incarnation: n.incarnation, known: n.known,
          error: `node ${this.id}'s data directory is new (incarnation ${n.incarnation}); the cluster knows node ${this.id} as incarnation ${n.known}, `
            + 'so this node follows the log but does not vote. If node ' + this.id + '\'s old data directory is lost for good, restart it with '
            + '--replace: it then joins as a learner and becomes a voter once it has caught up.',
        });
        break;
      case 'joining': this.logger.info('joining', { incarnation: n.incarnation, note: 'not a voter until its join is decided' }); break;
      case 'learner': this.logger.info('learner', { incarnation: n.incarnation, note: 'follows the log; votes once it has caught up' }); break;
      case 'voter': this.logger.info('voter', { incarnation: n.incarnation }); break;
    }
  }

  private logStorage(e: StorageEvent): void {
    switch (e.kind) {
      case 'wal-torn-tail-cut':
        this.logger.warn('wal-torn-tail-cut', { file: e.file, offset: e.offset, droppedBytes: e.droppedBytes, problem: e.problem });
        break;
      case 'wal-failed':
        // A full disk says so in `error` ("disk full (ENOSPC) while appending …"); `diskFull` is for log parsers.
        this.logger.error('wal-failed', { file: e.file, error: e.error, ...(e.diskFull === null ? {} : { diskFull: e.diskFull }) });
        break;
      case 'wal-created': this.logger.info('wal-created', { file: e.file }); break;
      case 'wal-checkpoint':
        this.logger.info('wal-checkpoint', { file: e.file, compactedIdx: e.compactedIdx, bytes: e.bytes, before: e.before });
        break;
      case 'wal-temp-removed': this.logger.warn('wal-temp-removed', { file: e.file, bytes: e.bytes }); break;
      default: break; // recovery is logged by run(); fsync-off by start()
    }
  }

  private authOptions(): { secret: Uint8Array | null; authTimeoutMs: number; nonce?: NonceSource } {
    const { secret, authTimeoutMs, nonce } = this.options;
    return { secret, authTimeoutMs: authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS, ...(nonce ? { nonce } : {}) };
  }

  /**
   * An accepted peer-port connection: peer-hello for this cluster, then the handshake
   * (peer-auth.ts); nothing else is accepted before it completes. What follows decides what it
   * is: check-in (bootstrap) or peer messages (a peer link).
   */
  private acceptPeer(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    let peer: NodeId | null = null;
    let gate: AuthGate | null = null;
    const conn: FramedSocket = new FramedSocket(socket, {
      onMessage: (m: WireMessage) => {
        if (!gate || gate.feed(m)) return;
        this.afterHello(conn, peer!, m);
      },
      onClose: () => {
        gate?.cancel();
        this.accepted.delete(conn);
        if (peer !== null && this.earlyPeers.get(peer) === conn) this.earlyPeers.delete(peer);
        this.bootstrapServer?.forget(conn);
      },
      onBadInput: (b) => {
        const take = this.peerPortLog.take('bad-input');
        if (take.log) this.logger.warn('bad-input', { port: 'peer', remote: conn.remote, code: b.code, error: b.message, ...(take.suppressed ? { suppressed: take.suppressed } : {}) });
      },
      onHandlerError: (err, m) => this.logger.error('handler-error', {
        port: 'peer', remote: conn.remote, peer: peer ?? undefined, message: m.kind, error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    }); // fragments: allowed by the AuthGate once the handshake completes
    const handshake = new AcceptorHandshake({
      self: this.id,
      secret: this.options.secret,
      clusterId: this.meta?.clusterId ?? this.options.config.clusterId,
      checkPeer: (id) => ((this.meta?.nodes ?? this.options.config.nodes).some((n) => n.id === id) ? null : `node ${id} is not a peer of node ${this.id}`),
      ...(this.options.nonce ? { nonce: this.options.nonce } : {}),
    });
    gate = new AuthGate(conn, handshake, {
      role: 'acceptor',
      timeoutMs: this.options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
      onDone: (id) => { peer = id; },
      onFail: (code, reason) => {
        // Anyone who can reach the port can fail a handshake: a flood gets a line per interval.
        const event = code === 'auth-failed' ? 'auth-failed' : 'bad-input';
        const take = this.peerPortLog.take(event);
        if (!take.log) return;
        const fields = { port: 'peer', role: 'acceptor', remote: conn.remote, peer: handshake.peer ?? undefined, code, ...(take.suppressed ? { suppressed: take.suppressed } : {}) };
        if (code === 'auth-failed') this.logger.warn('auth-failed', { ...fields, reason });
        else this.logger.warn('bad-input', { ...fields, error: reason });
      },
    });
    this.accepted.add(conn);
  }

  private afterHello(conn: FramedSocket, from: NodeId, m: WireMessage): void {
    switch (m.kind) {
      case 'auth-challenge':
      case 'auth-proof': {
        // A secure dialer facing this insecure node, or a second handshake: never a silent downgrade.
        const late = lateAuthMessage(this.options.secret !== null, m.kind);
        this.logger.warn(late.code === 'auth-failed' ? 'auth-failed' : 'bad-input', {
          port: 'peer', role: 'acceptor', remote: conn.remote, peer: from, code: late.code, reason: late.reason,
        });
        conn.fail(late.code, late.reason);
        return;
      }
      case 'check-in':
        if (m.node.id !== from) {
          const message = `check-in for node ${m.node.id} on a connection that said hello as node ${from}`;
          this.logger.warn('bad-input', { port: 'peer', remote: conn.remote, code: 'unexpected-message', error: message });
          conn.fail('unexpected-message', message);
        } else if (this.meta) conn.send(bootMessage(this.meta));
        else if (this.bootstrapServer) this.bootstrapServer.checkIn(conn, m.node, m.incarnation);
        else conn.fail('unexpected-message', `node ${this.id} is not the bootstrap server and has not booted`);
        return;
      case 'boot-ready':
        this.logger.info('boot-ready', { peer: m.nodeId });
        return;
      default:
        break;
    }
    if (!isPeerMessage(m)) {
      const message = `${m.kind} does not belong on the peer port`;
      this.logger.warn('bad-input', { port: 'peer', remote: conn.remote, code: 'unexpected-message', error: message });
      conn.fail('unexpected-message', message);
      return;
    }
    if (from > this.id) {
      conn.fail('unexpected-message', `node ${from} must wait for node ${this.id} to dial it (the lower id dials)`);
      return;
    }
    if (!this.links || !this.driver) {
      // Not booted yet: keep the connection (dropping what it carries until then) and adopt it
      // at boot. Closing it would make the peer re-dial with backoff, and a just-booted node
      // would stay unreachable for up to a second — long enough to cost an election.
      const early = this.earlyPeers.get(from);
      if (early === conn) return;
      early?.destroy('replaced by a new connection from the same peer');
      this.earlyPeers.set(from, conn);
      return;
    }
    this.accepted.delete(conn);
    this.links.adopt(from, conn);
    // The first peer message arrived on the handshake handlers: deliver it like the rest.
    this.driver.push({ kind: 'message', from, msg: m });
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
