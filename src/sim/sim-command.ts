/**
 * What `npm run sim` does once its flags are parsed: one seed (with its trace and summary),
 * or a batch of seeds with progress, runs per second, and for each failing seed its first
 * violation and the command that replays it.
 */
import { writeFile } from 'node:fs/promises';
import type { NodeId } from '../replica/ballot.js';
import type { Violation } from './invariants.js';
import { formatFaults, nodeIds, type Fault, type SimPlantedBug } from './options.js';
import { runBatch, runSeed, type RunOptions, type RunResult } from './run.js';

export interface SimArgs {
  /** A single seed (with trace / history output), or a batch `from … from+seeds−1`. */
  seed?: number | undefined;
  seeds: number;
  from: number;
  nodes: number | NodeId[];
  faults: Fault[];
  bug?: SimPlantedBug | undefined;
  trace: boolean;
  history?: string | undefined;
  ops?: number | undefined;
  clients?: number | undefined;
  durationMs?: number | undefined;
  /** Sessions expire after this many idle decided entries (the replica's sessionIdleEntries). */
  sessionIdle?: number | undefined;
  maxBatch?: number | undefined;
  keys?: number | undefined;
  checkTimeoutMs?: number | undefined;
  /** Stop a batch at the first failing seed. */
  failFast: boolean;
}

export interface SimIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stderrIsTTY: boolean;
}

const defaultIO: SimIO = {
  stdout: (s) => { process.stdout.write(s); },
  stderr: (s) => { process.stderr.write(s); },
  stderrIsTTY: process.stderr.isTTY === true,
};

export function runOptionsOf(args: SimArgs): RunOptions {
  return {
    nodes: args.nodes,
    faults: args.faults,
    trace: args.trace,
    ...(args.bug ? { plantedBug: args.bug } : {}),
    ...(args.ops !== undefined ? { opsTotal: args.ops } : {}),
    ...(args.clients !== undefined ? { clients: args.clients } : {}),
    ...(args.durationMs !== undefined ? { durationUs: args.durationMs * 1000 } : {}),
    ...(args.checkTimeoutMs !== undefined ? { checkTimeoutMs: args.checkTimeoutMs } : {}),
    ...(args.sessionIdle !== undefined ? { sessionIdleEntries: args.sessionIdle } : {}),
    ...(args.maxBatch !== undefined ? { maxBatch: args.maxBatch } : {}),
    ...(args.keys !== undefined ? { keys: args.keys } : {}),
  };
}

/** The command line that replays `seed` with the same settings. */
export function replayCommand(seed: number, args: SimArgs): string {
  const parts = ['npm run sim --', `--seed ${seed}`];
  parts.push(`--nodes ${typeof args.nodes === 'number' ? args.nodes : args.nodes.join(',')}`);
  parts.push(`--faults ${formatFaults(args.faults)}`);
  if (args.bug) parts.push(`--bug ${args.bug}`);
  if (args.ops !== undefined) parts.push(`--ops ${args.ops}`);
  if (args.clients !== undefined) parts.push(`--clients ${args.clients}`);
  if (args.durationMs !== undefined) parts.push(`--duration ${args.durationMs}`);
  if (args.keys !== undefined) parts.push(`--keys ${args.keys}`);
  if (args.maxBatch !== undefined) parts.push(`--max-batch ${args.maxBatch}`);
  if (args.sessionIdle !== undefined) parts.push(`--session-idle ${args.sessionIdle}`);
  return parts.join(' ');
}

export function formatViolation(v: Violation): string {
  return `[${v.kind}] at ${(v.time / 1000).toFixed(3)} ms${v.node === null ? '' : ` on node ${v.node}`}: ${v.message}`;
}

function summary(r: RunResult): string {
  const s = r.stats;
  return [
    `seed ${r.seed}: ${r.violations.length === 0 ? 'ok' : `${r.violations.length} violation(s)`}, history ${r.verdict}`,
    `  ops: ${s.opsOk} ok, ${s.opsFail} fail, ${s.opsInfo} info (${s.clients.retries} retries, ${s.clients.sessionsRenewed} sessions renewed)`,
    `  decided ${s.decided} entries; ${s.messages} messages (${s.delivered} delivered, ${s.dropped} dropped); `
      + `${s.leaderChanges} leader changes; ${s.crashes} crashes (${s.batchesLost} pending batches lost)`,
    `  virtual ${s.virtualMs.toFixed(1)} ms; ${s.steps} steps; wall ${r.simMs.toFixed(1)} ms simulating, ${r.checkMs.toFixed(1)} ms checking`,
  ].join('\n');
}

/** Returns the exit status: 0 no violation, 1 some violation. */
export async function runSim(args: SimArgs, io: SimIO = defaultIO): Promise<number> {
  nodeIds(args.nodes); // validates
  if (args.seed !== undefined) {
    const r = await runSeed(args.seed, runOptionsOf(args));
    if (r.trace) io.stdout(`${r.trace.join('\n')}\n\n`);
    io.stdout(`${summary(r)}\n`);
    for (const v of r.violations) io.stdout(`  ${formatViolation(v)}\n`);
    if (args.history) {
      await writeFile(args.history, `${r.historyLines.join('\n')}\n`);
      io.stdout(`history written to ${args.history} (check it with: npm run kvcheck ${args.history})\n`);
    }
    return r.violations.length === 0 ? 0 : 1;
  }

  const seeds = Array.from({ length: args.seeds }, (_, i) => args.from + i);
  const last = args.from + args.seeds - 1;
  io.stdout(`simulating seeds ${args.from}…${last}: ${typeof args.nodes === 'number' ? args.nodes : args.nodes.join(',')} nodes, `
    + `faults ${formatFaults(args.faults)}${args.bug ? `, planted bug ${args.bug}` : ''}\n`);
  const start = performance.now();
  let lastProgress = start;
  let failures = 0;
  const opts = runOptionsOf({ ...args, trace: false });
  const batch = await runBatch(seeds, opts, (r, done) => {
    if (r.violations.length > 0) {
      failures++;
      io.stdout(`FAIL seed ${r.seed}: ${formatViolation(r.violations[0]!)}\n  replay: ${replayCommand(r.seed, args)}\n`);
      if (args.failFast) return false;
    }
    const now = performance.now();
    if (now - lastProgress > 1000 || done === seeds.length) {
      lastProgress = now;
      const line = `${done}/${seeds.length} runs, ${(done / ((now - start) / 1000)).toFixed(1)} runs/s, ${failures} failing`;
      if (io.stderrIsTTY) io.stderr(`\r${line}   `);
      else io.stderr(`${line}\n`);
    }
    return true;
  });
  if (io.stderrIsTTY) io.stderr('\n');
  const t = batch.totals;
  io.stdout(`${batch.runs} runs in ${(batch.wallMs / 1000).toFixed(1)} s (${batch.runsPerSecond.toFixed(1)} runs/s): `
    + `${batch.failed.length} with violations, ${batch.unknown.length} history verdicts UNKNOWN\n`);
  io.stdout(`  ops ${t.opsOk} ok, ${t.opsFail} fail, ${t.opsInfo} info; ${t.messages} messages; ${t.leaderChanges} leader changes; ${t.crashes} crashes\n`);
  if (batch.unknown.length > 0) io.stdout(`  UNKNOWN (checker time limit) for seeds: ${batch.unknown.slice(0, 20).join(', ')}${batch.unknown.length > 20 ? ', …' : ''}\n`);
  return batch.failed.length === 0 ? 0 : 1;
}
