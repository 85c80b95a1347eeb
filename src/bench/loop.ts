/**
 * The closed-loop load generator behind `npm run bench` and `npm run bench:etcd`: C virtual
 * clients, each with exactly one operation outstanding, drive a BenchTarget for a fixed time.
 * Nothing here knows which store is behind the target, so kvsh and etcd are measured by the
 * same code.
 *
 * Workloads (per operation, keys uniform over `keys` pre-built names):
 *   put    put(key, value)
 *   get    get(key)                               keys pre-populated
 *   mixed  get or put, 50-50                      keys pre-populated
 *   cas    get(key), then cas(key, read value, another value) — one operation, timed from the
 *          read's start to the cas's answer; a read that fails is that operation's outcome and
 *          no cas is sent                          keys pre-populated
 *
 * Time: the clients start at once; operations started during the warm-up are performed but not
 * measured. The measured window runs from the end of the warm-up for `durationMs`; no operation
 * starts after it, and the ones in flight are awaited (the drain).
 *  - `ops` and the outcome counts cover every operation started in the window (so an operation
 *    that ends indeterminate during the drain is still counted): ok + mismatch + errors +
 *    indeterminate = ops.
 *  - `opsPerSec` is the operations that completed inside the window over its length.
 *  - Latencies (LatencyRecorder: ≈2 % buckets) are of every measured operation.
 *
 * Randomness: one seed (report it) seeds one small generator per virtual client, so the keys
 * and values each client draws, and the get/put choice of `mixed`, are reproducible. Timing
 * still decides interleavings, hence what a cas reads.
 *
 * Cost: the generator shares the machine with the cluster, so the per-operation path allocates
 * nothing of its own beyond the target call — keys and values come from arrays built up front,
 * each virtual client is one async loop (no closure per operation), counters are plain fields.
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from '../shell/latency.js';
import type { BenchOutcome, BenchTarget, WorkloadKind } from './target.js';

export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['put', 'get', 'mixed', 'cas'];

export function isWorkloadKind(s: string): s is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(s);
}

/** The target call an operation made (a cas operation makes a get and then, usually, a cas). */
export type CallKind = 'get' | 'put' | 'cas';

/**
 * Sees every finished operation, warm-up and drain included (`startMs` / `endMs` are
 * performance.now() times: compare with `LoopWindow`). `call` is the last target call the
 * operation made. Called synchronously on the hot path: keep it cheap, never throw.
 */
export type CompletionObserver = (call: CallKind, outcome: BenchOutcome['kind'], startMs: number, endMs: number) => void;

export interface LoopOptions {
  readonly workload: WorkloadKind;
  /** Virtual clients, each with one operation in flight. */
  readonly concurrency: number;
  /** Length of the measured window, after the warm-up. */
  readonly durationMs: number;
  /** Operations started in the first `warmupMs` are not measured. Default 0. */
  readonly warmupMs?: number;
  /** Key count; names `${keyPrefix}${i}`. */
  readonly keys: number;
  /** Characters per value (ASCII, so bytes too). */
  readonly valueSize: number;
  readonly seed: number;
  /** Default "bench-". */
  readonly keyPrefix?: string;
  /**
   * Put every key once before the clock starts (not measured). Default: true for get, mixed and
   * cas, false for put. A failed put throws: figures over missing keys would mislead.
   */
  readonly prepopulate?: boolean;
  /** Ends the run early (the window then ends when it fires). */
  readonly signal?: AbortSignal;
  readonly onComplete?: CompletionObserver;
  /** Told the window's times as soon as the clients start (e.g. to schedule a fault in it). */
  readonly onStart?: (window: LoopWindow) => void;
}

/** performance.now() times of one run. */
export interface LoopWindow {
  readonly startMs: number;
  /** End of the warm-up, start of the measured window. */
  readonly measureFromMs: number;
  /** No operation starts at or after this (unless aborted earlier: then the abort time). */
  readonly endMs: number;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoopResult {
  /** The target's name. */
  readonly target: string;
  readonly workload: WorkloadKind;
  readonly concurrency: number;
  readonly keys: number;
  readonly valueSize: number;
  readonly seed: number;
  readonly warmupMs: number;
  /** The measured window as it ran (shorter than asked when aborted). */
  readonly durationMs: number;
  /** Operations started in the window: ok + mismatch + errors + indeterminate. */
  readonly ops: number;
  /** Operations completed inside the window, per second of it. */
  readonly opsPerSec: number;
  /** Milliseconds, over the measured operations; NaN when there were none. */
  readonly latencyMs: LatencySummary;
  readonly ok: number;
  /** cas whose comparison failed (a definite non-effect, not an error). */
  readonly mismatch: number;
  readonly errors: number;
  readonly indeterminate: number;
  /** Target calls made by the measured operations. */
  readonly calls: { readonly get: number; readonly put: number; readonly cas: number };
  /** Operations finished during the warm-up (not in the figures). */
  readonly warmupOps: number;
  /** From the end of the window until the last operation in flight finished. */
  readonly drainMs: number;
  /**
   * CPU time of this whole process (user + system) over the window, in % of one core: what the
   * load generator and the target's client library cost, plus whatever else the process runs.
   */
  readonly cpuPercent: number;
  /** The first error / indeterminate reason seen in the window, if any. */
  readonly firstError?: string;
  readonly firstIndeterminate?: string;
}

/** Values of one run: this many distinct ones, drawn per operation. */
const VALUE_POOL = 64;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** mulberry32, one per virtual client. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** The seed of virtual client `i` (distinct streams for neighbouring clients and seeds). */
function clientSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(i + 1, 0x85ebca6b)) | 0;
}

/** A random seed for a run that was given none (print it). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fff_ffff);
}

export function keyNames(keys: number, prefix = 'bench-'): string[] {
  if (!Number.isSafeInteger(keys) || keys < 1) throw new RangeError(`keys: a whole number ≥ 1, got ${keys}`);
  return Array.from({ length: keys }, (_, i) => `${prefix}${i}`);
}

/** `VALUE_POOL` distinct values of `size` characters (fewer when `size` is too small for that many), from `seed`. */
export function valuePool(size: number, seed: number): string[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`value size: a whole number ≥ 0, got ${size}`);
  const rng = new Rng(clientSeed(seed, -2));
  const seen = new Set<string>();
  const out: string[] = [];
  // Each value starts with its index (base 36) so values are distinct whatever the draw.
  for (let i = 0; i < VALUE_POOL; i++) {
    let v = i.toString(36);
    if (v.length > size) break;
    while (v.length < size) v += ALPHABET[rng.below(ALPHABET.length)];
    if (!seen.has(v)) {
      seen.add(v);
      out.push(v);
    }
  }
  if (out.length === 0) out.push('');
  return out;
}

export interface PopulateOptions {
  readonly keys: number;
  readonly valueSize: number;
  readonly seed: number;
  readonly keyPrefix?: string;
  /** Puts in flight; default 32. */
  readonly concurrency?: number;
}

/** Puts every key once. Throws when a put does not succeed (its reason in the message). */
export async function populate(target: BenchTarget, opts: PopulateOptions): Promise<void> {
  const keys = keyNames(opts.keys, opts.keyPrefix);
  const values = valuePool(opts.valueSize, opts.seed);
  let next = 0;
  let failed = 0;
  let firstFailure = '';
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const i = next++;
      const r = await target.put(keys[i]!, values[i % values.length]!);
      if (r.kind !== 'ok') {
        failed++;
        if (firstFailure === '') firstFailure = `${r.kind}: ${'reason' in r ? r.reason : JSON.stringify(r)}`;
      }
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 32, keys.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failed > 0) throw new Error(`pre-populating ${keys.length} keys: ${failed} puts did not succeed; first: ${firstFailure}`);
}

/** One run's shared state; the virtual clients update its fields directly. */
class Run {
  readonly latency = new LatencyRecorder();
  /** LatencyRecorder keeps no sum: for the mean. */
  latencySumMs = 0;
  measureFromMs = 0;
  endMs = 0;
  stopped = false;
  ops = 0;
  inWindow = 0;
  ok = 0;
  mismatch = 0;
  errors = 0;
  indeterminate = 0;
  gets = 0;
  puts = 0;
  cass = 0;
  warmupOps = 0;
  firstError: string | undefined;
  firstIndeterminate: string | undefined;

  constructor(
    readonly target: BenchTarget,
    readonly workload: WorkloadKind,
    readonly keys: readonly string[],
    readonly values: readonly string[],
    readonly observer: CompletionObserver | undefined,
  ) {}

  /** Books one finished operation. */
  done(call: CallKind, r: BenchOutcome, startMs: number, endMs: number, gets: number, puts: number, cass: number): void {
    this.observer?.(call, r.kind, startMs, endMs);
    if (startMs < this.measureFromMs) {
      this.warmupOps++;
      return;
    }
    this.ops++;
    if (endMs <= this.endMs) this.inWindow++;
    this.gets += gets;
    this.puts += puts;
    this.cass += cass;
    this.latency.add(endMs - startMs);
    this.latencySumMs += endMs - startMs;
    switch (r.kind) {
      case 'ok': this.ok++; break;
      case 'mismatch': this.mismatch++; break;
      case 'error':
        this.errors++;
        this.firstError ??= r.reason;
        break;
      case 'indeterminate':
        this.indeterminate++;
        this.firstIndeterminate ??= r.reason;
        break;
    }
  }
}

/** One virtual client: one operation at a time until the window ends. */
async function virtualClient(run: Run, rng: Rng): Promise<void> {
  const { target, keys, values } = run;
  const nKeys = keys.length;
  const nValues = values.length;
  for (;;) {
    const start = performance.now();
    if (run.stopped || start >= run.endMs) return;
    const key = keys[rng.below(nKeys)]!;
    switch (run.workload) {
      case 'put': {
        const r = await target.put(key, values[rng.below(nValues)]!);
        run.done('put', r, start, performance.now(), 0, 1, 0);
        break;
      }
      case 'get': {
        const r = await target.get(key);
        run.done('get', r, start, performance.now(), 1, 0, 0);
        break;
      }
      case 'mixed': {
        if (rng.next() < 0.5) {
          const r = await target.get(key);
          run.done('get', r, start, performance.now(), 1, 0, 0);
        } else {
          const r = await target.put(key, values[rng.below(nValues)]!);
          run.done('put', r, start, performance.now(), 0, 1, 0);
        }
        break;
      }
      case 'cas': {
        const read = await target.get(key);
        if (read.kind !== 'ok') {
          run.done('get', read, start, performance.now(), 1, 0, 0);
          break;
        }
        const current = read.value ?? null;
        // Another value than the one read, so every successful cas changes the key.
        let i = rng.below(nValues);
        if (nValues > 1 && values[i] === current) i = (i + 1) % nValues;
        const r = await target.cas(key, current, values[i]!);
        run.done('cas', r, start, performance.now(), 1, 0, 1);
        break;
      }
    }
  }
}

function checkOptions(o: LoopOptions): void {
  const whole = (what: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what}: a whole number ≥ ${min}, got ${v}`);
  };
  whole('concurrency', o.concurrency, 1);
  whole('keys', o.keys, 1);
  whole('value size', o.valueSize, 0);
  if (!Number.isFinite(o.durationMs) || o.durationMs <= 0) throw new RangeError(`duration: a number of ms > 0, got ${o.durationMs}`);
  const w = o.warmupMs ?? 0;
  if (!Number.isFinite(w) || w < 0) throw new RangeError(`warm-up: a number of ms ≥ 0, got ${w}`);
  if (!WORKLOAD_KINDS.includes(o.workload)) throw new RangeError(`workload: one of ${WORKLOAD_KINDS.join(', ')}, got ${String(o.workload)}`);
  if (!Number.isSafeInteger(o.seed)) throw new RangeError(`seed: a whole number, got ${o.seed}`);
}

/** Runs one closed-loop benchmark against `target` (which stays open). */
export async function runLoop(target: BenchTarget, opts: LoopOptions): Promise<LoopResult> {
  checkOptions(opts);
  const prefix = opts.keyPrefix ?? 'bench-';
  if (opts.prepopulate ?? opts.workload !== 'put') {
    await populate(target, { keys: opts.keys, valueSize: opts.valueSize, seed: opts.seed, keyPrefix: prefix });
  }
  const warmupMs = opts.warmupMs ?? 0;
  const run = new Run(target, opts.workload, keyNames(opts.keys, prefix), valuePool(opts.valueSize, opts.seed), opts.onComplete);

  const startMs = performance.now();
  run.measureFromMs = startMs + warmupMs;
  // The process's CPU time over (about) the window: read when timers at its ends fire.
  let cpuFrom: { usage: NodeJS.CpuUsage; at: number } | undefined;
  let cpuTo: { usage: NodeJS.CpuUsage; at: number } | undefined;
  const cpuStart = setTimeout(() => { cpuFrom = { usage: process.cpuUsage(), at: performance.now() }; }, warmupMs);
  const cpuEnd = setTimeout(() => { cpuTo = { usage: process.cpuUsage(), at: performance.now() }; }, warmupMs + opts.durationMs);
  run.endMs = run.measureFromMs + opts.durationMs;
  const onAbort = (): void => {
    if (run.stopped) return;
    run.stopped = true;
    const now = performance.now();
    if (now < run.endMs) run.endMs = Math.max(now, run.measureFromMs);
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    opts.onStart?.({ startMs, measureFromMs: run.measureFromMs, endMs: run.endMs });
    const clients: Promise<void>[] = [];
    for (let i = 0; i < opts.concurrency; i++) clients.push(virtualClient(run, new Rng(clientSeed(opts.seed, i))));
    await Promise.all(clients);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    clearTimeout(cpuStart);
    clearTimeout(cpuEnd);
  }
  const finished = performance.now();
  // The end timer does not fire when the run was aborted early: then up to now.
  cpuTo ??= { usage: process.cpuUsage(), at: finished };
  const cpuPercent = cpuFrom === undefined || cpuTo.at <= cpuFrom.at
    ? NaN
    : ((cpuTo.usage.user - cpuFrom.usage.user + cpuTo.usage.system - cpuFrom.usage.system) / 1000 / (cpuTo.at - cpuFrom.at)) * 100;

  const windowMs = Math.max(0, run.endMs - run.measureFromMs);
  const l = run.latency;
  const mean = l.count === 0 ? NaN : run.latencySumMs / l.count;
  return {
    target: target.name,
    workload: opts.workload,
    concurrency: opts.concurrency,
    keys: opts.keys,
    valueSize: opts.valueSize,
    seed: opts.seed,
    warmupMs,
    durationMs: windowMs,
    ops: run.ops,
    opsPerSec: windowMs > 0 ? run.inWindow / (windowMs / 1000) : 0,
    latencyMs: { p50: l.quantile(0.5), p90: l.quantile(0.9), p99: l.quantile(0.99), max: l.count === 0 ? NaN : l.max, mean },
    ok: run.ok,
    mismatch: run.mismatch,
    errors: run.errors,
    indeterminate: run.indeterminate,
    calls: { get: run.gets, put: run.puts, cas: run.cass },
    warmupOps: run.warmupOps,
    drainMs: Math.max(0, finished - run.endMs),
    cpuPercent,
    ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
    ...(run.firstIndeterminate === undefined ? {} : { firstIndeterminate: run.firstIndeterminate }),
  };
}
