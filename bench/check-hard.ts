/**
 * tsx bench/check-hard.ts — the checker on the shape that makes searches explode: one register,
 * many clients, a small value domain, some unknown outcomes (src/history/synthetic.ts,
 * hardRegisterHistory). For each size × clients × verdict it prints the time with pruning and
 * the time of the plain memoised WGL search (pruning off, short limit: UNKNOWN when it runs
 * out), then one JSON line with every row.
 *
 * Options (all optional): --sizes 1000,5000,10000,20000  --clients 5,10,20  --p-info 0.005
 *   --violations stale-read,read-inversion,lost-update  --timeout-ms 20000 (pruned)
 *   --plain-timeout-ms 3000 (pruning off)  --seed 1
 * Each violation kind has its own linearizable twin (the shapes differ a little near the end).
 * A limit ends a search with UNKNOWN; the times are figures to read, never assertions.
 */
import { checkHistory } from '../src/history/driver.js';
import { hardRegisterHistory, toHistory, type Violation } from '../src/history/synthetic.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const list = (s: string) => s.split(',').map(Number);
const sizes = list(option('sizes', '1000,5000,10000,20000'));
const clientCounts = list(option('clients', '5,10,20'));
const pInfo = Number(option('p-info', '0.005'));
const timeoutMs = Number(option('timeout-ms', '20000'));
const plainTimeoutMs = Number(option('plain-timeout-ms', '3000'));
const seed = Number(option('seed', '1'));
const violations = option('violations', 'stale-read,read-inversion,lost-update').split(',') as Violation[];

interface Row {
  ops: number; clients: number; info: number; violation: Violation; expected: string;
  verdict: string; ms: number; configs: number;
  plainVerdict: string; plainMs: number; plainConfigs: number;
}
const rows: Row[] = [];
const header = ['ops', 'clients', 'info', 'shape', 'expected', 'verdict', 'ms', 'configs', 'plain verdict', 'plain ms', 'plain configs'];
const widths = [6, 7, 5, 14, 16, 16, 9, 9, 16, 9, 13];
const right = new Set([0, 1, 2, 6, 7, 9, 10]);
const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
console.log(`hard register histories: p-info ${pInfo}, limit ${timeoutMs} ms (pruned), ${plainTimeoutMs} ms (pruning off), seed ${seed}`);
console.log(line(header));

for (const ops of sizes) {
  for (const clients of clientCounts) {
    for (const [violation, linearizable] of violations.flatMap(v => [[v, true], [v, false]] as const)) {
      const generated = hardRegisterHistory({ seed: seed * 1_000_003 + ops + clients, ops, clients, pInfo, linearizable, violation });
      const history = toHistory(generated.events);
      // workers: 0 — one key runs on one thread anyway; this keeps the figures comparable.
      const pruned = await checkHistory(history, { timeoutMs, workers: 0, explain: false });
      const plain = await checkHistory(history, { timeoutMs: plainTimeoutMs, workers: 0, pruning: false, explain: false });
      const row: Row = {
        ops, clients, info: pruned.indeterminate, violation,
        expected: linearizable ? 'LINEARIZABLE' : 'NOT LINEARIZABLE',
        verdict: pruned.verdict, ms: +pruned.elapsedMs.toFixed(1), configs: pruned.keys[0]?.configs ?? 0,
        plainVerdict: plain.verdict, plainMs: +plain.elapsedMs.toFixed(1), plainConfigs: plain.keys[0]?.configs ?? 0,
      };
      rows.push(row);
      console.log(line([
        String(ops), String(clients), String(row.info), violation, row.expected, row.verdict, row.ms.toFixed(0), String(row.configs),
        row.plainVerdict, row.plainMs.toFixed(0), String(row.plainConfigs),
      ]));
    }
  }
}
const wrong = rows.filter(r => r.verdict !== r.expected && r.verdict !== 'UNKNOWN').length;
const unknown = rows.filter(r => r.verdict === 'UNKNOWN').length;
console.log(`${rows.length} histories: ${unknown} UNKNOWN with pruning, ${wrong} wrong`);
console.log(JSON.stringify({ bench: 'check-hard', pInfo, timeoutMs, plainTimeoutMs, seed, violations, rows }));
