/**
 * Log compaction in the simulator, scripted: a node is down while the others decide and compact
 * far past the end of its log; when it comes back it can only catch up through a snapshot.
 * The run's invariants (every snapshot equals the reference state after its prefix, decided
 * prefixes agree, nothing executed twice) and its linearizability must hold.
 */
import { expect } from 'chai';
import { runSeed } from '../src/sim/run.js';

describe('sim: compaction', () => {
  for (const seed of [5, 6, 7]) {
    it(`seed ${seed}: a node back after the others compacted past its log installs a snapshot and catches up`, async () => {
      let down: number | null = null;
      let compactedWhileDown = 0;
      let logEndAtCrash = 0;
      let installedAt = 0;
      const r = await runSeed(seed, {
        nodes: 3, faults: [], snapshotEntries: 10, opsTotal: 300, clients: 5, keys: 4,
        durationUs: 6_000_000, stopWhenIdle: false,
      }, (sim) => {
        sim.at(300_000, () => {
          down = sim.nodes.find((n) => n !== sim.leader())!;
          logEndAtCrash = sim.status(down)?.logLength ?? 0;
          sim.crash(down);
        });
        sim.at(3_000_000, () => {
          compactedWhileDown = Math.max(...sim.nodes.filter((n) => n !== down).map((n) => sim.status(n)?.compactedIdx ?? 0));
          sim.restart(down!);
        });
        sim.observe((node, st, now) => {
          if (node === down && now > 3_000_000 && installedAt === 0 && st.compactedIdx > logEndAtCrash) installedAt = st.compactedIdx;
        });
      });
      expect(r.violations.map((v) => `[${v.kind}] ${v.message}`)).to.deep.equal([]);
      expect(r.verdict).to.equal('LINEARIZABLE');
      expect(compactedWhileDown, 'the others compacted past the node\'s log').to.be.greaterThan(logEndAtCrash);
      expect(installedAt, 'the node installed a snapshot beyond its own log').to.be.greaterThan(logEndAtCrash);
      console.log(`      node ${down} down with ${logEndAtCrash} entries; others compacted to ${compactedWhileDown}; it installed a snapshot at ${installedAt}`);
    });
  }
});
