/**
 * etcd behind the benchmark's BenchTarget, through the `etcd3` npm client (issue 7): the peer
 * kvsh is measured against, driven by the same closed loop.
 *
 * - put: KV.Put.
 * - get: KV.Range with `serializable: false` — etcd's default, a linearizable read (the member
 *   confirms it is current with the leader's commit index through a ReadIndex round before
 *   answering). Set explicitly so the benchmark does not depend on a client default.
 * - cas: one KV.Txn: compare (value == expected, or create_revision == 0 for "absent") → put,
 *   else range the key, so a mismatch reports the current value without a second round trip.
 *   etcd fails a value comparison on a missing key, so "expected v, key absent" is a mismatch
 *   with current null, as in kvsh.
 *
 * One shared client for all operations. `mode: 'leader'` connects it to the leader's client
 * URL only (found through Maintenance.Status and Cluster.MemberList): a follower forwards
 * every write and every ReadIndex to the leader, so on one machine this costs a hop and the
 * CPU for it. `mode: 'spread'` gives the client every endpoint and lets it pick one at random
 * per request. The client's retry and circuit-breaker policies are switched off: a retried
 * write whose first attempt may have been applied would hide an indeterminate outcome (and a
 * retried cas could report a mismatch caused by its own first attempt). grpc-js's own retries
 * and channelz are off too (TUNED_GRPC_OPTIONS).
 *
 * Failures: a put or cas that fails with anything but a definite refusal (invalid argument,
 * too many requests, permission, …) is indeterminate — UNAVAILABLE, a passed deadline, a lost
 * connection or "etcdserver: request timed out" may all come after the proposal; a failed get
 * is an error (a read changes nothing). Every request has a deadline (requestTimeoutMs).
 */
import {
  Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCAlreadyExistsError, GRPCFailedPreconditionError,
  GRPCInvalidArgumentError, GRPCNotFoundError, GRPCNotImplementedError, GRPCOutOfRangeError, GRPCResourceExhastedError,
  GRPCUnauthenticatedError, ClientClosedError, type ICompare, type IOptions, type IPutRequest, type IResponseOp, type ITxnRequest,
} from 'etcd3';
import type { BenchOutcome, BenchTarget } from './target.js';

export type EtcdConnectMode = 'leader' | 'spread';

export interface EtcdTargetOptions {
  /** Client URLs of the members, e.g. http://127.0.0.1:2379. */
  readonly endpoints: readonly string[];
  /** Default 'leader'. */
  readonly mode?: EtcdConnectMode;
  /** Per-request deadline; default 5 000 ms. Past it a write is indeterminate. */
  readonly requestTimeoutMs?: number;
  /** Shown in reports; default "etcd (N members, leader only|spread)". */
  readonly name?: string;
  /** grpc-js channel options, over TUNED_GRPC_OPTIONS. */
  readonly grpcOptions?: IOptions['grpcOptions'];
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Runs the call once: no retry, no circuit breaker (see the file comment). */
const passThrough: Policy = {
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> => fn({ signal: neverAborted }),
} as unknown as Policy;
const neverAborted = new AbortController().signal;

/**
 * grpc-js channel options for the benchmark client: grpc-js's own retry machinery (etcd3 has
 * its own policies, off here) and channelz call tracking cost client CPU on every call, and the
 * client's CPU is what limits a closed loop on this machine (~200 µs per call with the
 * defaults). Measured: a few per cent fewer CPU µs per call without them.
 */
export const TUNED_GRPC_OPTIONS: NonNullable<IOptions['grpcOptions']> = Object.freeze({
  'grpc.enable_retries': 0,
  'grpc.enable_channelz': 0,
});

/** Options for an etcd3 client that tries each call once, on one of `hosts` at random. */
export function etcdClientOptions(hosts: readonly string[], dialTimeoutMs: number): IOptions {
  return {
    hosts: [...hosts],
    dialTimeout: dialTimeoutMs,
    faultHandling: { global: passThrough, host: () => passThrough },
  };
}

/**
 * The client URL of the member the cluster reports as its leader. Asks the endpoints in turn
 * (Maintenance.Status gives the leader's member id, Cluster.MemberList its client URLs);
 * rejects if none knows a leader within `timeoutMs`.
 */
export async function findEtcdLeader(endpoints: readonly string[], timeoutMs = 5000): Promise<string> {
  if (endpoints.length === 0) throw new Error('findEtcdLeader: no endpoints');
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    for (const endpoint of endpoints) {
      const client = new Etcd3(etcdClientOptions([endpoint], 1000));
      try {
        const deadline = Math.min(until, Date.now() + 1000);
        const status = await client.maintenance.status({ deadline });
        if (status.leader === '0' || status.leader === '') {
          last = `${endpoint}: no leader yet`;
          continue;
        }
        if (status.header.member_id === status.leader) return endpoint;
        const list = await client.cluster.memberList({ linearizable: false }, { deadline });
        const leader = list.members.find((m) => m.ID === status.leader);
        const url = leader?.clientURLs[0];
        if (url) return url;
        last = `${endpoint}: leader ${status.leader} is not in the member list (or has no client URL)`;
      } catch (e) {
        last = `${endpoint}: ${(e as Error).message}`;
      } finally {
        client.close();
      }
    }
    if (Date.now() >= until) throw new Error(`etcd: no leader found within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Errors after which the request was certainly not applied. Anything else may have been. */
function isDefinite(e: unknown): boolean {
  return e instanceof GRPCInvalidArgumentError || e instanceof GRPCResourceExhastedError
    || e instanceof GRPCFailedPreconditionError || e instanceof GRPCNotFoundError || e instanceof GRPCAlreadyExistsError
    || e instanceof GRPCOutOfRangeError || e instanceof GRPCNotImplementedError || e instanceof GRPCUnauthenticatedError
    || e instanceof EtcdPermissionDeniedError || e instanceof EtcdAuthenticationFailedError || e instanceof ClientClosedError;
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}`;
  return String(e);
}

/** A failed write: indeterminate unless the error says it was refused. */
function writeFailure(e: unknown): BenchOutcome {
  return isDefinite(e) ? { kind: 'error', reason: reasonOf(e) } : { kind: 'indeterminate', reason: reasonOf(e) };
}

/** A failed read changed nothing: always a definite error. */
function readFailure(e: unknown): BenchOutcome {
  return { kind: 'error', reason: reasonOf(e) };
}

export class EtcdTarget implements BenchTarget {
  readonly name: string;
  /** The endpoints the shared client uses (the leader's alone in 'leader' mode). */
  readonly hosts: readonly string[];
  readonly mode: EtcdConnectMode;
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private closed = false;

  private constructor(hosts: readonly string[], mode: EtcdConnectMode, members: number, opts: EtcdTargetOptions) {
    this.hosts = hosts;
    this.mode = mode;
    this.timeoutMs = opts.requestTimeoutMs ?? 5000;
    this.name = opts.name ?? `etcd (${members} member${members === 1 ? '' : 's'}, ${mode === 'leader' ? 'leader only' : 'spread'})`;
    this.client = new Etcd3({ ...etcdClientOptions(hosts, this.timeoutMs), grpcOptions: { ...TUNED_GRPC_OPTIONS, ...opts.grpcOptions } });
  }

  /** Finds the leader first in 'leader' mode. */
  static async connect(opts: EtcdTargetOptions): Promise<EtcdTarget> {
    const mode = opts.mode ?? 'leader';
    const hosts = mode === 'leader' ? [await findEtcdLeader(opts.endpoints)] : [...opts.endpoints];
    return new EtcdTarget(hosts, mode, opts.endpoints.length, opts);
  }

  private callOptions(): { deadline: number } {
    return { deadline: Date.now() + this.timeoutMs };
  }

  async put(key: string, value: string): Promise<BenchOutcome> {
    let req: IPutRequest;
    try {
      req = { key: Buffer.from(key), value: Buffer.from(value) };
    } catch (e) {
      return { kind: 'error', reason: reasonOf(e) }; // never sent
    }
    try {
      await this.client.kv.put(req, this.callOptions());
      return { kind: 'ok' };
    } catch (e) {
      return writeFailure(e);
    }
  }

  async get(key: string): Promise<BenchOutcome> {
    try {
      const res = await this.client.kv.range({ key: Buffer.from(key), serializable: false }, this.callOptions());
      const kv = res.kvs[0];
      return { kind: 'ok', value: kv ? kv.value.toString() : null };
    } catch (e) {
      return readFailure(e);
    }
  }

  async cas(key: string, expected: string | null, value: string): Promise<BenchOutcome> {
    let req: ITxnRequest;
    try {
      const k = Buffer.from(key);
      const compare: ICompare = expected === null
        ? { key: k, target: 'Create', result: 'Equal', create_revision: 0 }
        : { key: k, target: 'Value', result: 'Equal', value: Buffer.from(expected) };
      req = { compare: [compare], success: [{ request_put: { key: k, value: Buffer.from(value) } }], failure: [{ request_range: { key: k } }] };
    } catch (e) {
      return { kind: 'error', reason: reasonOf(e) }; // never sent
    }
    try {
      const res = await this.client.kv.txn(req, this.callOptions());
      if (res.succeeded) return { kind: 'ok' };
      const op: IResponseOp | undefined = res.responses[0];
      const kv = op?.response_range?.kvs[0];
      return { kind: 'mismatch', current: kv ? kv.value.toString() : null };
    } catch (e) {
      return writeFailure(e);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/** EtcdTarget.connect. */
export function connectEtcdTarget(opts: EtcdTargetOptions): Promise<EtcdTarget> {
  return EtcdTarget.connect(opts);
}
