/**
 * One LinkRelay per ordered pair of nodes, and the `dialVia` routes that make the nodes use them:
 * node i reaches node j's peer port through relay(i→j).
 *
 * Every ordered pair, not only "lower id dials higher": a node that has not booted checks in
 * with the bootstrap server over its peer port, which may be a dial from a higher id to a lower
 * one — and a partition must cut that too.
 *
 * The relays live in the manager process, independent of the nodes: a node that is killed and
 * restarted dials the same relays, and the fault state applies to it at once.
 */
import type { ClusterConfig } from '../node/config.js';
import { LinkRelay } from './link-relay.js';
import type { NetworkFaults } from './network-faults.js';

export class ClusterRelays {
  private constructor(private readonly relays: ReadonlyMap<string, LinkRelay>) {}

  /** Listens on one fresh loopback port per ordered pair of the config's nodes. */
  /** `listenPort`: the port each relay asks for; 0 (the OS picks) except in tests. */
  static async start(config: ClusterConfig, faults: NetworkFaults, listenPort: () => number = () => 0): Promise<ClusterRelays> {
    const started = new Map<string, LinkRelay>();
    // The nodes' own ports may be free right now (nodes not started yet, or killed): a relay
    // must not take one, or that node cannot listen (EADDRINUSE; seen in CI).
    const reserved = new Set(config.nodes.flatMap((n) => [n.peerPort, n.clientPort]));
    const rejected: LinkRelay[] = [];
    try {
      for (const from of config.nodes) {
        for (const to of config.nodes) {
          if (from.id === to.id) continue;
          // Port 0: the OS picks a free port while we hold it, so no other process can take it
          // between choosing and listening (which a list of "free" ports could not promise).
          for (;;) {
            const relay = await LinkRelay.start({
              from: from.id, to: to.id, target: { host: to.host, port: to.peerPort }, faults, port: listenPort(),
            });
            if (!reserved.has(relay.port)) {
              started.set(key(from.id, to.id), relay);
              break;
            }
            // Kept open until all relays are placed, so the OS does not hand the port out again.
            rejected.push(relay);
            if (rejected.length > 100) throw new Error('relays: the OS keeps handing out ports the cluster config uses');
          }
        }
      }
    } catch (e) {
      await Promise.all([...started.values()].map((r) => r.close()));
      throw e;
    } finally {
      await Promise.all(rejected.map((r) => r.close()));
    }
    return new ClusterRelays(started);
  }

  /** The relay node `from` dials to reach node `to`. */
  relay(from: number, to: number): LinkRelay {
    const r = this.relays.get(key(from, to));
    if (!r) throw new Error(`no relay for ${from}→${to}`);
    return r;
  }

  /** The config the nodes are given: every node routes every peer through its relay. */
  routedConfig(config: ClusterConfig): ClusterConfig {
    return {
      ...config,
      nodes: config.nodes.map((n) => ({
        ...n,
        dialVia: Object.fromEntries(config.nodes.filter((p) => p.id !== n.id).map((p) => [String(p.id), this.relay(n.id, p.id).address])),
      })),
    };
  }

  /** Stops listening and destroys every relayed connection; the work is done before this returns. */
  close(): Promise<void> {
    return Promise.all([...this.relays.values()].map((r) => r.close())).then(() => {});
  }
}

function key(from: number, to: number): string {
  return `${from}>${to}`;
}
