/**
 * Simulator seeds that once found a bug, replayed with the options that found it. Each failed
 * before its fix; the comment says what it caught.
 */
import { expect } from 'chai';
import { FAULTS } from '../src/sim/options.js';
import { runSeed, type RunOptions } from '../src/sim/run.js';

const CASES: { seeds: number[]; options: RunOptions; caught: string }[] = [
  {
    seeds: [403360, 411783, 413910, 414467],
    options: { nodes: 3, faults: FAULTS },
    caught: 'no-progress: a follower held stream messages of a newer session whose AcceptSync was '
      + 'lost, and never went to Recover (the gap check only looked at its own session)',
  },
];

describe('sim: regression seeds', function () {
  this.timeout(120_000);
  for (const { seeds, options, caught } of CASES) {
    it(`seeds ${seeds.join(', ')} (${caught})`, async () => {
      for (const seed of seeds) {
        const r = await runSeed(seed, options);
        expect(r.violations.map((v) => `seed ${seed}: [${v.kind}] ${v.message}`)).to.deep.equal([]);
        expect(r.verdict, `seed ${seed}`).to.equal('LINEARIZABLE');
      }
    });
  }
});
