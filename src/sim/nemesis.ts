/**
 * The nemesis: decides which faults happen when, during the fault window of a run. It only
 * chooses; the simulator carries faults out (and records them in the trace and the history).
 *
 * One network fault is active at a time (each new one heals the previous), so the topology
 * always has a simple description. At the end of the window everything heals — links, loss,
 * duplication, slow disks, paused and crashed nodes — so the run ends with a quiet period in
 * which pending work can finish.
 */
import { majority, type NodeId } from '../replica/ballot.js';
import type { TimeUs } from './event-queue.js';
import type { Link, Network } from './network.js';
import type { Fault } from './options.js';
import { shuffled, type Rng } from './rng.js';

/** What the nemesis can do to a running simulation. */
export interface NemesisTarget {
  readonly nodes: readonly NodeId[];
  readonly network: Network;
  now(): TimeUs;
  at(time: TimeUs, fn: () => void): void;
  isUp(node: NodeId): boolean;
  isPaused(node: NodeId): boolean;
  /** Whether the node's disk has batches not yet durable. */
  hasPendingWrites(node: NodeId): boolean;
  crash(node: NodeId): void;
  restart(node: NodeId): void;
  /** Crash `node` and lose its whole disk: it restarts empty, with a new incarnation. */
  wipe(node: NodeId): void;
  /** From now on `node` starts with `replace` (the operator's `kvnode --replace`). */
  setReplace(node: NodeId): void;
  /** Whether the node is up and a voter in its own view of the membership. */
  isVoter(node: NodeId): boolean;
  pause(node: NodeId): void;
  resume(node: NodeId): void;
  partition(groups: NodeId[][]): void;
  oneWay(from: NodeId[], to: NodeId[]): void;
  cutLinks(links: Link[]): void;
  heal(): void;
  slowDisk(node: NodeId, untilUs: TimeUs): void;
}

const MS = 1000;

/** Faults the nemesis injects as discrete events (loss, dup and delay are rates over the window). */
const EVENT_FAULTS: readonly Fault[] = ['crash', 'partition', 'one-way', 'partial', 'slow-disk', 'pause', 'amnesia'];

export class Nemesis {
  private readonly events: Fault[];
  /** Only the heal of the latest network fault counts. */
  private networkToken = 0;

  constructor(
    private readonly target: NemesisTarget,
    private readonly rng: Rng,
    private readonly faults: readonly Fault[],
    private readonly startUs: TimeUs,
    private readonly endUs: TimeUs,
  ) {
    this.events = EVENT_FAULTS.filter(f => faults.includes(f));
  }

  start(): void {
    if (this.faults.length === 0 || this.endUs <= this.startUs) return;
    const t = this.target;
    t.at(this.startUs, () => {
      if (this.faults.includes('loss')) t.network.loss = 0.01 + this.rng.next() * 0.11;
      if (this.faults.includes('dup')) t.network.dup = 0.01 + this.rng.next() * 0.07;
      if (this.faults.includes('delay')) t.network.longDelay = 0.005 + this.rng.next() * 0.045;
    });
    if (this.events.length > 0) t.at(this.startUs + this.gap(), () => this.act());
    t.at(this.endUs, () => this.calm());
  }

  private gap(): TimeUs {
    return this.rng.int(40 * MS, 250 * MS);
  }

  private act(): void {
    const t = this.target;
    if (t.now() >= this.endUs) return;
    switch (this.rng.pick(this.events)) {
      case 'crash': this.crash(); break;
      case 'amnesia': this.amnesia(); break;
      case 'partition': this.networkFault(() => t.partition(this.groups())); break;
      case 'one-way': this.networkFault(() => {
        const [a, b] = this.split(2);
        t.oneWay(a!, b!);
      }); break;
      case 'partial': this.networkFault(() => t.cutLinks(this.someLinks())); break;
      case 'slow-disk': {
        // Sometimes every disk at once, and then sometimes a power failure while they stall:
        // the correlated failure that loses writes acknowledged before they were durable.
        const until = t.now() + this.rng.int(50 * MS, 400 * MS);
        const all = this.rng.chance(0.4);
        for (const node of all ? t.nodes : [this.rng.pick(t.nodes)]) t.slowDisk(node, until);
        if (all && this.faults.includes('crash') && this.rng.chance(0.5)) {
          t.at(Math.min(until, t.now() + this.rng.int(5 * MS, 100 * MS)), () => this.crash('pending'));
        }
        break;
      }
      case 'pause': {
        const up = t.nodes.filter(n => t.isUp(n) && !t.isPaused(n));
        if (up.length === 0) break;
        const node = this.rng.pick(up);
        t.pause(node);
        t.at(Math.min(this.endUs, t.now() + this.rng.int(10 * MS, 200 * MS)), () => { if (t.isPaused(node)) t.resume(node); });
        break;
      }
      default: break;
    }
    t.at(t.now() + this.gap(), () => this.act());
  }

  /**
   * Mostly one node. Sometimes a majority, every node (a power failure), or every node with
   * writes still pending: losing a write that was acknowledged before it was durable takes
   * the crash of every node that held it, before its disk caught up.
   */
  private crash(kind?: 'pending'): void {
    const t = this.target;
    if (t.now() >= this.endUs) return;
    const up = t.nodes.filter(n => t.isUp(n));
    if (up.length === 0) return;
    const down = t.nodes.length - up.length;
    const r = kind === 'pending' ? 0.6 : this.rng.next();
    let victims: NodeId[];
    if (r < 0.5) {
      if (down + 1 > t.nodes.length - majority(t.nodes.length)) return;
      victims = [this.rng.pick(up)];
    } else if (r < 0.7) {
      victims = up.filter(n => t.hasPendingWrites(n));
      if (victims.length === 0) victims = [this.rng.pick(up)];
    } else if (r < 0.85) {
      victims = shuffled(this.rng, up).slice(0, Math.min(up.length, majority(t.nodes.length)));
    } else {
      victims = up;
    }
    for (const node of victims) {
      t.crash(node);
      const back = Math.min(this.endUs, t.now() + this.rng.int(10 * MS, 300 * MS));
      t.at(back, () => { if (!t.isUp(node)) t.restart(node); });
    }
  }

  /**
   * One node loses its data directory. Only when every node is up and a voter: a second loss
   * before the first node is a voter again can leave fewer intact voters than a quorum, and then
   * the cluster rightly stops for good — a real outcome, but not what this fault is about. The
   * node comes back empty; the operator restarts it with `replace` at once, or only after a
   * while (meanwhile it follows the log and must not vote).
   */
  private amnesia(): void {
    const t = this.target;
    if (t.now() >= this.endUs) return;
    if (!t.nodes.every(n => t.isUp(n) && t.isVoter(n))) return;
    const node = this.rng.pick(t.nodes);
    t.wipe(node);
    const back = Math.min(this.endUs, t.now() + this.rng.int(10 * MS, 300 * MS));
    const replaceAtOnce = this.rng.chance(0.5);
    if (replaceAtOnce) t.setReplace(node);
    t.at(back, () => { if (!t.isUp(node)) t.restart(node); });
    if (!replaceAtOnce) {
      t.at(Math.min(this.endUs, back + this.rng.int(100 * MS, 600 * MS)), () => {
        t.setReplace(node);
        if (t.isUp(node)) t.crash(node);
        t.restart(node);
      });
    }
  }

  private networkFault(apply: () => void): void {
    const t = this.target;
    t.heal();
    apply();
    const token = ++this.networkToken;
    t.at(Math.min(this.endUs, t.now() + this.rng.int(50 * MS, 500 * MS)), () => {
      if (token === this.networkToken) t.heal();
    });
  }

  /** Two groups, or three for larger clusters. */
  private groups(): NodeId[][] {
    return this.split(this.target.nodes.length >= 5 && this.rng.chance(0.3) ? 3 : 2);
  }

  /** A random split into `k` non-empty groups. */
  private split(k: number): NodeId[][] {
    const order = shuffled(this.rng, this.target.nodes);
    const cuts = shuffled(this.rng, Array.from({ length: order.length - 1 }, (_, i) => i + 1)).slice(0, k - 1).sort((a, b) => a - b);
    const groups: NodeId[][] = [];
    let from = 0;
    for (const c of [...cuts, order.length]) {
      groups.push(order.slice(from, c));
      from = c;
    }
    return groups;
  }

  /** Some links: each pair of nodes loses both directions, one, or neither. */
  private someLinks(): Link[] {
    const nodes = this.target.nodes;
    const links: Link[] = [];
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i]!;
        const b = nodes[j]!;
        const r = this.rng.next();
        if (r < 0.2) links.push([a, b], [b, a]);
        else if (r < 0.3) links.push([a, b]);
        else if (r < 0.4) links.push([b, a]);
      }
    }
    if (links.length === 0) {
      const [a, b] = shuffled(this.rng, nodes);
      links.push([a!, b!], [b!, a!]);
    }
    return links;
  }

  /** The end of the fault window: everything back to normal. */
  private calm(): void {
    const t = this.target;
    this.networkToken++;
    t.heal();
    t.network.loss = 0;
    t.network.dup = 0;
    t.network.longDelay = 0;
    for (const node of t.nodes) {
      if (!t.isUp(node)) t.restart(node);
      else if (t.isPaused(node)) t.resume(node);
      t.slowDisk(node, 0);
    }
  }
}
