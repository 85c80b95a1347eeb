/**
 * Logs `event-loop-stall` when the event loop was blocked for a while: a short timer is checked
 * for how late it fired. Everything a node does — heartbeats, ticks, replies — waits while
 * the loop is blocked (a snapshot, a checkpoint's encoding, a long GC pause), and a stall longer
 * than the election timeout makes the followers elect a new leader. The log line says how long
 * and when, so a benchmark or an operator can tie ballots and latency spikes to stalls.
 *
 * Cost: one timer callback every `intervalMs` (unref'd: it never keeps the process alive).
 * Resolution: a stall is seen to within `intervalMs`.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from './logger.js';

export interface StallWatchOptions {
  /** How often the timer fires; default 10 ms. */
  readonly intervalMs?: number;
  /** Lateness at or above which a line is logged; default 50 ms (half the default election timeout). */
  readonly thresholdMs?: number;
  /** Clock in ms; default performance.now (tests). */
  readonly now?: () => number;
}

export const DEFAULT_STALL_THRESHOLD_MS = 50;

/**
 * Starts watching; returns the function that stops it. Each stall is one line:
 * `event-loop-stall ms=<how long the loop was blocked, rounded> thresholdMs=<…>`.
 */
export function watchEventLoopStalls(logger: Logger, opts: StallWatchOptions = {}): () => void {
  const intervalMs = opts.intervalMs ?? 10;
  const thresholdMs = opts.thresholdMs ?? DEFAULT_STALL_THRESHOLD_MS;
  const now = opts.now ?? (() => performance.now());
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    // The interval is re-armed when its callback runs, so anything beyond one interval since
    // the last run is time the loop could not get to it.
    const late = t - last - intervalMs;
    last = t;
    if (late >= thresholdMs) logger.warn('event-loop-stall', { ms: Math.round(late), thresholdMs });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
