/**
 * One row of docs/reliability.md: a kind of fault or bad input, how many were tried, what must
 * hold, and what did not (nothing, when it held).
 */
export interface TrialResult {
  /** storage, simulator, network (real processes), wire. */
  readonly area: string;
  readonly fault: string;
  readonly tried: number;
  /** What `tried` counts: cuts, seeds, frames, … */
  readonly unit: string;
  /** Further counts worth showing (crashes injected, leader changes, …). */
  readonly details?: string;
  readonly expected: string;
  /** Empty: it held. */
  readonly failures: readonly string[];
}

export const held = (t: TrialResult): boolean => t.failures.length === 0;
