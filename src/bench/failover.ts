/**
 * What clients saw around a fault injected during a run (kill -9 of the leader): completions
 * are recorded through the loop's `onComplete` observer, then split at the kill and at the
 * first successful write after the outage. Store-agnostic: the orchestration (which process
 * to kill, how to find the new leader) is the caller's.
 *
 * "Recovered" is the end of the longest stretch without a successful write that ends after the
 * kill. Writes decided just before the kill can still be answered a moment after it (a reply in
 * a socket buffer, a follower passing an answer on); they are counted (`okAfterKillBeforeOutage`)
 * but do not end the outage. With no such stragglers this is simply the first successful write
 * after the kill.
 */
import type { CompletionObserver } from './loop.js';
import type { BenchOutcome } from './target.js';

const OUTCOME_CODES: Record<BenchOutcome['kind'], number> = { ok: 0, mismatch: 1, error: 2, indeterminate: 3 };

export interface PhaseCounts {
  /** Operations that finished in the phase. */
  readonly ops: number;
  readonly ok: number;
  readonly mismatch: number;
  readonly errors: number;
  readonly indeterminate: number;
  readonly ms: number;
}

export interface FailoverAnalysis {
  /** From the kill to the first successful write that ended the outage (NaN: none came). */
  readonly unavailableMs: number;
  /** From the kill to the first successful write completed after it, stragglers included (NaN: none). */
  readonly firstOkAfterKillMs: number;
  /** The longest stretch without a successful write that ends after the kill (NaN: no write after it). */
  readonly longestGapMs: number;
  /** Writes answered ok after the kill but before the outage: decided before the kill, answered late. */
  readonly okAfterKillBeforeOutage: number;
  /** From the start of measurement to the kill. */
  readonly before: PhaseCounts;
  /** From the kill to the recovery (to the end when there was none). */
  readonly outage: PhaseCounts;
  /** From the recovery to the last completion. */
  readonly after: PhaseCounts;
}

/** Records every completion of a run (time, outcome) for `analyze`. */
export class CompletionTimeline {
  private ends = new Float64Array(1 << 16);
  private outcomes = new Uint8Array(1 << 16);
  private writes = new Uint8Array(1 << 16);
  private n = 0;

  /** Pass as the loop's `onComplete`. Only operations started at or after `fromMs` are kept. */
  readonly observer: CompletionObserver;

  /** Operations started before this are ignored (set it to the window's `measureFromMs`, e.g. in `onStart`). */
  constructor(public fromMs = 0) {
    this.observer = (call, outcome, startMs, endMs) => {
      if (startMs < this.fromMs) return;
      if (this.n === this.ends.length) this.grow();
      this.ends[this.n] = endMs;
      this.outcomes[this.n] = OUTCOME_CODES[outcome];
      this.writes[this.n] = call === 'get' ? 0 : 1;
      this.n++;
    };
  }

  get count(): number {
    return this.n;
  }

  private grow(): void {
    const size = this.ends.length * 2;
    const ends = new Float64Array(size);
    ends.set(this.ends);
    const outcomes = new Uint8Array(size);
    outcomes.set(this.outcomes);
    const writes = new Uint8Array(size);
    writes.set(this.writes);
    this.ends = ends;
    this.outcomes = outcomes;
    this.writes = writes;
  }

  /**
   * Splits the run at `killMs` (a performance.now() time); `measureFromMs` starts the first
   * phase. Late answers are looked for up to `stragglerMs` after the kill: the outage is the
   * longest stretch without a successful write that starts before then and ends after the kill.
   */
  analyze(killMs: number, measureFromMs: number, stragglerMs = 100): FailoverAnalysis {
    const n = this.n;
    const okWrites: number[] = [];
    let last = killMs;
    for (let i = 0; i < n; i++) {
      const t = this.ends[i]!;
      if (t > last) last = t;
      if (this.outcomes[i] === 0 && this.writes[i] === 1) okWrites.push(t);
    }
    // Completion order is time order (recorded as they happen); sorted anyway.
    okWrites.sort((a, b) => a - b);

    let recovery = NaN;
    let gapStart = NaN;
    let firstAfter = NaN;
    for (let i = 0; i < okWrites.length; i++) {
      const t = okWrites[i]!;
      if (t <= killMs) continue;
      if (Number.isNaN(firstAfter)) firstAfter = t;
      const prev = i === 0 ? measureFromMs : okWrites[i - 1]!;
      if (prev > killMs + stragglerMs) break;
      if (Number.isNaN(recovery) || t - prev > recovery - gapStart) {
        recovery = t;
        gapStart = prev;
      }
    }
    let stragglers = 0;
    for (const t of okWrites) if (t > killMs && t <= gapStart) stragglers++;

    const none = Number.isNaN(recovery);
    return {
      unavailableMs: none ? NaN : recovery - killMs,
      firstOkAfterKillMs: firstAfter - killMs,
      longestGapMs: none ? NaN : recovery - gapStart,
      okAfterKillBeforeOutage: stragglers,
      before: this.phase(measureFromMs, killMs, true, true),
      outage: none ? this.phase(killMs, last, true) : this.phase(killMs, recovery, false),
      after: none ? this.phase(last, last, false) : this.phase(recovery, last, true, true),
    };
  }

  /** Completions after `from` (at it too with `fromIncluded`) and before `to` (at it too with `toIncluded`). */
  private phase(from: number, to: number, toIncluded: boolean, fromIncluded = false): PhaseCounts {
    const c = { ops: 0, ok: 0, mismatch: 0, errors: 0, indeterminate: 0 };
    for (let i = 0; i < this.n; i++) {
      const t = this.ends[i]!;
      if (fromIncluded ? t < from : t <= from) continue;
      if (toIncluded ? t > to : t >= to) continue;
      c.ops++;
      switch (this.outcomes[i]) {
        case 0: c.ok++; break;
        case 1: c.mismatch++; break;
        case 2: c.errors++; break;
        default: c.indeterminate++; break;
      }
    }
    return { ...c, ms: Math.max(0, to - from) };
  }
}
