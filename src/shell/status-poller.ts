/**
 * The shell's live picture of the cluster: every node's status-response, polled on a timer,
 * merged with what the local supervisor knows about each process (running, paused, killed).
 * The status pane draws it, `status` prints it, and the recorder takes leader changes from it.
 */
import { fetchStatus } from '../client/admin.js';
import { formatAddr, type NodeAddr } from '../client/addr.js';
import type { LocalCluster, NodeState } from '../cluster/index.js';
import { findLeader, type ElectedLeader, type NodePoll } from '../cluster/leader.js';
import { ballotEq } from '../replica/ballot.js';

/** A node the shell talks to: its client address, and its id once known. */
export interface NodeTarget {
  /** From the cluster config, or learned from the node's first status answer. */
  readonly id: number | undefined;
  readonly addr: NodeAddr;
}

export interface NodeView {
  readonly id: number | undefined;
  readonly addr: NodeAddr;
  /** The last poll: its status, or why it did not answer. `undefined` before the first poll. */
  readonly poll: NodePoll | undefined;
  /** The supervisor's process state, for nodes of a local cluster kvsh started. */
  readonly process: NodeState | undefined;
}

export type Health = 'up' | 'down' | 'paused' | 'starting' | 'unknown';

export function healthOf(v: NodeView): Health {
  if (v.process === 'paused') return 'paused';
  if (v.process === 'starting') return 'starting';
  if (v.process !== undefined && v.process !== 'running') return 'down';
  if (v.poll === undefined) return 'unknown';
  return v.poll.kind === 'status' ? 'up' : 'down';
}

export interface ClusterView {
  /** `Date.now()` of the poll. */
  readonly time: number;
  readonly nodes: readonly NodeView[];
  /** The elected leader as an operator sees it (cluster/leader.ts `findLeader`). */
  readonly leader: ElectedLeader | undefined;
  readonly polls: number;
}

export interface StatusPollerOptions {
  readonly targets: () => readonly NodeTarget[];
  readonly cluster?: LocalCluster | undefined;
  /** Default 400 ms between polls. */
  readonly intervalMs?: number;
  /** A paused node never answers; default 300 ms per poll. */
  readonly timeoutMs?: number;
}

export class StatusPoller {
  private view: ClusterView = { time: 0, nodes: [], leader: undefined, polls: 0 };
  private readonly listeners = new Set<(v: ClusterView) => void>();
  private readonly leaderListeners = new Set<(l: ElectedLeader | null) => void>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<ClusterView> | null = null;
  private lastSeenLeader: ElectedLeader | undefined;
  /** The leader last passed to onLeaderChange listeners (null: none elected). */
  private reported: ElectedLeader | null | undefined;
  /** Node ids learned from status answers, by address. */
  private readonly learnedIds = new Map<string, number>();
  private stopped = false;

  constructor(private readonly opts: StatusPollerOptions) {}

  get latest(): ClusterView {
    return this.view;
  }

  /** The last leader any poll found (it may be gone since). */
  get lastLeader(): ElectedLeader | undefined {
    return this.lastSeenLeader;
  }

  /** Id of the node at `addr`, once it answered a status request. */
  idOf(addr: NodeAddr): number | undefined {
    return this.learnedIds.get(formatAddr(addr));
  }

  start(): void {
    if (this.timer || this.stopped) return;
    const loop = (): void => {
      void this.refresh().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.opts.intervalMs ?? 400);
      });
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Every view, as it is polled. Returns an unsubscribe function. */
  subscribe(fn: (v: ClusterView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called when the elected leader changes: another node or ballot, or none (null). */
  onLeaderChange(fn: (l: ElectedLeader | null) => void): () => void {
    this.leaderListeners.add(fn);
    return () => this.leaderListeners.delete(fn);
  }

  /** Polls now (or joins the poll in flight) and returns the fresh view. */
  refresh(): Promise<ClusterView> {
    this.inFlight ??= this.pollOnce().finally(() => { this.inFlight = null; });
    return this.inFlight;
  }

  private async pollOnce(): Promise<ClusterView> {
    const targets = this.opts.targets();
    const cluster = this.opts.cluster;
    const timeoutMs = this.opts.timeoutMs ?? 300;
    const nodes = await Promise.all(targets.map(async (t): Promise<NodeView> => {
      const process = cluster && t.id !== undefined && cluster.nodeIds.includes(t.id) ? cluster.state(t.id) : undefined;
      let poll: NodePoll;
      if (process !== undefined && process !== 'running' && process !== 'paused') {
        poll = { kind: 'skipped', reason: process };
      } else {
        try {
          const status = await fetchStatus(t.addr, { timeoutMs });
          this.learnedIds.set(formatAddr(t.addr), status.nodeId);
          poll = { kind: 'status', status };
        } catch (e) {
          poll = { kind: 'error', message: (e as Error).message };
        }
      }
      const id = t.id ?? this.learnedIds.get(formatAddr(t.addr));
      // The process may have changed while we waited for its answer.
      const after = cluster && id !== undefined && cluster.nodeIds.includes(id) ? cluster.state(id) : process;
      return { id, addr: t.addr, poll, process: after };
    }));
    const polls = new Map<number, NodePoll>();
    for (const n of nodes) if (n.id !== undefined && n.poll) polls.set(n.id, n.poll);
    // With --nodes naming only some nodes, a majority of those is not a majority of the cluster:
    // the nodes' peer lists tell its size.
    const peersSeen = Math.max(0, ...nodes.map((n) => (n.poll?.kind === 'status' ? n.poll.status.peers.length + 1 : 0)));
    const size = cluster ? cluster.nodeIds.length : Math.max(targets.length, peersSeen);
    const leader = findLeader(polls, size);
    this.view = { time: Date.now(), nodes, leader, polls: this.view.polls + 1 };
    const changed = leader
      ? !(this.reported && ballotEq(this.reported.ballot, leader.ballot) && this.reported.leaderId === leader.leaderId)
      : this.reported !== null;
    if (leader) this.lastSeenLeader = leader;
    if (changed) {
      this.reported = leader ?? null;
      for (const fn of this.leaderListeners) fn(leader ?? null);
    }
    if (!this.stopped) for (const fn of this.listeners) fn(this.view);
    return this.view;
  }
}
