/**
 * The simulated network between replicas: one directed link per ordered pair of nodes.
 *
 * Every message gets its own random delay in [delayMin, delayMax], so messages on one link
 * overtake each other (reordering needs no extra machinery). A message may be lost or
 * duplicated with the current probabilities, or held up far longer than usual. A link is up or down: a message sent on a down
 * link is dropped at once; one in flight when its link goes down is dropped on arrival with
 * probability `inFlightDrop` (a message already on the wire may or may not make it), which
 * the link's epoch — bumped at every cut — detects.
 *
 * Partitions are sets of down links; the helpers (groups, one-way, partial) only choose which.
 */
import type { NodeId } from '../replica/ballot.js';
import type { TimeUs } from './event-queue.js';
import type { Rng } from './rng.js';

export interface NetworkOptions {
  /** Per-message delay bounds, µs. */
  readonly delayMinUs: number;
  readonly delayMaxUs: number;
  /** Probability that a message in flight when its link was cut is dropped on arrival. */
  readonly inFlightDrop: number;
}

export const DEFAULT_NETWORK: NetworkOptions = { delayMinUs: 200, delayMaxUs: 3000, inFlightDrop: 0.5 };

/** What became of one message handed to the network. */
export type Transmission =
  | { readonly kind: 'sent'; readonly arrivals: readonly TimeUs[]; readonly epoch: number }
  | { readonly kind: 'dropped'; readonly why: 'link down' | 'loss' };

export type Link = readonly [from: NodeId, to: NodeId];

export class Network {
  private readonly index = new Map<NodeId, number>();
  private readonly down: Uint8Array;
  private readonly epochs: Uint32Array;
  private downCount = 0;
  /** Current probabilities, changed by the nemesis. */
  loss = 0;
  dup = 0;
  /** Probability that a message is held up for a long time (a congested or flapping path). */
  longDelay = 0;
  longDelayRange: readonly [number, number] = [20_000, 300_000];

  constructor(readonly nodes: readonly NodeId[], private readonly rng: Rng, readonly options: NetworkOptions = DEFAULT_NETWORK) {
    nodes.forEach((id, i) => {
      if (this.index.has(id)) throw new Error(`network: node ${id} listed twice`);
      this.index.set(id, i);
    });
    this.down = new Uint8Array(nodes.length * nodes.length);
    this.epochs = new Uint32Array(nodes.length * nodes.length);
  }

  has(node: NodeId): boolean {
    return this.index.has(node);
  }

  isUp(from: NodeId, to: NodeId): boolean {
    return this.down[this.slot(from, to)] === 0;
  }

  /** Links currently down, in a fixed order. */
  downLinks(): Link[] {
    const out: Link[] = [];
    if (this.downCount === 0) return out;
    for (const a of this.nodes) for (const b of this.nodes) if (a !== b && !this.isUp(a, b)) out.push([a, b]);
    return out;
  }

  /** Takes the directed link from→to down. Returns whether it was up. */
  cut(from: NodeId, to: NodeId): boolean {
    const s = this.slot(from, to);
    if (this.down[s] === 1 || from === to) return false;
    this.down[s] = 1;
    this.epochs[s]!++;
    this.downCount++;
    return true;
  }

  /** Brings the directed link from→to back up. Returns whether it was down. */
  restore(from: NodeId, to: NodeId): boolean {
    const s = this.slot(from, to);
    if (this.down[s] === 0) return false;
    this.down[s] = 0;
    this.downCount--;
    return true;
  }

  /** Cuts both directions between nodes of different groups; nodes in no group keep their links. */
  partition(groups: readonly (readonly NodeId[])[]): Link[] {
    const cut: Link[] = [];
    for (let g = 0; g < groups.length; g++) {
      for (let h = 0; h < groups.length; h++) {
        if (g === h) continue;
        for (const a of groups[g]!) for (const b of groups[h]!) if (this.cut(a, b)) cut.push([a, b]);
      }
    }
    return cut;
  }

  /** Cuts every link from a node of `from` to a node of `to`; the reverse direction stays up. */
  oneWay(from: readonly NodeId[], to: readonly NodeId[]): Link[] {
    const cut: Link[] = [];
    for (const a of from) for (const b of to) if (this.cut(a, b)) cut.push([a, b]);
    return cut;
  }

  /** Cuts exactly the given directed links. */
  cutLinks(links: readonly Link[]): Link[] {
    return links.filter(([a, b]) => this.cut(a, b));
  }

  /** Cuts every link of `node` except those to and from `keep` (e.g. "leader C keeps only A"). */
  isolate(node: NodeId, keep: readonly NodeId[] = []): Link[] {
    const cut: Link[] = [];
    for (const other of this.nodes) {
      if (other === node || keep.includes(other)) continue;
      if (this.cut(node, other)) cut.push([node, other]);
      if (this.cut(other, node)) cut.push([other, node]);
    }
    return cut;
  }

  /** Brings every link up; returns those that were down. */
  healAll(): Link[] {
    const healed = this.downLinks();
    for (const [a, b] of healed) this.restore(a, b);
    return healed;
  }

  /** Hands one message to the link from→to at time `now`. */
  transmit(from: NodeId, to: NodeId, now: TimeUs): Transmission {
    const s = this.slot(from, to);
    if (this.down[s] === 1) return { kind: 'dropped', why: 'link down' };
    if (this.loss > 0 && this.rng.chance(this.loss)) return { kind: 'dropped', why: 'loss' };
    const first = now + this.linkDelay();
    const arrivals = this.dup > 0 && this.rng.chance(this.dup) ? [first, now + this.linkDelay()] : [first];
    return { kind: 'sent', arrivals, epoch: this.epochs[s]! };
  }

  /** Whether a message sent with link epoch `epoch` survives to be delivered now. */
  arrives(from: NodeId, to: NodeId, epoch: number): boolean {
    const s = this.slot(from, to);
    if (this.down[s] === 1) return false;
    if (this.epochs[s] === epoch) return true;
    return !this.rng.chance(this.options.inFlightDrop);
  }

  /** A delay drawn from the link delay range, for traffic outside the replica links (clients). */
  delay(): TimeUs {
    const { delayMinUs: lo, delayMaxUs: hi } = this.options;
    return hi <= lo ? lo : this.rng.int(lo, hi);
  }

  private linkDelay(): TimeUs {
    if (this.longDelay > 0 && this.rng.chance(this.longDelay)) return this.rng.int(this.longDelayRange[0], this.longDelayRange[1]);
    return this.delay();
  }

  private slot(from: NodeId, to: NodeId): number {
    const a = this.index.get(from);
    const b = this.index.get(to);
    if (a === undefined || b === undefined) throw new Error(`network: no link ${from}→${to}`);
    return a * this.nodes.length + b;
  }
}
