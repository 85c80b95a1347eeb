/**
 * npm run bench:scale — how kvsh's cost grows with the data (issue E).
 *
 *   npm run bench:scale -- [--keys 100000,1000000] [--value-bytes 16,100] [--duration 5] [--warmup 1]
 *                          [-c 64] [--preload-concurrency 256] [--nodes 3] [--restart kill|stop|none] [--restart-timeout 120]
 *                          [--dir DIR] [--seed N] [--cpu-prof DIR] [--keep-logs DIR] [--quick] [--json]
 *
 * For every key count × value size: a fresh local cluster (fsync on), preloaded with that many
 * keys, then put and get at C=64 (src/bench/scale-run.ts). Prints one row per (keys, value
 * size, workload ∈ preload / put / get) — ops/s, p50 / p99, server CPU per 1,000 operations,
 * RSS, new leader ballots, the leader's longest event-loop stall, each with its ratio to the
 * fewest keys of the run — and one row per configuration: data directory size, peak memory,
 * single-node restart time (until it serves a linearizable get).
 *
 * --quick: 20,000 and 200,000 keys, 2 s runs after 0.5 s of warm-up (flags given explicitly
 * still win). The full matrix (the defaults) took 15–25 minutes on a shared 2-core machine on
 * the code of December 2026 (docs/bench-scale-before.md), mostly preloading a million keys
 * twice at 2,700–4,000 keys/s: its length is one of the figures.
 *
 * --cpu-prof DIR: the nodes run under `node --cpu-prof` (profiles kept in DIR/<keys>-<bytes>/node-<id>/),
 * and the leader's CPU per phase is summarised (busy, GC, top functions). It implies --restart stop
 * unless --restart is given: a node killed with -9 writes no profile.
 *
 * Output: tables on stdout, progress on stderr; with --json, stdout carries only JSON lines
 * (`meta`, one `scale-row` per row, one `scale-config` per configuration) and the tables go to
 * stderr. Nothing about time is asserted. Exit status 0 when every configuration ran, 1 when
 * one failed (the others still run), 2 on bad arguments.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseArgs } from '../cli/args.js';
import { projectRoot } from '../src/cluster/node-command.js';
import { randomSeed } from '../src/bench/loop.js';
import { formatProfiles } from '../src/bench/profile-report.js';
import { runScaleConfig, type ScaleResult } from '../src/bench/scale-run.js';
import {
  formatScaleConfigTable, formatScaleTable, SCALE_LEGEND, scaleConfigRecord, scaleRowRecord, scaleRows,
} from '../src/bench/scale-report.js';

function wholeList(what: string, min: number) {
  return (v: string): number[] => {
    const xs = v.split(',').map((s) => s.trim().replace(/_/g, ''));
    const ns = xs.map(Number);
    if (xs.length === 0 || xs.some((s, i) => s === '' || !Number.isSafeInteger(ns[i]) || ns[i]! < min)) {
      throw new InvalidArgumentError(`${what}: a comma list of whole numbers ≥ ${min}, got "${v}"`);
    }
    return [...new Set(ns)];
  };
}

function wholeNumber(what: string, min: number) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`${what}: a whole number ≥ ${min}, got "${v}"`);
    return x;
  };
}

/** "5", "5s", "0.5" → seconds. */
function seconds(what: string, zeroOk: boolean) {
  return (v: string): number => {
    const s = v.trim().replace(/s$/, '');
    const x = Number(s);
    if (s === '' || !Number.isFinite(x) || x < 0 || (x === 0 && !zeroOk)) {
      throw new InvalidArgumentError(`${what}: seconds ${zeroOk ? '≥ 0' : '> 0'} (e.g. 5 or 5s), got "${v}"`);
    }
    return x;
  };
}

interface Options {
  keys: number[];
  valueBytes: number[];
  duration: number;
  warmup: number;
  concurrency: number;
  preloadConcurrency: number;
  nodes: number;
  restart: 'kill' | 'stop' | 'none';
  restartTimeout: number;
  dir?: string;
  seed?: number;
  cpuProf?: string;
  keepLogs?: string;
  quick?: boolean;
  json?: boolean;
}

const QUICK = { keys: [20_000, 200_000], duration: 2, warmup: 0.5 } as const;

const program = new Command()
  .name('bench:scale')
  .description('kvsh at growing data sizes: put / get throughput, latency, CPU per operation, memory, disk, restart time and stalls, per key count and value size.')
  .option('--keys <list>', 'key counts, a comma list', wholeList('--keys', 1), [100_000, 1_000_000])
  .option('--value-bytes <list>', 'value sizes in bytes, a comma list', wholeList('--value-bytes', 1), [16, 100])
  .option('--duration <s>', 'measured seconds per put / get run', seconds('--duration', false), 5)
  .option('--warmup <s>', 'seconds of load before measuring, per run', seconds('--warmup', true), 1)
  .option('-c, --concurrency <n>', 'virtual clients of the put and get runs', wholeNumber('-c', 1), 64)
  .option('--preload-concurrency <n>', 'puts in flight while preloading', wholeNumber('--preload-concurrency', 1), 256)
  .option('--nodes <n>', 'cluster size', wholeNumber('--nodes', 1), 3)
  .addOption(new Option('--restart <how>', 'how the restarted follower is stopped (none: skip the restart)').choices(['kill', 'stop', 'none']).default('kill'))
  .option('--restart-timeout <s>', 'how long the restarted follower may take to serve before it is reported NOT SERVING', seconds('--restart-timeout', false), 120)
  .option('--dir <dir>', 'parent directory of the clusters\' data (default: the OS temp directory; use a disk, not a tmpfs)')
  .option('--seed <n>', 'seed of the key and value choices (default: random, printed)', wholeNumber('--seed', 0))
  .option('--cpu-prof <dir>', 'run the nodes under node --cpu-prof into <dir> and summarise the leader\'s CPU per phase')
  .option('--keep-logs <dir>', 'keep every node\'s log in <dir>/<keys>-<bytes>/node-<id>.log (the data directories are removed)')
  .option('--quick', `shorter: ${QUICK.keys.join(' and ')} keys, ${QUICK.duration} s runs after ${QUICK.warmup} s warm-up (explicit flags win)`)
  .option('--json', 'stdout: JSON lines only (meta, scale-row, scale-config); tables go to stderr')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const say = (line: string): void => { process.stderr.write(`${line}\n`); };

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const parsed = parseArgs(program);
  if (parsed !== undefined) return parsed;
  const o = program.opts<Options>();
  if (o.quick) {
    const given = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
    if (!given('keys')) o.keys = [...QUICK.keys];
    if (!given('duration')) o.duration = QUICK.duration;
    if (!given('warmup')) o.warmup = QUICK.warmup;
  }
  const seed = o.seed ?? randomSeed();
  const parentDir = resolve(o.dir ?? tmpdir());
  mkdirSync(parentDir, { recursive: true });
  const cpuProf = o.cpuProf === undefined ? undefined : resolve(o.cpuProf);
  if (cpuProf !== undefined && program.getOptionValueSource('restart') !== 'cli') {
    // A node killed with -9 writes no profile: the restarted follower's first life would be lost.
    o.restart = 'stop';
    say('bench:scale: --cpu-prof: the restarted follower is stopped with SIGTERM (--restart stop), so that its profile is written');
  }
  const out = (line: string): void => { if (o.json) process.stdout.write(`${line}\n`); };
  const table = (text: string): void => { (o.json ? process.stderr : process.stdout).write(`${text}\n`); };

  const keys = [...o.keys].sort((a, b) => a - b);
  const configs = o.valueBytes.flatMap((valueSize) => keys.map((k) => ({ keys: k, valueSize })));
  const meta = {
    type: 'meta', date: new Date().toISOString(), commit: gitCommit(), node: process.version, seed, nodes: o.nodes, fsync: true,
    keys, valueBytes: o.valueBytes, concurrency: o.concurrency, preloadConcurrency: o.preloadConcurrency,
    durationMs: o.duration * 1000, warmupMs: o.warmup * 1000, restart: o.restart, dir: parentDir,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  out(JSON.stringify(meta));
  say(`bench:scale — ${configs.length} configuration(s): keys ${keys.map((k) => k.toLocaleString('en-US')).join(', ')} × values ${o.valueBytes.join(', ')} B; `
    + `${o.nodes} nodes, fsync on; preload ${o.preloadConcurrency} in flight; put / get C=${o.concurrency}, ${o.warmup} s + ${o.duration} s; seed ${seed}; data under ${parentDir}`);

  const results: ScaleResult[] = [];
  let failed = 0;
  for (const c of configs) {
    say(`\n${c.keys.toLocaleString('en-US')} keys, ${c.valueSize}-byte values:`);
    try {
      const r = await runScaleConfig({
        keys: c.keys, valueSize: c.valueSize, concurrency: o.concurrency, preloadConcurrency: o.preloadConcurrency,
        durationMs: o.duration * 1000, warmupMs: o.warmup * 1000, seed, nodes: o.nodes, parentDir, restart: o.restart, restartTimeoutMs: o.restartTimeout * 1000,
        ...(cpuProf === undefined ? {} : { cpuProfDir: cpuProf }),
        ...(o.keepLogs === undefined ? {} : { keepLogsDir: resolve(o.keepLogs) }), say,
      });
      results.push(r);
    } catch (e) {
      failed++;
      say(`  FAILED: ${(e as Error).message}`);
      out(JSON.stringify({ type: 'scale-failed', keys: c.keys, valueSize: c.valueSize, error: (e as Error).message }));
    }
  }

  for (const row of scaleRows(results)) out(JSON.stringify(scaleRowRecord(row)));
  for (const r of results) out(JSON.stringify(scaleConfigRecord(r)));
  if (results.length > 0) {
    table('');
    table(`kvsh scale — ${o.nodes} nodes, fsync on, ${meta.date.slice(0, 10)}, commit ${meta.commit ?? '?'}, seed ${seed}, load average ${meta.loadavgAtStart.join(' ')} → ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    table(formatScaleTable(results));
    table('');
    table(formatScaleConfigTable(results));
    table('');
    table(SCALE_LEGEND);
  }
  if (cpuProf !== undefined) {
    for (const r of results) {
      for (const p of r.phases) {
        if (!p.profiles) continue;
        table('');
        table(formatProfiles(`where the nodes' CPU went: ${r.keys.toLocaleString('en-US')} keys × ${r.valueSize} B, ${p.workload} (leader: node ${p.leader}; % of one core)`,
          Object.entries(p.profiles).map(([node, summary]) => ({ node: Number(node), summary }))));
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

// Exit once the output is flushed: a socket or timer left behind must not keep the process.
const exit = (code: number): void => {
  process.stdout.write('', () => process.exit(code));
};
main().then(exit, (e: unknown) => {
  process.stderr.write(`bench:scale: ${(e as Error).stack ?? String(e)}\n`);
  exit(1);
});
