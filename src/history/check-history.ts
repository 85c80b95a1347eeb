/**
 * Checking a key-value history: split it by key (a history is linearizable iff the history
 * of every key is: P-compositionality, Herlihy & Wing's locality), check each key, and
 * combine the verdicts. Pure: see driver.ts for time limits and threads.
 */
import { checkKey, type KeyCheckOptions, type KeyReport } from './check-key.js';
import type { History, Operation } from './types.js';

export type { KeyReport, KeyVerdict, KeyFailure, LinearizedStep } from './check-key.js';
export type Verdict = 'LINEARIZABLE' | 'NOT LINEARIZABLE' | 'UNKNOWN';

export function groupByKey(operations: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of operations) {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  return byKey;
}

/** A definite violation on any key settles the verdict; otherwise any unknown key leaves it open. */
export function combineVerdict(keys: readonly KeyReport[]): Verdict {
  if (keys.some(k => k.verdict === 'not-linearizable')) return 'NOT LINEARIZABLE';
  if (keys.some(k => k.verdict === 'unknown')) return 'UNKNOWN';
  return 'LINEARIZABLE';
}

export interface CheckReport {
  verdict: Verdict;
  keys: KeyReport[];
  operations: number;
  indeterminate: number;
}

export function summarize(history: History, keys: KeyReport[]): CheckReport {
  return {
    verdict: combineVerdict(keys),
    keys,
    operations: history.operations.length,
    indeterminate: history.operations.filter(o => o.status === 'info').length,
  };
}

/** Checks every key in turn, in this thread. */
export function checkHistorySync(history: History, options: KeyCheckOptions = {}): CheckReport {
  const keys = [...groupByKey(history.operations)].map(([key, ops]) => checkKey(key, ops, options));
  return summarize(history, keys);
}
