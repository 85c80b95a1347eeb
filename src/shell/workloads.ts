/**
 * `clients <n> <workload> [for <duration>]`: client workloads running in the background while
 * the operator (or a drill) injects faults. Each run has live counters (ok / fail / info,
 * throughput over the last second) for the status pane, and latency quantiles for its summary.
 */
import { connect, type ClientOptions, type KvClient } from '../client/client.js';
import type { NodeAddr } from '../client/addr.js';
import type { HistoryTarget, ProcessAllocator } from '../client/recorder.js';
import type { OpResult } from '../client/results.js';
import { runWorkload, type WorkloadName, type WorkloadReport } from '../client/workload.js';
import type { KvOp } from '../replica/entry.js';
import { LatencyRecorder } from './latency.js';

export interface WorkloadSpec {
  readonly clients: number;
  readonly workload: WorkloadName;
  /** `undefined`: until `clients stop`. */
  readonly durationMs: number | undefined;
  /** Client ports the workload's clients use (all nodes, or the ones named with `on`). */
  readonly nodes: readonly NodeAddr[];
  /** Node ids, for display. */
  readonly nodeLabel: string;
  readonly keys: number;
  /** Key names are `<keyPrefix>k0`…: fresh per recording (see Recording.keyPrefix). */
  readonly keyPrefix: string;
  readonly seed: number | undefined;
}

export interface WorkloadCounts {
  ok: number;
  fail: number;
  info: number;
  rejected: number;
  invoked: number;
}

export class WorkloadRun {
  readonly counts: WorkloadCounts = { ok: 0, fail: 0, info: 0, rejected: 0, invoked: 0 };
  readonly latency = new LatencyRecorder();
  readonly startedAt = Date.now();
  readonly done: Promise<WorkloadReport>;
  finishedAt: number | undefined;
  report: WorkloadReport | undefined;
  private readonly abort = new AbortController();
  private readonly client: KvClient;
  /** Completion times (ms) of the last second, for throughput. */
  private readonly recent: number[] = [];

  constructor(
    readonly id: number, readonly spec: WorkloadSpec, history: HistoryTarget, processes: ProcessAllocator,
    clientOptions: ClientOptions,
  ) {
    this.client = timed(connect(spec.nodes, clientOptions), this.latency);
    this.done = runWorkload(this.client, history, {
      clients: spec.clients, mix: spec.workload, keys: spec.keys, keyPrefix: spec.keyPrefix, seed: spec.seed,
      durationMs: spec.durationMs, signal: this.abort.signal, firstProcess: processes,
      onResult: (op, result) => this.count(op, result),
    }).then((report) => {
      this.report = report;
      this.finishedAt = Date.now();
      return report;
    }).finally(() => this.client.close());
  }

  get running(): boolean {
    return this.finishedAt === undefined;
  }

  /** Stops starting operations; those in flight finish (see `done`). */
  stop(): void {
    this.abort.abort();
  }

  /** Completions per second over the last second. */
  throughput(now = Date.now()): number {
    while (this.recent.length > 0 && this.recent[0]! < now - 1000) this.recent.shift();
    return this.recent.length;
  }

  describe(): string {
    const s = this.spec;
    return `#${this.id} ${s.clients}×${s.workload} on ${s.nodeLabel}${s.durationMs === undefined ? '' : ` for ${(s.durationMs / 1000).toFixed(1)}s`}`;
  }

  private count(_op: KvOp, result: OpResult): void {
    this.counts.invoked++;
    if (result.status === 'ok') this.counts.ok++;
    else if (result.status === 'indeterminate') this.counts.info++;
    else this.counts.fail++;
    if (result.status === 'rejected') this.counts.rejected++;
    const now = Date.now();
    this.recent.push(now);
    if (this.recent.length > 100_000) this.recent.splice(0, this.recent.length - 100_000);
  }
}

/** The same client, measuring each operation's latency. */
function timed(client: KvClient, latency: LatencyRecorder): KvClient {
  const execute: KvClient['execute'] = async (op) => {
    const t0 = performance.now();
    const r = await client.execute(op);
    latency.add(performance.now() - t0);
    return r;
  };
  return {
    execute,
    get: (key) => execute({ kind: 'get', key }),
    put: (key, value) => execute({ kind: 'put', key, value }),
    cas: (key, expected, value) => execute({ kind: 'cas', key, expected, value }),
    delete: (key) => execute({ kind: 'delete', key }),
    close: () => client.close(),
    get nodes() { return client.nodes; },
    get stats() { return client.stats; },
  };
}
