/**
 * The nodes a client talks to: one lazily opened connection per node (replaced when it closes)
 * and the round-robin order in which operations pick their entry node and their retries.
 */
import { formatAddr, type NodeAddr } from './addr.js';
import { Connection } from './connection.js';

export class NodeSet {
  private readonly connections: (Connection | null)[];
  private cursor = 0;

  /** `prefer`: index of the node every operation tries first (default: round robin). */
  constructor(readonly addrs: readonly NodeAddr[], private readonly prefer?: number) {
    if (addrs.length === 0) throw new Error('a client needs at least one node address');
    if (prefer !== undefined && (prefer < 0 || prefer >= addrs.length)) throw new RangeError(`prefer index ${prefer} out of range`);
    this.connections = addrs.map(() => null);
  }

  /** The node an operation's first attempt goes to. */
  first(): number {
    if (this.prefer !== undefined) return this.prefer;
    const i = this.cursor;
    this.cursor = (this.cursor + 1) % this.addrs.length;
    return i;
  }

  /** The node a retry goes to after trying node `i`. */
  after(i: number): number {
    return (i + 1) % this.addrs.length;
  }

  /** The open connection to node `i`, opening a new one if there is none or it closed. */
  connection(i: number): Connection {
    const c = this.connections[i];
    if (c && !c.closed) return c;
    const fresh = new Connection(this.addrs[i]!);
    this.connections[i] = fresh;
    return fresh;
  }

  name(i: number): string {
    return formatAddr(this.addrs[i]!);
  }

  /** Index of `addr` in the set, or -1. */
  indexOf(addr: NodeAddr): number {
    return this.addrs.findIndex(a => a.host === addr.host && a.port === addr.port);
  }

  closeAll(): void {
    for (const c of this.connections) c?.close();
    this.connections.fill(null);
  }
}
