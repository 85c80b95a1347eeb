/**
 * Issue 9, in the simulator: a node that loses its data directory must never vote with an empty
 * memory. The scripted run is the field report (five nodes, a write acknowledged by a
 * quorum that includes the node, the node wiped and restarted, then a majority formed with it);
 * the batches add the `amnesia` fault to every other fault, with and without the guard.
 */
import { expect } from 'chai';
import type { NodeId } from '../src/replica/ballot.js';
import { FAULTS } from '../src/sim/options.js';
import { runSeed } from '../src/sim/run.js';
import type { Simulation } from '../src/sim/simulator.js';

const MS = 1000;

/**
 * {a, b} are cut off; the leader decides writes with {x, y}; y loses its disk; the leader and x
 * are cut off and y comes back empty (without --replace) beside a and b: {y, a, b} is a majority
 * of the nodes — but y is no voter, so no leader of that group may reach the accept phase (it
 * would have adopted a log without the writes decided meanwhile).
 */
function amnesiaScript(found: { wiped?: NodeId; group?: NodeId[]; voterAfterRestart?: boolean; groupLeaders: number }) {
  return (sim: Simulation): void => {
    let leader: NodeId | null = null;
    sim.at(400 * MS, () => {
      leader = sim.leader();
      expect(leader, 'a leader after 400 ms').to.not.equal(null);
      const others = sim.nodes.filter((n) => n !== leader);
      const [a, b, x, y] = others as [NodeId, NodeId, NodeId, NodeId];
      found.group = [y, a, b];
      sim.partition([[a, b], [leader!, x, y]]);
      sim.at(700 * MS, () => {
        found.wiped = y;
        sim.wipe(y);
      });
      sim.at(900 * MS, () => {
        sim.heal(); // a partition only cuts links: the first one's cuts go first
        sim.partition([[leader!, x], [y, a, b]]);
        sim.restart(y);
        found.voterAfterRestart = sim.status(y)?.voter;
      });
      sim.observe((node, st, now) => {
        if (now > 900 * MS && now < 1500 * MS && found.group!.includes(node) && st.role === 'leader' && st.phase === 'accept') {
          found.groupLeaders++;
        }
      });
      sim.at(1500 * MS, () => sim.heal());
    });
  };
}

describe('sim: amnesia (a node loses its data directory)', function () {
  this.timeout(300_000);
  // Liveness is not checked (progressGraceUs null): the script keeps a partition the nemesis does not know of.
  const options = { nodes: [1, 2, 3, 4, 5], faults: [], durationUs: 3_000_000, stopWhenIdle: false, clients: 4, progressGraceUs: null } as const;

  it('the issue\'s scenario: the wiped node is refused as a voter, nothing decided is lost, the history is linearizable', async () => {
    for (const seed of [1, 2, 3]) {
      const found = { groupLeaders: 0 } as Parameters<typeof amnesiaScript>[0];
      const r = await runSeed(seed, options, amnesiaScript(found));
      console.log(`      seed ${seed}: node ${found.wiped} wiped; leaders in accept phase in {${found.group!.join(',')}}: ${found.groupLeaders}; ${r.verdict}`);
      expect(found.voterAfterRestart, 'the wiped node is not a voter after its restart').to.equal(false);
      expect(found.groupLeaders, 'the majority that counts the wiped node elects no leader').to.equal(0);
      expect(r.violations.map((v) => `[${v.kind}] ${v.message}`)).to.deep.equal([]);
      expect(r.verdict).to.equal('LINEARIZABLE');
    }
  });

  it('the same script with the guard off loses a decided write (so the test above can fail)', async () => {
    let caught = 0;
    for (const seed of [1, 2, 3]) {
      const found = { groupLeaders: 0 } as Parameters<typeof amnesiaScript>[0];
      const r = await runSeed(seed, { ...options, plantedBug: 'amnesia-guard-off' }, amnesiaScript(found));
      const kinds = [...new Set(r.violations.map((v) => v.kind))];
      console.log(`      seed ${seed} with the guard off: leaders in accept phase in {${found.group!.join(',')}}: ${found.groupLeaders}; ${kinds.join(', ') || 'no violation'}; ${r.verdict}`);
      if (r.violations.length > 0 || r.verdict !== 'LINEARIZABLE') caught++;
    }
    expect(caught, 'runs whose violation the guard prevents').to.equal(3);
  });

  it('a wiped node restarted with replace joins as a learner and becomes a voter again', async () => {
    let learnerSeen = false;
    let voterAgain = false;
    const r = await runSeed(11, { nodes: 3, faults: [], durationUs: 2_500_000, stopWhenIdle: false }, (sim) => {
      sim.at(400 * MS, () => {
        const victim = sim.nodes.find((n) => n !== sim.leader())!;
        sim.wipe(victim);
        sim.setReplace(victim);
        sim.at(450 * MS, () => sim.restart(victim));
        sim.observe((node, st) => {
          if (node !== victim) return;
          if (!st.voter) learnerSeen = true;
          else if (learnerSeen) voterAgain = true;
        });
      });
    });
    expect(learnerSeen, 'not a voter right after its restart').to.equal(true);
    expect(voterAgain, 'promoted once caught up').to.equal(true);
    expect(r.violations).to.deep.equal([]);
    expect(r.verdict).to.equal('LINEARIZABLE');
  });

  const SEEDS = Number(process.env.AMNESIA_SEEDS ?? 300);
  for (const nodes of [3, 5]) {
    it(`${SEEDS} seeds, ${nodes} nodes, every fault plus amnesia: no violation (AMNESIA_SEEDS to change)`, async () => {
      const failing: string[] = [];
      let wipes = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = await runSeed(seed, { nodes, faults: [...FAULTS, 'amnesia'] });
        wipes += r.historyLines.filter((l) => l.includes('"f":"wipe"')).length;
        for (const v of r.violations) failing.push(`seed ${seed}: [${v.kind}] ${v.message} (npm run sim -- --seed ${seed} --nodes ${nodes} --faults all,amnesia)`);
      }
      console.log(`      ${SEEDS} seeds, ${wipes} data directories lost, ${failing.length} violations`);
      expect(wipes, 'the fault happened').to.be.greaterThan(SEEDS / 10);
      expect(failing).to.deep.equal([]);
    });
  }
});
