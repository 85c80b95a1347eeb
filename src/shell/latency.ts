/**
 * Latency quantiles without keeping every sample: a log-scale histogram (≈2% buckets from 10 µs
 * to ~10 min). Enough for `timing on` summaries (p50 / p99 / max) of long workloads.
 */

const MIN_MS = 0.01;
const STEP = 1.02;
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / Math.log(STEP)) + 1;

export class LatencyRecorder {
  private readonly counts = new Uint32Array(BUCKETS);
  private n = 0;
  private maxMs = 0;

  add(ms: number): void {
    const b = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(STEP)));
    this.counts[b]!++;
    this.n++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.n;
  }

  get max(): number {
    return this.maxMs;
  }

  /** The `q` quantile (0 < q ≤ 1), as the upper edge of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(this.maxMs, MIN_MS * STEP ** b);
    }
    return this.maxMs;
  }
}
