/**
 * The simulator's share of docs/reliability.md: seeded runs with every fault kind (crashes that
 * lose un-fsynced writes, partitions, one-way and partial links, loss, duplication, delay, slow
 * disks, pauses), checked by the invariants and the linearizability checker; and each planted
 * bug, to show the checks can fail.
 */
import { FAULTS, PLANTED_BUGS, formatFaults, type Fault, type SimPlantedBug } from '../sim/options.js';
import { runBatch, runSeed } from '../sim/run.js';
import type { TrialResult } from './trial.js';

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/** The faults a planted bug needs to show (every fault kind, and the one it is about). */
const BUG_FAULTS: Partial<Record<SimPlantedBug, readonly Fault[]>> = { 'amnesia-guard-off': [...FAULTS, 'amnesia'] };

export async function simulatorTrial(nodes: 3 | 5, seeds: number, from = 1, faults: readonly Fault[] = FAULTS): Promise<TrialResult> {
  const summary = await runBatch(range(from, seeds), { nodes, faults });
  const t = summary.totals;
  const failures = [
    ...summary.failed.map((r) => `seed ${r.seed}: ${r.violations[0]?.message ?? 'violation'} (replay: npm run sim -- --seed ${r.seed} --nodes ${nodes} --faults ${formatFaults(faults)})`),
    ...summary.unknown.map((s) => `seed ${s}: the checker could not decide in time`),
  ];
  return {
    area: 'simulator',
    fault: faults === FAULTS
      ? `${nodes} nodes, every fault kind (${FAULTS.join(', ')}), seeds ${from}…${from + seeds - 1}`
      : `${nodes} nodes, ${faults.filter((f) => !(FAULTS as readonly string[]).includes(f)).join(', ')} added to every fault kind, seeds ${from}…${from + seeds - 1}`,
    tried: summary.runs, unit: 'seeded runs',
    details: `${t.crashes.toLocaleString('en-US')} crashes, ${t.leaderChanges.toLocaleString('en-US')} leader changes, ${(t.opsOk + t.opsFail + t.opsInfo).toLocaleString('en-US')} client operations`,
    expected: 'no invariant violated (one leader per ballot, decided logs agree, nothing acknowledged lost, exactly-once); every history LINEARIZABLE',
    failures,
  };
}

/** Each planted bug must be caught within `bound` seeds; a bug that is not found is a failure of the checks. */
export async function plantedBugsTrial(bound: number, bugs: readonly SimPlantedBug[] = PLANTED_BUGS): Promise<TrialResult> {
  const failures: string[] = [];
  const foundAt: string[] = [];
  for (const bug of bugs) {
    let found = 0;
    for (let seed = 1; seed <= bound && found === 0; seed++) {
      const r = await runSeed(seed, { nodes: seed % 2 === 0 ? 5 : 3, faults: BUG_FAULTS[bug] ?? FAULTS, plantedBug: bug });
      if (r.violations.length > 0) found = seed;
    }
    if (found === 0) failures.push(`${bug}: not caught in seeds 1…${bound}`);
    else foundAt.push(`${bug} at seed ${found}`);
  }
  return {
    area: 'simulator', fault: 'planted bugs (known consensus and storage mistakes switched on)', tried: bugs.length, unit: 'bugs',
    details: foundAt.join(', '), expected: `each is caught (a violation) within ${bound} seeds`, failures,
  };
}
