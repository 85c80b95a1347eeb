/**
 * What the nodes' own log lines say about a benchmark window: how many new leader ballots were
 * elected in it (`leader-change` records), and how long each node's event loop stalled
 * (`event-loop-stall` records, src/node/event-loop-stall.ts). Fed the cluster manager's output
 * events; asked afterwards about windows in epoch milliseconds.
 *
 * A leader ballot counts once, at the first line that names it on any node: every node logs
 * its own view of each change, and a restarted node logs the ballot it finds, which is no
 * change at all.
 */
import type { ClusterEvent } from '../cluster/events.js';

export interface StallFigures {
  /** Stalls logged in the window (each at or above the node's threshold). */
  readonly count: number;
  /** The longest, in ms; 0 when none was logged. */
  readonly maxMs: number;
}

export class NodeLogWatch {
  /** Ballot ("n.priority.pid") → when it was first named, epoch ms. */
  private readonly firstSeen = new Map<string, number>();
  private readonly stalls: { node: number; at: number; ms: number }[] = [];
  /** Lines that looked like these records but did not parse: shown, never silently dropped. */
  readonly malformed: string[] = [];

  /** A ClusterListener: pass to `createCluster({ onEvent })` or `cluster.subscribe`. */
  readonly listener = (e: ClusterEvent): void => {
    if (e.type !== 'output' || e.record === undefined) return;
    const r = e.record;
    if (r.event !== 'leader-change' && r.event !== 'event-loop-stall') return;
    const logged = typeof r['time'] === 'string' ? Date.parse(r['time']) : NaN;
    const at = Number.isFinite(logged) ? logged : e.time;
    if (r.event === 'leader-change') {
      const ballot = r['ballot'];
      if (typeof ballot !== 'string') {
        this.malformed.push(e.line);
        return;
      }
      if (!this.firstSeen.has(ballot)) this.firstSeen.set(ballot, at);
      return;
    }
    const ms = r['ms'];
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      this.malformed.push(e.line);
      return;
    }
    this.stalls.push({ node: e.nodeId, at, ms });
  };

  /** Leader ballots first named in [fromMs, toMs). */
  newBallots(fromMs: number, toMs: number): string[] {
    return [...this.firstSeen].filter(([, at]) => at >= fromMs && at < toMs).map(([b]) => b);
  }

  /** Every ballot named so far. */
  get ballotsSeen(): number {
    return this.firstSeen.size;
  }

  /**
   * Stalls of `node` (every node when omitted) whose end was logged in [fromMs, toMs). A stall
   * is logged when it ends, so one that straddles the window's start counts in full.
   */
  stallsIn(fromMs: number, toMs: number, node?: number): StallFigures {
    let count = 0;
    let maxMs = 0;
    for (const s of this.stalls) {
      if (s.at < fromMs || s.at >= toMs || (node !== undefined && s.node !== node)) continue;
      count++;
      maxMs = Math.max(maxMs, s.ms);
    }
    return { count, maxMs };
  }

  /** Per node: the stalls in the window. */
  stallsByNode(fromMs: number, toMs: number, nodes: readonly number[]): Record<string, StallFigures> {
    return Object.fromEntries(nodes.map((id) => [String(id), this.stallsIn(fromMs, toMs, id)]));
  }
}
