/**
 * Single-node restart time: how long one node of a running cluster takes from being started
 * again until it serves.
 *
 *   stop     SIGKILL (a crash: recovery reads the log as after a power cut) or SIGTERM (clean)
 *   spawn    t = 0
 *   boot     its first log line: the process is up (Node and the TypeScript loader started)
 *   listen   the node logged "listening": it has read and replayed its write-ahead log
 *   serves   its client port answered a linearizable get of an existing key with a value.
 *            A node answers a request when it has applied the entry that carries it
 *            (client-server.ts), so this includes rejoining the cluster and catching up to
 *            the log's current end (through a snapshot if it fell behind the leader's compaction).
 *
 * "serves" is probed by a get sent every `probeEveryMs` to this node only (each probe one
 * attempt, never retried elsewhere); the first probe answered ok marks the time. Probes still
 * waiting do not delay that: the earliest answer wins, so the figure is not quantised by the
 * probe timeout.
 */
import { performance } from 'node:perf_hooks';
import { connect } from '../client/index.js';
import type { ClusterEvent } from '../cluster/events.js';
import type { LocalCluster } from '../cluster/local-cluster.js';

export interface RestartOptions {
  /** How the node is stopped first; default 'kill'. */
  readonly how?: 'kill' | 'stop';
  /** A key that exists (its get must return a value). */
  readonly probeKey: string;
  /** Default 100 ms. */
  readonly probeEveryMs?: number;
  /** Give up after this long from the spawn; default 180 s. */
  readonly timeoutMs?: number;
}

export interface RestartResult {
  readonly node: number;
  readonly how: 'kill' | 'stop';
  /** Spawn → the node's first log line (process and module loading), ms. */
  readonly bootMs: number;
  /** Spawn → "listening" (log replayed), ms. */
  readonly listenMs: number;
  /** Spawn → first linearizable get answered with a value by this node, ms. */
  readonly serveMs: number;
  readonly probes: number;
  /** The node's `recovered` log record: what it replayed (records, bytes, checkpointBytes, …). */
  readonly recovered: Record<string, unknown> | null;
}

export async function measureRestart(cluster: LocalCluster, node: number, opts: RestartOptions): Promise<RestartResult> {
  const how = opts.how ?? 'kill';
  const probeEveryMs = opts.probeEveryMs ?? 100;
  const timeoutMs = opts.timeoutMs ?? 180_000;
  if (how === 'kill') await cluster.kill(node);
  else await cluster.stop(node);

  let recovered: Record<string, unknown> | null = null;
  let firstLineAt = NaN;
  const unsubscribe = cluster.subscribe((e: ClusterEvent) => {
    if (e.type !== 'output' || e.nodeId !== node) return;
    if (Number.isNaN(firstLineAt)) firstLineAt = performance.now();
    if (e.record?.event === 'recovered') recovered = { ...e.record };
  });
  const t0 = performance.now();
  let client: ReturnType<typeof connect> | undefined;
  try {
    await cluster.start(node);
    const listenMs = performance.now() - t0;
    client = connect([cluster.addr(node)], { attemptTimeoutMs: timeoutMs, maxAttempts: 1, deadlineMs: timeoutMs });
    const c = client;
    let probes = 0;
    let lastProblem = 'no probe answered yet';
    const serveMs = await new Promise<number>((resolve, reject) => {
      let done = false;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        clearInterval(timer);
        clearTimeout(deadline);
        f();
      };
      const probe = (): void => {
        probes++;
        void c.get(opts.probeKey).then((r) => {
          if (r.status === 'ok' && typeof r.value === 'string') finish(() => resolve(performance.now() - t0));
          else lastProblem = r.status === 'ok' ? `${opts.probeKey} not found` : `${r.status}: ${'reason' in r ? r.reason : ''}`;
        });
      };
      const timer = setInterval(probe, probeEveryMs);
      const deadline = setTimeout(() => finish(() => reject(new Error(
        `node ${node} did not serve a get within ${timeoutMs} ms of its restart (last: ${lastProblem})`))), timeoutMs);
      probe();
    });
    return { node, how, bootMs: firstLineAt - t0, listenMs, serveMs, probes, recovered };
  } finally {
    unsubscribe();
    client?.close();
  }
}
