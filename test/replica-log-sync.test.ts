/**
 * Log synchronisation when a new leader takes over (reference §A.4.3, §A.4.4), from hand-made
 * durable states: which log the leader adopts (BUG-3), how followers are brought to it (BUG-7),
 * that the adoption and the round are one batch (BUG-2), and that decided indices never move
 * back (BUG-6). The planted bugs show that these tests can fail.
 */
import { expect } from 'chai';
import { type Ballot, type NodeId } from '../src/replica/ballot.js';
import { describeEntry, type Entry } from '../src/replica/entry.js';
import type { PersistentState } from '../src/replica/storage.js';
import type { PlantedBug } from '../src/replica/types.js';
import { ReplicaHarness, command, entry, isHeartbeat, msgs, put } from './support/replica-harness.js';

const ballot = (n: number, priority: number, pid: number): Ballot => ({ n, priority, pid });

function state(promised: Ballot, acceptedRnd: Ballot, log: Entry[], decidedIdx: number): PersistentState {
  return { promised, acceptedRnd, snapshot: null, log, decidedIdx };
}

const show = (log: readonly Entry[]): string[] => log.map(describeEntry);

/**
 * Crashes `down` at once (the leaders of the hand-made rounds: a restarted old leader may take
 * its leadership back, which is not what these tests are about), then runs the election with
 * only heartbeats delivered until `leader` (given the top priority) has sent its Prepares.
 * Every other Sequence Paxos message is dropped, so the test decides which Prepares and Promises
 * arrive, and in which order.
 */
function electQuietly(h: ReplicaHarness, leader: NodeId, down: readonly NodeId[] = []): void {
  for (const id of down) h.crash(id);
  h.drop((m) => down.includes(m.from));
  h.rounds(2, { deliver: isHeartbeat });
  expect(h.status(leader), h.describe()).to.deep.include({ role: 'leader', phase: 'prepare' });
  h.drop((m) => !isHeartbeat(m) && !(m.from === leader && m.msg.kind === 'prepare'));
}

/** Delivers `leader`'s Prepare to each of `followers`, then their Promises in the same order. */
function prepare(h: ReplicaHarness, leader: NodeId, followers: readonly NodeId[]): void {
  for (const f of followers) h.deliver(msgs({ from: leader, to: f, kind: 'prepare' }));
  for (const f of followers) h.deliver(msgs({ from: f, to: leader, kind: 'promise' }));
}

/** Restarts `id` and lets it ask `leader` to prepare it; delivers the Prepare and its Promise. */
function joinLate(h: ReplicaHarness, id: NodeId, leader: NodeId): void {
  h.restart(id);
  h.drop((m) => m.from === id && !(m.to === leader && m.msg.kind === 'prepare-req'));
  h.deliver(msgs({ from: id, to: leader, kind: 'prepare-req' }));
  prepare(h, leader, [id]);
}

describe('replica: log synchronisation on a leader change', () => {
  // Entries shared by the hand-made logs (the same object means the same entry).
  const [a, b1, b2, b3, b4, c1, c2] = [
    entry('a', '0'), entry('b', '1'), entry('b', '2'), entry('b', '3'), entry('b', '4'), entry('c', '1'), entry('c', '2'),
  ];

  /**
   * Seven nodes, all promised R2 and agreeing on the decided entry `a`. Round R1 was led by 6,
   * R2 by 7 (down): a round's leader holds the longest log of its round.
   *   1 (the next leader)  R1  a b1 b2
   *   2                    R2  a c1          newest round, shorter
   *   3                    R2  a c1 c2       newest round, longest of it
   *   4                    R1  a b1 b2 b3 b4 longest, older round
   *   5                    R1  a
   *   6                    R1  a b1 b2 b3 b4
   *   7 (down)             R2  a c1 c2
   * The leader hears from 2, 4 and 3, in that order (a quorum of 4 with itself).
   */
  function greatestLogScenario(plantedBug?: PlantedBug): ReplicaHarness {
    const R1 = ballot(1, 0, 6);
    const R2 = ballot(2, 0, 7);
    const s = (acc: Ballot, log: Entry[]) => state(R2, acc, log, 1);
    const h = new ReplicaHarness({
      nodes: [1, 2, 3, 4, 5, 6, 7], priorities: { 1: 10 }, resendTicks: 1000, plantedBug,
      states: {
        1: s(R1, [a, b1, b2]), 2: s(R2, [a, c1]), 3: s(R2, [a, c1, c2]), 4: s(R1, [a, b1, b2, b3, b4]),
        5: s(R1, [a]), 6: s(R1, [a, b1, b2, b3, b4]), 7: s(R2, [a, c1, c2]),
      },
    });
    electQuietly(h, 1, [7]);
    prepare(h, 1, [2, 4, 3]);
    return h;
  }

  it('the new leader adopts the log with the greatest (acceptedRnd, acceptedIdx)', () => {
    const h = greatestLogScenario();
    const lead = h.status(1);
    expect(lead).to.deep.include({ role: 'leader', phase: 'accept' });
    expect(show(h.replica(1).log)).to.deep.equal(show([a, c1, c2]));
    expect(h.durable(1).log).to.deep.equal([a, c1, c2]);
    expect(h.durable(1).acceptedRnd).to.deep.equal(lead.leaderBallot);
    // BUG-2: the adopted log and the leader's round are written in one batch.
    const adopt = h.trace.filter((s) => s.node === 1 && s.ready.persist.some((op) => op.kind === 'set-accepted-rnd'));
    expect(adopt.length).to.equal(1);
    expect(adopt[0]!.ready.persist.map((op) => op.kind)).to.include.members(['append-on-prefix', 'set-accepted-rnd']);
    // The followers are brought to exactly that log, whatever they held.
    h.deliverAll((m) => !isHeartbeat(m));
    for (const id of [2, 3, 4]) {
      expect(show(h.replica(id).log), `node ${id}`).to.deep.equal(show([a, c1, c2]));
      expect(h.status(id)).to.deep.include({ phase: 'accept', acceptedRnd: lead.leaderBallot, decidedIdx: 3 });
    }
    expect(h.status(1).decidedIdx).to.equal(3);
  });

  it('with the planted bug sync-by-round-only the same scenario adopts a shorter log (the test above can fail)', () => {
    const h = greatestLogScenario('sync-by-round-only');
    expect(show(h.replica(1).log)).to.not.deep.equal(show([a, c1, c2]));
    expect(show(h.replica(1).log)).to.deep.equal(show([a, c1]));
  });

  it('a newer round beats a longer log', () => {
    // R1 led by 3, R2 by 5 (down). 1 (leader) R1 a b1 b2; 2: R2 a c1; 3: R1 a b1 b2 b3 b4.
    // The longest log is heard first.
    const R1 = ballot(1, 0, 3);
    const R2 = ballot(2, 0, 5);
    const s = (acc: Ballot, log: Entry[]) => state(R2, acc, log, 1);
    const h = new ReplicaHarness({
      nodes: [1, 2, 3, 4, 5], priorities: { 1: 10 }, resendTicks: 1000,
      states: { 1: s(R1, [a, b1, b2]), 2: s(R2, [a, c1]), 3: s(R1, [a, b1, b2, b3, b4]), 4: s(R1, [a]), 5: s(R2, [a, c1]) },
    });
    electQuietly(h, 1, [5]);
    prepare(h, 1, [3, 2]);
    expect(show(h.replica(1).log)).to.deep.equal(show([a, c1]));
  });

  it("the leader keeps its own log when it is the newest, and a follower's divergent suffix is replaced", () => {
    // R1 led by 2, R2 by 1. 1 (leader again) R2 a c1 c2; 2: R1 a b1 b2 b3 — only `a` is decided,
    // b1.. were never chosen.
    const R1 = ballot(1, 0, 2);
    const R2 = ballot(2, 0, 1);
    const h = new ReplicaHarness({
      nodes: [1, 2, 3], priorities: { 1: 10 }, resendTicks: 1000,
      states: { 1: state(R2, R2, [a, c1, c2], 1), 2: state(R2, R1, [a, b1, b2, b3], 1), 3: state(R2, R1, [a], 1) },
    });
    electQuietly(h, 1);
    prepare(h, 1, [2]);
    expect(show(h.replica(1).log)).to.deep.equal(show([a, c1, c2]));
    const sync = h.deliver(msgs({ from: 1, to: 2, kind: 'accept-sync' }));
    // BUG-7: a follower of another round is trusted only up to its decided prefix.
    expect(sync.msg.kind === 'accept-sync' && sync.msg.sync.syncIdx).to.equal(1);
    expect(show(h.replica(2).log)).to.deep.equal(show([a, c1, c2]));
    h.deliverAll((m) => !isHeartbeat(m));
    expect(h.status(2).decidedIdx).to.equal(3);
  });

  it('a follower of the same round as the adopted log keeps its shared prefix and gets only the rest', () => {
    // All of round R (led by 5, down). 1 (leader) a b1; 2: a b1 b2 b3; 4: a b1 — the leader adopts
    // 2's longer log; 3 (a b1 b2) promises late and is synced from its own length.
    const R = ballot(1, 0, 5);
    const h = new ReplicaHarness({
      nodes: [1, 2, 3, 4, 5], priorities: { 1: 10 }, resendTicks: 1000,
      states: {
        1: state(R, R, [a, b1], 1), 2: state(R, R, [a, b1, b2, b3], 1), 3: state(R, R, [a, b1, b2], 1),
        4: state(R, R, [a, b1], 1), 5: state(R, R, [a, b1, b2, b3], 1),
      },
    });
    electQuietly(h, 1, [5]);
    prepare(h, 1, [2, 4]);
    expect(show(h.replica(1).log)).to.deep.equal(show([a, b1, b2, b3]));
    prepare(h, 1, [3]);
    const toThree = h.inFlight(msgs({ to: 3, kind: 'accept-sync' }))[0]!;
    expect(toThree.msg.kind === 'accept-sync' && toThree.msg.sync).to.deep.equal({ syncIdx: 3, suffix: [b3], snapshot: null });
    h.deliverAll((m) => !isHeartbeat(m));
    for (const id of [1, 2, 3, 4]) {
      expect(show(h.replica(id).log), `node ${id}`).to.deep.equal(show([a, b1, b2, b3]));
      expect(h.status(id).decidedIdx, `node ${id}`).to.equal(4);
    }
  });

  describe('the decided index', () => {
    /**
     * Node 3 led round R and decided all three entries; its Decides were lost, so 1 and 2 know
     * only one. Node 1 takes over with the quorum {1, 2} (decided 1) while 3 is down; 3 comes
     * back, and its AcceptSync carries decidedIdx 1 — below what node 3 already decided.
     */
    function lateDeciderScenario(plantedBug?: PlantedBug): ReplicaHarness {
      const R = ballot(1, 0, 3);
      const log = [a, b1, b2];
      const h = new ReplicaHarness({
        nodes: [1, 2, 3], priorities: { 1: 10 }, resendTicks: 1000, plantedBug, strict: false,
        states: { 1: state(R, R, log, 1), 2: state(R, R, log, 1), 3: state(R, R, log, 3) },
      });
      electQuietly(h, 1, [3]);
      prepare(h, 1, [2]);
      expect(h.status(1)).to.deep.include({ phase: 'accept', decidedIdx: 1 });
      joinLate(h, 3, 1);
      const sync = h.deliver(msgs({ from: 1, to: 3, kind: 'accept-sync' }));
      expect(sync.msg.kind === 'accept-sync' && sync.msg.decidedIdx).to.equal(1);
      return h;
    }

    it('a follower never lowers its decided index when the leader knows less', () => {
      const h = lateDeciderScenario();
      expect(h.status(3)).to.deep.include({ phase: 'accept', decidedIdx: 3 });
      expect(h.trace.filter((s) => s.node === 3).flatMap((s) => s.ready.persist))
        .to.not.deep.include({ kind: 'set-decided-idx', idx: 1 });
      h.deliverAll((m) => !isHeartbeat(m));
      for (const id of [1, 2, 3]) expect(h.status(id).decidedIdx, `node ${id}`).to.equal(3);
      expect(h.violations).to.deep.equal([]);
    });

    it('with the planted bug assign-decided-idx the same script makes it go backwards', () => {
      const h = lateDeciderScenario('assign-decided-idx');
      expect(h.status(3).decidedIdx).to.equal(1);
      expect(h.durable(3).decidedIdx).to.equal(1);
      expect(h.violations.join('\n')).to.match(/node 3 .*decidedIdx went back from 3 to 1/);
    });

    it('a new leader learns a higher decided index from a promise, with the log that holds it', () => {
      // Round R led by 3 (down). 2 decided 2 of its 3 entries; the leader (1) knew 1.
      const R = ballot(1, 0, 3);
      const h = new ReplicaHarness({
        nodes: [1, 2, 3], priorities: { 1: 10 }, resendTicks: 1000,
        states: { 1: state(R, R, [a, b1], 1), 2: state(R, R, [a, b1, b2], 2), 3: state(R, R, [a, b1, b2], 2) },
      });
      electQuietly(h, 1, [3]);
      prepare(h, 1, [2]);
      // Adopted 2's longer log (same round) and its decided index, in the same step.
      expect(h.status(1)).to.deep.include({ logLength: 3, decidedIdx: 2 });
      h.request(1, command('c', 1, put('k', 'v')));
      h.deliverAll((m) => !isHeartbeat(m));
      expect(h.status(1)).to.deep.include({ logLength: 4, decidedIdx: 4 });
      expect(h.repliesAt(1).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
    });
  });
});
