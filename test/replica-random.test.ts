/**
 * Random schedules through the scripted harness: messages delivered in random order, dropped,
 * duplicated; links cut and healed; nodes crashed (sometimes losing their last undurable
 * batches) and restarted; clients retrying at random nodes. The harness checks its invariants
 * after every step (decided prefixes agree, decidedIdx monotone and within the log, fsync
 * matrix, at-most-once execution); at the end the network heals and the test checks that the
 * cluster converges, answers every client, and that every answer matches a replay of the
 * decided log.
 *
 * Replay a failure: REPLICA_SEED=<seed> npx mocha -g 'random schedules' test/replica-random.test.ts
 * More seeds: REPLICA_SEEDS=<count>; longer schedules: REPLICA_STEPS=<factor>.
 */
import { expect } from 'chai';
import type { NodeId } from '../src/replica/ballot.js';
import type { Command, KvResult } from '../src/replica/entry.js';
import { KvStateMachine } from '../src/replica/kv-state-machine.js';
import { ReplicaHarness, cas, command, del, get, put } from './support/replica-harness.js';
import { Rng } from '../src/history/synthetic.js';


/** What one schedule went through, so that the test can tell that the schedules are not trivial. */
interface Coverage {
  decided: number;
  replies: number;
  leaderChanges: number;
  lostBatches: number;
  recoveries: number;
  resyncs: number;
}

interface Client {
  readonly id: string;
  seq: number;
  current: Command | null;
}

function randomSchedule(seed: number, nodes: readonly NodeId[], steps: number): Coverage {
  const seeded = new Rng(seed);
  const rand = (): number => seeded.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const h = new ReplicaHarness({ nodes, electionTicks: 5, resendTicks: 3, maxBatch: 2 });
  const clients: Client[] = ['a', 'b', 'c'].map((id) => ({ id, seq: 0, current: null }));
  const answered = (c: Command) => h.replies.some((r) => r.clientId === c.clientId && r.seq === c.seq);
  const newOp = (): Command['op'] => {
    const key = pick(['x', 'y']);
    const v = String(Math.floor(rand() * 4));
    return pick([put(key, v), get(key), cas(key, pick([null, v, String(Math.floor(rand() * 4))]), v), del(key)]);
  };
  // At most f nodes down at a time, so that a majority is always up.
  const f = Math.floor((nodes.length - 1) / 2);

  let lostBatches = 0;
  for (let i = 0; i < steps; i++) {
    const r = rand();
    const up = nodes.filter((n) => h.isUp(n));
    const some = h.network.length > 0 ? pick(h.network).id : -1;
    const chosen = (m: { id: number }) => m.id === some;
    if (r < 0.35) {
      if (some >= 0) h.deliver(chosen);
    } else if (r < 0.55) {
      h.run(1, { deliver: false });
    } else if (r < 0.62) {
      if (some >= 0) h.drop(chosen);
    } else if (r < 0.66) {
      if (some >= 0) h.duplicate(chosen);
    } else if (r < 0.78) {
      const c = pick(clients);
      if (!c.current || answered(c.current)) c.current = command(c.id, ++c.seq, newOp());
      if (up.length > 0) h.request(pick(up), c.current); // a first try or a retry, anywhere
    } else if (r < 0.81) {
      if (nodes.length - up.length < f) {
        const n = pick(up);
        const lose = Math.floor(rand() * (h.undurable(n) + 1));
        h.crash(n, { lose });
        lostBatches += lose;
      }
    } else if (r < 0.85) {
      const down = nodes.filter((n) => !h.isUp(n));
      if (down.length > 0) h.restart(pick(down));
    } else if (r < 0.88) {
      if (up.length > 0) h.hold(pick(up));
    } else if (r < 0.92) {
      for (const n of up) if (h.undurable(n) > 0 && rand() < 0.5) h.unhold(n);
    } else if (r < 0.935) {
      h.cutLink(pick(nodes), pick(nodes));
    } else if (r < 0.95) {
      // The driver re-established a link (after a cut, or after a peer restarted).
      const [a, b] = [pick(nodes), pick(nodes)];
      if (a !== b && h.isUp(a)) h.step(a, { kind: 'reconnected', peer: b });
    } else {
      h.healAll();
    }
  }

  // Calm: everything heals, everyone is back, and time passes with a reliable network.
  h.healAll();
  for (const n of nodes) if (!h.isUp(n)) h.restart(n);
  for (const n of nodes) h.unhold(n);
  h.rounds(6);
  const leader = h.leader();
  for (const c of clients) {
    if (c.current && !answered(c.current)) {
      // Its last try may have been lost with a forward or a crash: the client retries.
      h.request(pick(nodes), c.current);
      h.rounds(2);
      expect(answered(c.current), `client ${c.id} seq ${c.seq} never answered: ${h.describe()}`).to.equal(true);
    }
  }
  h.rounds(2);
  const decided = h.status(leader).decidedIdx;
  for (const n of nodes) {
    expect(h.status(n), `node ${n}: ${h.describe()}`).to.deep.include({ decidedIdx: decided, appliedIdx: decided, logLength: decided });
    expect(h.replica(n).kvEntries().sort(), `node ${n}`).to.deep.equal(h.replica(leader).kvEntries().sort());
  }
  // Every answer equals the result of the first execution in a replay of the decided log.
  const replay = new KvStateMachine();
  const first = new Map<string, KvResult>();
  for (const e of h.chosen) {
    const out = replay.apply(e);
    if (out && out.result && !out.duplicate) {
      const key = `${out.command.clientId}#${out.command.seq}`;
      if (!first.has(key)) first.set(key, out.result);
    }
  }
  for (const rep of h.replies) {
    expect(rep.result, `reply to ${rep.clientId}#${rep.seq} at node ${rep.node}`).to.deep.equal(first.get(`${rep.clientId}#${rep.seq}`));
  }
  expect(replay.entries().sort()).to.deep.equal(h.replica(leader).kvEntries().sort());
  const ballots = new Set(h.trace.filter((s) => s.status.role === 'leader').map((s) => JSON.stringify(s.status.leaderBallot)));
  return {
    decided: decided, replies: h.replies.length, leaderChanges: ballots.size - 1, lostBatches,
    recoveries: h.trace.filter((s) => s.status.phase === 'recover').length,
    resyncs: h.trace.filter((s) => s.inputs[0]?.kind === 'message' && s.inputs[0].msg.kind === 'accept-sync').length,
  };
}

describe('replica: random schedules', function () {
  this.timeout(600_000);
  const only = process.env.REPLICA_SEED;
  const count = Number(process.env.REPLICA_SEEDS ?? 150);
  const stepsFactor = Number(process.env.REPLICA_STEPS ?? 1);
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, i) => i + 1);

  for (const [nodes, steps] of [[[1, 2, 3], 600], [[2, 5, 9, 11, 14], 800]] as const) {
    it(`${nodes.length} nodes [${nodes.join(', ')}]: ${seeds.length} seeds keep every invariant and converge`, () => {
      const total: Coverage = { decided: 0, replies: 0, leaderChanges: 0, lostBatches: 0, recoveries: 0, resyncs: 0 };
      for (const seed of seeds) {
        try {
          const c = randomSchedule(seed, nodes, Math.round(steps * stepsFactor));
          for (const k of Object.keys(total) as (keyof Coverage)[]) total[k] += c[k];
        } catch (e) {
          (e as Error).message = `seed ${seed} (replay: REPLICA_SEED=${seed}): ${(e as Error).message}`;
          throw e;
        }
      }
      if (only === undefined) {
        // Per seed on average: the schedules decide, answer, change leaders, lose batches, recover.
        const per = (k: keyof Coverage) => total[k] / seeds.length;
        expect(per('decided'), JSON.stringify(total)).to.be.at.least(5);
        expect(per('replies')).to.be.at.least(5);
        expect(per('leaderChanges')).to.be.at.least(1);
        expect(per('lostBatches')).to.be.at.least(0.5);
        expect(per('recoveries')).to.be.at.least(1);
        expect(per('resyncs')).to.be.at.least(3);
      }
      if (process.env.REPLICA_COVERAGE) console.log(JSON.stringify(total));
    });
  }
});
