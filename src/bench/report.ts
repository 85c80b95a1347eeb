/**
 * How benchmark runs are shown: a table with one row per run, one JSON line per run, and a
 * side-by-side table of two targets with ratios (ours / theirs). Pure functions of LoopResults,
 * store-agnostic (kvbench and bench:etcd print with the same code).
 */
import type { FailoverAnalysis, PhaseCounts } from './failover.js';
import type { LoopResult } from './loop.js';
import type { WorkloadKind } from './target.js';

/** `1234.5` → `"1,235"`; NaN → `"-"`. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return Math.round(x).toLocaleString('en-US');
}

/** Milliseconds with 2–3 significant digits: 0.412, 3.75, 41.2, 1,234; NaN → "-". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 1000) return Math.round(ms).toLocaleString('en-US');
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** A ratio as `1.52×`; NaN, infinite or undefined → "-". */
export function formatRatio(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}×`;
}

export interface Column<T> {
  readonly title: string;
  readonly cell: (row: T) => string;
  /** Default right (figures); left for names. */
  readonly align?: 'left' | 'right';
}

/** A plain-text table: a header, a rule, one line per row; columns two spaces apart. */
export function formatColumns<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: readonly string[]): string =>
    vals.map((v, i) => (columns[i]!.align === 'left' ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

const RUN_COLUMNS: readonly Column<LoopResult>[] = [
  { title: 'target', cell: (r) => r.target, align: 'left' },
  { title: 'workload', cell: (r) => r.workload, align: 'left' },
  { title: 'C', cell: (r) => String(r.concurrency) },
  { title: 'ops/s', cell: (r) => formatRate(r.opsPerSec) },
  { title: 'p50 ms', cell: (r) => formatMs(r.latencyMs.p50) },
  { title: 'p90 ms', cell: (r) => formatMs(r.latencyMs.p90) },
  { title: 'p99 ms', cell: (r) => formatMs(r.latencyMs.p99) },
  { title: 'max ms', cell: (r) => formatMs(r.latencyMs.max) },
  { title: 'ops', cell: (r) => r.ops.toLocaleString('en-US') },
  { title: 'mismatch', cell: (r) => String(r.mismatch) },
  { title: 'errors', cell: (r) => String(r.errors) },
  { title: 'indet.', cell: (r) => String(r.indeterminate) },
  { title: 'bench CPU', cell: (r) => (Number.isFinite(r.cpuPercent) ? `${Math.round(r.cpuPercent)}%` : '-') },
];

/**
 * One row per run: target, workload, C, ops/s, p50 / p90 / p99 / max ms, ops, mismatch, errors,
 * indeterminate, and the benchmark process's own CPU (% of one core).
 */
export function formatRunTable(results: readonly LoopResult[]): string {
  return formatColumns(results, RUN_COLUMNS);
}

/** The first error and indeterminate reasons of the runs that had any (one line each), or ''. */
export function formatProblems(results: readonly LoopResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const what = `${r.target} ${r.workload} C=${r.concurrency}`;
    if (r.firstError !== undefined) lines.push(`${what}: ${r.errors} error(s), first: ${r.firstError}`);
    if (r.firstIndeterminate !== undefined) lines.push(`${what}: ${r.indeterminate} indeterminate, first: ${r.firstIndeterminate}`);
  }
  return lines.join('\n');
}

/** Rounded to µs; NaN and ±Infinity become null (JSON has no NaN). */
function round3(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
}

/** The flat JSON record of one run (`type: "run"`), plus `extra` fields (cluster size, fsync, …). */
export function runRecord(r: LoopResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'run',
    target: r.target,
    workload: r.workload,
    concurrency: r.concurrency,
    keys: r.keys,
    valueSize: r.valueSize,
    seed: r.seed,
    warmupMs: round3(r.warmupMs),
    durationMs: round3(r.durationMs),
    ops: r.ops,
    opsPerSec: round3(r.opsPerSec),
    p50Ms: round3(r.latencyMs.p50),
    p90Ms: round3(r.latencyMs.p90),
    p99Ms: round3(r.latencyMs.p99),
    maxMs: round3(r.latencyMs.max),
    meanMs: round3(r.latencyMs.mean),
    ok: r.ok,
    mismatch: r.mismatch,
    errors: r.errors,
    indeterminate: r.indeterminate,
    calls: r.calls,
    warmupOps: r.warmupOps,
    drainMs: round3(r.drainMs),
    cpuPercent: round3(r.cpuPercent),
    ...(r.firstError === undefined ? {} : { firstError: r.firstError }),
    ...(r.firstIndeterminate === undefined ? {} : { firstIndeterminate: r.firstIndeterminate }),
    ...extra,
  };
}

/** One JSON line (no newline) for one run. */
export function runJsonLine(r: LoopResult, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(runRecord(r, extra));
}

/** Two targets' runs of the same workload and concurrency. */
export interface Comparison {
  readonly workload: WorkloadKind;
  readonly concurrency: number;
  readonly ours: LoopResult | undefined;
  readonly theirs: LoopResult | undefined;
  /** ours / theirs throughput: above 1, ours is faster. */
  readonly throughputRatio: number | undefined;
  /** ours / theirs p50 and p99 latency: below 1, ours is faster. */
  readonly p50Ratio: number | undefined;
  readonly p99Ratio: number | undefined;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/**
 * Pairs the runs by (workload, C), in the order they first appear (ours first). A run without
 * a partner is kept, with no ratios.
 */
export function compareRuns(ours: readonly LoopResult[], theirs: readonly LoopResult[]): Comparison[] {
  const key = (r: LoopResult): string => `${r.workload}/${r.concurrency}`;
  const order: string[] = [];
  const a = new Map<string, LoopResult>();
  const b = new Map<string, LoopResult>();
  for (const r of ours) {
    if (!a.has(key(r)) && !b.has(key(r))) order.push(key(r));
    a.set(key(r), r);
  }
  for (const r of theirs) {
    if (!a.has(key(r)) && !b.has(key(r))) order.push(key(r));
    b.set(key(r), r);
  }
  return order.map((k) => {
    const o = a.get(k);
    const t = b.get(k);
    const any = (o ?? t)!;
    return {
      workload: any.workload,
      concurrency: any.concurrency,
      ours: o,
      theirs: t,
      throughputRatio: ratio(o?.opsPerSec, t?.opsPerSec),
      p50Ratio: ratio(o?.latencyMs.p50, t?.latencyMs.p50),
      p99Ratio: ratio(o?.latencyMs.p99, t?.latencyMs.p99),
    };
  });
}

/**
 * Side by side: per (workload, C), ops/s and p50 / p99 of both targets with ratios ours/theirs
 * (throughput: > 1 is better for ours; latency: < 1 is better for ours), and both error counts.
 * `labels` name the two sides in the header (default: the targets' names, shortened to "ours" / "theirs").
 */
export function formatSideBySide(
  ours: readonly LoopResult[], theirs: readonly LoopResult[], labels: { ours?: string; theirs?: string } = {},
): string {
  const A = labels.ours ?? 'ours';
  const B = labels.theirs ?? 'theirs';
  const errs = (r: LoopResult | undefined): string => (r ? `${r.errors}/${r.indeterminate}` : '-');
  const columns: Column<Comparison>[] = [
    { title: 'workload', cell: (c) => c.workload, align: 'left' },
    { title: 'C', cell: (c) => String(c.concurrency) },
    { title: `${A} ops/s`, cell: (c) => formatRate(c.ours?.opsPerSec ?? NaN) },
    { title: `${B} ops/s`, cell: (c) => formatRate(c.theirs?.opsPerSec ?? NaN) },
    { title: 'ratio', cell: (c) => formatRatio(c.throughputRatio) },
    { title: `${A} p50`, cell: (c) => formatMs(c.ours?.latencyMs.p50 ?? NaN) },
    { title: `${B} p50`, cell: (c) => formatMs(c.theirs?.latencyMs.p50 ?? NaN) },
    { title: `${A} p99`, cell: (c) => formatMs(c.ours?.latencyMs.p99 ?? NaN) },
    { title: `${B} p99`, cell: (c) => formatMs(c.theirs?.latencyMs.p99 ?? NaN) },
    { title: 'p99 ratio', cell: (c) => formatRatio(c.p99Ratio) },
    { title: `${A} err/indet`, cell: (c) => errs(c.ours) },
    { title: `${B} err/indet`, cell: (c) => errs(c.theirs) },
  ];
  const table = formatColumns(compareRuns(ours, theirs), columns);
  const names = [ours[0]?.target, theirs[0]?.target];
  const legend = `${A} = ${names[0] ?? '-'}, ${B} = ${names[1] ?? '-'}; ratio = ${A}/${B} ops/s (> 1: ${A} faster), p99 ratio = ${A}/${B} p99 (< 1: ${A} faster)`;
  return `${table}\n${legend}`;
}

/** The flat JSON record of one comparison (`type: "compare"`), ratios null when missing. */
export function comparisonRecord(c: Comparison): Record<string, unknown> {
  return {
    type: 'compare',
    workload: c.workload,
    concurrency: c.concurrency,
    ours: c.ours?.target ?? null,
    theirs: c.theirs?.target ?? null,
    oursOpsPerSec: c.ours ? round3(c.ours.opsPerSec) : null,
    theirsOpsPerSec: c.theirs ? round3(c.theirs.opsPerSec) : null,
    throughputRatio: c.throughputRatio === undefined ? null : round3(c.throughputRatio),
    oursP99Ms: c.ours ? round3(c.ours.latencyMs.p99) : null,
    theirsP99Ms: c.theirs ? round3(c.theirs.latencyMs.p99) : null,
    p99Ratio: c.p99Ratio === undefined ? null : round3(c.p99Ratio),
  };
}

// ---- failover -------------------------------------------------------------------------------

/** A failover drill as run by kvbench (the store-specific parts are filled in by the caller). */
export interface FailoverReport {
  readonly target: string;
  readonly concurrency: number;
  /** The killed leader, and the one elected after it (undefined: none within the wait). */
  readonly killedLeader: number | string;
  readonly newLeader: number | string | undefined;
  /** From the kill to a new leader being seen elected (NaN: not seen). */
  readonly newLeaderMs: number;
  readonly analysis: FailoverAnalysis;
  /** The whole run, for its totals. */
  readonly run: LoopResult;
}

function phaseLine(name: string, p: PhaseCounts): string {
  return `  ${name.padEnd(20)}${formatMs(p.ms).padStart(8)} ms  ops ${p.ops}  ok ${p.ok}  errors ${p.errors}  indeterminate ${p.indeterminate}`;
}

export function formatFailover(f: FailoverReport): string {
  const a = f.analysis;
  const label = (s: string): string => `  ${s.padEnd(20)}`;
  const lines = [
    `failover: ${f.target}, put, C=${f.concurrency}: killed leader ${f.killedLeader} (kill -9)`,
    label('unavailable') + (Number.isFinite(a.unavailableMs) ? `${formatMs(a.unavailableMs)} ms (kill → first successful write after the outage)` : 'no successful write after the kill'),
    label('new leader') + (f.newLeader === undefined ? 'none seen' : `${f.newLeader}, seen elected ${formatMs(f.newLeaderMs)} ms after the kill`),
    label('first ok after kill') + `${formatMs(a.firstOkAfterKillMs)} ms (${a.okAfterKillBeforeOutage} late answer${a.okAfterKillBeforeOutage === 1 ? '' : 's'} to writes from before the kill)`,
    label('longest gap') + `${formatMs(a.longestGapMs)} ms without a successful write`,
    phaseLine('before', a.before),
    phaseLine('outage', a.outage),
    phaseLine('after', a.after),
    label('whole run') + `${formatRate(f.run.opsPerSec)} ops/s, p99 ${formatMs(f.run.latencyMs.p99)} ms, max ${formatMs(f.run.latencyMs.max)} ms, errors ${f.run.errors}, indeterminate ${f.run.indeterminate}`,
  ];
  return lines.join('\n');
}

export function failoverRecord(f: FailoverReport, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const a = f.analysis;
  const phase = (p: PhaseCounts): Record<string, unknown> => ({ ...p, ms: round3(p.ms) });
  return {
    type: 'failover',
    target: f.target,
    workload: 'put',
    concurrency: f.concurrency,
    killedLeader: f.killedLeader,
    newLeader: f.newLeader ?? null,
    newLeaderMs: round3(f.newLeaderMs),
    unavailableMs: round3(a.unavailableMs),
    firstOkAfterKillMs: round3(a.firstOkAfterKillMs),
    longestGapMs: round3(a.longestGapMs),
    okAfterKillBeforeOutage: a.okAfterKillBeforeOutage,
    before: phase(a.before),
    outage: phase(a.outage),
    after: phase(a.after),
    opsPerSec: round3(f.run.opsPerSec),
    ops: f.run.ops,
    errors: f.run.errors,
    indeterminate: f.run.indeterminate,
    p99Ms: round3(f.run.latencyMs.p99),
    maxMs: round3(f.run.latencyMs.max),
    seed: f.run.seed,
    ...extra,
  };
}
