/**
 * The fault state of a local cluster's network: for every directed link between two nodes,
 * whether its frames pass, are dropped (cut) or are delayed. Pure state: the relays
 * (link-relay.ts) read it for every frame and subscribe to its changes.
 *
 * Links are directed because real faults are: a one-way cut (`cutOneWay`) lets a node hear
 * its peers while nobody hears it, which is a different drill from a clean partition.
 *
 * Every cut operation adds to the cuts already in place; `heal()` removes every cut and delay
 * at once. To move a partition, heal and then partition again.
 */
import type { LinkFault, LinkFaultSource } from './link-relay.js';

interface LinkState {
  cut: boolean;
  /** 0: no delay. */
  delayMs: number;
}

/** Longest delay accepted: longer ones are a typo, and would hold frames in the manager's memory. */
export const MAX_DELAY_MS = 600_000;

export class NetworkFaults implements LinkFaultSource {
  private readonly ids: readonly number[];
  /** Only links with a fault are present; key `${from}>${to}`. */
  private readonly links = new Map<string, LinkState>();
  private readonly listeners = new Set<() => void>();

  constructor(nodeIds: readonly number[]) {
    this.ids = [...new Set(nodeIds)].sort((a, b) => a - b);
  }

  get nodeIds(): readonly number[] {
    return this.ids;
  }

  /** What a frame sent from `from` to `to` meets now. */
  linkFault(from: number, to: number): LinkFault {
    const l = this.links.get(key(from, to));
    if (!l) return PASS;
    if (l.cut) return CUT;
    return l.delayMs > 0 ? { kind: 'delay', ms: l.delayMs } : PASS;
  }

  /** Cuts the directed link `from → to` (the other direction is untouched). */
  cut(from: number, to: number): void {
    this.check([from, to]);
    if (from === to) throw new Error(`cut: a node has no link to itself (${from} → ${to})`);
    this.state(from, to).cut = true;
    this.changed();
  }

  /**
   * Cuts both directions of every link between nodes of different groups. Nodes named in no
   * group keep all their links: `partition([[1], [3]])` cuts only 1 ↔ 3, and node 2 still
   * hears both (a partial partition).
   */
  partition(groups: readonly (readonly number[])[]): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, gi) => {
      this.check(g);
      for (const id of g) {
        const other = groupOf.get(id);
        if (other !== undefined && other !== gi) throw new Error(`partition: node ${id} is in two groups (${other + 1} and ${gi + 1})`);
        groupOf.set(id, gi);
      }
    });
    for (const [a, ga] of groupOf) {
      for (const [b, gb] of groupOf) if (ga !== gb) this.state(a, b).cut = true;
    }
    this.changed();
  }

  /** Cuts every link from a node of `fromNodes` to a node of `toNodes`; the replies still pass. */
  cutOneWay(fromNodes: readonly number[], toNodes: readonly number[]): void {
    this.check(fromNodes);
    this.check(toNodes);
    for (const a of fromNodes) for (const b of toNodes) if (a !== b) this.state(a, b).cut = true;
    this.changed();
  }

  /**
   * Delays every frame from a node of `fromNodes` to a node of `toNodes` by `ms` (replacing an
   * earlier delay of those links; 0 removes it). `bothWays` also delays the replies.
   * Frames keep their order within a connection.
   */
  delay(fromNodes: readonly number[], toNodes: readonly number[], ms: number, bothWays = false): void {
    this.check(fromNodes);
    this.check(toNodes);
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) throw new RangeError(`delay: ${ms} ms is not a whole number in 0–${MAX_DELAY_MS}`);
    for (const a of fromNodes) {
      for (const b of toNodes) {
        if (a === b) continue;
        this.state(a, b).delayMs = ms;
        if (bothWays) this.state(b, a).delayMs = ms;
      }
    }
    this.prune();
    this.changed();
  }

  /** Every link passes again, without delay. Connections that lost frames are reset by their relays. */
  heal(): void {
    this.links.clear();
    this.changed();
  }

  /** The faulty directed links, in order: e.g. "1→3 cut, 3→1 cut, 2→4 +200ms". */
  describe(): string {
    const parts: string[] = [];
    for (const a of this.ids) {
      for (const b of this.ids) {
        const f = this.linkFault(a, b);
        if (f.kind === 'cut') parts.push(`${a}→${b} cut`);
        else if (f.kind === 'delay') parts.push(`${a}→${b} +${f.ms}ms`);
      }
    }
    return parts.length ? parts.join(', ') : 'no faults';
  }

  /** Calls `listener` after every change (synchronously); returns its remover. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private state(from: number, to: number): LinkState {
    const k = key(from, to);
    let l = this.links.get(k);
    if (!l) this.links.set(k, (l = { cut: false, delayMs: 0 }));
    return l;
  }

  private prune(): void {
    for (const [k, l] of this.links) if (!l.cut && l.delayMs === 0) this.links.delete(k);
  }

  private check(ids: readonly number[]): void {
    for (const id of ids) {
      if (!this.ids.includes(id)) throw new Error(`node ${id} is not in the cluster (ids: ${this.ids.join(', ')})`);
    }
  }

  private changed(): void {
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        // One relay's bug must not stop the others from hearing of the change; it still surfaces.
        queueMicrotask(() => { throw err; });
      }
    }
  }
}

const PASS: LinkFault = { kind: 'pass' };
const CUT: LinkFault = { kind: 'cut' };

function key(from: number, to: number): string {
  return `${from}>${to}`;
}
