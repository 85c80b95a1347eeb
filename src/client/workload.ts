/**
 * Client load for real clusters: N closed-loop virtual clients, each doing one random operation
 * at a time on a small key space, recorded into a history. Few keys make operations collide,
 * which is what a linearizability check needs. Used by the process tests and the shell
 * (`clients <n> <workload>`).
 *
 * Randomness: one seed (printed by callers, returned in the report) seeds one generator per
 * virtual client, so each client draws its operation kinds and keys in a reproducible order.
 * The whole run is not reproducible — timing decides interleavings and what cas expects.
 */
import { Rng } from '../history/synthetic.js';
import type { KeyValue } from '../history/types.js';
import type { KvOp } from '../replica/entry.js';
import type { KvClient } from './client.js';
import { HistoryRecorder, type HistoryTarget, type ProcessAllocator, type RecordedProcess } from './recorder.js';
import type { OpResult } from './results.js';

/** Relative weights of the four operations. */
export interface OpMix {
  readonly get: number;
  readonly put: number;
  readonly cas: number;
  readonly delete: number;
}

/** The named workloads the shell offers. */
export const WORKLOADS = {
  /** The simulator's mix: reads, writes, cas, some deletes. */
  mixed: { get: 30, put: 30, cas: 25, delete: 15 },
  reads: { get: 90, put: 10, cas: 0, delete: 0 },
  writes: { get: 10, put: 80, cas: 0, delete: 10 },
  cas: { get: 20, put: 10, cas: 70, delete: 0 },
} as const satisfies Record<string, OpMix>;

export type WorkloadName = keyof typeof WORKLOADS;

export function isWorkloadName(s: string): s is WorkloadName {
  return Object.hasOwn(WORKLOADS, s);
}

export interface WorkloadOptions {
  /** Virtual clients, each with one operation outstanding. */
  readonly clients: number;
  /** Keys `k0`…; default 5. */
  readonly keys?: number;
  /** Put before every key name (`<prefix>k0`…); default none. */
  readonly keyPrefix?: string;
  /** A named workload or weights; default 'mixed'. */
  readonly mix?: WorkloadName | OpMix;
  /** Stop starting operations after this many (over all clients). */
  readonly ops?: number;
  /** Stop starting operations after this long. At least one of `ops`, `durationMs`, `signal` is required. */
  readonly durationMs?: number;
  /** Stop starting operations when aborted. Operations in flight still finish. */
  readonly signal?: AbortSignal;
  /** Pause between a client's operations; default 0. */
  readonly thinkMs?: number;
  /** Default: a random seed (returned in the report). */
  readonly seed?: number;
  /** First history process number (default 0), or an allocator shared with other recorders. */
  readonly firstProcess?: number | ProcessAllocator;
  /** Called after every operation. */
  readonly onResult?: (op: KvOp, result: OpResult) => void;
}

export interface WorkloadReport {
  readonly seed: number;
  readonly invoked: number;
  /** Completions by history type. `rejected` counts the operations among fail / info that were rejected. */
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly rejected: number;
  readonly elapsedMs: number;
}

export async function runWorkload(client: KvClient, history: HistoryTarget, options: WorkloadOptions): Promise<WorkloadReport> {
  const o = options;
  if (!Number.isInteger(o.clients) || o.clients < 1) throw new RangeError(`workload: clients must be an integer ≥ 1, got ${o.clients}`);
  if (o.ops === undefined && o.durationMs === undefined && o.signal === undefined) {
    throw new Error('workload: give ops, durationMs or signal, or it never stops');
  }
  const mix: OpMix = typeof o.mix === 'string' ? WORKLOADS[o.mix] : o.mix ?? WORKLOADS.mixed;
  const total = mix.get + mix.put + mix.cas + mix.delete;
  if (!(total > 0)) throw new RangeError('workload: the operation weights add up to 0');
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fff_ffff);
  const keys = Array.from({ length: Math.max(1, o.keys ?? 5) }, (_, i) => `${o.keyPrefix ?? ''}k${i}`);
  const recorder = new HistoryRecorder(client, history, o.firstProcess ?? 0);
  const started = performance.now();
  const stopAt = o.durationMs === undefined ? Infinity : started + o.durationMs;
  /** The last value some client saw for each key: cas mostly expects it, so some succeed. */
  const seen = new Map<string, KeyValue>();
  const counts = { invoked: 0, ok: 0, fail: 0, info: 0, rejected: 0 };

  const mayStart = (): boolean =>
    !(o.signal?.aborted) && performance.now() < stopAt && (o.ops === undefined || counts.invoked < o.ops);

  const virtualClient = async (index: number): Promise<void> => {
    // Distinct streams per client from one seed (golden-ratio stride).
    const rng = new Rng((seed + Math.imul(index + 1, 0x9e3779b1)) | 0);
    const proc: RecordedProcess = recorder.process();
    let writes = 0;
    while (mayStart()) {
      counts.invoked++;
      const op = randomOp(rng, mix, total, keys, seen, () => `c${index}-${++writes}`);
      const { result, recorded } = await proc.executeRecorded(op);
      counts[recorded]++;
      if (result.status === 'rejected') counts.rejected++;
      noteValue(seen, op, result);
      o.onResult?.(op, result);
      if (o.thinkMs) await new Promise((r) => setTimeout(r, o.thinkMs));
    }
  };

  await Promise.all(Array.from({ length: o.clients }, (_, i) => virtualClient(i)));
  return { seed, ...counts, elapsedMs: performance.now() - started };
}

function randomOp(
  rng: Rng, mix: OpMix, total: number, keys: readonly string[], seen: ReadonlyMap<string, KeyValue>, nextValue: () => string,
): KvOp {
  const key = rng.pick(keys);
  let r = rng.next() * total;
  if ((r -= mix.get) < 0) return { kind: 'get', key };
  if ((r -= mix.put) < 0) return { kind: 'put', key, value: nextValue() };
  if ((r -= mix.cas) < 0) {
    const expected = rng.chance(0.75) ? (seen.get(key) ?? null) : null;
    return { kind: 'cas', key, expected, value: nextValue() };
  }
  return { kind: 'delete', key };
}

function noteValue(seen: Map<string, KeyValue>, op: KvOp, result: OpResult): void {
  if (result.status === 'mismatch') seen.set(op.key, result.current);
  if (result.status !== 'ok') return;
  switch (op.kind) {
    case 'get': seen.set(op.key, 'value' in result ? result.value : null); break;
    case 'put': case 'cas': seen.set(op.key, op.value); break;
    case 'delete': seen.set(op.key, null); break;
  }
}
