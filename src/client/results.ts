/**
 * What a `KvClient` operation returns. Every operation resolves (never rejects) with one of:
 *
 * - a **definite** answer from the cluster — the operation took effect exactly as described, or
 *   (cas `mismatch`) definitely did not:
 *     get    `{ status: 'ok', value }`           value `null`: the key was absent
 *     put    `{ status: 'ok' }`
 *     cas    `{ status: 'ok' }` | `{ status: 'mismatch', current }`   current `null`: absent
 *     delete `{ status: 'ok', existed }`
 * - `{ status: 'rejected', reason }` — definite: the operation was **not** applied (the node
 *   refused it before proposing it, or the client could not send it at all);
 * - `{ status: 'indeterminate', cause, reason }` — the client cannot know whether the operation
 *   took effect, and it may still take effect later. This is never a failure: callers that
 *   record histories record it as `info`.
 */
import type { KvOp, KvResult } from '../replica/entry.js';

/** Why an operation's outcome is unknown. */
export type IndeterminateCause =
  /** The last attempt got no answer within the attempt timeout. */
  | 'timeout'
  /** The last attempt was answered `unknown` (the node stopped waiting). */
  | 'unknown'
  /** The last attempt's connection failed, closed, or carried an error frame. */
  | 'connection'
  /** A retry was answered `session-expired`: an earlier copy may have taken effect. */
  | 'session-expired'
  /** The operation's overall deadline passed (including the bound on retrying seq 1). */
  | 'deadline'
  /** The client was closed while the operation was in flight. */
  | 'closed'
  /** The node answered with a result that does not fit the operation (a node bug). */
  | 'bad-answer';

export interface Indeterminate {
  readonly status: 'indeterminate';
  readonly cause: IndeterminateCause;
  /** Human-readable: attempts made and what the last one ran into. */
  readonly reason: string;
}

export interface Rejected {
  readonly status: 'rejected';
  readonly reason: string;
}

export type GetResult = { readonly status: 'ok'; readonly value: string | null } | Indeterminate | Rejected;
export type PutResult = { readonly status: 'ok' } | Indeterminate | Rejected;
export type CasResult =
  | { readonly status: 'ok' }
  | { readonly status: 'mismatch'; readonly current: string | null }
  | Indeterminate
  | Rejected;
export type DeleteResult = { readonly status: 'ok'; readonly existed: boolean } | Indeterminate | Rejected;

/** The result type of each operation kind. */
export interface ResultOf {
  get: GetResult;
  put: PutResult;
  cas: CasResult;
  delete: DeleteResult;
}

export type OpResult = ResultOf[KvOp['kind']];

/** A definite outcome: the caller knows whether the operation took effect. */
export type DefiniteResult = Exclude<OpResult, Indeterminate>;

export function isIndeterminate(r: OpResult): r is Indeterminate {
  return r.status === 'indeterminate';
}

/**
 * The typed result for an applied command's `KvResult`, or null when the node's answer does not
 * fit the operation (get answered `deleted`, …). `session-expired` is not a result of the
 * operation and is handled by the caller (see client.ts).
 */
export function resultFor<K extends KvOp['kind']>(op: KvOp & { readonly kind: K }, res: KvResult): ResultOf[K] | null {
  return resultForOp(op, res) as ResultOf[K] | null;
}

function resultForOp(op: KvOp, res: KvResult): OpResult | null {
  switch (op.kind) {
    case 'get':
      if (res.kind === 'value') return { status: 'ok', value: res.value };
      if (res.kind === 'not-found') return { status: 'ok', value: null };
      return null;
    case 'put':
      return res.kind === 'ok' ? { status: 'ok' } : null;
    case 'cas':
      if (res.kind === 'ok') return { status: 'ok' };
      if (res.kind === 'mismatch') return { status: 'mismatch', current: res.current };
      return null;
    case 'delete':
      return res.kind === 'deleted' ? { status: 'ok', existed: res.existed } : null;
  }
}
