import { expect } from 'chai';
import { FAULTS, parseFaults } from '../src/sim/options.js';
import { runSeed } from '../src/sim/run.js';
import { replayCommand } from '../src/sim/sim-command.js';

describe('sim: determinism and whole runs', () => {
  it('the same seed replays the same run: identical trace, history and stats', async () => {
    for (const [seed, nodes] of [[101, 3], [202, 5], [303, [1, 2, 4, 7, 9]]] as const) {
      console.log(`      seed ${seed}, nodes ${nodes}`);
      const options = { nodes, faults: FAULTS, trace: true, skipCheck: true } as const;
      const a = await runSeed(seed, options);
      const b = await runSeed(seed, options);
      expect(a.trace!.length).to.be.greaterThan(1000);
      expect(b.trace).to.deep.equal(a.trace);
      expect(b.historyLines).to.deep.equal(a.historyLines);
      expect(b.stats).to.deep.equal(a.stats);
      expect(b.violations).to.deep.equal(a.violations);
    }
  });

  it('tracing does not change the run', async () => {
    const seed = 404;
    console.log(`      seed ${seed}`);
    const traced = await runSeed(seed, { faults: FAULTS, trace: true, skipCheck: true });
    const plain = await runSeed(seed, { faults: FAULTS, skipCheck: true });
    expect(plain.trace).to.equal(undefined);
    expect(plain.historyLines).to.deep.equal(traced.historyLines);
  });

  it('different seeds give different runs', async () => {
    const a = await runSeed(1, { faults: FAULTS, skipCheck: true });
    const b = await runSeed(2, { faults: FAULTS, skipCheck: true });
    expect(a.historyLines).to.not.deep.equal(b.historyLines);
  });

  it('without faults every operation completes and the history is linearizable', async () => {
    const seed = 505;
    console.log(`      seed ${seed}`);
    const r = await runSeed(seed, { nodes: 5, faults: [] });
    expect(r.violations).to.deep.equal([]);
    expect(r.verdict).to.equal('LINEARIZABLE');
    expect(r.stats.opsInfo).to.equal(0);
    expect(r.stats.opsOk + r.stats.opsFail).to.equal(150);
    expect(r.stats.decided).to.be.at.least(150);
    expect(r.stats.crashes).to.equal(0);
  });

  it('with faults, records the nemesis and leader changes in the history and still finishes', async () => {
    const seed = 606;
    console.log(`      seed ${seed}`);
    const r = await runSeed(seed, { nodes: 5, faults: FAULTS });
    expect(r.violations).to.deep.equal([]);
    expect(r.verdict).to.equal('LINEARIZABLE');
    const events = r.historyLines.map(l => JSON.parse(l) as { type: string; f?: string });
    expect(events.some(e => e.type === 'leader')).to.equal(true);
    expect(events.some(e => e.type === 'nemesis' && e.f === 'kill')).to.equal(true);
    expect(events.some(e => e.type === 'nemesis' && e.f === 'heal')).to.equal(true);
    // Still finishes: the clients got on with their work despite the faults — nearly every
    // operation got a definite answer (how many they invoke depends on the fault schedule).
    const c = r.stats.clients;
    expect(c.invoked).to.be.greaterThan(90);
    expect(c.ok + c.fail, `definite answers of ${c.invoked} invoked`).to.be.at.least(Math.ceil(0.9 * c.invoked));
  });

  it('parses fault profiles and prints a replay command', () => {
    expect(parseFaults('none')).to.deep.equal([]);
    expect(parseFaults('all')).to.deep.equal([...FAULTS]);
    expect(parseFaults('crash, one-way,crash')).to.deep.equal(['crash', 'one-way']);
    expect(() => parseFaults('crash,meteor')).to.throw(/unknown fault "meteor"/);
    expect(replayCommand(17, { seeds: 1, from: 1, nodes: [1, 2, 4], faults: ['crash', 'loss'], bug: 'skip-dedup', trace: false, failFast: false }))
      .to.equal('npm run sim -- --seed 17 --nodes 1,2,4 --faults crash,loss --bug skip-dedup');
  });
});
