/**
 * Review of the replica core (src/replica): regression tests for the review's liveness findings
 * (each failed before its fix: early not-QC report under round trips over half a round, ballot
 * inflation of a deaf restarted ex-leader, a stream message overtaking its AcceptSync), and for
 * the departures from the reference that the review judged safe.
 */
import { expect } from 'chai';
import { formatBallot, type NodeId } from '../src/replica/ballot.js';
import type { PeerMessage } from '../src/replica/messages.js';
import { runSeed } from '../src/sim/run.js';
import { ReplicaHarness, command, msgs, put, type InFlight } from './support/replica-harness.js';

const RESEND = 3;

/**
 * Drives `h` with a network where every message takes exactly `delay` ticks: tick every live
 * node, then deliver what is due (messages sent while delivering are due `delay` ticks later).
 */
function delayedNetwork(h: ReplicaHarness, delay: number): (ticks: number) => void {
  const due = new Map<number, number>();
  let now = 0;
  return (ticks) => {
    for (let t = 0; t < ticks; t++) {
      now++;
      for (const id of h.ids) if (h.isUp(id)) h.tick(id);
      for (;;) {
        for (const m of h.network) if (!due.has(m.id)) due.set(m.id, now + delay);
        const next = h.network.find((m) => due.get(m.id)! <= now);
        if (!next) break;
        h.deliver((m) => m.id === next.id);
      }
    }
  };
}

/** Ballots that reached Accept phase as a leader, in trace order (from trace index `from`). */
function ledBallots(h: ReplicaHarness, from = 0): string[] {
  const out: string[] = [];
  for (const s of h.trace.slice(from)) {
    if (s.status.role !== 'leader' || s.status.phase !== 'accept') continue;
    const b = `${s.node}:${formatBallot(s.status.leaderBallot)}`;
    if (!out.includes(b)) out.push(b);
  }
  return out;
}

function sentTo(h: ReplicaHarness, from: NodeId, to: NodeId, kind: PeerMessage['kind']): PeerMessage[] {
  return h.allSent(msgs({ from, to, kind })).map((m: InFlight) => m.msg);
}

describe('review: replica core', function () {
  this.timeout(120_000);

  describe('BLE: the early not-QC report (reportedQc) — liveness', () => {
    it('a healthy leader is not deposed when the round trip is over half a round (but under a round)', () => {
      // Rounds of 10 ticks, every message takes 3 ticks (round trip 6 ticks). Every reply arrives
      // within its round, so the paper's BLE (A.3.2) keeps the leader. The early report says
      // "not QC" to a request that lands between the half-round mark and the replies' arrival.
      const h = new ReplicaHarness({ nodes: [1, 2, 3], electionTicks: 10, resendTicks: RESEND });
      const run = delayedNetwork(h, 3);
      run(40);
      expect(h.leader()).to.equal(3);
      // Follower 1 restarts 11 ticks later: its rounds are now offset from the leader's, so its
      // heartbeat requests reach 3 just after 3's half-round mark.
      h.crash(1);
      run(11);
      h.restart(1);
      const from = h.trace.length;
      run(200);
      expect(ledBallots(h, from), h.describe()).to.deep.equal(['3:1.0.3']);
    });

    it('sim, no faults, 5 nodes, one-way delay 20–24 ms (round 50 ms): clients make progress (seeds 33, 98)', async () => {
      // Fails today with `no-progress` and ~30 leader changes per run; with reportedQc() returning
      // this.qc the same runs have 2 leader changes and no violation.
      for (const seed of [33, 98]) {
        const r = await runSeed(seed, { nodes: 5, faults: [], network: { delayMinUs: 20_000, delayMaxUs: 24_000, inFlightDrop: 0.5 } });
        expect(r.violations.map((v) => `[${v.kind}] ${v.message}`), `seed ${seed}`).to.deep.equal([]);
        expect(r.stats.leaderChanges, `seed ${seed}`).to.be.at.most(3);
      }
    });
  });

  describe('BLE: a restarted ex-leader that hears nobody — liveness', () => {
    it('does not inflate its ballot while not quorum-connected, nor depose the leader elected meanwhile', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], electionTicks: 5, resendTicks: RESEND });
      h.rounds(2);
      expect(h.leader()).to.equal(3);
      // Leader 3 crashes and restarts while nothing reaches it (its own messages still go out).
      h.crash(3);
      h.cutOneWay(1, 3);
      h.cutOneWay(2, 3);
      h.restart(3);
      h.rounds(6);
      expect(h.leader()).to.equal(2);
      // Step 2 of endRound raises 3's ballot every round: its promise is its own old ballot, and
      // step 1 puts that back as the leader each round. The paper's BLE does nothing while not QC.
      const own = (h.replica(3) as unknown as { ble: { ownBallot: { n: number } } }).ble.ownBallot;
      expect(own.n, 'ballot round of the deaf node').to.be.at.most(2);
      const from = h.trace.length;
      h.healAll();
      h.rounds(4);
      expect(ledBallots(h, from), h.describe()).to.deep.equal(['2:2.0.2']);
    });
  });

  describe('stream messages that overtake their AcceptSync — liveness', () => {
    it('an AcceptDecide that arrives in Prepare phase, before the AcceptSync of its session, does not cost a recovery', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: RESEND });
      h.rounds(1);
      expect(h.leader()).to.equal(3);
      h.crash(2); // node 1's vote is needed for every decision
      // The leader re-prepares node 1 (a reconnect); node 1 promises again.
      h.step(3, { kind: 'reconnected', peer: 1 });
      h.deliver(msgs({ to: 1, kind: 'prepare' }));
      h.deliver(msgs({ from: 1, kind: 'promise' }));
      // The AcceptSync is slow; the next write's AcceptDecide on the same session overtakes it.
      const sync = h.takeOut(msgs({ to: 1, kind: 'accept-sync' }));
      h.request(3, command('c', 1, put('x', '1')));
      h.deliver(msgs({ to: 1, kind: 'accept-decide' })); // node 1 is in Prepare phase: dropped today
      h.putBack(...sync);
      h.deliverAll();
      // Today: node 1 is in Accept phase without the entry; the write waits until node 1 sees the
      // gap, waits a resend period, recovers and is re-synced.
      expect(h.repliesAt(3).map((r) => r.result), h.describe()).to.deep.equal([{ kind: 'ok' }]);
    });
  });

  describe('departures judged safe (regression tests; they pass)', () => {
    it('re-promise of an equal ballot in Accept phase, a stale AcceptSync of an older session, then a newer session: logs stay consistent', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: RESEND });
      h.rounds(1);
      expect(h.leader()).to.equal(3);
      const [prepare] = sentTo(h, 3, 1, 'prepare');
      const [oldSync] = sentTo(h, 3, 1, 'accept-sync');
      expect(prepare && oldSync).to.not.equal(undefined);
      // A duplicate of the election's Prepare: node 1 (in Accept phase) promises the same ballot
      // again and is re-synced on a new session.
      h.inject(1, 3, prepare!);
      expect(h.status(1).phase).to.equal('prepare');
      h.deliverAll((m) => m.msg.kind !== 'heartbeat-request' && m.msg.kind !== 'heartbeat-reply');
      expect(h.status(1).phase).to.equal('accept');
      // The election's AcceptSync (session 1) turns up again: older session, ignored in Accept phase.
      const before = h.status(1);
      h.inject(1, 3, oldSync!);
      expect(h.status(1)).to.deep.equal(before);
      // Two writes; node 1 applies them on the current session.
      h.request(3, command('a', 1, put('x', '1')));
      h.request(3, command('b', 1, put('x', '2')));
      h.deliverAll((m) => m.msg.kind !== 'heartbeat-request' && m.msg.kind !== 'heartbeat-reply');
      expect(h.status(1)).to.deep.include({ logLength: 2, decidedIdx: 2 });
      // Another duplicate Prepare, then the stale session-1 AcceptSync while node 1 waits in
      // Prepare phase: its log would be shorter than node 1's (0 < 2), so it is ignored.
      h.inject(1, 3, prepare!);
      const promise = h.takeOut(msgs({ from: 1, kind: 'promise' }));
      h.inject(1, 3, oldSync!);
      expect(h.status(1)).to.deep.include({ phase: 'prepare', logLength: 2, decidedIdx: 2, acceptedRnd: h.status(3).leaderBallot });
      // The Promise reaches the leader: re-synced from its own acceptedIdx, nothing decided is touched.
      h.putBack(...promise);
      h.request(3, command('c', 1, put('x', '3')));
      h.deliverAll((m) => m.msg.kind !== 'heartbeat-request' && m.msg.kind !== 'heartbeat-reply');
      h.rounds(2);
      for (const id of [1, 2, 3]) {
        expect(h.status(id), `node ${id}`).to.deep.include({ logLength: 3, decidedIdx: 3, appliedIdx: 3 });
        expect(h.replica(id).kvEntries(), `node ${id}`).to.deep.equal([['x', '3']]);
      }
      expect(h.repliesAt(3).map((r) => r.clientId)).to.deep.equal(['a', 'b', 'c']);
      expect(h.violations).to.deep.equal([]);
    });

    it('a stale AcceptSync of an older session, as long as the log, is taken in Prepare phase; the newer session then re-syncs the follower', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: RESEND });
      const notHeartbeat = (m: InFlight) => m.msg.kind !== 'heartbeat-request' && m.msg.kind !== 'heartbeat-reply';
      h.rounds(1);
      const [prepare] = sentTo(h, 3, 1, 'prepare');
      const [oldSync] = sentTo(h, 3, 1, 'accept-sync');
      // Node 1 promises the same ballot again; its Promise is slow.
      h.inject(1, 3, prepare!);
      const promise = h.takeOut(msgs({ from: 1, kind: 'promise' }));
      // The session-1 AcceptSync (empty log, as long as node 1's) is taken: node 1 is on session 1.
      h.inject(1, 3, oldSync!);
      expect(h.status(1).phase).to.equal('accept');
      // Writes stream on the leader's session for node 1 (still session 1), then the Promise arrives
      // and opens a newer session: node 1 re-syncs from its acceptedIdx; nothing is lost or rewritten.
      h.request(3, command('a', 1, put('x', '1')));
      h.deliverAll(notHeartbeat);
      h.putBack(...promise);
      h.request(3, command('b', 1, put('x', '2')));
      h.deliverAll(notHeartbeat);
      h.rounds(2);
      for (const id of [1, 2, 3]) expect(h.status(id), `node ${id}`).to.deep.include({ phase: 'accept', logLength: 2, decidedIdx: 2 });
      expect(h.repliesAt(3).map((r) => r.clientId)).to.deep.equal(['a', 'b']);
      expect(h.violations).to.deep.equal([]);
    });

    it("a leader's AcceptDecides and Decides leave before its writes are durable, but its own vote counts only once durable; a crash then loses no decision", () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: RESEND });
      h.rounds(1);
      expect(h.leader()).to.equal(3);
      h.hold(3);
      h.request(3, command('c', 1, put('x', '1')));
      // The AcceptDecides left before the append is durable (pipelining, reference §A.5)…
      expect(h.inFlight(msgs({ from: 3, kind: 'accept-decide' }))).to.have.length(2);
      h.deliver(msgs({ to: 1, kind: 'accept-decide' }));
      h.deliver(msgs({ from: 1, kind: 'accepted' }));
      // …so the leader does not count its own undurable append: one follower is no quorum.
      expect(h.status(3).decidedIdx).to.equal(0);
      h.sync(3, 1); // the append is durable; the persisted step decides
      expect(h.status(3).decidedIdx).to.equal(1);
      // The Decides leave at once (the decision rests on durable votes: node 1's and the
      // leader's); the reply waits for the disk, and a crash now loses it.
      expect(h.inFlight(msgs({ from: 3, kind: 'decide' }))).to.have.length(2);
      expect(h.repliesAt(3)).to.deep.equal([]);
      h.crash(3, { lose: h.undurable(3) });
      h.rounds(4);
      expect(h.repliesAt(3)).to.deep.equal([]);
      for (const id of [1, 2]) expect(h.status(id).decidedIdx, `node ${id}`).to.equal(1);
      expect(h.violations).to.deep.equal([]);
    });
  });
});
