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
 *
 * A node that does not serve within `timeoutMs` is a result, not an error: `serveMs` is NaN,
 * `failure` says what the last probe got, and `statusAtTimeout` holds every node's status then
 * (decided index, log length, compacted index, role), which shows where the node was stuck.
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
  /** Give up after this long from the spawn; default 120 s. */
  readonly timeoutMs?: number;
}

export interface RestartResult {
  readonly node: number;
  readonly how: 'kill' | 'stop';
  /** Spawn → the node's first log line (process and module loading), ms. */
  readonly bootMs: number;
  /** Spawn → "listening" (log replayed), ms. */
  readonly listenMs: number;
  /** Spawn → first linearizable get answered with a value by this node, ms; NaN: not within the timeout. */
  readonly serveMs: number;
  /** Why it did not serve (set when serveMs is NaN). */
  readonly failure?: string;
  /** When it did not serve: each node's status at the timeout (or why it gave none). */
  readonly statusAtTimeout?: Record<string, unknown>;
  readonly probes: number;
  /** The node's `recovered` log record: what it replayed (records, bytes, checkpointBytes, …). */
  readonly recovered: Record<string, unknown> | null;
}

export async function measureRestart(cluster: LocalCluster, node: number, opts: RestartOptions): Promise<RestartResult> {
  const how = opts.how ?? 'kill';
  const probeEveryMs = opts.probeEveryMs ?? 100;
  const timeoutMs = opts.timeoutMs ?? 120_000;
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
    const serveMs = await new Promise<number>((resolve) => {
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
      const deadline = setTimeout(() => finish(() => resolve(NaN)), timeoutMs);
      probe();
    });
    const result = { node, how, bootMs: firstLineAt - t0, listenMs, serveMs, probes, recovered };
    if (!Number.isNaN(serveMs)) return result;
    const polls = await cluster.pollStatuses(5000);
    const statusAtTimeout = Object.fromEntries([...polls].map(([id, p]) => [String(id), p.kind === 'status'
      ? (({ role, phase, decidedIdx, logLength, compactedIdx, quorumConnected }) => ({ role, phase, decidedIdx, logLength, compactedIdx, quorumConnected }))(p.status)
      : { [p.kind]: p.kind === 'error' ? p.message : p.reason }]));
    return { ...result, failure: `did not serve a get within ${timeoutMs} ms of its restart; last probe: ${lastProblem}`, statusAtTimeout };
  } finally {
    unsubscribe();
    client?.close();
  }
}
