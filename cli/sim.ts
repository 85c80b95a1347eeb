#!/usr/bin/env node
/**
 * sim — the deterministic simulator: many seeded runs of a whole cluster with faults, each
 * checked for invariant violations and linearizability.
 *
 *   npm run sim -- --seeds 10000 [--from S] [--nodes 5] [--faults crash,partition,…] [--bug NAME]
 *   npm run sim -- --seed N [--trace] [--history FILE]
 *
 * Exit status: 0 no violation, 1 some violation, 2 bad arguments.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { FAULTS, PLANTED_BUGS, parseFaults, type SimPlantedBug } from '../src/sim/options.js';
import { runSim } from '../src/sim/sim-command.js';

function integer(name: string, min: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}, got "${v}"`);
    return x;
  };
}

function nodes(v: string): number | number[] {
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n < 1 || n > 15) throw new InvalidArgumentError(`--nodes: a cluster of 1 to 15 nodes, got ${n}`);
    return n;
  }
  const ids = v.split(',').map(s => Number(s.trim()));
  if (ids.some(x => !Number.isSafeInteger(x) || x < 1)) throw new InvalidArgumentError(`--nodes: a count, or a comma list of node ids ≥ 1, got "${v}"`);
  return ids;
}

function faults(v: string) {
  try {
    return parseFaults(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function bug(v: string): SimPlantedBug {
  if (!(PLANTED_BUGS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--bug: one of ${PLANTED_BUGS.join(', ')}, got "${v}"`);
  return v as SimPlantedBug;
}

const program = new Command()
  .name('sim')
  .description('Run the deterministic cluster simulator over many seeds, or replay one seed.')
  .option('--seeds <n>', 'number of seeds in a batch', integer('--seeds', 1), 100)
  .option('--from <seed>', 'first seed of the batch', integer('--from', 0), 1)
  .option('--seed <n>', 'run this one seed (prints its summary; see --trace, --history)', integer('--seed', 0))
  .option('--nodes <n|ids>', 'cluster size (3, 5, 7) or node ids such as 1,2,4,7,9', nodes, 3)
  .option('--faults <list>', `none, all, or a comma list of: ${FAULTS.join(', ')}`, faults, [...FAULTS])
  .option('--bug <name>', `plant a known bug (tests only): ${PLANTED_BUGS.join(', ')}`, bug)
  .option('--trace', 'with --seed: print every message, crash and restart')
  .option('--history <file>', 'with --seed: write the client history (check it with npm run kvcheck FILE)')
  .option('--ops <n>', 'client operations per run', integer('--ops', 1))
  .option('--clients <n>', 'simulated clients', integer('--clients', 1))
  .option('--keys <n>', 'keys the clients use (few keys: more collisions)', integer('--keys', 1))
  .option('--max-batch <n>', 'most entries in one AcceptDecide (the replica\'s maxBatch)', integer('--max-batch', 1))
  .option('--duration <ms>', 'virtual run length, ms', integer('--duration', 100))
  .option('--session-idle <n>', 'expire sessions idle for this many decided entries (default: the replica\'s, 100000). Sessions are exactly-once only if no client retries seq 1 after its session expired: with small values a slow retry can outlive the session and the run reports executed-twice', integer('--session-idle', 1))
  .option('--check-timeout <ms>', 'time limit of one history check, ms', integer('--check-timeout', 1))
  .option('--fail-fast', 'stop a batch at the first failing seed')
  .addHelpText('after', '\nExit status: 0 no violation, 1 some violation, 2 bad arguments.')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

// `npm run sim -- --seed N --trace | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });

try {
  program.parse();
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}

const o = program.opts<{
  seeds: number; from: number; seed?: number; nodes: number | number[]; faults: ReturnType<typeof parseFaults>; bug?: SimPlantedBug;
  trace?: boolean; history?: string; ops?: number; clients?: number; duration?: number; keys?: number; maxBatch?: number; sessionIdle?: number; checkTimeout?: number; failFast?: boolean;
}>();
if ((o.trace || o.history) && o.seed === undefined) {
  process.stderr.write('sim: --trace and --history need --seed N (one run)\n');
  process.exit(2);
}
process.exitCode = await runSim({
  seed: o.seed, seeds: o.seeds, from: o.from, nodes: o.nodes, faults: o.faults, bug: o.bug,
  trace: o.trace ?? false, history: o.history, ops: o.ops, clients: o.clients, durationMs: o.duration, sessionIdle: o.sessionIdle, keys: o.keys, maxBatch: o.maxBatch,
  checkTimeoutMs: o.checkTimeout, failFast: o.failFast ?? false,
});
