/**
 * `kvsh --start`: the local cluster of a config file, with a relay on every peer link (so
 * `partition` works), started and led before the shell opens. kvsh owns it: leaving kvsh, a
 * signal or a crash stops it (stopAllOnExit; on kill -9 the nodes see their stdin close).
 */
import { createCluster, stopAllOnExit, type LocalCluster } from '../cluster/index.js';
import { formatBallot } from '../replica/ballot.js';
import type { NodeTarget } from './status-poller.js';

export interface LaunchOptions {
  readonly configFile: string;
  readonly dataDir?: string | undefined;
  readonly fresh?: boolean | undefined;
  readonly fsync?: boolean | undefined;
  readonly leaderTimeoutMs?: number | undefined;
  /** Progress lines ("starting 5 nodes…"). */
  readonly say: (line: string) => void;
}

export interface Launched {
  readonly cluster: LocalCluster;
  readonly targets: NodeTarget[];
  /** Removes the process handlers (call after stopping the cluster yourself). */
  readonly removeExitHandlers: () => void;
}

export async function launchLocalCluster(o: LaunchOptions): Promise<Launched> {
  const cluster = createCluster({
    configFile: o.configFile,
    relays: true,
    fresh: o.fresh ?? false,
    ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
    ...(o.fsync === undefined ? {} : { fsync: o.fsync }),
  });
  const removeExitHandlers = stopAllOnExit(cluster, {
    onSignal: (sig) => o.say(`${sig}: stopping the cluster…`),
    exitCode: 130,
  });
  const ids = cluster.nodeIds;
  o.say(`starting nodes ${ids.join(', ')} of ${cluster.configFile} (data in ${cluster.dataDir}${o.fresh ? ', fresh' : ''})…`);
  try {
    await cluster.startAll();
    const leader = await cluster.waitForLeader({ timeoutMs: o.leaderTimeoutMs ?? 30_000 });
    o.say(`leader: node ${leader.leaderId} (ballot ${formatBallot(leader.ballot)})`);
  } catch (e) {
    await cluster.stopAll().catch(() => {});
    removeExitHandlers();
    throw e;
  }
  return { cluster, targets: ids.map((id) => ({ id, addr: cluster.addr(id) })), removeExitHandlers };
}
