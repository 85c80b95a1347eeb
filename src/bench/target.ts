/**
 * What a benchmark drives: a key-value store behind the same closed loop, so kvsh and etcd are
 * measured by identical code (issue 7). An implementation maps its client's results onto
 * these outcomes; it never throws for a failed operation.
 */

export type BenchOutcome =
  /** Done as asked (a get that found nothing is still `ok`). */
  | { readonly kind: 'ok'; readonly value?: string | null }
  /** A cas whose comparison failed: a definite non-effect, not an error. */
  | { readonly kind: 'mismatch'; readonly current: string | null }
  /** The outcome is unknown (timeout, connection lost): it may or may not have taken effect. */
  | { readonly kind: 'indeterminate'; readonly reason: string }
  /** A definite failure (refused, bad request). */
  | { readonly kind: 'error'; readonly reason: string };

export interface BenchTarget {
  /** Shown in reports: "kvsh (3 nodes)", "etcd 3.4 (3 members, leader only)". */
  readonly name: string;
  put(key: string, value: string): Promise<BenchOutcome>;
  /** Linearizable read. */
  get(key: string): Promise<BenchOutcome>;
  /** Compare-and-set: write `value` only if the current value is `expected` (null: absent). */
  cas(key: string, expected: string | null, value: string): Promise<BenchOutcome>;
  close(): Promise<void> | void;
}

export type WorkloadKind = 'put' | 'get' | 'mixed' | 'cas';
