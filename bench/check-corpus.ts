/**
 * npm run bench:check — the checker over the shared corpus, against Porcupine's figures.
 *
 * For every file: parse once (not timed, as for Porcupine's figures), one warm-up check, then
 * RUNS timed checks; the file's time is their median. Per source it prints files, total,
 * median and max of those times, and the ratio of our total to the manifest's
 * `porcupine_check_ms` total (Porcupine, in Go, on this kind of machine). Ratio ≤ 1.0 means
 * at least as fast as Porcupine.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkHistory } from '../src/history/driver.js';
import { readHistoryFile } from '../src/history/reader.js';
import { sharedDir } from '../test/support/paths.js';

const RUNS = Number(process.env.RUNS ?? 5);
const shared = sharedDir();
if (!shared) {
  console.log('bench:check: ../shared/corpus is not beside this clone; nothing to measure.');
  process.exit(0);
}
const corpus = resolve(shared, 'corpus');
const rows = readFileSync(resolve(corpus, 'MANIFEST.tsv'), 'utf8').trim().split('\n').map(l => l.split('\t'));
const header = rows.shift()!;
const col = (name: string) => header.indexOf(name);

interface FileResult { file: string; source: string; ms: number; explainedMs: number; porcupineMs: number; ok: boolean }
const results: FileResult[] = [];
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

for (const r of rows) {
  const file = r[col('file')]!;
  const history = await readHistoryFile(resolve(corpus, file));
  await checkHistory(history, { workers: 0 }); // warm-up
  // The verdict alone, as Porcupine's figures measure; and the verdict with kvcheck's
  // explanation of a violation (a second, plain search on failing keys).
  const times: number[] = [];
  const explained: number[] = [];
  let verdict = '';
  for (let i = 0; i < RUNS; i++) {
    const report = await checkHistory(history, { workers: 0, timeoutMs: 60_000, explain: false });
    times.push(report.elapsedMs);
    verdict = report.verdict;
    explained.push((await checkHistory(history, { workers: 0, timeoutMs: 60_000 })).elapsedMs);
  }
  results.push({
    file, source: r[col('source')]!, ms: median(times), explainedMs: median(explained),
    porcupineMs: Number(r[col('porcupine_check_ms')]), ok: verdict === r[col('expected')],
  });
}

const sources = [...new Set(results.map(r => r.source)), 'all'];
const table = [['source', 'files', 'total ms', 'median ms', 'max ms', 'porcupine ms', 'ratio', 'explained ms', 'wrong']];
const summary: Record<string, unknown> = {};
for (const s of sources) {
  const rs = results.filter(r => s === 'all' || r.source === s);
  const total = rs.reduce((a, r) => a + r.ms, 0);
  const porcupine = rs.reduce((a, r) => a + r.porcupineMs, 0);
  const max = rs.reduce((a, r) => (r.ms > a.ms ? r : a));
  const wrong = rs.filter(r => !r.ok).length;
  const explainedTotal = rs.reduce((a, r) => a + r.explainedMs, 0);
  table.push([s, String(rs.length), total.toFixed(1), median(rs.map(r => r.ms)).toFixed(3), `${max.ms.toFixed(1)}`, porcupine.toFixed(1), (total / porcupine).toFixed(2), explainedTotal.toFixed(1), String(wrong)]);
  summary[s] = { files: rs.length, totalMs: +total.toFixed(2), explainedTotalMs: +explainedTotal.toFixed(2), medianMs: +median(rs.map(r => r.ms)).toFixed(3), maxMs: +max.ms.toFixed(2), maxFile: max.file, porcupineMs: +porcupine.toFixed(2), ratio: +(total / porcupine).toFixed(3), wrong };
}
const widths = table[0]!.map((_, c) => Math.max(...table.map(r => r[c]!.length)));
console.log(`checker on the corpus: median of ${RUNS} runs per file after one warm-up, parsing excluded.
'total ms' is the verdict alone (what Porcupine's figures measure); 'explained ms' adds what
kvcheck does to explain a violation (a bounded plain search on the failing key).\n`);
for (const row of table) console.log(row.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  '));
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
console.log('\nslowest files:');
for (const r of slowest) console.log(`  ${r.file.padEnd(44)} ${r.ms.toFixed(1).padStart(8)} ms   porcupine ${r.porcupineMs.toFixed(1)} ms`);
console.log(`\n${JSON.stringify({ bench: 'check-corpus', runs: RUNS, sources: summary })}`);
if (results.some(r => !r.ok)) process.exitCode = 1;
