/**
 * The checker's results as text for a terminal, and as a JSON document for machines.
 */
import type { KeyReport } from './check-key.js';
import type { RunReport } from './driver.js';
import { describeOperation, showValue } from './kv-model.js';
import type { History, Operation } from './types.js';

/** How many steps of a failing key's prefix to print; the JSON and HTML carry all of them. */
const PREFIX_TAIL = 8;

function ms(x: number | undefined): string {
  if (x === undefined) return '-';
  return x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0);
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** A plain text table: columns listed in `left` are left-aligned, the others (numbers) right. */
function table(rows: string[][], left: number[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map(r => r[c]!.length)));
  return rows.map(r => r.map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

/** A time offset in ns, in the unit that suits it. */
function span(ns: number): string {
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 3 : 1)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}

/** When an operation happened, relative to the first invocation in the history. */
function when(op: Operation, t0: number): string {
  const end = op.status === 'info' ? '∞' : span(op.returnTime - t0);
  return `[${span(op.invokeTime - t0)} … ${end}]`;
}

function opLine(op: Operation, t0: number): string {
  return `id ${op.id}, process ${op.process}: ${describeOperation(op)}  ${when(op, t0)}  (line ${op.invokeLine})`;
}

const VERDICT_WORD: Record<KeyReport['verdict'], string> = {
  'linearizable': 'linearizable',
  'not-linearizable': 'NOT linearizable',
  'unknown': 'unknown',
  'skipped': 'not checked',
};

export function formatReportText(history: History, report: RunReport): string {
  const ops = history.operations;
  const t0 = ops.reduce((m, o) => Math.min(m, o.invokeTime), ops[0]?.invokeTime ?? 0);
  const out: string[] = [report.verdict];
  out.push(`${n(report.operations)} operations on ${n(report.keys.length)} key${report.keys.length === 1 ? '' : 's'}`
    + ` (${n(report.indeterminate)} indeterminate), checked in ${ms(report.elapsedMs)} ms`
    + (report.workers > 0 ? ` on ${report.workers} worker threads` : ''));
  if (report.keys.length > 0) {
    out.push('');
    const rows = [['key', 'ops', 'info', 'configs', 'ms', 'verdict']];
    // Failing keys first, then unknown, then the rest in history order.
    const rank = { 'not-linearizable': 0, 'unknown': 1, 'linearizable': 2, 'skipped': 3 };
    const keys = [...report.keys].sort((a, b) => rank[a.verdict] - rank[b.verdict]);
    const shown = keys.slice(0, 40);
    for (const k of shown) {
      const word = k.verdict === 'unknown' ? `unknown (${k.unknownBecause === 'memory' ? 'memory bound' : 'time limit'})` : VERDICT_WORD[k.verdict];
      rows.push([JSON.stringify(k.key), n(k.operations), n(k.indeterminate), n(k.configs), ms(k.elapsedMs), word]);
    }
    out.push(...table(rows, [0, 5]).map(l => `  ${l}`));
    if (keys.length > shown.length) out.push(`  … and ${n(keys.length - shown.length)} more keys (all ${VERDICT_WORD[keys[shown.length]!.verdict]} or better; --json lists them)`);
  }
  for (const k of report.keys) {
    if (k.verdict === 'not-linearizable' && k.failure) {
      out.push('', ...explainFailure(history, k, t0));
    }
  }
  const skipped = report.keys.filter(k => k.verdict === 'skipped').length;
  if (skipped > 0) out.push('', `${n(skipped)} key(s) not checked: the verdict was already settled (use --all-keys to check them too).`);
  const unknown = report.keys.filter(k => k.verdict === 'unknown').length;
  const byMemory = report.keys.filter(k => k.verdict === 'unknown' && k.unknownBecause === 'memory').length;
  if (unknown - byMemory > 0) out.push('', `${n(unknown - byMemory)} key(s) hit the time limit before a verdict (raise --timeout).`);
  if (byMemory > 0) out.push('', `${n(byMemory)} key(s) explored the most configurations the checker keeps in memory without a verdict.`);
  return out.join('\n');
}

function explainFailure(history: History, k: KeyReport, t0: number): string[] {
  const f = k.failure!;
  const ops = history.operations;
  const lines = [`key ${JSON.stringify(k.key)} is not linearizable.`];
  const prefix = k.linearization;
  lines.push(`  Longest linearizable prefix: ${n(prefix.length)} of ${n(k.searched)} operations`
    + (prefix.length > PREFIX_TAIL ? ` (last ${PREFIX_TAIL} shown)` : '') + ':');
  if (prefix.length === 0) lines.push('    (none)');
  for (const [i, s] of prefix.entries()) {
    if (i < prefix.length - PREFIX_TAIL) continue;
    lines.push(`    ${String(i + 1).padStart(5)}. ${opLine(ops[s.op]!, t0)}   ${showValue(s.before)} → ${showValue(s.after)}`);
  }
  lines.push(`  Value after the prefix: ${showValue(f.state)}`);
  if (f.stuck >= 0) {
    lines.push(`  Could not place: ${opLine(ops[f.stuck]!, t0)}`);
    lines.push(`    because ${f.reason}.`);
  } else {
    lines.push(`  ${f.reason}.`);
  }
  const others = f.rejected.filter(r => r.op !== f.stuck);
  if (others.length > 0) {
    lines.push('  Other operations that could have come next:');
    for (const r of others.slice(0, 6)) lines.push(`    ${opLine(ops[r.op]!, t0)}: ${r.reason}`);
    if (others.length > 6) lines.push(`    … and ${others.length - 6} more`);
  }
  return lines;
}

function opJson(op: Operation) {
  return {
    id: op.id, process: op.process, f: op.f, key: op.key,
    ...(op.value !== undefined ? { value: op.value } : {}),
    ...(op.expected !== undefined ? { expected: op.expected } : {}),
    status: op.status,
    ...(op.output !== undefined ? { output: op.output } : {}),
    invoke: op.invokeTime,
    complete: op.completionTime ?? null,
    line: op.invokeLine,
    text: describeOperation(op),
  };
}

/** The JSON document printed by `kvcheck --json`. */
export function reportJson(history: History, report: RunReport) {
  const ops = history.operations;
  return {
    verdict: report.verdict,
    operations: report.operations,
    indeterminate: report.indeterminate,
    elapsedMs: Math.round(report.elapsedMs * 1000) / 1000,
    workers: report.workers,
    keys: report.keys.map(k => ({
      key: k.key,
      verdict: k.verdict,
      ...(k.unknownBecause ? { unknownBecause: k.unknownBecause } : {}),
      operations: k.operations,
      indeterminate: k.indeterminate,
      searched: k.searched,
      configs: k.configs,
      elapsedMs: k.elapsedMs === undefined ? null : Math.round(k.elapsedMs * 1000) / 1000,
      ...(k.failure ? {
        failure: {
          prefix: k.linearization.map(s => ({ id: ops[s.op]!.id, before: s.before, after: s.after })),
          state: k.failure.state,
          stuck: k.failure.stuck >= 0 ? opJson(ops[k.failure.stuck]!) : null,
          reason: k.failure.reason,
          rejected: k.failure.rejected.map(r => ({ ...opJson(ops[r.op]!), reason: r.reason })),
        },
      } : {}),
    })),
  };
}
