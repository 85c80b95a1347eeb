/**
 * Ballots: `(n, priority, pid)` compared lexicographically. The pid as the last component makes
 * every ballot unique to the node that issued it, so two nodes never lead the same ballot.
 */
export type NodeId = number;
/** A 0-based logical log position; log lengths and decided indices are counts of entries. */
export type LogIdx = number;

export interface Ballot {
  readonly n: number;
  readonly priority: number;
  readonly pid: NodeId;
}

/** ⊥: lower than every ballot a node can issue (pids are ≥ 1). */
export const BOTTOM: Ballot = Object.freeze({ n: 0, priority: 0, pid: 0 });

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.n !== b.n) return a.n < b.n ? -1 : 1;
  if (a.priority !== b.priority) return a.priority < b.priority ? -1 : 1;
  if (a.pid !== b.pid) return a.pid < b.pid ? -1 : 1;
  return 0;
}

export const ballotEq = (a: Ballot, b: Ballot): boolean => compareBallots(a, b) === 0;
export const ballotGt = (a: Ballot, b: Ballot): boolean => compareBallots(a, b) > 0;
export const ballotLt = (a: Ballot, b: Ballot): boolean => compareBallots(a, b) < 0;
export const isBottom = (b: Ballot): boolean => b.pid === 0;
export const maxBallot = (a: Ballot, b: Ballot): Ballot => (ballotGt(b, a) ? b : a);

export function formatBallot(b: Ballot): string {
  return isBottom(b) ? '⊥' : `${b.n}.${b.priority}.${b.pid}`;
}

/** Majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}
