/**
 * The kvsh client: get / put / cas / delete against any nodes of a cluster, with the retry and
 * session rules of protocol.md ("Retrying safely", "Sessions and expiry"). Results are typed and
 * never reject: see results.ts for what each outcome means.
 *
 * One operation, step by step:
 *  1. It takes a session of its own from the pool (the cluster allows one outstanding seq per
 *     clientId) and the session's next seq: the command `(clientId, seq, op)`.
 *  2. It sends the command to its entry node (`prefer`, else round robin) and waits at most
 *     `attemptTimeoutMs`. No answer (timeout, connection lost, error frame) or `unknown`: the
 *     SAME command goes to the next node, until `maxAttempts` attempts or `deadlineMs` have
 *     passed; then the outcome is indeterminate. Fast failures (refused, `unknown`) back off
 *     a little before the next attempt.
 *  3. `session-expired` while no copy of the command can have taken effect (it answers the
 *     first copy, or every earlier copy was rejected): it was not executed, so the session is
 *     retired and the operation starts over under a fresh session (new clientId, seq 1).
 *     Otherwise an earlier copy may have taken effect before the expiry: indeterminate.
 *  4. `rejected` (the node refused the command before proposing it: not booted yet, shutting
 *     down) is about that node, so the same command goes to the next node. When every attempt
 *     was rejected, no copy took effect: the result is `rejected`, definite. When some attempt
 *     went unanswered, the result is indeterminate as usual.
 *
 * Seq 1 is special (protocol.md: "never retry seq 1 of a session that may have expired"):
 * seq 1 from an unknown clientId is always executed, so a retry of seq 1 arriving after the
 * session had been created and then expired would apply twice. Expiry needs the session to sit
 * idle for `sessionIdleEntries` decided entries (default 100,000), so the client bounds the
 * time it retries seq 1 (`seqOneRetryMs`, default 5 s: a cluster would have to decide 20,000
 * entries/s for the default to be unsafe). Past it the operation is indeterminate and the
 * session is retired.
 */
import { setMaxListeners } from 'node:events';
import { nanoid } from 'nanoid';
import { performance } from 'node:perf_hooks';
import type { Command, KvOp } from '../replica/entry.js';
import { MAX_STRING_BYTES } from '../wire/codec.js';
import { formatAddr, toAddr, type NodeAddr } from './addr.js';
import { NodeSet } from './nodes.js';
import {
  resultFor, type CasResult, type DeleteResult, type GetResult, type Indeterminate, type IndeterminateCause,
  type PutResult, type Rejected, type ResultOf,
} from './results.js';
import { SessionPool, type Session } from './sessions.js';

export interface ClientOptions {
  /** How long one attempt waits for its answer. Default 1000 ms. */
  readonly attemptTimeoutMs?: number;
  /** Attempts per command, the first included, before the outcome is indeterminate. Default 5. */
  readonly maxAttempts?: number;
  /** Overall time an operation may take, all attempts included. Default 10,000 ms. */
  readonly deadlineMs?: number;
  /** How long seq 1 of a session may be retried after it was first sent. Default 5000 ms. */
  readonly seqOneRetryMs?: number;
  /** First pause after an attempt that failed fast; doubles per attempt, capped at the attempt timeout. Default 20 ms. */
  readonly retryBackoffMs?: number;
  /** The node every operation tries first (must be one of the nodes). Default: round robin. */
  readonly prefer?: string | NodeAddr;
  /** Makes clientIds; default nanoid() (21 characters). Tests may want readable ids. */
  readonly newClientId?: () => string;
  /** Sees every attempt and its outcome, for tracing. Must not throw. */
  readonly onEvent?: (e: ClientEvent) => void;
}

/** What the client does, attempt by attempt (for tracing and tests). */
export type ClientEvent =
  | { readonly kind: 'attempt'; readonly command: Command; readonly attempt: number; readonly node: NodeAddr }
  | {
    readonly kind: 'attempt-failed'; readonly command: Command; readonly attempt: number; readonly node: NodeAddr;
    readonly cause: IndeterminateCause | 'rejected'; readonly detail: string;
  }
  | { readonly kind: 'session-renewed'; readonly expired: string; readonly fresh: string };

export interface ClientStats {
  /** Operations started. */
  operations: number;
  /** Requests sent, retries included. */
  attempts: number;
  /** Requests sent again after an attempt got no definite answer. */
  retries: number;
  /** Sessions replaced after a first attempt was answered `session-expired`. */
  sessionsRenewed: number;
  sessionsCreated: number;
  sessionsRetired: number;
}

export interface KvClient {
  get(key: string): Promise<GetResult>;
  put(key: string, value: string): Promise<PutResult>;
  /** Sets `key` to `value` if its value is `expected` (`null`: only if the key is absent). */
  cas(key: string, expected: string | null, value: string): Promise<CasResult>;
  delete(key: string): Promise<DeleteResult>;
  /** Any operation; the typed methods above call this. */
  execute<K extends KvOp['kind']>(op: Extract<KvOp, { readonly kind: K }>): Promise<ResultOf[K]>;
  /** Closes every connection. Operations in flight end indeterminate; later ones are rejected. */
  close(): void;
  readonly nodes: readonly NodeAddr[];
  readonly stats: Readonly<ClientStats>;
}

const DEFAULTS = {
  attemptTimeoutMs: 1000,
  maxAttempts: 5,
  deadlineMs: 10_000,
  seqOneRetryMs: 5000,
  retryBackoffMs: 20,
};

/** Guards against a node that answers `session-expired` to seq 1 of fresh sessions (a bug). */
const MAX_SESSION_RENEWALS = 3;

/**
 * A client for the given nodes (`"host:port"` or `{ host, port }`, client ports). Nothing is
 * opened yet: each node's connection opens on first use and reopens after it closes, so a node
 * that is down at this point only costs the attempts that try it.
 */
export function connect(nodes: readonly (string | NodeAddr)[], options: ClientOptions = {}): KvClient {
  return new Client(nodes.map(toAddr), options);
}

type Settings = typeof DEFAULTS;

class Client implements KvClient {
  readonly stats: ClientStats = {
    operations: 0, attempts: 0, retries: 0, sessionsRenewed: 0, sessionsCreated: 0, sessionsRetired: 0,
  };
  private readonly nodeSet: NodeSet;
  private readonly sessions: SessionPool;
  private readonly settings: Settings;
  private readonly onEvent: (e: ClientEvent) => void;
  private closed = false;
  /** Wakes operations sleeping between attempts when the client closes. */
  private readonly closing = new AbortController();

  constructor(addrs: NodeAddr[], options: ClientOptions) {
    // Every operation sleeping between attempts listens on `closing`: hundreds in flight are
    // normal, not a leak (Node warns past 10).
    setMaxListeners(0, this.closing.signal);
    this.settings = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS) as (keyof Settings)[]) {
      const v = options[k];
      if (v === undefined) continue;
      if (!Number.isFinite(v) || v < 0 || (k === 'maxAttempts' && (!Number.isInteger(v) || v < 1))) {
        throw new RangeError(`client option ${k}: ${v} is not a valid value`);
      }
      this.settings[k] = v;
    }
    let prefer: number | undefined;
    if (options.prefer !== undefined) {
      const p = toAddr(options.prefer);
      prefer = addrs.findIndex(a => a.host === p.host && a.port === p.port);
      if (prefer < 0) throw new Error(`client option prefer: ${formatAddr(p)} is not one of the nodes`);
    }
    this.nodeSet = new NodeSet(addrs, prefer);
    this.sessions = new SessionPool(options.newClientId ?? (() => nanoid()));
    this.onEvent = options.onEvent ?? (() => {});
  }

  get nodes(): readonly NodeAddr[] {
    return this.nodeSet.addrs;
  }

  get(key: string): Promise<GetResult> {
    return this.execute({ kind: 'get', key });
  }

  put(key: string, value: string): Promise<PutResult> {
    return this.execute({ kind: 'put', key, value });
  }

  cas(key: string, expected: string | null, value: string): Promise<CasResult> {
    return this.execute({ kind: 'cas', key, expected, value });
  }

  delete(key: string): Promise<DeleteResult> {
    return this.execute({ kind: 'delete', key });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.nodeSet.closeAll();
  }

  async execute<K extends KvOp['kind']>(op: Extract<KvOp, { readonly kind: K }>): Promise<ResultOf[K]> {
    if (this.closed) return rejected('the client is closed') as ResultOf[K];
    const bad = checkOp(op);
    if (bad) return rejected(bad) as ResultOf[K];
    this.stats.operations++;
    const r = await this.run(op);
    const s = this.sessions.stats;
    this.stats.sessionsCreated = s.created;
    this.stats.sessionsRetired = s.retired;
    return r as ResultOf[K];
  }

  private async run(op: KvOp): Promise<ResultOf[KvOp['kind']]> {
    const st = this.settings;
    const deadline = performance.now() + st.deadlineMs;
    let session = this.sessions.acquire();
    let command: Command = { clientId: session.clientId, seq: session.nextSeq(), op };
    let renewals = 0;
    let attempt = 0; // attempts of this command (clientId, seq)
    let firstSentAt = 0;
    // Whether some copy of this command may have taken effect: false while every attempt was
    // answered `rejected` (refused before it was proposed).
    let unsure = false;
    let lastRejection = '';
    let node = this.nodeSet.first();
    let last: { cause: IndeterminateCause; detail: string } = { cause: 'deadline', detail: 'no attempt was made' };

    // Ends the operation indeterminate. The session carries on with seq n+1 (protocol.md,
    // "Giving up") unless its seq 1 is the unknown one: then whether the session exists at all
    // is unknown, and a fresh one is simpler than finding out.
    const giveUp = (cause: IndeterminateCause, detail: string): Indeterminate => {
      if (command.seq === 1 || cause === 'session-expired' || cause === 'bad-answer') this.sessions.retire(session);
      else this.sessions.release(session);
      const tries = `${attempt} attempt${attempt === 1 ? '' : 's'}`;
      return { status: 'indeterminate', cause, reason: `${describeCommand(command)} after ${tries}: ${detail}` };
    };

    // Ends the operation without a result: rejected if no copy can have taken effect, else
    // indeterminate.
    const stop = (cause: IndeterminateCause, detail: string): Indeterminate | Rejected => {
      if (unsure) return giveUp(cause, detail);
      // Seq 1 never reached the log, so the cluster has no session for this clientId: a fresh
      // session next time avoids a needless session-expired round.
      if (command.seq === 1) this.sessions.retire(session);
      else this.sessions.release(session);
      return rejected(attempt === 0 ? detail : `${describeCommand(command)}: ${lastRejection}`);
    };

    for (;;) {
      if (this.closed) return stop('closed', 'the client was closed');
      const now = performance.now();
      if (attempt >= st.maxAttempts) return stop(last.cause, last.detail);
      if (now >= deadline) return stop('deadline', `deadline of ${st.deadlineMs} ms passed; last attempt: ${last.detail}`);
      if (unsure && command.seq === 1 && now - firstSentAt >= st.seqOneRetryMs) {
        return giveUp('deadline', `seq 1 is not retried ${st.seqOneRetryMs} ms after it was first sent (its session may have expired); last attempt: ${last.detail}`);
      }

      attempt++;
      this.stats.attempts++;
      if (attempt > 1) this.stats.retries++;
      if (attempt === 1) firstSentAt = now;
      const addr = this.nodeSet.addrs[node]!;
      this.onEvent({ kind: 'attempt', command, attempt, node: addr });
      const timeout = Math.max(1, Math.min(st.attemptTimeoutMs, deadline - now));
      const reply = await this.nodeSet.connection(node).request({ kind: 'client-request', command }, timeout);
      const failed = (cause: IndeterminateCause | 'rejected', detail: string): void => {
        this.onEvent({ kind: 'attempt-failed', command, attempt, node: addr, cause, detail });
      };

      if (reply.kind === 'no-answer') {
        if (reply.cause === 'unsendable') {
          // Never left this process, and resending cannot help.
          lastRejection = reply.detail;
          return stop('connection', reply.detail);
        }
        unsure = true; // it was sent: it may have taken effect
        if (this.closed) return stop('closed', 'the client was closed');
        const cause = reply.cause === 'timeout' ? 'timeout' : 'connection';
        last = { cause, detail: reply.detail };
        failed(cause, reply.detail);
      } else if (reply.status === 'unknown') {
        unsure = true;
        last = { cause: 'unknown', detail: `${formatAddr(addr)} answered unknown: ${reply.reason}` };
        failed('unknown', last.detail);
      } else if (reply.status === 'rejected') {
        // Refused before it was proposed: this copy did not take effect. kvnode rejects while
        // it has not booted or is shutting down — conditions of that node — so the command
        // goes on to the next node like any retry (resending the same command is always
        // safe). If every attempt is rejected, the operation is definitely rejected.
        lastRejection = `${formatAddr(addr)} rejected it: ${reply.reason}`;
        last = { cause: last.cause, detail: `${lastRejection} (an earlier copy may have taken effect)` };
        failed('rejected', lastRejection);
      } else if (reply.result.kind === 'session-expired') {
        if (unsure) {
          failed('session-expired', `${formatAddr(addr)} answered session-expired to a retry`);
          return giveUp('session-expired', `${formatAddr(addr)} answered session-expired to a retry: an earlier copy may have taken effect before the session expired`);
        }
        // No copy of this command was executed (this one was not; any earlier ones were
        // rejected). Start over under a new session.
        this.sessions.retire(session);
        if (++renewals > MAX_SESSION_RENEWALS) {
          return giveUp('bad-answer', `session-expired answered ${renewals} fresh sessions in a row`);
        }
        const fresh = this.sessions.fresh();
        this.stats.sessionsRenewed++;
        this.onEvent({ kind: 'session-renewed', expired: session.clientId, fresh: fresh.clientId });
        session = fresh;
        command = { clientId: session.clientId, seq: session.nextSeq(), op };
        attempt = 0;
        lastRejection = '';
        continue; // same node: it answered, it is up
      } else {
        const typed = resultFor(op, reply.result);
        if (typed === null) {
          const detail = `${formatAddr(addr)} answered ${op.kind} with ${JSON.stringify(reply.result)}`;
          failed('bad-answer', detail);
          return giveUp('bad-answer', detail);
        }
        this.sessions.release(session);
        return typed;
      }

      // The attempt produced no definite answer: the same command goes to the next node.
      node = this.nodeSet.after(node);
      const spent = performance.now() - now;
      if (spent < st.attemptTimeoutMs && attempt < st.maxAttempts) {
        // A fast failure (refused, closed, `unknown`, `rejected`): pause before trying again so that a
        // cluster without a leader, or with every node down, is not hammered.
        const pause = Math.min(st.retryBackoffMs * 2 ** (attempt - 1), st.attemptTimeoutMs, Math.max(0, deadline - performance.now()));
        await this.sleep(pause);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.closing.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.closing.signal.addEventListener('abort', done);
    });
  }
}

function rejected(reason: string): Rejected {
  return { status: 'rejected', reason };
}

function describeCommand(c: Command): string {
  return `${c.op.kind} ${JSON.stringify(c.op.key)} (${c.clientId}#${c.seq})`;
}

/** Why `op` cannot be sent (a string is over the protocol's limit), or null. */
function checkOp(op: KvOp): string | null {
  const check = (what: string, s: string | null): string | null => {
    if (s === null) return null;
    const n = Buffer.byteLength(s, 'utf8');
    return n > MAX_STRING_BYTES ? `${what} is ${n} bytes of UTF-8; the protocol allows ${MAX_STRING_BYTES}` : null;
  };
  return check('key', op.key)
    ?? (op.kind === 'put' || op.kind === 'cas' ? check('value', op.value) : null)
    ?? (op.kind === 'cas' ? check('expected', op.expected) : null);
}
