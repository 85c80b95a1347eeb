/**
 * Ballot leader election (reference §A.3.2), through the Replica API and the scripted harness
 * (every tick is followed by delivering every message, so a round sees every live peer).
 */
import { expect } from 'chai';
import { BallotLeaderElection } from '../src/replica/ballot-leader-election.js';
import { BOTTOM, ballotEq, ballotGt, type Ballot, type NodeId } from '../src/replica/ballot.js';
import type { HeartbeatReply } from '../src/replica/messages.js';
import { ReplicaHarness, command, isHeartbeat, msgs, put } from './support/replica-harness.js';

const ELECTION_TICKS = 5;
const b = (n: number, priority: number, pid: number): Ballot => ({ n, priority, pid });

function bleLeaders(h: ReplicaHarness, ids: readonly NodeId[] = h.ids): Ballot[] {
  return ids.map((id) => h.status(id).bleLeader);
}

describe('replica: ballot leader election', () => {
  describe('first election', () => {
    for (const nodes of [[1, 2, 3], [1, 2, 3, 4, 5]]) {
      it(`a ${nodes.length}-node cluster elects the highest ballot at the end of the first round`, () => {
        const h = new ReplicaHarness({ nodes, electionTicks: ELECTION_TICKS });
        h.run(ELECTION_TICKS - 1);
        expect(bleLeaders(h).every((l) => ballotEq(l, BOTTOM)), 'no leader before the round ends').to.equal(true);
        h.run(1);
        const top = nodes[nodes.length - 1]!;
        for (const l of bleLeaders(h)) expect(l).to.deep.equal(b(1, 0, top));
        // Sequence Paxos follows at once: the elected node prepared, synced and leads.
        expect(h.leaders()).to.deep.equal([top]);
        for (const id of nodes) expect(h.status(id).promised).to.deep.equal(b(1, 0, top));
        expect(nodes.every((id) => h.status(id).quorumConnected)).to.equal(true);
      });
    }

    it('a higher configured priority beats a higher pid', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3, 4, 5], priorities: { 2: 3, 4: 1 } });
      h.rounds(1);
      for (const l of bleLeaders(h)) expect(l).to.deep.equal(b(1, 3, 2));
      expect(h.leaders()).to.deep.equal([2]);
    });

    it('among equal priorities the pid decides', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3, 4, 5], priorities: { 1: 2, 3: 2 } });
      h.rounds(1);
      expect(h.leaders()).to.deep.equal([3]);
      expect(h.status(5).bleLeader).to.deep.equal(b(1, 2, 3));
    });

    it('a single node elects itself', () => {
      const h = new ReplicaHarness({ nodes: [7] });
      h.rounds(1);
      expect(h.leaders()).to.deep.equal([7]);
      h.request(7, command('c', 1, put('x', '1')));
      expect(h.repliesAt(7)).to.deep.equal([{ node: 7, clientId: 'c', seq: 1, result: { kind: 'ok' } }]);
    });
  });

  describe('quorum-connectedness', () => {
    it('a node that hears fewer than a majority is not QC and is never elected', () => {
      // Node 5, the highest pid, can talk only to node 1.
      const h = new ReplicaHarness({ nodes: [1, 2, 3, 4, 5] });
      h.keepOnly([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4], [1, 5]]);
      h.rounds(1);
      expect(h.status(5).quorumConnected).to.equal(false);
      expect(h.leaders()).to.deep.equal([4]);
      // QC starts out true (as in the reference) before anyone has counted, so node 1 may take
      // node 5's ballot in round 1; from the end of round 2 on, node 5's replies say it is not
      // QC and nobody takes it.
      h.rounds(1);
      const from = h.trace.length;
      h.rounds(6);
      for (const step of h.trace.slice(from)) {
        expect(step.status.bleLeader.pid, `step ${step.index} at node ${step.node}`).to.not.equal(5);
      }
      expect(h.trace.some((s) => s.node === 5 && s.status.role === 'leader')).to.equal(false);
      expect(h.allSent(msgs({ from: 5, kind: 'prepare' }))).to.deep.equal([]);
      expect(h.status(5).quorumConnected).to.equal(false);
      expect([1, 2, 3, 4]).to.include(h.leader());
      // The connected majority makes progress.
      h.request(2, command('c', 1, put('x', '1')));
      h.deliverAll();
      expect(h.repliesAt(2).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
    });

    it('a leader that loses its quorum is replaced, is not elected again while cut off, and cannot decide', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3, 4, 5] });
      h.rounds(1);
      expect(h.leaders()).to.deep.equal([5]);
      h.keepOnly([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4], [1, 5]]);
      h.rounds(4);
      expect(h.status(5).quorumConnected).to.equal(false);
      const majority = [1, 2, 3, 4];
      const leader = h.leader(majority);
      expect(ballotGt(h.status(leader).leaderBallot, b(1, 0, 5))).to.equal(true);
      for (const id of majority) expect(h.status(id).promised, `node ${id}`).to.deep.equal(h.status(leader).leaderBallot);
      const cutAt = h.trace.length;
      h.rounds(5);
      expect(h.trace.slice(cutAt).some((s) => s.node !== 5 && s.status.bleLeader.pid === 5)).to.equal(false);
      expect(h.leader(majority)).to.equal(leader);
      // Node 5 cannot decide anything on its own: it may still think it leads, or follow a
      // ballot its one neighbour tried and gave up. (Its request may still take effect: node 5
      // forwards it to node 1, which passes it on to the leader; node 5 never learns the outcome,
      // and its client's retry elsewhere gets the remembered answer.)
      h.request(5, command('stale', 1, put('x', 'stale')));
      h.rounds(2);
      expect(h.repliesAt(5)).to.deep.equal([]);
      expect(h.status(5).decidedIdx).to.equal(0);
      const leaderLog = h.replica(leader).log;
      for (let i = 0; i < h.status(leader).decidedIdx; i++) {
        expect(h.status(leader).acceptedRnd, 'decided under the majority\'s ballot').to.deep.equal(h.status(leader).leaderBallot);
        expect(leaderLog[i]).to.not.equal(undefined);
      }
    });

    it('in a 4-node cluster a node that hears one peer (half the cluster, itself included) is not QC (BUG-16)', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3, 4] });
      h.keepOnly([[1, 2], [1, 3], [2, 3], [1, 4]]);
      h.rounds(4);
      expect(h.status(4).quorumConnected).to.equal(false);
      expect(h.trace.some((s) => s.node === 4 && s.status.role === 'leader')).to.equal(false);
      expect([1, 2, 3]).to.include(h.leader());
    });

    it('quorum loss: leader C keeps only its link to A, and B, D, E reach only A: A is elected', () => {
      const [A, B, C, D, E] = [1, 2, 3, 4, 5] as const;
      const h = new ReplicaHarness({ nodes: [A, B, C, D, E], priorities: { [C]: 10 } });
      h.rounds(1);
      expect(h.leaders()).to.deep.equal([C]);
      h.keepOnly([[C, A], [B, A], [D, A], [E, A]]);
      h.rounds(5);
      // A is the only QC node: it hears everyone, though its leader C still answers it.
      expect([A, B, C, D, E].map((id) => h.status(id).quorumConnected)).to.deep.equal([true, false, false, false, false]);
      expect(h.leaders()).to.deep.equal([A]);
      const ballot = h.status(A).leaderBallot;
      for (const id of [B, C, D, E]) expect(h.status(id).promised, `node ${id}`).to.deep.equal(ballot);
      expect(h.status(C).role).to.equal('follower');
      // It is stable and it works: a write through B (which reaches only A) is decided.
      h.rounds(5);
      expect(h.leaders()).to.deep.equal([A]);
      expect(h.status(A).leaderBallot).to.deep.equal(ballot);
      h.request(B, command('c', 1, put('x', '1')));
      h.deliverAll();
      expect(h.repliesAt(B).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
    });
  });

  describe('leader failure and restart', () => {
    it('a dead leader is replaced within a few rounds, and the cluster accepts writes again', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3, 4, 5] });
      h.rounds(1);
      expect(h.leader()).to.equal(5);
      h.request(1, command('c', 1, put('x', '1')));
      h.deliverAll();
      h.crash(5);
      h.rounds(3);
      const leader = h.leader();
      expect(leader).to.equal(4);
      expect(ballotGt(h.status(leader).leaderBallot, b(1, 0, 5))).to.equal(true);
      h.request(2, command('c', 2, put('x', '2')));
      h.deliverAll();
      expect(h.repliesAt(2).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
      expect(h.replica(3).kvEntries()).to.deep.equal([['x', '2']]);
    });

    it('a restarted leader that answers with its round-0 ballot is not deposed: it takes over with a higher one, uncontested', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3] });
      h.run(ELECTION_TICKS - 1);
      h.run(1, { deliver: (m) => !isHeartbeat(m) }); // round 1 ends: 3 leads; round 2's heartbeats wait
      expect(h.leader()).to.equal(3);
      // Node 3 restarts before it answers round 2; its answers carry its round-0 ballot.
      const toThree = h.takeOut(msgs({ to: 3, kind: 'heartbeat-request' }));
      h.crash(3);
      h.restart(3);
      h.putBack(...toThree);
      const from = h.trace.length;
      h.deliverAll();
      const replies = h.trace.slice(from).filter((s) => s.node === 3).flatMap((s) => s.ready.send)
        .filter((o) => o.msg.kind === 'heartbeat-reply').map((o) => (o.msg as HeartbeatReply).ballot);
      expect(replies).to.deep.equal([b(0, 0, 3), b(0, 0, 3)]);
      h.rounds(3);
      // A live leader is judged by who answers, not by the ballot in the answer: 1 and 2 did not
      // stand as candidates; 3 raised its own ballot and leads again.
      const prepared = new Set(h.trace.slice(from).filter((s) => s.ready.send.some((o) => o.msg.kind === 'prepare')).map((s) => s.node));
      expect([...prepared]).to.deep.equal([3]);
      expect(h.leader()).to.equal(3);
      expect(h.status(3).leaderBallot).to.deep.equal(b(2, 0, 3));
    });

    it('the election follows a promise it never saw win, so that its dead leader is replaced (BUG-10)', () => {
      const [A, B, C] = [1, 2, 3] as const;
      const h = new ReplicaHarness({ nodes: [A, B, C], resendTicks: 3 });
      // Round 1: C's heartbeat replies are lost, so A and B elect B; C hears both and elects itself.
      h.lose(msgs({ from: C, kind: 'heartbeat-reply' }));
      h.run(ELECTION_TICKS - 1);
      h.run(1, { deliver: false });
      h.healAll();
      expect(h.status(A).bleLeader).to.deep.equal(b(1, 0, B));
      expect(h.status(B)).to.deep.include({ role: 'leader', phase: 'prepare' });
      expect(h.status(C)).to.deep.include({ role: 'leader', phase: 'prepare' });
      // C's Prepare reaches A first; B's arrives after and is refused. A syncs to C.
      h.drop(msgs({ from: C, to: B, kind: 'prepare' }));
      h.drop(msgs({ from: B, to: C, kind: 'prepare' }));
      h.deliver(msgs({ from: C, to: A, kind: 'prepare' }));
      h.deliver(msgs({ from: B, to: A, kind: 'prepare' }));
      h.deliverAll((m) => !isHeartbeat(m));
      expect(h.status(C).phase).to.equal('accept');
      expect(h.status(A)).to.deep.include({ promised: b(1, 0, C), acceptedRnd: b(1, 0, C), bleLeader: b(1, 0, B) });
      // C dies before A's election ever sees its ballot. B's ballot is below A's promise.
      h.crash(C);
      h.rounds(4);
      const leader = h.leader();
      expect(ballotGt(h.status(leader).leaderBallot, b(1, 0, C))).to.equal(true);
      h.request(B, command('c', 1, put('x', '1')));
      h.deliverAll();
      expect(h.repliesAt(B).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
    });

    it('a peer whose link comes up mid-round is asked at once, so a leader learned from its Prepare is not taken for dead (startup churn, BLE unit)', () => {
      // Node 1 of 5 booted first. Round 1 heard nodes 2 and 3 (a quorum with itself); node 5's
      // link comes up in the middle of round 2 — after that round's requests went out — and its
      // Prepare for (1, 0, 5) makes Sequence Paxos promise it. Before the fix node 1 heard
      // nothing from 5 in rounds 1 and 2, judged the promised leader dead at the end of round 2
      // and raised its own ballot to (2, 0, 1), deposing a healthy leader.
      const cfg = { id: 1, peers: [2, 3, 4, 5], clusterSize: 5, priority: 0, electionTicks: 5, incarnation: 'node-1', isVoter: () => true };
      const ble = new BallotLeaderElection(cfg, BOTTOM);
      const sent: { to: NodeId; msg: { kind: string; round?: number } }[] = [];
      const send = (to: NodeId, msg: { kind: string; round?: number }): void => { sent.push({ to, msg }); };
      const reply = (from: NodeId, round: number, ballot: Ballot): void =>
        ble.onReply(from, { kind: 'heartbeat-reply', round, ballot, qc: true, inc: `node-${from}` });
      const endRound = (paxos: { promised: Ballot; leading: Ballot }): Ballot | null => {
        let elected: Ballot | null = null;
        for (let t = 0; t < cfg.electionTicks; t++) elected = ble.tick(paxos, send) ?? elected;
        return elected;
      };
      ble.start(send);
      reply(2, 1, b(1, 0, 2));
      reply(3, 1, b(1, 0, 3));
      expect(endRound({ promised: BOTTOM, leading: BOTTOM })).to.deep.equal(b(1, 0, 3));
      // Round 2: 2 and 3 answer; 5 connects now and prepares us.
      reply(2, 2, b(1, 0, 2));
      reply(3, 2, b(1, 0, 3));
      sent.length = 0;
      ble.onReconnected(5, send);
      expect(sent).to.deep.equal([{ to: 5, msg: { kind: 'heartbeat-request', round: 2 } }]);
      reply(5, 2, b(1, 0, 5));
      const promised = b(1, 0, 5);
      const elected = endRound({ promised, leading: BOTTOM });
      expect(ble.ownBallot, 'node 1 did not raise its ballot').to.deep.equal(b(1, 0, 1));
      expect(elected ?? ble.currentLeader).to.deep.equal(promised);
    });

    it('a node with a recovered promise starts at round 0 (BLE unit)', () => {
      const cfg = { id: 3, peers: [1, 2], clusterSize: 3, priority: 0, electionTicks: 5, incarnation: 'node-1', isVoter: () => true };
      const fresh = new BallotLeaderElection(cfg, BOTTOM);
      expect(fresh.ownBallot).to.deep.equal(b(1, 0, 3));
      expect(fresh.currentLeader).to.deep.equal(BOTTOM);
      const recovered = new BallotLeaderElection(cfg, b(1, 0, 3));
      expect(recovered.ownBallot).to.deep.equal(b(0, 0, 3));
      expect(recovered.currentLeader).to.deep.equal(b(1, 0, 3));
    });

    it('a leader restarted at once never issues its old ballot again (BUG-9)', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3] });
      h.rounds(1);
      const old = b(1, 0, 3);
      expect(h.status(3).leaderBallot).to.deep.equal(old);
      h.request(1, command('c', 1, put('x', '1')));
      h.deliverAll();
      // Crash and restart before the others notice anything.
      h.crash(3);
      h.restart(3);
      expect(h.status(3)).to.deep.include({ role: 'follower', phase: 'recover', promised: old, bleLeader: old });
      // Ask for its ballot before its first round ends.
      const probe = h.inject(3, 1, { kind: 'heartbeat-request', round: 1000 });
      expect(probe.ready.send.map((o) => o.msg)).to.deep.equal([
        { kind: 'heartbeat-reply', round: 1000, ballot: b(0, 0, 3), qc: true, inc: 'node-3' },
      ]);
      h.rounds(4);
      const after = h.trace.filter((s) => s.node === 3 && s.incarnation === 1);
      const sent = after.flatMap((s) => s.ready.send);
      const replies = sent.filter((o) => o.msg.kind === 'heartbeat-reply').map((o) => (o.msg as HeartbeatReply).ballot);
      expect(replies.length).to.be.greaterThan(2);
      for (const r of replies) expect(ballotEq(r, old), 'heartbeat ballot').to.equal(false);
      for (const o of sent) {
        if (o.msg.kind === 'prepare') expect(ballotGt(o.msg.n, old), 'prepare ballot').to.equal(true);
      }
      for (const s of after) {
        if (s.status.role === 'leader') expect(ballotGt(s.status.leaderBallot, old)).to.equal(true);
      }
      // And the cluster moved on to a higher ballot and works.
      const leader = h.leader();
      expect(ballotGt(h.status(leader).leaderBallot, old)).to.equal(true);
      h.request(2, command('c', 2, put('x', '2')));
      h.deliverAll();
      expect(h.repliesAt(2).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
      for (const id of h.ids) expect(h.replica(id).kvEntries(), `node ${id}`).to.deep.equal([['x', '2']]);
    });
  });
});
