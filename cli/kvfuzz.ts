/**
 * npm run fuzz: the live fuzz campaign (src/fuzz/campaign.ts) against a fresh local 3-node
 * cluster. Prints a summary table (or JSON with --json); exit status 0 when everything held,
 * 1 when something did not, 2 on bad arguments.
 */
import { Command, InvalidArgumentError } from 'commander';
import { formatCampaign, runCampaign } from '../src/fuzz/campaign.js';
import { parseDuration } from '../src/shell/duration.js';

const wholeNumber = (name: string) => (v: string): number => {
  const n = Number(v.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number, got "${v}"`);
  return n;
};

const program = new Command()
  .name('kvfuzz')
  .description('Send random and mutated frames to a local cluster\'s client and peer ports while a recorded workload runs; check the nodes stay up, memory stays bounded and the history is linearizable.')
  .option('--frames <n>', 'frames to send (default 100,000; with --duration alone: no limit)', wholeNumber('--frames'))
  .option('--duration <time>', 'stop after this long (e.g. 10m), or at --frames, whichever first', (v) => {
    try { return parseDuration(v); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
  })
  .option('--seed <s>', 'seed of every frame and connection (default: random, printed)', wholeNumber('--seed'))
  .option('--concurrency <n>', 'fuzzing connections at once', wholeNumber('--concurrency'), 8)
  .option('--rss-limit-mb <n>', 'largest allowed RSS growth per node', wholeNumber('--rss-limit-mb'), 150)
  .option('--json', 'print the result as one JSON document')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

program.parse();
const o = program.opts<{ frames?: number; duration?: number; seed?: number; concurrency: number; rssLimitMb: number; json?: boolean }>();
const seed = o.seed ?? Math.floor(Math.random() * 0x7fff_ffff);
const frames = o.frames ?? (o.duration !== undefined ? Infinity : 100_000);
if (!o.json) console.log(`seed ${seed}`);
const result = await runCampaign({
  frames, seed, concurrency: Math.max(1, o.concurrency), rssGrowthLimitKb: o.rssLimitMb * 1024,
  ...(o.duration !== undefined ? { durationMs: o.duration } : {}),
  log: o.json ? undefined : (l) => console.log(l),
});
console.log(o.json ? JSON.stringify(result, null, 2) : formatCampaign(result));
process.exit(result.problems.length === 0 ? 0 : 1);
