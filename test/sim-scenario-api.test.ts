/** The scripting surface scenario tests use: timed actions, exact topologies, progress observers. */
import { expect } from 'chai';
import { runSeed } from '../src/sim/run.js';

describe('sim: scenario scripting', () => {
  it('isolates the leader but for one link, watches a new leader take over, heals, and checks the run', async () => {
    const seed = 77;
    console.log(`      seed ${seed}`);
    const events: string[] = [];
    let oldLeader: number | null = null;
    let newLeader: number | null = null;
    let decidedAtCut = 0;
    let decidedAfter = 0;
    const r = await runSeed(seed, { nodes: [1, 2, 3, 4, 5], faults: [], durationUs: 2_000_000, stopWhenIdle: false, progressGraceUs: null }, sim => {
      sim.at(500_000, () => {
        oldLeader = sim.leader();
        expect(oldLeader, 'a leader after 500 ms').to.not.equal(null);
        const keep = sim.nodes.find(n => n !== oldLeader)!;
        sim.isolate(oldLeader!, [keep]);
        events.push(`isolated ${oldLeader} keeping ${keep}`);
        decidedAtCut = Math.max(...sim.nodes.map(n => sim.status(n)?.decidedIdx ?? 0));
      });
      sim.observe((node, st, now) => {
        if (now > 500_000 && now < 1_200_000 && st.role === 'leader' && st.phase === 'accept' && node !== oldLeader) newLeader = node;
        if (now > 500_000 && now < 1_200_000) decidedAfter = Math.max(decidedAfter, st.decidedIdx);
      });
      sim.at(1_200_000, () => sim.heal());
    });
    expect(events).to.have.length(1);
    expect(newLeader, 'another node leads while the old leader is cut off').to.not.equal(null);
    expect(decidedAfter).to.be.greaterThan(decidedAtCut);
    expect(r.violations).to.deep.equal([]);
    expect(r.verdict).to.equal('LINEARIZABLE');
    const nemesis = r.historyLines.map(l => JSON.parse(l)).filter(e => e.type === 'nemesis').map(e => e.f);
    expect(nemesis).to.deep.equal(['partition-partial', 'heal']);
  });
});
