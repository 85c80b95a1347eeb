/**
 * The simulator's one source of randomness. Every choice of a run — delays, losses, faults,
 * client operations — draws from a single generator seeded with the run's seed, in event order,
 * so a seed replays the run exactly. Nothing in src/sim may use Math.random or a wall clock.
 */
import { Rng } from '../history/synthetic.js';

export { Rng };

/** Uniform integer in [lo, hi] (inclusive); `lo` when the range is empty. */
export function between(rng: Rng, lo: number, hi: number): number {
  return hi <= lo ? lo : rng.int(lo, hi);
}

/** A uniformly shuffled copy (Fisher–Yates). */
export function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** A random element other than `not` (any element when `not` is the only one). */
export function pickOther<T>(rng: Rng, xs: readonly T[], not: T): T {
  if (xs.length < 2) return xs[0]!;
  for (;;) {
    const x = rng.pick(xs);
    if (x !== not) return x;
  }
}
