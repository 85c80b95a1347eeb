/**
 * How commands name nodes: `3`, `n3`, lists `1,2`, and words a drill needs because it cannot
 * know ids in advance — `leader` (the elected leader now), `follower` (the lowest-id node that is
 * up and not the leader), `followers`, `all`, `down` (killed, exited or stopped), `paused`.
 */
import { isLive } from '../cluster/index.js';
import { ballotGt, formatBallot, type Ballot } from '../replica/ballot.js';
import { CommandFailed, UsageError } from './commands/types.js';
import type { ShellSession } from './session.js';
import { healthOf } from './status-poller.js';

export const NODE_WORDS = ['leader', 'follower', 'followers', 'all', 'down', 'paused'] as const;

/** How long `leader` waits for an elected leader before the command fails. */
const LEADER_WAIT_MS = 10_000;

/** The elected leader, polling for up to `waitMs`; fails with the nodes' answers. */
export async function currentLeader(
  session: ShellSession, waitMs = LEADER_WAIT_MS, above?: Ballot,
): Promise<{ id: number; ballot: string }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const view = await session.poller.refresh();
    const l = view.leader;
    if (l && (above === undefined || ballotGt(l.ballot, above))) return { id: l.leaderId, ballot: formatBallot(l.ballot) };
    if (Date.now() >= deadline) {
      const what = above === undefined ? 'no leader elected' : `no leader with a ballot above ${formatBallot(above)} elected`;
      throw new CommandFailed(`${what} within ${waitMs / 1000} s (status shows each node's view)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves one node word or comma list to ids (sorted, distinct). */
export async function resolveNodes(session: ShellSession, word: string): Promise<number[]> {
  // With --nodes, ids are learned from status answers: a script's first command may come first.
  if (session.knownNodeIds().length < session.targets.length) await session.poller.refresh();
  const known = session.knownNodeIds();
  const out = new Set<number>();
  for (const part of word.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    for (const id of await resolveOne(session, part.toLowerCase(), known)) out.add(id);
  }
  if (out.size === 0 && !['down', 'paused'].includes(word.toLowerCase())) throw new UsageError(`"${word}" names no node`);
  return [...out].sort((a, b) => a - b);
}

/** Exactly one node. */
export async function resolveNode(session: ShellSession, word: string): Promise<number> {
  const ids = await resolveNodes(session, word);
  if (ids.length !== 1) throw new UsageError(`"${word}" names ${ids.length} nodes; this command takes one`);
  return ids[0]!;
}

async function resolveOne(session: ShellSession, word: string, known: readonly number[]): Promise<number[]> {
  const m = /^n?(\d+)$/.exec(word);
  if (m) {
    const id = Number(m[1]);
    if (!known.includes(id)) {
      throw new UsageError(`no node ${id} (nodes: ${known.join(', ') || 'none known yet — status first'})`);
    }
    return [id];
  }
  switch (word) {
    case 'all': return [...known];
    case 'leader': return [(await currentLeader(session)).id];
    case 'follower':
    case 'followers': {
      const leader = (await currentLeader(session)).id;
      const view = session.poller.latest;
      const up = view.nodes
        .filter((n) => n.id !== undefined && n.id !== leader && healthOf(n) === 'up')
        .map((n) => n.id!)
        .sort((a, b) => a - b);
      if (up.length === 0) throw new CommandFailed('no follower is up');
      return word === 'follower' ? [up[0]!] : up;
    }
    case 'down': {
      const cluster = session.requireCluster('"down"');
      return cluster.nodeIds.filter((id) => !isLive(cluster.state(id)));
    }
    case 'paused': {
      const cluster = session.requireCluster('"paused"');
      return cluster.nodeIds.filter((id) => cluster.state(id) === 'paused');
    }
    default:
      throw new UsageError(`"${word}" is not a node (give an id like 3, or one of ${NODE_WORDS.join(', ')})`);
  }
}
