/**
 * The client port: any number of connections, each with any number of requests in flight,
 * matched by requestId.
 *
 * A client-request becomes a `request` input of the replica; its answer is the replica's
 * reply for that (clientId, seq), delivered once the entry is decided and applied here (the
 * replica computes it from its own copy, whether this node leads or forwarded the entry). A
 * request still waiting after `requestTimeoutMs` is answered `unknown`: the entry may yet be
 * decided, so the client must treat it as indeterminate and retry with the same (clientId, seq).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { LogIdx } from '../replica/ballot.js';
import type { Command } from '../replica/entry.js';
import type { ClientReply, ReplicaStatus } from '../replica/types.js';
import { MAX_COMMAND_BYTES, commandBytes, entryBytes, type Entry } from '../replica/entry.js';
import { MAX_FRAME_BYTES } from '../wire/codec.js';
import type { ClientRequest, LogRequest, LogResponse, PeerLink, StatusResponse, WireMessage } from '../wire/messages.js';
import { FramedSocket } from './framed-socket.js';
import type { Logger } from './logger.js';
import { BOTTOM } from '../replica/ballot.js';

/** Most entries one log-response carries; a client pages through longer ranges. */
export const MAX_LOG_ENTRIES_PER_RESPONSE = 1000;
/** Budget for a log-response's entries, well under the frame limit (strings are counted). */
const LOG_RESPONSE_BYTE_BUDGET = MAX_FRAME_BYTES / 2;

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
  private readonly connections = new Set<FramedSocket>();
  /** clientId → seq → requests waiting for that command's result. */
  private readonly waiting = new Map<string, Map<number, Waiter[]>>();
  private closing = false;

  constructor(
    private readonly backend: ClientPortBackend,
    private readonly logger: Logger,
    private readonly requestTimeoutMs: number,
  ) {
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
      for (const c of this.connections) c.socket.end();
      setTimeout(() => { for (const c of this.connections) c.destroy('node stopping'); }, 200).unref();
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
    }
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
    const conn: FramedSocket = new FramedSocket(socket, {
      onMessage: (m) => this.onMessage(conn, m),
      onClose: () => this.dropConnection(conn),
      onBadInput: (b) => this.logger.warn('bad-input', { port: 'client', remote: conn.remote, code: b.code, error: b.message }),
    });
    this.connections.add(conn);
  }

  private onMessage(conn: FramedSocket, m: WireMessage): void {
    switch (m.kind) {
      case 'client-request': this.onRequest(conn, m); return;
      case 'status-request': conn.send(this.statusResponse(m.requestId)); return;
      case 'log-request': conn.send(this.logResponse(m)); return;
      default: {
        const message = `${m.kind} is not a client-port message (client-request, status-request, log-request)`;
        this.logger.warn('bad-input', { port: 'client', remote: conn.remote, code: 'unexpected-message', error: message });
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
    for (const w of waiters) if (match(w)) clearTimeout(w.timer);
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
      };
    }
    return {
      ...base, role: s.role, phase: s.phase,
      leaderBallot: s.role === 'leader' ? s.leaderBallot : BOTTOM,
      electedBallot: s.bleLeader, quorumConnected: s.quorumConnected, promised: s.promised, acceptedRnd: s.acceptedRnd,
      logLength: s.logLength, decidedIdx: s.decidedIdx, appliedIdx: s.appliedIdx, compactedIdx: s.compactedIdx,
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
