/**
 * Simulated clients. Each has one operation outstanding at a time and numbers its requests
 * (clientId, seq) from 1. A request goes to a random node; without an answer within the
 * timeout, the same (clientId, seq) goes to another random node, a few times; after the last
 * attempt the outcome is unknown, the operation is recorded as `info` and the client moves on
 * to seq+1 under a fresh history process (an `info` operation stays concurrent with
 * everything after it, as Jepsen's clients do).
 *
 * `session-expired` answers a request whose session the cluster forgot. The client opens a new
 * session (a new clientId, seq 1). If the answer is to the first attempt, the request cannot
 * have taken effect (an expired session executes nothing), so the same operation is sent again
 * under the new session and the history sees one operation. If it answers a retry, an earlier
 * attempt may have taken effect before the session expired: the outcome is unknown (`info`).
 */
import type { NodeId } from '../replica/ballot.js';
import type { Command, KvOp, KvResult } from '../replica/entry.js';
import type { ClientReply } from '../replica/types.js';
import type { HistoryWriter } from '../history/writer.js';
import type { KeyValue } from '../history/types.js';
import type { TimeUs } from './event-queue.js';
import { pickOther, type Rng } from './rng.js';

export interface ClientOptions {
  readonly clients: number;
  /** Keys k0…; few keys make operations collide. */
  readonly keys: number;
  /** Operations invoked over all clients. */
  readonly opsTotal: number;
  /** Time to wait for an answer before retrying elsewhere, µs. */
  readonly timeoutUs: number;
  /** Requests per operation (first one included) before giving up with `info`. */
  readonly maxAttempts: number;
  /** Pause between a client's operations, µs. */
  readonly thinkMinUs: number;
  readonly thinkMaxUs: number;
  /** No operation starts after this time. */
  readonly stopIssuingAtUs: number;
  /**
   * An operation invoked at or after this time must get a definite answer: the cluster is
   * whole again by then, so one that ends `info` means progress stopped (undefined: no check).
   */
  readonly progressFromUs?: number;
  /** The nodes client i sends to: `targets[i % targets.length]` (default: every node). */
  readonly targets?: readonly (readonly NodeId[])[];
}

/** What the clients need from the simulator. */
export interface ClientEnv {
  readonly rng: Rng;
  readonly nodes: readonly NodeId[];
  readonly history: HistoryWriter;
  now(): TimeUs;
  /** Calls `onTimer(client, token)` at time `at`. */
  timer(at: TimeUs, client: number, token: number): void;
  /** Sends a request from client `client` to `node`. */
  send(node: NodeId, client: number, command: Command): void;
  /** A definite answer for `command` reached its client (for the acknowledged-write invariant). */
  answered(command: Command, result: KvResult): void;
  /** A reply that cannot answer its operation: a replica bug. */
  badReply(message: string): void;
  /** An operation invoked after `progressFromUs` got no definite answer. */
  noProgress(message: string): void;
}

interface Outstanding {
  readonly op: KvOp;
  readonly historyId: number;
  readonly invokedAt: TimeUs;
  attempts: number;
  lastNode: NodeId;
}

interface Client {
  readonly index: number;
  readonly targets: readonly NodeId[];
  process: number;
  clientId: string;
  session: number;
  seq: number;
  current: Outstanding | null;
  /** Only the timer with the latest token counts. */
  token: number;
  writes: number;
  done: boolean;
}

export interface ClientStats {
  ok: number;
  fail: number;
  info: number;
  invoked: number;
  retries: number;
  sessionsRenewed: number;
}

type Completion = { kind: 'ok'; value?: KeyValue } | { kind: 'fail' } | { kind: 'bad'; why: string };

/** How an answer maps to the history: GET reads (null: absent), a CAS mismatch fails, the rest are ok. */
export function completionFor(op: KvOp, result: KvResult): Completion {
  switch (op.kind) {
    case 'get':
      if (result.kind === 'value') return { kind: 'ok', value: result.value };
      if (result.kind === 'not-found') return { kind: 'ok', value: null };
      break;
    case 'put':
      if (result.kind === 'ok') return { kind: 'ok' };
      break;
    case 'cas':
      if (result.kind === 'ok') return { kind: 'ok' };
      if (result.kind === 'mismatch') return { kind: 'fail' };
      break;
    case 'delete':
      if (result.kind === 'deleted') return { kind: 'ok' };
      break;
  }
  return { kind: 'bad', why: `${op.kind} answered ${JSON.stringify(result)}` };
}

export class ClientPool {
  readonly stats: ClientStats = { ok: 0, fail: 0, info: 0, invoked: 0, retries: 0, sessionsRenewed: 0 };
  private readonly clients: Client[] = [];
  private readonly byClientId = new Map<string, Client>();
  private readonly keys: string[];
  /** The last value some client saw for each key: CAS mostly expects it, so some succeed. */
  private readonly seen = new Map<string, KeyValue>();
  private nextProcess: number;

  constructor(private readonly env: ClientEnv, private readonly options: ClientOptions) {
    this.keys = Array.from({ length: Math.max(1, options.keys) }, (_, i) => `k${i}`);
    for (let i = 0; i < options.clients; i++) {
      const targets = options.targets && options.targets.length > 0 ? options.targets[i % options.targets.length]! : env.nodes;
      if (targets.length === 0) throw new Error(`clients: client ${i} has no node to send to`);
      const c: Client = {
        index: i, targets, process: i, clientId: `c${i}`, session: 0, seq: 0, current: null, token: 0, writes: 0, done: false,
      };
      this.clients.push(c);
      this.byClientId.set(c.clientId, c);
    }
    this.nextProcess = options.clients;
  }

  /** True when every client has finished (nothing outstanding, nothing more to invoke). */
  get idle(): boolean {
    return this.clients.every(c => c.done);
  }

  start(): void {
    for (const c of this.clients) this.think(c);
  }

  onTimer(index: number, token: number): void {
    const c = this.clients[index]!;
    if (token !== c.token || c.done) return;
    if (c.current === null) {
      this.startOp(c);
    } else if (c.current.attempts < this.options.maxAttempts) {
      this.stats.retries++;
      this.attempt(c);
    } else {
      this.giveUp(c);
    }
  }

  onReply(reply: ClientReply): void {
    const c = this.byClientId.get(reply.clientId);
    const cur = c?.current;
    if (!c || !cur || reply.seq !== c.seq) return; // an answer to an attempt already settled
    const command: Command = { clientId: c.clientId, seq: c.seq, op: cur.op };
    if (reply.result.kind === 'session-expired') {
      this.stats.sessionsRenewed++;
      this.byClientId.delete(c.clientId);
      c.session++;
      c.clientId = `c${c.index}s${c.session}`;
      c.seq = 1;
      this.byClientId.set(c.clientId, c);
      if (cur.attempts === 1) {
        cur.attempts = 0;
        this.attempt(c);
        return;
      }
      c.seq = 0; // the next operation is seq 1 of the new session
      this.env.history.info(cur.historyId);
      this.stats.info++;
      c.current = null;
      c.process = this.nextProcess++;
      this.think(c);
      return;
    }
    const completion = completionFor(cur.op, reply.result);
    const h = this.env.history;
    switch (completion.kind) {
      case 'ok':
        this.env.answered(command, reply.result);
        if (completion.value !== undefined) h.ok(cur.historyId, completion.value);
        else h.ok(cur.historyId);
        this.stats.ok++;
        this.noteValue(cur.op, reply.result);
        break;
      case 'fail':
        this.env.answered(command, reply.result);
        h.fail(cur.historyId);
        this.stats.fail++;
        if (reply.result.kind === 'mismatch') this.seen.set(cur.op.key, reply.result.current);
        break;
      case 'bad':
        this.env.badReply(`client ${c.clientId} seq ${c.seq}: ${completion.why}`);
        h.info(cur.historyId);
        this.stats.info++;
        c.process = this.nextProcess++;
        break;
    }
    c.current = null;
    this.think(c);
  }

  /** End of the run: whatever is still outstanding has an unknown outcome. */
  closePending(): void {
    for (const c of this.clients) {
      if (c.current) {
        this.env.history.info(c.current.historyId);
        this.stats.info++;
        this.checkProgress(c, 'was still waiting at the end of the run');
        c.current = null;
      }
      c.done = true;
      c.token++;
    }
  }

  private think(c: Client): void {
    const o = this.options;
    const now = this.env.now();
    if (this.stats.invoked >= o.opsTotal || now >= o.stopIssuingAtUs) {
      c.done = true;
      return;
    }
    const pause = o.thinkMaxUs <= o.thinkMinUs ? o.thinkMinUs : this.env.rng.int(o.thinkMinUs, o.thinkMaxUs);
    this.env.timer(now + pause, c.index, ++c.token);
  }

  private startOp(c: Client): void {
    if (this.stats.invoked >= this.options.opsTotal || this.env.now() >= this.options.stopIssuingAtUs) {
      c.done = true;
      return;
    }
    const op = this.randomOp(c);
    const h = this.env.history;
    const historyId = op.kind === 'put' ? h.invoke({ process: c.process, f: 'put', key: op.key, value: op.value })
      : op.kind === 'cas' ? h.invoke({ process: c.process, f: 'cas', key: op.key, expected: op.expected, value: op.value })
        : h.invoke({ process: c.process, f: op.kind, key: op.key });
    this.stats.invoked++;
    c.seq++;
    c.current = { op, historyId, invokedAt: this.env.now(), attempts: 0, lastNode: -1 };
    this.attempt(c);
  }

  private attempt(c: Client): void {
    const cur = c.current!;
    const node = cur.attempts === 0 ? this.env.rng.pick(c.targets) : pickOther(this.env.rng, c.targets, cur.lastNode);
    cur.attempts++;
    cur.lastNode = node;
    this.env.send(node, c.index, { clientId: c.clientId, seq: c.seq, op: cur.op });
    this.env.timer(this.env.now() + this.options.timeoutUs, c.index, ++c.token);
  }

  private giveUp(c: Client): void {
    this.env.history.info(c.current!.historyId);
    this.stats.info++;
    this.checkProgress(c, `got no answer in ${this.options.maxAttempts} attempts`);
    c.current = null;
    // The unknown operation may still take effect at any later time: the client continues as
    // a new process so the history does not pretend this one finished.
    c.process = this.nextProcess++;
    this.think(c);
  }

  private checkProgress(c: Client, what: string): void {
    const cur = c.current!;
    const from = this.options.progressFromUs;
    if (from === undefined || cur.invokedAt < from) return;
    this.env.noProgress(`${c.clientId}#${c.seq} ${cur.op.kind} ${cur.op.key}, invoked at ${(cur.invokedAt / 1000).toFixed(3)} ms `
      + `with the cluster whole, ${what}`);
  }

  private randomOp(c: Client): KvOp {
    const rng = this.env.rng;
    const key = rng.pick(this.keys);
    const r = rng.next();
    if (r < 0.3) return { kind: 'get', key };
    const value = `c${c.index}-${++c.writes}`;
    if (r < 0.6) return { kind: 'put', key, value };
    if (r < 0.85) {
      const expected = rng.chance(0.75) ? (this.seen.get(key) ?? null) : null;
      return { kind: 'cas', key, expected, value };
    }
    return { kind: 'delete', key };
  }

  private noteValue(op: KvOp, result: KvResult): void {
    switch (op.kind) {
      case 'get': this.seen.set(op.key, result.kind === 'value' ? result.value : null); break;
      case 'put': case 'cas': this.seen.set(op.key, op.value); break;
      case 'delete': this.seen.set(op.key, null); break;
    }
  }
}
