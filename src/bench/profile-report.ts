/**
 * Tables and JSON for `kvbench --cpu-prof`: per node, how much of a run's measured window it
 * was busy, in GC, in native code, and its top functions; then the nodes' busy time per source
 * file. Percentages are of the window's wall time (one core = 100 %).
 */
import { formatColumns } from './report.js';
import type { ProfileSummary, SelfTime } from './cpu-profile.js';

export interface NodeProfile {
  readonly node: number;
  readonly summary: ProfileSummary;
}

const pct = (us: number, of: number): string => (of > 0 ? `${((us / of) * 100).toFixed(1)}%` : '-');

function top(items: readonly SelfTime[], n: number, of: number): string {
  return items.slice(0, n).map((f) => `${f.label} ${pct(f.us, of)}`).join(' · ');
}

/** One run: a row per node, then the files where the nodes' busy time went (summed over nodes). */
export function formatProfiles(title: string, nodes: readonly NodeProfile[], topFunctions = 4, topFiles = 12): string {
  const rows = formatColumns(nodes, [
    { title: 'node', cell: (n) => String(n.node) },
    { title: 'busy', cell: (n) => pct(n.summary.busyUs, n.summary.wallUs) },
    { title: 'GC', cell: (n) => pct(n.summary.gcUs, n.summary.wallUs) },
    { title: 'native', cell: (n) => pct(n.summary.programUs, n.summary.wallUs) },
    { title: 'top functions by self time', cell: (n) => top(n.summary.functions, topFunctions, n.summary.wallUs), align: 'left' },
  ]);
  const files = new Map<string, number>();
  let busy = 0;
  for (const n of nodes) {
    busy += n.summary.busyUs;
    for (const f of n.summary.files) files.set(f.label, (files.get(f.label) ?? 0) + f.us);
    files.set('(garbage collector)', (files.get('(garbage collector)') ?? 0) + n.summary.gcUs);
    files.set('(program: native, outside JS)', (files.get('(program: native, outside JS)') ?? 0) + n.summary.programUs);
  }
  const byFile = [...files].map(([label, us]) => ({ label, us })).sort((a, b) => b.us - a.us).slice(0, topFiles);
  const fileTable = formatColumns(byFile, [
    { title: 'file (self time, all nodes)', cell: (f) => f.label, align: 'left' },
    { title: 'ms', cell: (f) => (f.us / 1000).toFixed(0) },
    { title: 'of busy', cell: (f) => pct(f.us, busy) },
  ]);
  return [title, rows, '', fileTable].join('\n');
}

/** A JSON line's object for one node of one run. */
export function profileRecord(run: { workload: string; concurrency: number }, n: NodeProfile, topN = 20): Record<string, unknown> {
  const s = n.summary;
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    type: 'profile', workload: run.workload, concurrency: run.concurrency, node: n.node,
    wallMs: ms(s.wallUs), busyMs: ms(s.busyUs), idleMs: ms(s.idleUs), gcMs: ms(s.gcUs), programMs: ms(s.programUs),
    functions: s.functions.slice(0, topN).map((f) => ({ label: f.label, ms: ms(f.us) })),
    files: s.files.slice(0, topN).map((f) => ({ label: f.label, ms: ms(f.us) })),
  };
}
