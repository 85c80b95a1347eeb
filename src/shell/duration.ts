/** Durations as people type them in kvsh: `250ms`, `2s`, `1.5s`, `3m`, `1h`; a bare number is seconds. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or an Error saying what is wrong with `text`. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (try 500ms, 2s, 1.5s, 3m)`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (!Number.isFinite(ms) || ms > 7 * 24 * 3_600_000) throw new Error(`"${text}" is too long a duration`);
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  // Round first, then split: 59 999 ms is 1m (not 60s), 119 700 ms is 2m (not 1m60s).
  const secs = Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1));
  if (secs < 60) return `${secs}s`;
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return s ? `${m}m${s}s` : `${m}m`;
}

/** Latency for `timing on` and summaries: 0.42 ms, 3.1 ms, 120 ms. */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}
