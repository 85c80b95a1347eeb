/**
 * Renders the HTML report of a history file:
 *   tsx scripts/render-report.ts <history.jsonl> <out.html> [--all-keys]
 * Or writes a demo history with nemesis and leader annotations (and one stale read):
 *   tsx scripts/render-report.ts --demo <out.jsonl>
 */
import { writeFileSync } from 'node:fs';
import { checkHistory } from '../src/history/driver.js';
import { readHistoryFile } from '../src/history/reader.js';
import { renderHtmlReport } from '../src/history/report-html.js';
import { HistoryWriter } from '../src/history/writer.js';
import type { KeyValue } from '../src/history/types.js';

async function render(input: string, output: string, allKeys: boolean): Promise<void> {
  const history = await readHistoryFile(input);
  const report = await checkHistory(history, { allKeys, timeoutMs: 60_000 });
  const html = renderHtmlReport(history, report, { source: input });
  writeFileSync(output, html);
  console.log(`${output}: ${report.verdict}, ${(html.length / 1024).toFixed(0)} KiB`);
}

/** A deterministic random source, so the demo is the same every time. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

interface SimOp {
  process: number; f: 'get' | 'put' | 'cas'; key: string; value?: string; expected?: KeyValue;
  invoke: number; ret: number; lp: number; outcome: 'ok' | 'fail' | 'info' | 'none'; applied: boolean; output?: KeyValue;
}

function demo(output: string): void {
  const rand = rng(7);
  const ms = 1_000_000;
  const end = 1200 * ms;
  const partition = [400 * ms, 620 * ms];
  const pause = [800 * ms, 880 * ms];
  const ops: SimOp[] = [];
  let counter = 0;
  for (let p = 0; p < 5; p++) {
    let t = rand() * 5 * ms;
    while (t < end - 30 * ms) {
      const key = ['a', 'b', 'c'][Math.floor(rand() * 3)]!;
      const r = rand();
      const f = r < 0.5 ? 'get' : r < 0.8 ? 'put' : 'cas';
      const inPartition = t > partition[0]! && t < partition[1]! && p >= 3;
      const slow = t > pause[0]! - 10 * ms && t < pause[1]!;
      let latency = (2 + rand() * 12) * ms + (slow ? 60 * ms * rand() : 0);
      let outcome: SimOp['outcome'] = 'ok';
      if (inPartition) { latency = 100 * ms; outcome = 'info'; }
      if (t + latency > end) outcome = 'none';
      const op: SimOp = { process: p, f, key, invoke: t, ret: t + latency, lp: t + rand() * latency, outcome, applied: outcome === 'ok' || rand() < 0.5 };
      if (f !== 'get') op.value = `v${++counter}`;
      if (f === 'cas') op.expected = rand() < 0.5 ? null : `v${Math.max(1, counter - 1 - Math.floor(rand() * 3))}`;
      ops.push(op);
      t = op.ret + (1 + rand() * 8) * ms;
      if (outcome !== 'ok') t += 40 * ms;
    }
  }
  // Apply them in linearization-point order to get what each one saw.
  const store = new Map<string, KeyValue>();
  for (const op of [...ops].sort((a, b) => a.lp - b.lp)) {
    const cur = store.get(op.key) ?? null;
    if (op.f === 'get') { op.output = cur; continue; }
    if (!op.applied) continue;
    if (op.f === 'put') store.set(op.key, op.value!);
    else if (cur === op.expected) store.set(op.key, op.value!);
    else if (op.outcome === 'ok') op.outcome = 'fail';
  }
  // One stale read on key c right after the partition heals: the bug the report should show.
  const victim = ops.find(o => o.key === 'c' && o.f === 'get' && o.outcome === 'ok' && o.invoke > 640 * ms && o.output !== null);
  if (victim) victim.output = 'v0-stale';

  const events: { time: number; emit: (w: HistoryWriter, ids: Map<SimOp, number>) => void }[] = [];
  for (const op of ops) {
    events.push({ time: op.invoke, emit: (w, ids) => ids.set(op, w.invoke({ process: op.process, f: op.f, key: op.key, ...(op.value === undefined ? {} : { value: op.value }), ...(op.f === 'cas' ? { expected: op.expected ?? null } : {}) }, Math.round(op.invoke))) });
    if (op.outcome === 'none') continue;
    events.push({ time: op.ret, emit: (w, ids) => {
      const id = ids.get(op)!;
      const t = Math.round(op.ret);
      if (op.outcome === 'info') w.info(id, t);
      else if (op.outcome === 'fail') w.fail(id, t);
      else w.ok(id, op.f === 'get' ? op.output ?? null : undefined, t);
    } });
  }
  const ann = (time: number, emit: (w: HistoryWriter) => void) => events.push({ time, emit: (w) => emit(w) });
  ann(0, w => w.leader(1, { round: 1, pid: 1 }, 0));
  ann(partition[0]!, w => w.nemesis('partition', { groups: [[1, 2, 3], [4, 5]] }, partition[0]));
  ann(partition[0]! + 35 * ms, w => w.leader(null, undefined, partition[0]! + 35 * ms));
  ann(partition[0]! + 70 * ms, w => w.leader(2, { round: 2, pid: 2 }, partition[0]! + 70 * ms));
  ann(partition[1]!, w => w.nemesis('heal', {}, partition[1]));
  ann(pause[0]!, w => w.nemesis('pause', { node: 2 }, pause[0]));
  ann(pause[1]!, w => w.nemesis('resume', { node: 2 }, pause[1]));
  ann(pause[0]! + 50 * ms, w => w.leader(3, { round: 3, pid: 3 }, pause[0]! + 50 * ms));
  ann(200 * ms, w => w.nemesis('kill', { node: 5 }, 200 * ms));
  ann(300 * ms, w => w.nemesis('restart', { node: 5 }, 300 * ms));
  ann(1000 * ms, w => w.nemesis('delay', { nodes: [1, 3] }, 1000 * ms));
  ann(1100 * ms, w => w.nemesis('compact', { node: 1 }, 1100 * ms));
  events.sort((a, b) => a.time - b.time);
  const lines: string[] = [];
  const writer = new HistoryWriter(line => lines.push(line), () => 0);
  const ids = new Map<SimOp, number>();
  for (const e of events) e.emit(writer, ids);
  writeFileSync(output, `${lines.join('\n')}\n`);
  console.log(`${output}: ${ops.length} operations, stale read ${victim ? `id ${ids.get(victim)}` : 'none'}`);
}

const args = process.argv.slice(2);
if (args[0] === '--demo' && args[1]) demo(args[1]);
else if (args.length >= 2) await render(args[0]!, args[1]!, args.includes('--all-keys'));
else {
  console.error('usage: tsx scripts/render-report.ts <history.jsonl> <out.html> [--all-keys] | --demo <out.jsonl>');
  process.exitCode = 2;
}
