/**
 * The BenchTarget over the kvsh client library: one shared KvClient for every virtual client,
 * as an application would use it. Its session pool (src/client/sessions.ts) hands each
 * operation in flight a session of its own and creates one whenever none is idle, so C virtual
 * clients end up with C sessions after their first operations (the warm-up) and reuse them.
 *
 * Results: ok → ok (a get's value, null when absent); cas mismatch → mismatch; indeterminate →
 * indeterminate; rejected (definite, not applied) → error.
 */
import { connect, type ClientOptions, type KvClient, type NodeAddr } from '../client/index.js';
import type { BenchOutcome, BenchTarget } from './target.js';

export interface KvshTargetOptions {
  /** Shown in reports; default "kvsh (<n> nodes)". */
  readonly name?: string;
  readonly client?: ClientOptions;
}

const OK: BenchOutcome = Object.freeze({ kind: 'ok' });

type Answer =
  | { readonly status: 'ok'; readonly value?: string | null }
  | { readonly status: 'mismatch'; readonly current: string | null }
  | { readonly status: 'indeterminate'; readonly reason: string }
  | { readonly status: 'rejected'; readonly reason: string };

/** A kvsh client result as a bench outcome. */
export function outcomeOf(r: Answer): BenchOutcome {
  switch (r.status) {
    case 'ok': return r.value === undefined ? OK : { kind: 'ok', value: r.value };
    case 'mismatch': return { kind: 'mismatch', current: r.current };
    case 'indeterminate': return { kind: 'indeterminate', reason: r.reason };
    case 'rejected': return { kind: 'error', reason: `rejected: ${r.reason}` };
  }
}

class KvshTarget implements BenchTarget {
  constructor(readonly name: string, readonly client: KvClient) {}

  put(key: string, value: string): Promise<BenchOutcome> {
    return this.client.put(key, value).then(outcomeOf);
  }

  get(key: string): Promise<BenchOutcome> {
    return this.client.get(key).then(outcomeOf);
  }

  cas(key: string, expected: string | null, value: string): Promise<BenchOutcome> {
    return this.client.cas(key, expected, value).then(outcomeOf);
  }

  close(): void {
    this.client.close();
  }
}

/** A target over these client addresses (`host:port`). */
export function kvshTarget(nodes: readonly (string | NodeAddr)[], opts: KvshTargetOptions = {}): BenchTarget & { readonly client: KvClient } {
  const client = connect(nodes, opts.client);
  return new KvshTarget(opts.name ?? `kvsh (${nodes.length} node${nodes.length === 1 ? '' : 's'})`, client);
}
