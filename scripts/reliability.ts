/**
 * npm run reliability [-- --quick] [--out docs/reliability.md] [--seed N]
 *
 * Runs every reliability trial (src/reliability/) and writes the table of what was tried and
 * what held. --quick: small counts (a minute or so), for a check that the generator works;
 * the committed docs/reliability.md comes from a full run. Exit 1 when a row did not hold.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Command } from 'commander';
import { drillsTrial } from '../src/reliability/drill-trials.js';
import { renderReliability } from '../src/reliability/report.js';
import { plantedBugsTrial, simulatorTrial } from '../src/reliability/sim-trials.js';
import { FAULTS } from '../src/sim/options.js';
import { corruptRecordTrial, diskFullTrial, tornTailTrial } from '../src/reliability/storage-trials.js';
import { held, type TrialResult } from '../src/reliability/trial.js';
import { decoderTrial, liveFuzzTrial } from '../src/reliability/wire-trials.js';

const program = new Command()
  .name('reliability')
  .option('--quick', 'small counts: check that the generator works')
  .option('--out <file>', 'where to write the Markdown', 'docs/reliability.md')
  .option('--seed <n>', 'seed of the wire trials', (v) => Number(v), 1)
  .parse();
const o = program.opts<{ quick?: boolean; out: string; seed: number }>();
const q = o.quick === true;

const started = performance.now();
const trials: TrialResult[] = [];
async function trial(name: string, run: () => Promise<TrialResult> | TrialResult): Promise<void> {
  const t0 = performance.now();
  process.stderr.write(`${name}… `);
  const t = await run();
  trials.push(t);
  process.stderr.write(`${t.tried.toLocaleString('en-US')} ${t.unit}, ${held(t) ? 'held' : `DID NOT HOLD (${t.failures[0]})`} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}

await trial('storage: torn tails', tornTailTrial);
await trial('storage: corrupt records', corruptRecordTrial);
await trial('storage: disk full', diskFullTrial);
await trial('wire: decoder', () => decoderTrial(q ? 20_000 : 1_000_000, o.seed));
await trial('network: live fuzz', () => liveFuzzTrial(q ? 20_000 : 1_000_000, o.seed));
await trial('simulator: 3 nodes', () => simulatorTrial(3, q ? 50 : 5_000));
await trial('simulator: 5 nodes', () => simulatorTrial(5, q ? 20 : 2_000, 100_001));
await trial('simulator: amnesia, 3 nodes', () => simulatorTrial(3, q ? 50 : 3_000, 200_001, [...FAULTS, 'amnesia']));
await trial('simulator: amnesia, 5 nodes', () => simulatorTrial(5, q ? 20 : 1_000, 300_001, [...FAULTS, 'amnesia']));
await trial('simulator: planted bugs', () => plantedBugsTrial(q ? 100 : 200));
await trial('network: fault drills', () => drillsTrial(q ? 0.25 : 1, q ? ['leader-kill-loop'] : undefined));

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch { /* not a git checkout */ }
const md = renderReliability(trials, {
  generatedAt: new Date().toISOString().slice(0, 10),
  command: q ? 'npm run reliability -- --quick' : 'npm run reliability',
  commit,
  machine: `${cpus().length} cores, Node ${process.version}`,
  seconds: (performance.now() - started) / 1000,
});
writeFileSync(o.out, md);
process.stderr.write(`wrote ${o.out}\n`);
process.exitCode = trials.every(held) ? 0 : 1;
