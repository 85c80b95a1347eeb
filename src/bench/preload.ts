/**
 * Loads a store with `keys` keys before a scale benchmark, as fast as the store takes it: many
 * puts in flight (default 256), every key written once, with the rate and latency measured —
 * at a million keys the preload is itself one of the figures (issue E: "the preload rate
 * halves").
 *
 * Keys and values are those of the closed loop (loop.ts: `keyNames`, `valuePool`), so a put
 * or get run afterwards over the same key count and seed finds every key present.
 *
 * A put that does not succeed (an error, or an indeterminate outcome while the cluster
 * re-elects) is tried again for the same key: the benchmark needs the keys present, and writing
 * the same value twice is harmless. Every such failure is counted and reported, never hidden.
 * The preload gives up (throws) when no put at all has succeeded for `giveUpAfterMs` — the
 * cluster is down, not slow — or when one key has failed `attemptsPerKey` times (default
 * unlimited: at a million keys a store that stalls for seconds at a time can fail the same key
 * many times over while others get through, and that is a figure, not a reason to stop).
 */
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from '../shell/latency.js';
import { keyNames, valuePool, type LatencySummary } from './loop.js';
import type { BenchTarget } from './target.js';

export interface PreloadOptions {
  readonly keys: number;
  readonly valueSize: number;
  readonly seed: number;
  readonly keyPrefix?: string;
  /** Puts in flight; default 256. */
  readonly concurrency?: number;
  /** Puts per key before giving up; default unlimited. */
  readonly attemptsPerKey?: number;
  /** Give up when no put has succeeded for this long; default 120 s. */
  readonly giveUpAfterMs?: number;
  /** Called about every `progressEveryMs` (default 10 s) with the keys written so far. */
  readonly onProgress?: (written: number, elapsedMs: number) => void;
  readonly progressEveryMs?: number;
}

export interface PreloadResult {
  readonly keys: number;
  readonly concurrency: number;
  /** performance.now() at the first put and after the last answer. */
  readonly startMs: number;
  readonly endMs: number;
  /** keys / elapsed seconds. */
  readonly keysPerSec: number;
  /** Per put, retries included, ms. */
  readonly latencyMs: LatencySummary;
  /** Puts made (≥ keys: retries add to it). */
  readonly puts: number;
  readonly errors: number;
  readonly indeterminate: number;
  readonly firstFailure?: string;
}

export async function preload(target: BenchTarget, opts: PreloadOptions): Promise<PreloadResult> {
  const keys = keyNames(opts.keys, opts.keyPrefix);
  const values = valuePool(opts.valueSize, opts.seed);
  const attempts = opts.attemptsPerKey ?? Infinity;
  const giveUpAfterMs = opts.giveUpAfterMs ?? 120_000;
  const concurrency = Math.max(1, Math.min(opts.concurrency ?? 256, keys.length));
  const latency = new LatencyRecorder();
  let latencySum = 0;
  let next = 0;
  let written = 0;
  let puts = 0;
  let errors = 0;
  let indeterminate = 0;
  let firstFailure: string | undefined;
  let givenUp: string | undefined;
  const startMs = performance.now();
  let lastOkMs = startMs;
  const progressEvery = opts.progressEveryMs ?? 10_000;
  const progress = opts.onProgress
    ? setInterval(() => opts.onProgress!(written, performance.now() - startMs), progressEvery)
    : undefined;
  progress?.unref();

  const worker = async (): Promise<void> => {
    while (next < keys.length && givenUp === undefined) {
      const i = next++;
      for (let attempt = 1; ; attempt++) {
        const t0 = performance.now();
        const r = await target.put(keys[i]!, values[i % values.length]!);
        const ms = performance.now() - t0;
        latency.add(ms);
        latencySum += ms;
        puts++;
        if (r.kind === 'ok') {
          written++;
          lastOkMs = performance.now();
          break;
        }
        const why = `${r.kind}: ${'reason' in r ? r.reason : JSON.stringify(r)}`;
        if (r.kind === 'indeterminate') indeterminate++;
        else errors++;
        firstFailure ??= why;
        if (attempt >= attempts) {
          givenUp ??= `key ${keys[i]}: ${attempts} puts did not succeed; last: ${why}`;
          return;
        }
        if (performance.now() - lastOkMs > giveUpAfterMs) {
          givenUp ??= `no put succeeded for ${Math.round((performance.now() - lastOkMs) / 1000)} s (${written} of ${keys.length} written); last: ${why}`;
          return;
        }
        if (givenUp !== undefined) return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    if (progress) clearInterval(progress);
  }
  if (givenUp !== undefined) throw new Error(`preloading ${keys.length} keys: ${givenUp}`);
  const endMs = performance.now();
  return {
    keys: keys.length,
    concurrency,
    startMs,
    endMs,
    keysPerSec: keys.length / ((endMs - startMs) / 1000),
    latencyMs: {
      p50: latency.quantile(0.5), p90: latency.quantile(0.9), p99: latency.quantile(0.99), max: latency.max,
      mean: latency.count === 0 ? NaN : latencySum / latency.count,
    },
    puts,
    errors,
    indeterminate,
    ...(firstFailure === undefined ? {} : { firstFailure }),
  };
}
