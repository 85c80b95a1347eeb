/**
 * One seed end to end — simulate, check the invariants, check the history's linearizability —
 * and batches of seeds. The history check is bounded in time: a history the checker cannot
 * settle in time is reported as `UNKNOWN`, separately from violations.
 */
import { checkHistory } from '../history/driver.js';
import type { Verdict } from '../history/check-history.js';
import { parseHistory } from '../history/reader.js';
import { Replica } from '../replica/replica.js';
import type { Violation } from './invariants.js';
import type { SimOptionsInput } from './options.js';
import type { ReplicaFactory } from './replica-like.js';
import { Simulation, type SimStats } from './simulator.js';

export const defaultReplicaFactory: ReplicaFactory = (config, durable) => new Replica(config, durable);

export type RunOptions = Omit<SimOptionsInput, 'seed'> & {
  /** Time limit of the linearizability check of one history, wall-clock ms (default 10 s). */
  readonly checkTimeoutMs?: number;
  /** Skip the linearizability check (invariants only). */
  readonly skipCheck?: boolean;
};

export interface RunResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly verdict: Verdict | 'SKIPPED';
  readonly stats: SimStats;
  readonly historyLines: readonly string[];
  readonly trace: readonly string[] | undefined;
  /** Wall-clock ms spent simulating and checking. */
  readonly simMs: number;
  readonly checkMs: number;
}

/**
 * Simulates one seed and checks it. `setup` sees the simulation before it runs: scenario tests
 * script faults with `sim.at(time, …)` and watch progress with `sim.observe(…)`.
 */
export async function runSeed(seed: number, options: RunOptions = {}, setup?: (sim: Simulation) => void): Promise<RunResult> {
  const t0 = performance.now();
  const sim = new Simulation({ ...options, seed }, options.replicaFactory ?? defaultReplicaFactory);
  setup?.(sim);
  const out = sim.run();
  const t1 = performance.now();
  const violations = [...out.violations];
  let verdict: RunResult['verdict'] = 'SKIPPED';
  if (!options.skipCheck) {
    const end = sim.now();
    try {
      const history = parseHistory(out.historyLines.join('\n'));
      const report = await checkHistory(history, { timeoutMs: options.checkTimeoutMs ?? 10_000, workers: 0, explain: false });
      verdict = report.verdict;
      if (verdict === 'NOT LINEARIZABLE') {
        const bad = report.keys.find(k => k.verdict === 'not-linearizable');
        const why = bad?.failure ? `key ${bad.key}: ${bad.failure.reason}` : 'see the history';
        violations.push({ kind: 'not-linearizable', time: end, node: null, message: `history not linearizable (${why})` });
      }
    } catch (e) {
      violations.push({ kind: 'history-invalid', time: end, node: null, message: `history rejected: ${(e as Error).message}` });
    }
  }
  return {
    seed, violations, verdict, stats: out.stats, historyLines: out.historyLines, trace: out.trace,
    simMs: t1 - t0, checkMs: performance.now() - t1,
  };
}

/** A run that throws (a bug in the simulator itself) fails its seed instead of ending the batch. */
async function runSeedOrError(seed: number, options: RunOptions): Promise<RunResult> {
  try {
    return await runSeed(seed, options);
  } catch (e) {
    const message = `the simulation threw: ${(e as Error).stack ?? String(e)}`;
    return {
      seed, violations: [{ kind: 'sim-error', time: 0, node: null, message }], verdict: 'SKIPPED', stats: emptyStats(),
      historyLines: [], trace: undefined, simMs: 0, checkMs: 0,
    };
  }
}

function emptyStats(): SimStats {
  return {
    opsOk: 0, opsFail: 0, opsInfo: 0, messages: 0, delivered: 0, dropped: 0, decided: 0, leaderChanges: 0, crashes: 0,
    batchesLost: 0, steps: 0, virtualMs: 0, clients: { ok: 0, fail: 0, info: 0, invoked: 0, retries: 0, sessionsRenewed: 0 },
  };
}

export interface BatchSummary {
  readonly runs: number;
  readonly failed: readonly RunResult[];
  readonly unknown: readonly number[];
  readonly wallMs: number;
  readonly runsPerSecond: number;
  readonly totals: { opsOk: number; opsFail: number; opsInfo: number; messages: number; decided: number; leaderChanges: number; crashes: number };
}

/**
 * Runs the seeds in order. `onResult` sees every run (progress, early exit: return `false`
 * to stop). Failed runs keep their history; passing ones are not retained.
 */
export async function runBatch(
  seeds: Iterable<number>,
  options: RunOptions | ((seed: number) => RunOptions),
  onResult?: (r: RunResult, done: number) => boolean | void,
): Promise<BatchSummary> {
  const start = performance.now();
  const failed: RunResult[] = [];
  const unknown: number[] = [];
  const totals = { opsOk: 0, opsFail: 0, opsInfo: 0, messages: 0, decided: 0, leaderChanges: 0, crashes: 0 };
  let runs = 0;
  for (const seed of seeds) {
    const r = await runSeedOrError(seed, typeof options === 'function' ? options(seed) : options);
    runs++;
    const s = r.stats;
    totals.opsOk += s.opsOk; totals.opsFail += s.opsFail; totals.opsInfo += s.opsInfo;
    totals.messages += s.messages; totals.decided += s.decided; totals.leaderChanges += s.leaderChanges; totals.crashes += s.crashes;
    if (r.violations.length > 0) failed.push(r);
    if (r.verdict === 'UNKNOWN') unknown.push(seed);
    if (onResult?.(r, runs) === false) break;
  }
  const wallMs = performance.now() - start;
  return { runs, failed, unknown, wallMs, runsPerSecond: runs / (wallMs / 1000), totals };
}
