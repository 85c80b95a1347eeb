/**
 * The simulator's bounded batch in `npm test`: many seeded runs with every fault, on 3- and
 * 5-node clusters (some with non-contiguous ids); no run may violate an invariant or produce
 * a non-linearizable history. SIM_FROM and SIM_SEEDS move or widen the range.
 */
import { expect } from 'chai';
import { FAULTS } from '../src/sim/options.js';
import { runBatch, type RunOptions } from '../src/sim/run.js';
import { formatViolation, replayCommand } from '../src/sim/sim-command.js';

const from = Number(process.env.SIM_FROM ?? 1);
const count = Number(process.env.SIM_SEEDS ?? 2000);

function nodesFor(seed: number): number | number[] {
  return seed % 3 === 0 ? 3 : seed % 3 === 1 ? 5 : [1, 2, 4, 7, 9];
}

describe('sim: batch', function () {
  this.timeout(180_000);

  it(`${count} seeds with all faults, 3 and 5 nodes: no violation`, async () => {
    console.log(`      seeds ${from}…${from + count - 1}, faults all`);
    const options = (seed: number): RunOptions => ({ nodes: nodesFor(seed), faults: FAULTS });
    const seeds = Array.from({ length: count }, (_, i) => from + i);
    const batch = await runBatch(seeds, options);
    console.log(`      ${batch.runs} runs in ${(batch.wallMs / 1000).toFixed(1)} s: ${batch.runsPerSecond.toFixed(1)} runs/s; `
      + `${batch.totals.opsOk} ops ok, ${batch.totals.opsInfo} info, ${batch.totals.crashes} crashes, ${batch.totals.leaderChanges} leader changes; `
      + `${batch.unknown.length} UNKNOWN verdicts`);
    const report = batch.failed.map(r => `seed ${r.seed}: ${formatViolation(r.violations[0]!)}\n  replay: `
      + replayCommand(r.seed, { seeds: 1, from: r.seed, nodes: nodesFor(r.seed), faults: [...FAULTS], trace: false, failFast: false }));
    expect(report, report.join('\n')).to.deep.equal([]);
  });
});
