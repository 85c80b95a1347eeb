/**
 * The HTML report: one self-contained file (inline CSS and script, no network) that draws a
 * checked history per key: a row per client, a bar per operation, the linearization found (or
 * the longest linearizable prefix, the operation that could not be placed and the rejected
 * candidates), and the nemesis / leader annotations on the same time axis.
 *
 * The history is embedded once as compact JSON (arrays, values interned in one table) and each
 * key's timeline is drawn on a canvas by the page only when its section is opened, so a report
 * of 50,000 operations stays a few megabytes and opens quickly.
 */
import { groupByKey, type CheckReport, type KeyReport } from './check-history.js';
import { describeOperation, isSearchRelevant } from './kv-model.js';
import { REPORT_CLIENT_JS, REPORT_CSS } from './report-html-assets.js';
import { OP_FUNCTIONS, type AnnotationEvent, type History, type KeyValue, type NodeRef, type Operation } from './types.js';

export interface HtmlReportOptions {
  /** Shown as the page title and heading. */
  title?: string;
  /** Where the history came from (a file name), shown in the header. */
  source?: string;
}

/** The report of a checker run; `elapsedMs` / `workers` are there when a driver timed it. */
export type ReportInput = CheckReport & { elapsedMs?: number; workers?: number };

/*
 * The embedded data (version 1). Times are integers in units of `unit` ns, relative to the
 * earliest event. A value code is -1 (none), -2 (null: absent) or an index into `vals`.
 *
 *   op:   [id, process, invoke, duration (-1: never completed), status (0 ok, 1 fail, 2 info),
 *          f (index in OP_FUNCTIONS), value / output code, expected code, invoke line, flags]
 *         flags: 1 = the checker ignores it (it constrains nothing)
 *   step: [op position in the key, after, before?] where after is a value code, -3 (unchanged)
 *         or -4 (the op's value appended to before); before is given only when it is not the
 *         previous step's after (the first step starts from absent)
 */
export const REPORT_DATA_VERSION = 1;
const NONE = -1;
const ABSENT = -2;
const UNCHANGED = -3;
const APPENDED = -4;
const STATUS_CODE = { ok: 0, fail: 1, info: 2 } as const;
const VERDICT_RANK: Record<KeyReport['verdict'], number> = {
  'not-linearizable': 0, unknown: 1, linearizable: 2, skipped: 3,
};
/** Reasons quote the key's value, which in an append history can be very long. */
const MAX_TEXT = 4000;

type OpRow = [number, number, number, number, number, number, number, number, number, number];
type StepRow = [number, number] | [number, number, number];

interface KeyData {
  k: string;
  v: KeyReport['verdict'];
  n: number;
  ind: number;
  searched: number;
  configs: number;
  ms?: number;
  ops: OpRow[];
  lin: StepRow[];
  fail?: { stuck: number; desc: string; reason: string; state: number; rej: [number, string][] };
}

interface Annotations {
  /** Faults with a matching end: [start, end, kind, label]. */
  iv: [number, number, string, string][];
  /** Other nemesis events: [time, kind, label]. */
  mk: [number, string, string][];
  /** Leader changes: [time, node label or null, ballot text]. */
  ld: [number, string | null, string][];
}

export function renderHtmlReport(history: History, report: ReportInput, options: HtmlReportOptions = {}): string {
  const data = buildReportData(history, report, options);
  const title = options.title ?? (options.source ? `kvsh history report: ${baseName(options.source)}` : 'kvsh history report');
  const counts = new Map<string, number>();
  for (const k of report.keys) counts.set(k.verdict, (counts.get(k.verdict) ?? 0) + 1);
  const keyCounts = [...counts].sort((a, b) => VERDICT_RANK[a[0] as KeyReport['verdict']] - VERDICT_RANK[b[0] as KeyReport['verdict']])
    .map(([v, n]) => `${n} ${v.replace('-', ' ')}`).join(', ');
  const verdictClass = report.verdict === 'LINEARIZABLE' ? 'ok' : report.verdict === 'NOT LINEARIZABLE' ? 'bad' : 'unknown';
  // [label, HTML]
  const facts: [string, string][] = [
    ['operations', report.operations.toLocaleString('en-US')],
    ['keys', escapeHtml(`${report.keys.length.toLocaleString('en-US')}${keyCounts ? ` (${keyCounts})` : ''}`)],
    ['indeterminate', report.indeterminate.toLocaleString('en-US')],
    ['clients', new Set(history.operations.map(o => o.process)).size.toLocaleString('en-US')],
    ['history spans', escapeHtml(formatNs(data.span * data.unit))],
  ];
  if (history.annotations.length > 0) facts.push(['annotations', history.annotations.length.toLocaleString('en-US')]);
  if (options.source !== undefined) {
    facts.push(['source', `<span title="${escapeHtml(options.source)}">${escapeHtml(baseName(options.source))}</span>`]);
  }
  if (report.elapsedMs !== undefined) {
    const workers = report.workers ? ` on ${report.workers} worker thread${report.workers === 1 ? '' : 's'}` : '';
    facts.push(['checked in', escapeHtml(`${formatMs(report.elapsedMs)}${workers}`)]);
  }
  const factHtml = facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${v}</dd></div>`).join('');
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="top">
<div class="headline"><h1>${escapeHtml(title)}</h1><span class="verdict v-${verdictClass}">${escapeHtml(report.verdict)}</span></div>
<dl class="facts">${factHtml}</dl>
</header>
<main>
<section class="index"><h2>Keys</h2><div id="legend" class="legend"></div><div id="key-index" class="key-index"></div></section>
<div id="keys"></div>
<noscript><p class="note">This report draws its timelines with JavaScript; enable it to see them.</p></noscript>
</main>
<div id="tip" class="tip" hidden></div>
<script type="application/json" id="kvsh-data">${json}</script>
<script>${REPORT_CLIENT_JS}</script>
</body>
</html>
`;
}

/** The data the page draws from (exported for tests and for other front ends). */
export function buildReportData(history: History, report: ReportInput, options: HtmlReportOptions = {}) {
  const ops = history.operations;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const o of ops) {
    t0 = Math.min(t0, o.invokeTime);
    t1 = Math.max(t1, o.completionTime ?? o.invokeTime);
  }
  for (const a of history.annotations) {
    t0 = Math.min(t0, a.time);
    t1 = Math.max(t1, a.time);
  }
  if (t0 === Infinity) t0 = t1 = 0;
  // Times often share a factor (Porcupine's converted logs count in µs); dividing by it shortens the JSON.
  let unit = 0;
  for (const o of ops) {
    unit = gcd(unit, o.invokeTime - t0);
    if (o.completionTime !== undefined) unit = gcd(unit, o.completionTime - t0);
    if (unit === 1) break;
  }
  for (const a of history.annotations) unit = gcd(unit, a.time - t0);
  if (unit <= 0) unit = 1;
  const rel = (t: number) => Math.round((t - t0) / unit);

  const vals: string[] = [];
  const valIndex = new Map<string, number>();
  const code = (v: KeyValue | undefined): number => {
    if (v === undefined) return NONE;
    if (v === null) return ABSENT;
    let i = valIndex.get(v);
    if (i === undefined) valIndex.set(v, (i = vals.push(v) - 1));
    return i;
  };

  const byKey = groupByKey(ops);
  const keys = report.keys
    .map((r, order) => ({ r, order }))
    .sort((a, b) => VERDICT_RANK[a.r.verdict] - VERDICT_RANK[b.r.verdict] || a.order - b.order)
    .map(({ r }) => keyData(r, byKey.get(r.key) ?? [], code, rel));

  return {
    version: REPORT_DATA_VERSION,
    source: options.source ?? null,
    verdict: report.verdict,
    operations: report.operations,
    indeterminate: report.indeterminate,
    elapsedMs: report.elapsedMs ?? null,
    unit,
    span: Math.max(1, rel(t1)),
    vals,
    keys,
    ann: annotations(history.annotations, rel),
  };
}

function keyData(r: KeyReport, ops: Operation[], code: (v: KeyValue | undefined) => number, rel: (t: number) => number): KeyData {
  const pos = new Map<number, number>();
  const rows: OpRow[] = ops.map((o, i) => {
    pos.set(o.index, i);
    const a = o.f === 'get' ? (o.status === 'ok' ? code(o.output) : NONE) : code(o.value);
    return [
      o.id, o.process, rel(o.invokeTime),
      o.completionTime === undefined ? -1 : rel(o.completionTime) - rel(o.invokeTime),
      STATUS_CODE[o.status], OP_FUNCTIONS.indexOf(o.f), a, o.f === 'cas' ? code(o.expected) : NONE,
      o.invokeLine, isSearchRelevant(o) ? 0 : 1,
    ];
  });
  const lin: StepRow[] = [];
  let prev: KeyValue = null;
  for (const step of r.linearization) {
    const p = pos.get(step.op);
    if (p === undefined) continue;
    const op = ops[p]!;
    let after: number;
    if (step.after === step.before) after = UNCHANGED;
    else if (op.f === 'append' && op.value !== undefined && step.after !== null
      && step.after.length === (step.before ?? '').length + op.value.length && step.after.endsWith(op.value)) after = APPENDED;
    else after = code(step.after);
    lin.push(step.before === prev ? [p, after] : [p, after, code(step.before)]);
    prev = step.after;
  }
  const out: KeyData = {
    k: r.key, v: r.verdict, n: r.operations, ind: r.indeterminate, searched: r.searched, configs: r.configs, ops: rows, lin,
  };
  if (r.elapsedMs !== undefined) out.ms = Math.round(r.elapsedMs * 10) / 10;
  if (r.failure) {
    const f = r.failure;
    const stuck = pos.get(f.stuck) ?? -1;
    out.fail = {
      stuck,
      desc: stuck >= 0 ? clip(describeOperation(ops[stuck]!)) : '',
      reason: clip(f.reason),
      state: code(f.state),
      rej: f.rejected.flatMap(c => { const p = pos.get(c.op); return p === undefined ? [] : [[p, clip(c.reason)] as [number, string]]; }),
    };
  }
  return out;
}

/** Faults that end (pause→resume, partition→heal, kill→restart…) become intervals; the rest markers. */
const FAULT_ENDS: Record<string, string[]> = {
  pause: ['resume'], partition: ['heal'], kill: ['restart', 'start'], crash: ['restart', 'start'],
  stop: ['start', 'restart'], delay: ['heal', 'undelay'], start: ['stop'],
};

function annotations(events: readonly AnnotationEvent[], rel: (t: number) => number): Annotations {
  const out: Annotations = { iv: [], mk: [], ld: [] };
  const sorted = [...events].sort((a, b) => a.time - b.time);
  const open: { f: string; target: string; time: number; label: string }[] = [];
  for (const ev of sorted) {
    if (ev.type === 'leader') {
      out.ld.push([rel(ev.time), ev.node === null ? null : nodeName(ev.node), ev.ballot === undefined ? '' : clip(JSON.stringify(ev.ballot) ?? '')]);
      continue;
    }
    const target = nemesisTarget(ev);
    const label = clip(`${ev.f}${target ? ` ${target}` : ''}`, 200);
    // An end closes the open faults it can end: all of them when it names no node (heal), else those on the same nodes.
    const closes = open.filter(o => FAULT_ENDS[o.f]?.includes(ev.f) && (target === '' || target === o.target));
    if (closes.length > 0) {
      for (const o of closes) {
        out.iv.push([rel(o.time), rel(ev.time), o.f, `${o.label} … ${label}`]);
        open.splice(open.indexOf(o), 1);
      }
    } else if (FAULT_ENDS[ev.f]) {
      open.push({ f: ev.f, target, time: ev.time, label });
    } else {
      out.mk.push([rel(ev.time), ev.f, label]);
    }
  }
  for (const o of open) out.mk.push([rel(o.time), o.f, `${o.label} (no end recorded)`]);
  out.mk.sort((a, b) => a[0] - b[0]);
  return out;
}

function nemesisTarget(ev: { node?: NodeRef; nodes?: NodeRef[]; groups?: NodeRef[][] }): string {
  if (ev.groups) return ev.groups.map(g => `{${g.map(nodeName).join(',')}}`).join(' | ');
  if (ev.nodes) return ev.nodes.map(nodeName).join(',');
  if (ev.node !== undefined) return nodeName(ev.node);
  return '';
}

function nodeName(n: NodeRef): string {
  return typeof n === 'number' ? `n${n}` : n;
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

function clip(s: string, max = MAX_TEXT): string {
  if (s.length <= max) return s;
  const half = Math.floor((max - 40) / 2);
  return `${s.slice(0, half)} …[${(s.length - 2 * half).toLocaleString('en-US')} characters]… ${s.slice(-half)}`;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function formatNs(ns: number): string {
  const units: [number, string][] = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs']];
  for (const [d, u] of units) {
    if (ns >= d) { const x = ns / d; return `${x.toFixed(x >= 100 ? 1 : x >= 10 ? 2 : 3)} ${u}`; }
  }
  return `${ns} ns`;
}

function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}
