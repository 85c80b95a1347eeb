/**
 * An in-process stand-in for a kvnode's client port, speaking the wire protocol through
 * src/wire. It has no consensus: every fake node of a test shares one `FakeStore` (the real
 * KvStateMachine over an in-memory log), so commands apply in the order they arrive, with the
 * cluster's exactly-once and session-expiry rules.
 *
 * What happens to each client-request is decided by a script (a queue of actions, consumed in
 * arrival order) and then by `policy` (default: apply and answer). Everything received is kept
 * in `received` so tests can assert on what the client sent.
 */
import net from 'node:net';
import { BOTTOM } from '../../src/replica/ballot.js';
import type { Command, Entry, KvResult } from '../../src/replica/entry.js';
import { KvStateMachine } from '../../src/replica/kv-state-machine.js';
import { decodeMessage, encodeMessage, errorFrameFor, ProtocolError } from '../../src/wire/codec.js';
import { encodeFrame, readFrames } from '../../src/wire/frame.js';
import type {
  ClientRequest, ClientResponse, ErrorCode, StatusResponse, WireMessage,
} from '../../src/wire/messages.js';
import type { NodeAddr } from '../../src/client/addr.js';

/** The map, sessions and log every fake node of a test shares. */
export class FakeStore {
  readonly sm = new KvStateMachine();
  readonly log: Entry[] = [];
  /** Every client-request any node of the store received, in arrival order. */
  readonly arrivals: { readonly nodeId: number; readonly command: Command }[] = [];

  /** Appends and applies one command; `null` when it is a duplicate of an older seq (no answer). */
  apply(command: Command): KvResult | null {
    const entry: Entry = { kind: 'command', command };
    this.log.push(entry);
    return this.sm.apply(entry)!.result;
  }

  /** Drops every session, as an `expire-sessions` entry past all of them would. */
  expireAllSessions(): void {
    const entry: Entry = { kind: 'expire-sessions', idleBefore: this.sm.appliedIdx + 1 };
    this.log.push(entry);
    this.sm.apply(entry);
  }
}

/** What the fake node does with one client-request. */
export type Action =
  /** Apply it to the store and answer with the result (a skipped old duplicate gets `unknown`). */
  | { readonly do: 'apply' }
  /** Apply it, but never answer (the answer is lost). */
  | { readonly do: 'apply-silently' }
  /** Do nothing (a paused node). */
  | { readonly do: 'drop' }
  /** Keep it in `held`; the test answers it later with `held[i].answer(action)`. */
  | { readonly do: 'hold' }
  | { readonly do: 'unknown'; readonly reason?: string }
  | { readonly do: 'rejected'; readonly reason?: string }
  /** Answer with exactly this result, without touching the store. */
  | { readonly do: 'result'; readonly result: KvResult }
  /** Close the connection without answering (optionally after applying). */
  | { readonly do: 'close'; readonly apply?: boolean }
  /** Send an error frame and close. */
  | { readonly do: 'error'; readonly code?: ErrorCode; readonly message?: string }
  /** Send these bytes as one frame body (e.g. something that does not decode). */
  | { readonly do: 'raw'; readonly body: Uint8Array };

type ResponseBody =
  | { readonly status: 'result'; readonly result: KvResult }
  | { readonly status: 'unknown' | 'rejected'; readonly reason: string };

export interface Received {
  /** Which connection (0, 1, … in accept order). */
  readonly conn: number;
  readonly message: WireMessage;
}

export interface Held {
  readonly conn: number;
  readonly request: ClientRequest;
  answer(action: Action): void;
}

export interface FakeNodeOptions {
  readonly store?: FakeStore;
  readonly nodeId?: number;
}

export class FakeNode {
  readonly received: Received[] = [];
  readonly held: Held[] = [];
  /** Actions for the next client-requests, in arrival order; then `policy`. */
  readonly script: Action[] = [];
  policy: (req: ClientRequest, conn: number) => Action = () => ({ do: 'apply' });
  /**
   * What status-requests get: a response built from these fields, 'drop' (silence), 'close'
   * (close the connection) or 'error' (an error frame, then close).
   */
  status: Partial<Omit<StatusResponse, 'kind' | 'requestId'>> | 'drop' | 'close' | 'error' = {};
  readonly store: FakeStore;
  readonly nodeId: number;
  private readonly sockets = new Map<number, net.Socket>();
  private connCount = 0;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(private readonly server: net.Server, readonly addr: NodeAddr, options: FakeNodeOptions) {
    this.store = options.store ?? new FakeStore();
    this.nodeId = options.nodeId ?? 1;
  }

  static async start(options: FakeNodeOptions = {}): Promise<FakeNode> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    const node = new FakeNode(server, { host: '127.0.0.1', port }, options);
    server.on('connection', (s) => node.serve(s));
    return node;
  }

  /** `127.0.0.1:port`. */
  get name(): string {
    return `${this.addr.host}:${this.addr.port}`;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.connCount;
  }

  /** The client-requests received, in order. */
  requests(): ClientRequest[] {
    return this.received.flatMap(r => (r.message.kind === 'client-request' ? [r.message] : []));
  }

  commands(): Command[] {
    return this.requests().map(r => r.command);
  }

  /** Resolves once `check` holds (checked after every frame received and connection closed). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ check, resolve }));
  }

  /** Resolves once `n` client-requests have arrived. */
  untilRequests(n: number): Promise<void> {
    return this.until(() => this.requests().length >= n);
  }

  /** Resolves once `n` requests are held. */
  untilHeld(n: number): Promise<void> {
    return this.until(() => this.held.length >= n);
  }

  /** Closes every open client connection (the node stays up). */
  dropConnections(): void {
    for (const s of this.sockets.values()) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    const ready = this.waiters.filter(w => w.check());
    this.waiters = this.waiters.filter(w => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  private async serve(socket: net.Socket): Promise<void> {
    const conn = this.connCount++;
    this.sockets.set(conn, socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(conn);
      this.notify();
    });
    try {
      for await (const body of readFrames(socket)) {
        let m: WireMessage;
        try {
          m = decodeMessage(body);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          socket.end(encodeFrame(errorFrameFor(e)));
          return;
        }
        this.received.push({ conn, message: m });
        this.handle(socket, conn, m);
        this.notify();
      }
    } catch {
      socket.destroy();
    }
  }

  private handle(socket: net.Socket, conn: number, m: WireMessage): void {
    const send = (msg: WireMessage): void => {
      if (!socket.destroyed) socket.write(encodeFrame(encodeMessage(msg)));
    };
    switch (m.kind) {
      case 'client-request': {
        this.store.arrivals.push({ nodeId: this.nodeId, command: m.command });
        const action = this.script.shift() ?? this.policy(m, conn);
        this.act(socket, conn, m, action);
        return;
      }
      case 'status-request':
        if (this.status === 'drop') return;
        if (this.status === 'close') {
          socket.destroy();
          return;
        }
        if (this.status === 'error') {
          socket.end(encodeFrame(encodeMessage({ kind: 'error', code: 'unexpected-message', message: 'scripted status error' })));
          return;
        }
        send({
          kind: 'status-response', requestId: m.requestId, nodeId: this.nodeId, role: 'follower', phase: 'accept',
          leaderBallot: BOTTOM, electedBallot: BOTTOM, quorumConnected: true, promised: BOTTOM, acceptedRnd: BOTTOM,
          logLength: this.store.log.length, decidedIdx: this.store.log.length, appliedIdx: this.store.sm.appliedIdx,
          compactedIdx: 0, incarnation: '0123456789abcdef', voter: true, fsync: true, peers: [], ...this.status,
        });
        return;
      case 'log-request': {
        const from = Math.min(m.from, this.store.log.length);
        send({
          kind: 'log-response', requestId: m.requestId, from, decidedIdx: this.store.log.length,
          logLength: this.store.log.length, entries: this.store.log.slice(from, from + m.count),
        });
        return;
      }
      case 'error':
        socket.destroy();
        return;
      default:
        socket.end(encodeFrame(encodeMessage({ kind: 'error', code: 'unexpected-message', message: `${m.kind} on the client port` })));
    }
  }

  private act(socket: net.Socket, conn: number, req: ClientRequest, action: Action): void {
    const answer = (r: ResponseBody): void => {
      if (socket.destroyed) return;
      socket.write(encodeFrame(encodeMessage({ kind: 'client-response', requestId: req.requestId, ...r } as ClientResponse)));
    };
    switch (action.do) {
      case 'apply': {
        const result = this.store.apply(req.command);
        if (result === null) answer({ status: 'unknown', reason: 'an older seq of this session' });
        else answer({ status: 'result', result });
        return;
      }
      case 'apply-silently':
        this.store.apply(req.command);
        return;
      case 'drop':
        return;
      case 'hold':
        this.held.push({ conn, request: req, answer: (a) => this.act(socket, conn, req, a) });
        return;
      case 'unknown':
        answer({ status: 'unknown', reason: action.reason ?? 'timeout' });
        return;
      case 'rejected':
        answer({ status: 'rejected', reason: action.reason ?? 'shutting down' });
        return;
      case 'result':
        answer({ status: 'result', result: action.result });
        return;
      case 'close':
        if (action.apply) this.store.apply(req.command);
        socket.destroy();
        return;
      case 'error':
        socket.end(encodeFrame(encodeMessage({ kind: 'error', code: action.code ?? 'malformed', message: action.message ?? 'scripted error' })));
        return;
      case 'raw':
        socket.write(encodeFrame(action.body));
        return;
    }
  }
}

/** Starts `n` fake nodes sharing one store. */
export async function startFakeCluster(n: number): Promise<{ nodes: FakeNode[]; store: FakeStore; stop: () => Promise<void> }> {
  const store = new FakeStore();
  const nodes: FakeNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await FakeNode.start({ store, nodeId: i + 1 }));
  return { nodes, store, stop: async () => { await Promise.all(nodes.map(x => x.stop())); } };
}
