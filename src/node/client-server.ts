/**
 * The client port: up to `maxConnections` connections, each with up to
 * `maxInFlightPerConnection` requests in flight, matched by requestId.
 *
 * A client-request becomes a `request` input of the replica; its answer is the replica's
 * reply for that (clientId, seq), delivered once the entry is decided and applied here (the
 * replica computes it from its own copy, whether this node leads or forwarded the entry). A
 * request still waiting after `requestTimeoutMs` is answered `unknown`: the entry may yet be
 * decided, so the client must treat it as indeterminate and retry with the same (clientId, seq).
 *
 * Limits (protocol.md, Limits). A connection beyond `maxConnections` is accepted, sent the
 * error frame `too-many-connections` and closed. A connection with `maxInFlightPerConnection`
 * requests waiting, or with more than `pauseReadingAboveBytes` of answers it has not read yet,
 * is not read from until that is no longer so: backpressure through TCP, nothing dropped, and
 * nothing buffered per connection beyond those bounds (plus FramedSocket's hard cap, which
 * closes a connection whose unread answers still pile up).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { LogIdx } from '../replica/ballot.js';
import type { Command } from '../replica/entry.js';
import type { ClientReply, ReplicaStatus } from '../replica/types.js';
import { MAX_COMMAND_BYTES, commandBytes, entryBytes, type Entry } from '../replica/entry.js';
import { MAX_FRAME_BYTES, encodeMessage } from '../wire/codec.js';
import { encodeFrame } from '../wire/frame.js';
import type { ClientRequest, LogRequest, LogResponse, PeerLink, StatusResponse, WireMessage } from '../wire/messages.js';
import { FramedSocket, type PauseReason } from './framed-socket.js';
import { strangerLogLimiter } from './log-limiter.js';
import type { Logger } from './logger.js';
import { BOTTOM } from '../replica/ballot.js';

/** Most entries one log-response carries; a client pages through longer ranges. */
export const MAX_LOG_ENTRIES_PER_RESPONSE = 1000;
/** Budget for a log-response's entries, well under the frame limit (strings are counted). */
const LOG_RESPONSE_BYTE_BUDGET = MAX_FRAME_BYTES / 2;

export interface ClientPortLimits {
  /** Open client connections; one more is refused with `too-many-connections`. */
  readonly maxConnections: number;
  /** Requests waiting for an answer on one connection; at the limit, reading pauses. */
  readonly maxInFlightPerConnection: number;
  /** Unsent answer bytes on one connection above which reading pauses until they drain. */
  readonly pauseReadingAboveBytes: number;
}

export const DEFAULT_CLIENT_PORT_LIMITS: ClientPortLimits = {
  maxConnections: 1024,
  maxInFlightPerConnection: 1024,
  pauseReadingAboveBytes: 1024 * 1024,
};

/** Refusals are logged at most this often (a summary with the count), not once per connection. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** How long a refused connection may take to receive its error frame. */
const REFUSE_GRACE_MS = 1000;

/** One connection's figures, for tests and operators. */
export interface ClientConnectionStats {
  readonly remote: string;
  readonly inFlight: number;
  /** The most requests this connection ever had in flight at once. */
  readonly maxInFlight: number;
  readonly pausedBy: readonly PauseReason[];
  /** Bytes written to the socket that the kernel has not taken yet. */
  readonly unsentBytes: number;
}

interface ConnState {
  inFlight: number;
  maxInFlight: number;
}

/** What the client port needs from the rest of the node. */
export interface ClientPortBackend {
  readonly nodeId: number;
  readonly fsync: boolean;
  /** null while the node has not joined a cluster (bootstrap not done). */
  replicaStatus(): ReplicaStatus | null;
  peers(): PeerLink[];
  /**
   * The log this node still holds: `entries[0]` is entry `from` (= its compactedIdx; the
   * entries before it exist only in its snapshot).
   */
  log(): { readonly from: LogIdx; readonly entries: readonly Entry[] };
  /** Hands a request to the replica. */
  submit(command: Command): void;
}

interface Waiter {
  readonly conn: FramedSocket;
  readonly requestId: number;
  readonly timer: NodeJS.Timeout;
}

export class ClientServer {
  private readonly server: Server;
  private readonly connections = new Map<FramedSocket, ConnState>();
  /** clientId → seq → requests waiting for that command's result. */
  private readonly waiting = new Map<string, Map<number, Waiter[]>>();
  private closing = false;
  private readonly limits: ClientPortLimits;
  /** Connections refused for the connection limit: in all, and since the last log line. */
  private refused = 0;
  private refusedUnlogged = 0;
  private lastRefusalLog = -Infinity;
  private readonly badInputLog = strangerLogLimiter();

  constructor(
    private readonly backend: ClientPortBackend,
    private readonly logger: Logger,
    private readonly requestTimeoutMs: number,
    limits: Partial<ClientPortLimits> = {},
  ) {
    this.limits = { ...DEFAULT_CLIENT_PORT_LIMITS, ...limits };
    this.server = createServer((s) => this.accept(s));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Answers every waiting request `unknown`, closes every connection and the listener. */
  async close(): Promise<void> {
    this.closing = true;
    for (const [, bySeq] of this.waiting) {
      for (const [, waiters] of bySeq) {
        for (const w of waiters) {
          clearTimeout(w.timer);
          w.conn.send({ kind: 'client-response', requestId: w.requestId, status: 'unknown', reason: 'the node is shutting down' });
        }
      }
    }
    this.waiting.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.connections.keys()) c.socket.end();
      setTimeout(() => { for (const c of this.connections.keys()) c.destroy('node stopping'); }, 200).unref();
    });
  }

  /** The replica answered (clientId, seq) here: tell whoever waits for it. */
  deliver(reply: ClientReply): void {
    const bySeq = this.waiting.get(reply.clientId);
    const waiters = bySeq?.get(reply.seq);
    if (!bySeq || !waiters) return;
    bySeq.delete(reply.seq);
    if (bySeq.size === 0) this.waiting.delete(reply.clientId);
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.conn.send({ kind: 'client-response', requestId: w.requestId, status: 'result', result: reply.result });
      this.answered(w.conn);
    }
  }

  /** Per open connection: requests in flight, the most ever, whether reading is paused. */
  connectionStats(): ClientConnectionStats[] {
    return [...this.connections].map(([conn, st]) => ({
      remote: conn.remote, inFlight: st.inFlight, maxInFlight: st.maxInFlight,
      pausedBy: [...conn.readingPausedBy], unsentBytes: conn.socket.writableLength,
    }));
  }

  /** Connections refused for the connection limit since the start. */
  get refusedConnections(): number {
    return this.refused;
  }

  get inFlight(): number {
    let n = 0;
    for (const bySeq of this.waiting.values()) for (const ws of bySeq.values()) n += ws.length;
    return n;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.limits.maxConnections) {
      this.refuse(socket);
      return;
    }
    const conn: FramedSocket = new FramedSocket(socket, {
      onMessage: (m) => this.onMessage(conn, m),
      onClose: () => this.dropConnection(conn),
      onBadInput: (b) => this.logBadInput(conn, b.code, b.message),
      onHandlerError: (err, m) => this.logger.error('handler-error', {
        port: 'client', remote: conn.remote, message: m.kind, error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    }, { pauseReadingAboveBytes: this.limits.pauseReadingAboveBytes });
    this.connections.set(conn, { inFlight: 0, maxInFlight: 0 });
  }

  /**
   * Over the connection limit: the error frame, then close. Nothing is read from the socket.
   * One log line per burst: the first refusal, then at most one summary per interval.
   */
  /** Any client can send garbage at will: the lines are limited (log-limiter.ts), the refusals are not. */
  private logBadInput(conn: FramedSocket, code: string, error: string): void {
    const take = this.badInputLog.take('bad-input');
    if (take.log) this.logger.warn('bad-input', { port: 'client', remote: conn.remote, code, error, ...(take.suppressed ? { suppressed: take.suppressed } : {}) });
  }

  private refuse(socket: Socket): void {
    this.refused++;
    this.refusedUnlogged++;
    const now = Date.now();
    if (now - this.lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      this.logger.warn('too-many-connections', {
        port: 'client', limit: this.limits.maxConnections, refused: this.refusedUnlogged, refusedTotal: this.refused,
      });
      this.lastRefusalLog = now;
      this.refusedUnlogged = 0;
    }
    socket.on('error', () => { /* the refused side may reset; nothing to do */ });
    const message = `this node already has ${this.connections.size} client connections (the limit is ${this.limits.maxConnections}); try again later or another node`;
    socket.end(encodeFrame(encodeMessage({ kind: 'error', code: 'too-many-connections', message })));
    setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
  }

  /** A request on `conn` was answered (or given up): it no longer counts against the limit. */
  private answered(conn: FramedSocket): void {
    const st = this.connections.get(conn);
    if (!st) return;
    st.inFlight--;
    if (st.inFlight < this.limits.maxInFlightPerConnection) conn.resumeReading('in-flight');
  }

  private onMessage(conn: FramedSocket, m: WireMessage): void {
    switch (m.kind) {
      case 'client-request': this.onRequest(conn, m); return;
      case 'status-request': conn.send(this.statusResponse(m.requestId)); return;
      case 'log-request': conn.send(this.logResponse(m)); return;
      default: {
        const message = `${m.kind} is not a client-port message (client-request, status-request, log-request)`;
        this.logBadInput(conn, 'unexpected-message', message);
        conn.fail('unexpected-message', message);
      }
    }
  }

  private onRequest(conn: FramedSocket, m: ClientRequest): void {
    const { requestId, command } = m;
    const reject = (reason: string): void => conn.send({ kind: 'client-response', requestId, status: 'rejected', reason });
    if (this.closing) return reject('the node is shutting down');
    if (this.backend.replicaStatus() === null) return reject('this node has not joined a cluster yet (waiting for bootstrap)');
    if (command.clientId.length === 0) return reject('clientId must not be empty');
    if (command.seq < 1) return reject('seq must be at least 1');
    const size = commandBytes(command);
    if (size > MAX_COMMAND_BYTES) {
      return reject(`the command's strings take ${size} bytes; the limit is ${MAX_COMMAND_BYTES} (clientId, key and values together)`);
    }
    let bySeq = this.waiting.get(command.clientId);
    if (!bySeq) this.waiting.set(command.clientId, bySeq = new Map());
    let waiters = bySeq.get(command.seq);
    if (!waiters) bySeq.set(command.seq, waiters = []);
    const timer = setTimeout(() => this.timeOut(command, conn, requestId), this.requestTimeoutMs);
    waiters.push({ conn, requestId, timer });
    const st = this.connections.get(conn);
    if (st) {
      st.inFlight++;
      st.maxInFlight = Math.max(st.maxInFlight, st.inFlight);
      if (st.inFlight >= this.limits.maxInFlightPerConnection) conn.pauseReading('in-flight');
    }
    this.backend.submit(command);
  }

  private timeOut(command: Command, conn: FramedSocket, requestId: number): void {
    if (!this.removeWaiter(command.clientId, command.seq, (w) => w.conn === conn && w.requestId === requestId)) return;
    conn.send({
      kind: 'client-response', requestId, status: 'unknown',
      reason: `not decided within ${this.requestTimeoutMs} ms; it may still take effect: retry with the same clientId and seq`,
    });
  }

  /** Removes the waiters `match` selects; true if any was removed. */
  private removeWaiter(clientId: string, seq: number, match: (w: Waiter) => boolean): boolean {
    const bySeq = this.waiting.get(clientId);
    const waiters = bySeq?.get(seq);
    if (!bySeq || !waiters) return false;
    const kept = waiters.filter((w) => !match(w));
    if (kept.length === waiters.length) return false;
    for (const w of waiters) {
      if (!match(w)) continue;
      clearTimeout(w.timer);
      this.answered(w.conn);
    }
    if (kept.length > 0) bySeq.set(seq, kept);
    else {
      bySeq.delete(seq);
      if (bySeq.size === 0) this.waiting.delete(clientId);
    }
    return true;
  }

  private dropConnection(conn: FramedSocket): void {
    this.connections.delete(conn);
    for (const [clientId, bySeq] of [...this.waiting]) {
      for (const seq of [...bySeq.keys()]) this.removeWaiter(clientId, seq, (w) => w.conn === conn);
    }
  }

  private statusResponse(requestId: number): StatusResponse {
    const s = this.backend.replicaStatus();
    const base = { kind: 'status-response' as const, requestId, nodeId: this.backend.nodeId, fsync: this.backend.fsync, peers: this.backend.peers() };
    if (s === null) {
      return {
        ...base, role: 'follower', phase: 'none', leaderBallot: BOTTOM, electedBallot: BOTTOM, quorumConnected: false,
        promised: BOTTOM, acceptedRnd: BOTTOM, logLength: 0, decidedIdx: 0, appliedIdx: 0, compactedIdx: 0,
        incarnation: '', voter: false,
      };
    }
    return {
      ...base, role: s.role, phase: s.phase,
      leaderBallot: s.role === 'leader' ? s.leaderBallot : BOTTOM,
      electedBallot: s.bleLeader, quorumConnected: s.quorumConnected, promised: s.promised, acceptedRnd: s.acceptedRnd,
      logLength: s.logLength, decidedIdx: s.decidedIdx, appliedIdx: s.appliedIdx, compactedIdx: s.compactedIdx,
      incarnation: s.incarnation, voter: s.voter,
    };
  }

  /**
   * Entries from `m.from` on, as far as this node still holds them: a request for compacted
   * entries is answered from the node's compactedIdx (the response's `from` says so), one past
   * the end with no entries.
   */
  private logResponse(m: LogRequest): LogResponse {
    const { from: base, entries: held } = this.backend.log();
    const s = this.backend.replicaStatus();
    const logLength = base + held.length;
    const from = Math.min(Math.max(m.from, base), logLength);
    const entries: Entry[] = [];
    const want = Math.min(m.count, MAX_LOG_ENTRIES_PER_RESPONSE);
    let bytes = 0;
    for (let i = from; i < logLength && entries.length < want; i++) {
      const e = held[i - base]!;
      bytes += entryBytes(e);
      if (bytes > LOG_RESPONSE_BYTE_BUDGET && entries.length > 0) break;
      entries.push(e);
    }
    return { kind: 'log-response', requestId: m.requestId, from, decidedIdx: s?.decidedIdx ?? 0, logLength, entries };
  }
}
