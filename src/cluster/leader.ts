/**
 * When is a leader elected, as an operator sees it from the outside: one node says it leads in
 * the accept phase, and a majority of the whole cluster (the leader included) names that same
 * ballot as the elected one. Stricter than "a majority of the nodes that answered": with two of
 * five nodes down, all three others must agree — which they do once the election settles,
 * since a leader needs a quorum to reach the accept phase at all.
 */
import { ballotEq, ballotGt, formatBallot, majority, type Ballot } from '../replica/ballot.js';
import type { StatusResponse } from '../wire/messages.js';

export interface ElectedLeader {
  readonly leaderId: number;
  readonly ballot: Ballot;
}

/** Per node: its status, why it did not answer, or why it was not asked. */
export type NodePoll =
  | { readonly kind: 'status'; readonly status: StatusResponse }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'skipped'; readonly reason: string };

/**
 * The elected leader among these answers, if there is one. `clusterSize` is the number of
 * nodes in the config (the quorum is a majority of it). With `after`, only a ballot higher than
 * it counts — e.g. to wait for a new leader after the old one was killed or paused.
 */
export function findLeader(
  polls: ReadonlyMap<number, NodePoll>, clusterSize: number, after?: Ballot,
): ElectedLeader | undefined {
  const statuses = [...polls.values()].flatMap((p) => (p.kind === 'status' ? [p.status] : []));
  let best: ElectedLeader | undefined;
  for (const s of statuses) {
    if (s.role !== 'leader' || s.phase !== 'accept') continue;
    if (after && !ballotGt(s.leaderBallot, after)) continue;
    const backers = statuses.filter((o) => ballotEq(o.electedBallot, s.leaderBallot)).length;
    if (backers < majority(clusterSize)) continue;
    // Two claimants cannot both have a majority of one cluster; the higher ballot is kept anyway.
    if (!best || ballotGt(s.leaderBallot, best.ballot)) best = { leaderId: s.nodeId, ballot: s.leaderBallot };
  }
  return best;
}

/** One line per node, for an operator reading why no leader was found. */
export function describePolls(polls: ReadonlyMap<number, NodePoll>): string {
  return [...polls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([id, p]) => `  node ${id}: ${describePoll(p)}`)
    .join('\n');
}

function describePoll(p: NodePoll): string {
  switch (p.kind) {
    case 'skipped': return `not asked (${p.reason})`;
    case 'error': return `no status: ${p.message}`;
    case 'status': {
      const s = p.status;
      return `${s.role} phase=${s.phase} leads=${formatBallot(s.leaderBallot)} elected=${formatBallot(s.electedBallot)}`
        + ` quorumConnected=${s.quorumConnected} decided=${s.decidedIdx} log=${s.logLength}`;
    }
  }
}

export interface WaitForLeaderOptions {
  /** Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** Pause between polling rounds; default 50 ms. */
  readonly pollMs?: number;
  /** Only a leader with a higher ballot counts. */
  readonly after?: Ballot;
  readonly signal?: AbortSignal;
}

/**
 * Polls until `findLeader` finds one. Rejects on timeout (or abort) with the last answer of
 * every node.
 */
export async function pollForLeader(
  poll: (timeoutMs: number) => Promise<Map<number, NodePoll>>, clusterSize: number, opts: WaitForLeaderOptions = {},
): Promise<ElectedLeader> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pollMs = opts.pollMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last = new Map<number, NodePoll>();
  for (;;) {
    opts.signal?.throwIfAborted();
    // A paused node never answers: bound each round so it cannot stall the wait.
    last = await poll(Math.max(50, Math.min(1000, deadline - Date.now())));
    const found = findLeader(last, clusterSize, opts.after);
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = opts.after ? `leader with a ballot above ${formatBallot(opts.after)}` : 'leader';
      throw new Error(`no ${what} elected within ${timeoutMs} ms; last answers:\n${describePolls(last)}`);
    }
    await new Promise((ok) => setTimeout(ok, Math.min(pollMs, left)));
  }
}
