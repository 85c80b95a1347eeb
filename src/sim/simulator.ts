/**
 * The deterministic simulator's control surface: the faults the nemesis injects, and the
 * scripting API of scenario tests — crash, restart, pause, partitions of every shape, slow
 * disks — each carried out on the world and recorded in the trace and the history.
 */
import { compareBallots, type NodeId } from '../replica/ballot.js';
import type { ReplicaStatus } from '../replica/types.js';
import type { SimDisk } from './disk.js';
import type { TimeUs } from './event-queue.js';
import { Nemesis, type NemesisTarget } from './nemesis.js';
import type { Link } from './network.js';
import type { DiskPayload } from './node-driver.js';
import type { ReplicaLike } from './replica-like.js';
import { formatTime } from './trace.js';
import { MS, SimWorld } from './world.js';

export type { SimOutcome, SimStats, StepObserver } from './world.js';

export class Simulation extends SimWorld implements NemesisTarget {
  protected override startFaults(): void {
    const o = this.options;
    new Nemesis(this, this.rng, o.faults, o.faultStartUs ?? 100 * MS, this.faultEndUs).start();
  }

  isUp(node: NodeId): boolean {
    return this.node(node).up;
  }

  isPaused(node: NodeId): boolean {
    return this.node(node).paused;
  }

  isVoter(node: NodeId): boolean {
    return this.node(node).replica?.status().voter === true;
  }

  wipe(node: NodeId): void {
    const n = this.node(node);
    this.crashNode(n, 'kill');
    n.loseDisk();
    this.history.nemesis('wipe', { node });
    if (this.traceLines) this.trace(`node ${node} lost its data directory (new incarnation ${n.config.incarnation})`);
  }

  setReplace(node: NodeId): void {
    this.node(node).setReplace();
  }

  hasPendingWrites(node: NodeId): boolean {
    return this.node(node).disk.pendingCount > 0;
  }

  replica(node: NodeId): ReplicaLike | null {
    return this.node(node).replica;
  }

  status(node: NodeId): ReplicaStatus | null {
    return this.node(node).replica?.status() ?? null;
  }

  disk(node: NodeId): SimDisk<DiskPayload> {
    return this.node(node).disk;
  }

  crash(node: NodeId): void {
    this.crashNode(this.node(node), 'kill');
  }

  restart(node: NodeId): void {
    this.restartNode(this.node(node));
  }

  pause(node: NodeId): void {
    const n = this.node(node);
    if (!n.up || n.paused) return;
    n.pause();
    this.history.nemesis('pause', { node });
    if (this.traceLines) this.trace(`node ${node} paused`);
  }

  resume(node: NodeId): void {
    const n = this.node(node);
    if (!n.paused) return;
    this.history.nemesis('resume', { node });
    if (this.traceLines) this.trace(`node ${node} resumed (${n.waiting.inputs} inputs, ${n.waiting.outputs} outputs waiting)`);
    for (const input of n.resume()) {
      if (!n.up || n.paused) break;
      this.step(n, input);
    }
  }

  partition(groups: NodeId[][]): void {
    this.network.partition(groups);
    this.history.nemesis('partition', { groups });
    if (this.traceLines) this.trace(`partition ${groups.map(g => `{${g.join(',')}}`).join(' | ')}`);
  }

  oneWay(from: NodeId[], to: NodeId[]): void {
    this.network.oneWay(from, to);
    this.history.nemesis('partition-one-way', { groups: [from, to] });
    if (this.traceLines) this.trace(`one-way partition {${from.join(',')}} ↛ {${to.join(',')}}`);
  }

  cutLinks(links: Link[]): void {
    const cut = this.network.cutLinks(links);
    if (cut.length === 0) return;
    this.history.nemesis('partition-partial', { groups: cut.map(([a, b]) => [a, b]) });
    if (this.traceLines) this.trace(`links cut: ${cut.map(([a, b]) => `${a}→${b}`).join(' ')}`);
  }

  /** Cuts the directed link from→to (scenario tests build exact topologies with it). */
  cut(from: NodeId, to: NodeId): void {
    this.cutLinks([[from, to]]);
  }

  /** Cuts every link of `node` except those to and from `keep` (e.g. "leader C keeps only its link to A"). */
  isolate(node: NodeId, keep: readonly NodeId[] = []): void {
    const cut = this.network.isolate(node, keep);
    if (cut.length === 0) return;
    this.history.nemesis('partition-partial', { groups: cut.map(([a, b]) => [a, b]) });
    if (this.traceLines) this.trace(`node ${node} isolated${keep.length > 0 ? ` except from ${keep.join(',')}` : ''}`);
  }

  /** The node that leads the highest ballot in accept phase, if it is up and still leads it. */
  leader(): NodeId | null {
    for (const n of this.byId.values()) {
      const st = n.replica?.status();
      if (st && st.role === 'leader' && st.phase === 'accept' && compareBallots(st.leaderBallot, this.leaderBallot) === 0) return n.id;
    }
    return null;
  }

  /** Restores the directed link from→to. */
  restore(from: NodeId, to: NodeId): void {
    if (!this.network.restore(from, to)) return;
    this.history.nemesis('heal', { nodes: [from, to] });
    if (this.traceLines) this.trace(`link restored: ${from}→${to}`);
    this.reconnect([[from, to]]);
  }

  heal(): void {
    const healed = this.network.healAll();
    if (healed.length === 0) return;
    this.history.nemesis('heal');
    if (this.traceLines) this.trace(`heal (${healed.length} links restored)`);
    this.reconnect(healed);
  }

  slowDisk(node: NodeId, untilUs: TimeUs): void {
    this.node(node).disk.slowUntil = untilUs;
    if (untilUs <= this.time) return;
    this.history.nemesis('slow-disk', { node });
    if (this.traceLines) this.trace(`node ${node} disk slow until ${formatTime(untilUs).trim()} ms`);
  }
}
