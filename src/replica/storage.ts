/**
 * The storage contract between a replica and its driver.
 *
 * A replica keeps its persistent state in memory and describes every change as a list of
 * `StorageOp`s in the step's output. The driver writes the list as ONE atomic batch (all or
 * nothing) and only after the batch is durable releases that step's messages and replies.
 * Batches become durable in the order they were produced. On restart the driver loads the
 * durable state and builds a new replica from it.
 *
 * Why atomic: after an AcceptSync a follower changes `acceptedRnd` and truncates/extends its
 * log together; a torn write (new round, old log) would make it look newest in the next
 * Prepare with a wrong log, and decided entries could be lost (reference §A.5, BUG-2).
 */
import { BOTTOM, type Ballot, type LogIdx } from './ballot.js';
import type { Entry } from './entry.js';

export interface PersistentState {
  /** Highest ballot promised. */
  promised: Ballot;
  /** Ballot of the leader whose log this node last synced to. */
  acceptedRnd: Ballot;
  log: Entry[];
  /** Length of the decided prefix; never more than `log.length`. */
  decidedIdx: LogIdx;
}

export type StorageOp =
  | { readonly kind: 'set-promise'; readonly ballot: Ballot }
  | { readonly kind: 'set-accepted-rnd'; readonly ballot: Ballot }
  /** Truncate the log to `fromIdx` entries, then append `entries`. */
  | { readonly kind: 'append-on-prefix'; readonly fromIdx: LogIdx; readonly entries: readonly Entry[] }
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'set-decided-idx'; readonly idx: LogIdx };

export function emptyState(): PersistentState {
  return { promised: BOTTOM, acceptedRnd: BOTTOM, log: [], decidedIdx: 0 };
}

export function cloneState(s: PersistentState): PersistentState {
  return { promised: s.promised, acceptedRnd: s.acceptedRnd, log: s.log.slice(), decidedIdx: s.decidedIdx };
}

/** Applies a batch to a state (in place). Drivers and the in-memory storage share this. */
export function applyStorageOps(state: PersistentState, ops: readonly StorageOp[]): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'set-promise': state.promised = op.ballot; break;
      case 'set-accepted-rnd': state.acceptedRnd = op.ballot; break;
      case 'append-on-prefix':
        state.log.length = Math.min(state.log.length, op.fromIdx);
        for (const e of op.entries) state.log.push(e);
        break;
      case 'append':
        for (const e of op.entries) state.log.push(e);
        break;
      case 'set-decided-idx': state.decidedIdx = op.idx; break;
    }
  }
}
