/**
 * The storage contract between a replica and its driver.
 *
 * A replica keeps its persistent state in memory and describes every change as a list of
 * `StorageOp`s in the step's output. The driver writes the list as ONE atomic batch (all or
 * nothing) and only after the batch is durable releases that step's messages and replies
 * (all but a leader's AcceptDecide and Decide, which may leave before: release.ts).
 * Batches become durable in the order they were produced. On restart the driver loads the
 * durable state and builds a new replica from it.
 *
 * Why atomic: after an AcceptSync a follower changes `acceptedRnd` and truncates/extends its
 * log together; a torn write (new round, old log) would make it look newest in the next
 * Prepare with a wrong log, and decided entries could be lost (reference §A.5, BUG-2).
 */
import { BOTTOM, type Ballot, type LogIdx } from './ballot.js';
import type { Entry } from './entry.js';
import { invariant } from './invariant.js';
import type { Snapshot } from './snapshot.js';

/**
 * Log indices are absolute: entry `i` is the i-th command ever appended. After compaction the
 * prefix `[0, compactedIdx)` lives only in `snapshot`, and `log` holds the entries from
 * `compactedIdx` on (`log[0]` is entry `compactedIdx`). Use `logLength`, `entryAt` and
 * `logSlice` rather than indexing `log` directly.
 */
export interface PersistentState {
  /** Highest ballot promised. */
  promised: Ballot;
  /** Ballot of the leader whose log this node last synced to. */
  acceptedRnd: Ballot;
  /** The state machine at `snapshot.idx` (= compactedIdx); null before the first compaction. */
  snapshot: Snapshot | null;
  /** The entries from `compactedIdx` on. */
  log: Entry[];
  /** Length of the decided prefix; never more than `logLength`, never less than `compactedIdx`. */
  decidedIdx: LogIdx;
}

/** Entries before this index exist only as the snapshot. */
export function compactedIdx(s: PersistentState): LogIdx {
  return s.snapshot?.idx ?? 0;
}

export function logLength(s: PersistentState): LogIdx {
  return compactedIdx(s) + s.log.length;
}

/** Entry `idx`, or undefined when it is compacted away or not in the log. */
export function entryAt(s: PersistentState, idx: LogIdx): Entry | undefined {
  const c = compactedIdx(s);
  return idx < c ? undefined : s.log[idx - c];
}

/** Entries `[from, to)`; `from` must not be compacted away. */
export function logSlice(s: PersistentState, from: LogIdx, to?: LogIdx): Entry[] {
  const c = compactedIdx(s);
  invariant(from >= c, () => `log slice from ${from}, but entries before ${c} are compacted`);
  return s.log.slice(from - c, to === undefined ? undefined : to - c);
}

export type StorageOp =
  | { readonly kind: 'set-promise'; readonly ballot: Ballot }
  | { readonly kind: 'set-accepted-rnd'; readonly ballot: Ballot }
  /** Truncate the log to `fromIdx` entries, then append `entries`. */
  | { readonly kind: 'append-on-prefix'; readonly fromIdx: LogIdx; readonly entries: readonly Entry[] }
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'set-decided-idx'; readonly idx: LogIdx }
  /**
   * Replace the log prefix `[0, snapshot.idx)` by the snapshot: entries before it are dropped
   * (all of them when the log is shorter, as when a far-behind follower installs the leader's
   * snapshot), and the decided index rises to at least `snapshot.idx` (a snapshot only ever
   * covers decided entries). A snapshot not newer than the current one changes nothing.
   */
  | { readonly kind: 'install-snapshot'; readonly snapshot: Snapshot };

/**
 * Whether a step's effects must wait for this batch to be durable, or only for the batches
 * before it. A batch that only raises the decided index need not be waited for: the decided
 * index can always be re-learned from the leader, and the entries it covers were appended in
 * earlier batches, which are durable first, and before it in the log, so a recovered decided
 * index never points past the recovered log (reference §A.5; etcd's MustSync ignores the
 * commit index too). It still goes to the disk, in order. Waiting for it cost every client
 * reply one more fsync: the leader's "decided, reply" step has nothing else to write.
 */
export function mustBeDurableBeforeRelease(ops: readonly StorageOp[]): boolean {
  return !ops.every((op) => op.kind === 'set-decided-idx');
}

export function emptyState(): PersistentState {
  return { promised: BOTTOM, acceptedRnd: BOTTOM, snapshot: null, log: [], decidedIdx: 0 };
}

/** A copy whose log can change independently (snapshots are immutable and shared). */
export function cloneState(s: PersistentState): PersistentState {
  return { promised: s.promised, acceptedRnd: s.acceptedRnd, snapshot: s.snapshot, log: s.log.slice(), decidedIdx: s.decidedIdx };
}

/** Applies a batch to a state (in place). Drivers and the in-memory storage share this. */
export function applyStorageOps(state: PersistentState, ops: readonly StorageOp[]): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'set-promise': state.promised = op.ballot; break;
      case 'set-accepted-rnd': state.acceptedRnd = op.ballot; break;
      case 'append-on-prefix': {
        const c = compactedIdx(state);
        invariant(op.fromIdx >= c, () => `append-on-prefix at ${op.fromIdx} would rewrite the compacted prefix (before ${c})`);
        state.log.length = Math.min(state.log.length, op.fromIdx - c);
        for (const e of op.entries) state.log.push(e);
        break;
      }
      case 'append':
        for (const e of op.entries) state.log.push(e);
        break;
      case 'set-decided-idx': state.decidedIdx = op.idx; break;
      case 'install-snapshot': {
        const c = compactedIdx(state);
        const idx = op.snapshot.idx;
        if (idx <= c) break;
        state.log = idx >= c + state.log.length ? [] : state.log.slice(idx - c);
        state.snapshot = op.snapshot;
        if (state.decidedIdx < idx) state.decidedIdx = idx;
        break;
      }
    }
  }
}
