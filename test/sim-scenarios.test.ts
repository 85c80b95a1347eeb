/**
 * Named scenarios in the simulator.
 *
 * The seed report's three classes of test (basic operations; five servers with several clients
 * on one node; clients on several nodes while nodes are killed), and OmniPaxos' three
 * partial-connectivity cases (reference §A.11, blog S6): quorum-loss, constrained election and
 * chained. For each partial-connectivity case we measure the down-time — the longest time no
 * entry was decided while clients kept asking — in election timeouts (one heartbeat round), and
 * require progress to resume within 4 of them, as OmniPaxos does. Time here is virtual, so the
 * figure is a property of the protocol, not of the machine.
 */
import { expect } from 'chai';
import type { NodeId } from '../src/replica/ballot.js';
import { runSeed } from '../src/sim/run.js';
import { downTime, keepOnlyLinks, runScenario, type ScenarioResult } from './support/scenario.js';

const MS = 1000;
const TICK_US = 10 * MS;
const ELECTION_TICKS = 5;
const ELECTION_US = TICK_US * ELECTION_TICKS;
/** `SCENARIO_SEEDS=N` runs seeds 1…N instead of 1…5. */
const SEEDS = Array.from({ length: Number(process.env.SCENARIO_SEEDS ?? 5) }, (_, i) => i + 1);
const [A, B, C, D, E] = [1, 2, 3, 4, 5] as const;

function expectClean(r: { outcome: ScenarioResult['outcome']; verdict: string }, label: string): void {
  const v = r.outcome.violations;
  expect(v, `${label}: ${v.map((x) => `[${x.kind}] ${x.message}`).join('; ')}`).to.have.length(0);
  expect(r.verdict, label).to.equal('LINEARIZABLE');
}

describe('simulator scenarios: the seed report\'s three classes', function () {
  this.timeout(120_000);

  it('basic operations: every operation completes definitely, and the history is linearizable', async () => {
    for (const seed of SEEDS) {
      const r = await runSeed(seed, { nodes: 3, faults: [], clients: 3, opsTotal: 120 });
      expect(r.violations, `seed ${seed}`).to.have.length(0);
      expect(r.verdict, `seed ${seed}`).to.equal('LINEARIZABLE');
      expect(r.stats.opsInfo, `seed ${seed}: no fault, so no unknown outcome`).to.equal(0);
      expect(r.stats.opsOk + r.stats.opsFail, `seed ${seed}`).to.equal(120);
    }
  });

  it('five servers, several clients all on one node (a follower or the leader)', async () => {
    for (const seed of SEEDS) {
      const r = await runSeed(seed, { nodes: 5, faults: [], clients: 6, opsTotal: 200, clientTargets: [[seed % 5 + 1]] });
      expect(r.violations, `seed ${seed}`).to.have.length(0);
      expect(r.verdict, `seed ${seed}`).to.equal('LINEARIZABLE');
      expect(r.stats.opsInfo, `seed ${seed}`).to.equal(0);
    }
  });

  it('clients on several nodes while nodes are killed and restarted', async () => {
    for (const seed of SEEDS) {
      const r = await runSeed(seed, { nodes: 5, faults: ['crash'], clients: 6, opsTotal: 300 });
      expect(r.violations, `seed ${seed}: ${r.violations.map((v) => v.message).join('; ')}`).to.have.length(0);
      expect(r.verdict, `seed ${seed}`).to.equal('LINEARIZABLE');
      expect(r.stats.crashes, `seed ${seed}: the run did kill nodes`).to.be.greaterThan(0);
      console.log(`      seed ${seed}: ${r.stats.crashes} crashes, ${r.stats.opsOk} ok, ${r.stats.opsFail} fail, ${r.stats.opsInfo} info`);
      expect(r.stats.opsOk + r.stats.opsFail, `seed ${seed}: operations kept completing`).to.be.greaterThan(50);
    }
  });
});

interface Measured { seed: number; timeouts: number; newLeader: NodeId | null }

/** The node leading the highest ballot in accept phase at the end (a deposed leader that could
 * not hear of its successor may still believe it leads a lower one). */
function leaderOf(r: ScenarioResult): NodeId | null {
  let best: { id: NodeId; n: number; pid: number } | null = null;
  for (const id of r.sim.nodes) {
    const s = r.sim.status(id);
    if (!s || s.role !== 'leader' || s.phase !== 'accept') continue;
    const b = s.leaderBallot;
    if (!best || b.n > best.n || (b.n === best.n && b.pid > best.pid)) best = { id, n: b.n, pid: b.pid };
  }
  return best?.id ?? null;
}

function report(name: string, rows: Measured[]): void {
  const worst = Math.max(...rows.map((x) => x.timeouts));
  console.log(`      ${name}: down-time in election timeouts (${ELECTION_US / MS} ms) per seed: ` +
    `${rows.map((x) => `${x.seed}→${x.timeouts.toFixed(2)}`).join(' ')}; worst ${worst.toFixed(2)}; new leader ${[...new Set(rows.map((x) => x.newLeader))].join('/')}`);
}

describe('simulator scenarios: partial connectivity (OmniPaxos §A.11)', function () {
  this.timeout(120_000);
  const PARTITION_AT = 600 * MS;
  const END = 2_000 * MS;
  const base = {
    tickUs: TICK_US, electionTicks: ELECTION_TICKS, resendTicks: 2, tickDrift: 0,
    durationUs: END, stopWhenIdle: false, faults: [] as [], progressGraceUs: null,
    clients: 6, opsTotal: 100_000, thinkMinUs: 1 * MS, thinkMaxUs: 5 * MS, clientTimeoutUs: 60 * MS,
    stopIssuingAtUs: END,
  };

  it('quorum-loss: leader C keeps only its link to A; B, D, E reach only A — A takes over', async () => {
    const rows: Measured[] = [];
    for (const seed of SEEDS) {
      let leaderBefore: NodeId | null = null;
      const r = await runScenario({ ...base, seed, nodes: 5, priorities: { [C]: 10 } }, (sim) => {
        sim.at(PARTITION_AT, () => {
          leaderBefore = [...sim.nodes].find((id) => sim.status(id)?.role === 'leader') ?? null;
          keepOnlyLinks(sim, [[C, A], [A, B], [A, D], [A, E]]);
        });
      });
      expectClean(r, `seed ${seed}`);
      expect(leaderBefore, `seed ${seed}: C led before the partition`).to.equal(C);
      const down = downTime(r.decidedAt, PARTITION_AT, END);
      expect(down, `seed ${seed}: progress resumed after the partition`).to.not.equal(null);
      rows.push({ seed, timeouts: down! / ELECTION_US, newLeader: leaderOf(r) });
      expect(leaderOf(r), `seed ${seed}: the only quorum-connected node leads`).to.equal(A);
    }
    report('quorum-loss', rows);
    for (const x of rows) expect(x.timeouts, `seed ${x.seed}`).to.be.at.most(4);
  });

  it('constrained election: C isolated; A, the only quorum-connected node, has the oldest log — A leads and adopts the newer logs', async () => {
    const rows: Measured[] = [];
    for (const seed of SEEDS) {
      let lag = 0;
      const r = await runScenario({ ...base, seed, nodes: 5, priorities: { [C]: 10 } }, (sim) => {
        // A is down while the others decide entries, so when it comes back its log is the oldest.
        sim.at(200 * MS, () => sim.crash(A));
        sim.at(PARTITION_AT, () => {
          sim.restart(A);
          keepOnlyLinks(sim, [[A, B], [A, D], [A, E]]);
          lag = Math.max(sim.status(B)!.logLength, sim.status(E)!.logLength) - sim.status(A)!.logLength;
        });
      });
      expectClean(r, `seed ${seed}`);
      expect(lag, `seed ${seed}: B or E had a longer log than A at the partition`).to.be.greaterThan(0);
      const down = downTime(r.decidedAt, PARTITION_AT, END);
      expect(down, `seed ${seed}: progress resumed after the partition`).to.not.equal(null);
      rows.push({ seed, timeouts: down! / ELECTION_US, newLeader: leaderOf(r) });
      expect(leaderOf(r), `seed ${seed}`).to.equal(A);
    }
    report('constrained election', rows);
    for (const x of rows) expect(x.timeouts, `seed ${x.seed}`).to.be.at.most(4);
  });

  it('chained: 3 servers, leader B, link B–C cut — one new leader, no ping-pong', async () => {
    const rows: Measured[] = [];
    for (const seed of SEEDS) {
      const ballots = new Set<string>();
      const r = await runScenario({ ...base, seed, nodes: 3, priorities: { [B]: 10 } }, (sim) => {
        sim.at(PARTITION_AT, () => {
          expect(sim.status(B)!.role, `seed ${seed}: B leads before the cut`).to.equal('leader');
          keepOnlyLinks(sim, [[A, B], [A, C]]);
        });
        sim.observe((node, status, now) => {
          if (now > PARTITION_AT && status.role === 'leader' && status.phase === 'accept' && node !== B) {
            ballots.add(`${status.leaderBallot.n}.${status.leaderBallot.pid}`);
          }
        });
      });
      expectClean(r, `seed ${seed}`);
      const down = downTime(r.decidedAt, PARTITION_AT, END);
      expect(down, `seed ${seed}: progress resumed after the cut`).to.not.equal(null);
      rows.push({ seed, timeouts: down! / ELECTION_US, newLeader: leaderOf(r) });
      // Gossiping the leader makes leadership alternate between B and C; we gossip nothing, so
      // one new ballot takes over and keeps the lead. (B cannot hear of it and still believes it
      // leads, but it can no longer decide anything: A promised the higher ballot.)
      expect([...ballots], `seed ${seed}: new ballots in accept phase after the cut`).to.have.length(1);
    }
    report('chained', rows);
    for (const x of rows) expect(x.timeouts, `seed ${x.seed}`).to.be.at.most(4);
  });
});

export { A, B, C, D, E };
