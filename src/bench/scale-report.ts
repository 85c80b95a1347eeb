/**
 * Tables and JSON for `npm run bench:scale` (scale-run.ts): one row per (keys, value size,
 * workload), with the ratio of each figure to the same workload and value size at the smallest
 * key count of the run (the "1 M vs 100 k" of issue E, measured in one run on one machine);
 * then one row per configuration for what belongs to the cluster as a whole (data directory,
 * peak memory, restart time). Pure functions of the results.
 */
import { formatColumns, formatMs, formatRate, formatRatio, type Column } from './report.js';
import { cpuCount } from './cpu-reading.js';
import type { ScalePhase, ScaleResult } from './scale-run.js';

export interface ScaleRow {
  readonly phase: ScalePhase;
  /** The same workload and value size at the run's smallest key count (undefined: this is it, or none). */
  readonly base: ScalePhase | undefined;
}

/** Pairs every phase with its baseline: same workload and value size, fewest keys. */
export function scaleRows(results: readonly ScaleResult[]): ScaleRow[] {
  const phases = results.flatMap((r) => r.phases);
  return phases.map((p) => {
    const peers = phases.filter((q) => q.workload === p.workload && q.valueSize === p.valueSize);
    const base = peers.reduce((a, b) => (b.keys < a.keys ? b : a));
    return { phase: p, base: base.keys < p.keys ? base : undefined };
  });
}

function ratio(a: number, b: number | undefined): number | undefined {
  return b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : a / b;
}

const mb = (kb: number): string => (Number.isFinite(kb) && kb > 0 ? (kb / 1024).toFixed(0) : '-');
const mbBytes = (bytes: number): string => (Number.isFinite(bytes) ? (bytes / 1024 / 1024).toFixed(1) : '-');
const count = (n: number): string => n.toLocaleString('en-US');
const cpu = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');

const ROW_COLUMNS: readonly Column<ScaleRow>[] = [
  { title: 'keys', cell: (r) => count(r.phase.keys) },
  { title: 'value B', cell: (r) => String(r.phase.valueSize) },
  { title: 'workload', cell: (r) => r.phase.workload, align: 'left' },
  { title: 'C', cell: (r) => String(r.phase.concurrency) },
  { title: 'ops/s', cell: (r) => formatRate(r.phase.opsPerSec) },
  { title: '×ops/s', cell: (r) => formatRatio(ratio(r.phase.opsPerSec, r.base?.opsPerSec)) },
  { title: 'p50 ms', cell: (r) => formatMs(r.phase.latencyMs.p50) },
  { title: 'p99 ms', cell: (r) => formatMs(r.phase.latencyMs.p99) },
  { title: '×p99', cell: (r) => formatRatio(ratio(r.phase.latencyMs.p99, r.base?.latencyMs.p99)) },
  { title: 'max ms', cell: (r) => formatMs(r.phase.latencyMs.max) },
  { title: 'CPU ms/1k ops', cell: (r) => cpu(r.phase.serverCpuMsPer1kOps) },
  { title: '×CPU', cell: (r) => formatRatio(ratio(r.phase.serverCpuMsPer1kOps, r.base?.serverCpuMsPer1kOps)) },
  { title: 'RSS MB', cell: (r) => mb(r.phase.maxRssKb) },
  { title: 'ballots', cell: (r) => String(r.phase.newBallots.length) },
  { title: 'leader stall ms', cell: (r) => (r.phase.leaderStall.count === 0 ? '-' : String(Math.round(r.phase.leaderStall.maxMs))) },
  { title: 'stalls', cell: (r) => String(r.phase.leaderStall.count) },
  { title: 'err/indet', cell: (r) => `${r.phase.errors}/${r.phase.indeterminate}` },
  { title: 'other cores', cell: (r) => (Number.isFinite(r.phase.otherCores) ? r.phase.otherCores.toFixed(2) : '-') },
];

/** One row per (keys, value size, workload). */
export function formatScaleTable(results: readonly ScaleResult[]): string {
  return formatColumns(scaleRows(results), ROW_COLUMNS);
}

const CONFIG_COLUMNS: readonly Column<ScaleResult>[] = [
  { title: 'keys', cell: (r) => count(r.keys) },
  { title: 'value B', cell: (r) => String(r.valueSize) },
  { title: 'preload keys/s', cell: (r) => formatRate(r.phases.find((p) => p.workload === 'preload')?.opsPerSec ?? NaN) },
  { title: 'data dir MB (largest node)', cell: (r) => mbBytes(Math.max(...Object.values(r.dataDir).map((d) => d.diskBytes))) },
  { title: 'all nodes MB', cell: (r) => mbBytes(Object.values(r.dataDir).reduce((n, d) => n + d.diskBytes, 0)) },
  { title: 'peak RSS MB (VmHWM)', cell: (r) => mb(Math.max(0, ...Object.values(r.peakRssKbByNode))) },
  { title: 'restart: boot ms', cell: (r) => (r.restart ? formatMs(r.restart.bootMs) : '-') },
  { title: 'listening ms', cell: (r) => (r.restart ? formatMs(r.restart.listenMs) : '-') },
  { title: 'serving ms', cell: (r) => (!r.restart ? '-' : r.restart.failure === undefined ? formatMs(r.restart.serveMs) : 'NOT SERVING') },
  {
    title: 'replayed MB',
    cell: (r) => (typeof r.restart?.recovered?.['bytes'] === 'number' ? mbBytes(r.restart.recovered['bytes']) : '-'),
  },
  { title: 'ballots (all)', cell: (r) => String(r.ballotsSeen) },
  { title: 'wall s', cell: (r) => (r.wallMs / 1000).toFixed(0) },
];

/** One row per configuration: what belongs to the cluster as a whole. */
export function formatScaleConfigTable(results: readonly ScaleResult[]): string {
  return formatColumns(results, CONFIG_COLUMNS);
}

export const SCALE_LEGEND = [
  '×ops/s, ×p99, ×CPU: this row / the same workload and value size at the fewest keys of this run.',
  'CPU ms/1k ops: user + system CPU of all node processes over the measured window, per 1,000 operations completed in it.',
  'RSS MB: the largest resident set sampled on any node during the row. ballots: leader ballots first elected during the row',
  '(warm-up and drain included; goal 0). leader stall ms: the longest event-loop stall the leader logged (≥ 50 ms), stalls: how many.',
  `other cores: CPU used by neither the nodes nor the load generator during the row, in cores of this ${cpuCount}-core machine (other jobs;`,
  '  also kernel threads such as the disk\'s flushes): well above 0 means the row\'s figures are low.',
  'restart: a follower stopped (kill -9 unless --restart stop) and started again; times from the spawn: boot = its first log line (Node + TypeScript loader),',
  'listening = its log replayed, serving = its client port answered a linearizable get with a value (rejoined, applied up to the log\'s end).',
].join('\n');

/** Rounded to µs; NaN and ±Infinity become null (JSON has no NaN). */
function round3(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
}

/** The JSON record of one row (`type: "scale-row"`). */
export function scaleRowRecord(r: ScaleRow): Record<string, unknown> {
  const p = r.phase;
  return {
    type: 'scale-row',
    keys: p.keys,
    valueSize: p.valueSize,
    workload: p.workload,
    concurrency: p.concurrency,
    durationMs: round3(p.durationMs),
    opsPerSec: round3(p.opsPerSec),
    p50Ms: round3(p.latencyMs.p50),
    p90Ms: round3(p.latencyMs.p90),
    p99Ms: round3(p.latencyMs.p99),
    maxMs: round3(p.latencyMs.max),
    ops: p.ops,
    errors: p.errors,
    indeterminate: p.indeterminate,
    ...(p.firstProblem === undefined ? {} : { firstProblem: p.firstProblem }),
    serverCpuMs: round3(p.serverCpuMs),
    serverCpuMsPer1kOps: round3(p.serverCpuMsPer1kOps),
    nodeCpuMs: p.nodeCpuMs,
    otherCores: round3(p.otherCores),
    benchCores: round3(p.benchCores),
    maxRssKb: p.maxRssKb,
    rssKbByNode: p.rssKbByNode,
    leader: p.leader,
    leaderChanges: p.newBallots.length,
    newBallots: p.newBallots,
    leaderStallMaxMs: p.leaderStall.maxMs,
    leaderStalls: p.leaderStall.count,
    stallsByNode: p.stallsByNode,
    baseKeys: r.base?.keys ?? null,
    opsPerSecRatio: round3(ratio(p.opsPerSec, r.base?.opsPerSec) ?? NaN),
    p99Ratio: round3(ratio(p.latencyMs.p99, r.base?.latencyMs.p99) ?? NaN),
    cpuRatio: round3(ratio(p.serverCpuMsPer1kOps, r.base?.serverCpuMsPer1kOps) ?? NaN),
    ...(p.leaderProfile === undefined ? {} : {
      leaderProfile: {
        wallMs: round3(p.leaderProfile.wallUs / 1000), busyMs: round3(p.leaderProfile.busyUs / 1000),
        gcMs: round3(p.leaderProfile.gcUs / 1000), programMs: round3(p.leaderProfile.programUs / 1000),
        functions: p.leaderProfile.functions.slice(0, 15).map((f) => ({ label: f.label, ms: round3(f.us / 1000) })),
      },
    }),
  };
}

/** The JSON record of one configuration (`type: "scale-config"`). */
export function scaleConfigRecord(r: ScaleResult): Record<string, unknown> {
  return {
    type: 'scale-config',
    keys: r.keys,
    valueSize: r.valueSize,
    nodes: r.nodes,
    dataDir: r.dataDir,
    peakRssKbByNode: r.peakRssKbByNode,
    restart: r.restart === null ? null : {
      node: r.restart.node, how: r.restart.how, bootMs: round3(r.restart.bootMs), listenMs: round3(r.restart.listenMs), serveMs: round3(r.restart.serveMs),
      probes: r.restart.probes, recovered: r.restart.recovered,
      ...(r.restart.failure === undefined ? {} : { failure: r.restart.failure, statusAtTimeout: r.restart.statusAtTimeout }),
    },
    ballotsSeen: r.ballotsSeen,
    wallMs: round3(r.wallMs),
  };
}
