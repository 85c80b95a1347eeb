/**
 * Ballot leader election with quorum-connectedness (reference §A.3.2).
 *
 * Every `electionTicks` a round ends. A node that heard replies from a majority (itself
 * included) in the round is quorum-connected (QC); only QC nodes are candidates, and a reply
 * carries the sender's own ballot and QC flag — never its idea of the leader. Gossiping the
 * leader is what makes leadership ping-pong in the "chained" scenario, so we do not.
 *
 * A QC node whose leader is no longer among the QC candidates (silent, or lost its quorum)
 * raises its own ballot above the leader's and becomes a candidate in the next round.
 */
import {
  BOTTOM, ballotEq, ballotGt, isBottom, majority, maxBallot, type Ballot, type NodeId,
} from './ballot.js';
import type { HeartbeatReply, HeartbeatRequest } from './messages.js';

export interface BleConfig {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly clusterSize: number;
  readonly priority: number;
  readonly electionTicks: number;
  /** This node's incarnation, sent in our replies (membership.ts). */
  readonly incarnation: string;
  /**
   * Does `id` speaking as `incarnation` count? Only voters make a quorum, and a node that is
   * not a voter itself (its data directory is new) never stands: it could not lead anyway
   * without trusting a disk that forgot what it promised.
   */
  readonly isVoter: (id: NodeId, incarnation: string) => boolean;
}

/** What Sequence Paxos tells the election at the end of each round (BUG-10). */
export interface PaxosView {
  /** The durable promise. */
  readonly promised: Ballot;
  /** The ballot this node currently leads in Sequence Paxos, or ⊥. */
  readonly leading: Ballot;
}

export interface BleSend {
  (to: NodeId, msg: HeartbeatRequest | HeartbeatReply): void;
}

export class BallotLeaderElection {
  private round = 0;
  private ballot: Ballot;
  private qc = true;
  private leader: Ballot;
  private readonly replies = new Map<NodeId, { ballot: Ballot; qc: boolean }>();
  private previousReplies = new Map<NodeId, { ballot: Ballot; qc: boolean }>();
  /** Ticks into the round at which a quorum of replies had arrived (null: not yet / never). */
  private quorumAt: number | null = null;
  private lastQuorumAt: number | null = null;
  private ticksLeft: number;
  private readonly quorum: number;

  /**
   * @param recoveredPromise the durable Sequence Paxos promise (⊥ on a fresh node). A node that
   *   recovered a promise starts with round number 0, below every ballot it could have issued
   *   before the crash, and adopts the promise as the leader it knows: it can only become a
   *   candidate again by raising its ballot above that promise (BUG-9: never re-run a ballot).
   */
  constructor(private readonly config: BleConfig, recoveredPromise: Ballot) {
    this.quorum = majority(config.clusterSize);
    const recovered = !isBottom(recoveredPromise);
    this.ballot = { n: recovered ? 0 : 1, priority: config.priority, pid: config.id };
    this.leader = recovered ? recoveredPromise : BOTTOM;
    this.ticksLeft = config.electionTicks;
  }

  get currentLeader(): Ballot { return this.leader; }
  get ownBallot(): Ballot { return this.ballot; }
  get quorumConnected(): boolean { return this.qc; }

  /** Starts the first round. */
  start(send: BleSend): void {
    this.startRound(send);
  }

  /**
   * Advances time by one tick. Returns the newly elected leader ballot when it changed in this
   * tick (to be handed to Sequence Paxos), else null.
   */
  tick(paxos: PaxosView, send: BleSend): Ballot | null {
    if (--this.ticksLeft > 0) return null;
    const elected = this.endRound(paxos);
    this.startRound(send);
    return elected;
  }

  /**
   * A link to `peer` came up (at boot, or again after a cut): ask it at once instead of at the
   * next round. Its reply then counts in this round; otherwise a leader that connects mid-round
   * — or that we learned from its Prepare before any heartbeat — is silent for two rounds and
   * taken for dead, and the nodes that booted first depose it with a higher ballot (a fresh
   * 5-node start used to elect 4–6 ballots before settling).
   */
  onReconnected(peer: NodeId, send: BleSend): void {
    send(peer, { kind: 'heartbeat-request', round: this.round });
  }

  onRequest(from: NodeId, m: HeartbeatRequest, send: BleSend): void {
    send(from, { kind: 'heartbeat-reply', round: m.round, ballot: this.ballot, qc: this.reportedQc(), inc: this.config.incarnation });
  }

  /**
   * The QC flag we tell others: that of the last finished round, unless the current round is
   * half over, we still lack a quorum of replies, and in the last round the quorum had arrived
   * before half time (so round trips are short and the missing replies are not coming). Without
   * this a leader cut off just after its round collected its replies is reported
   * quorum-connected for up to two more rounds, and taking over costs a round more (4 election
   * timeouts instead of 3 in the quorum-loss scenario; test/sim-scenarios.test.ts). Where round
   * trips take more than half a round the paper's rule applies unchanged, or healthy leaders
   * would be deposed. A departure from the paper's BLE.
   */
  private reportedQc(): boolean {
    if (!this.selfVoter()) return false;
    const elapsed = this.config.electionTicks - this.ticksLeft;
    const half = this.config.electionTicks / 2;
    if (this.qc && this.lastQuorumAt !== null && this.lastQuorumAt < half
      && elapsed >= half && this.replies.size + 1 < this.quorum) return false;
    return this.qc;
  }

  private selfVoter(): boolean {
    return this.config.isVoter(this.config.id, this.config.incarnation);
  }

  onReply(from: NodeId, m: HeartbeatReply): void {
    // Late replies belong to a finished round and say nothing about this one.
    if (m.round !== this.round) return;
    // A learner's reply proves connectivity, not a vote: it makes no quorum.
    if (!this.config.isVoter(from, m.inc)) return;
    this.replies.set(from, { ballot: m.ballot, qc: m.qc });
    if (this.quorumAt === null && this.replies.size + 1 >= this.quorum) {
      this.quorumAt = this.config.electionTicks - this.ticksLeft;
    }
  }

  private startRound(send: BleSend): void {
    this.round++;
    this.previousReplies = new Map(this.replies);
    this.replies.clear();
    this.lastQuorumAt = this.quorumAt;
    this.quorumAt = null;
    this.ticksLeft = this.config.electionTicks;
    for (const p of this.config.peers) send(p, { kind: 'heartbeat-request', round: this.round });
  }

  /**
   * Is the leader alive? Our own ballot is, if Sequence Paxos leads it. Another node's is if
   * that node answered this round as quorum-connected — whatever ballot its reply carries: a
   * reply can cross the Prepare that taught us the leader's new ballot, and who sent it is what
   * matters. One lost reply is forgiven if the leader answered the previous round as
   * quorum-connected and has not since said it is not: otherwise a single lost heartbeat
   * deposes a healthy leader (a silent leader costs one round more to replace).
   */
  private leaderAlive(paxos: PaxosView): boolean {
    const l = this.leader;
    if (isBottom(l)) return false;
    if (l.pid === this.config.id) return ballotEq(paxos.leading, l);
    const now = this.replies.get(l.pid);
    if (now) return now.qc;
    return this.previousReplies.get(l.pid)?.qc === true;
  }

  private endRound(paxos: PaxosView): Ballot | null {
    // BUG-10: Sequence Paxos may have promised a ballot this election never saw win (it came
    // in a Prepare). Follow it, so that a dead promised leader is replaced by a higher ballot.
    if (ballotGt(paxos.promised, this.leader)) this.leader = paxos.promised;
    if (this.replies.size + 1 < this.quorum) {
      // Not a candidate, and no reason to raise our ballot: nobody would hear it.
      this.qc = false;
      return null;
    }
    this.qc = true;
    if (!this.selfVoter()) {
      // Not a voter: follow the highest quorum-connected candidate, never stand or raise.
      const top = this.topCandidate();
      if (isBottom(top) || ballotEq(top, this.leader) || (this.leaderAlive(paxos) && !ballotGt(top, this.leader))) return null;
      this.leader = top;
      return top;
    }
    let top = this.topCandidate();
    if (this.leaderAlive(paxos)) {
      top = maxBallot(top, this.leader);
    } else if (!ballotGt(top, this.leader)) {
      // The leader is silent, no longer quorum-connected, or it is our own ballot from before a
      // restart (that ballot is dead for good: BUG-9). Stand as a candidate right away; if
      // another quorum-connected node does the same, the higher ballot wins its Prepare and the
      // other follows it at the end of the next round.
      this.raiseAbove(this.leader, paxos.promised);
      this.leader = BOTTOM;
      top = this.topCandidate();
    }
    if (ballotEq(top, this.leader)) return null;
    if (top.pid === this.config.id && !ballotGt(top, paxos.promised)) {
      // Our ballot would be ignored by Sequence Paxos (it must exceed the promise).
      this.raiseAbove(this.leader, paxos.promised);
      return null;
    }
    this.leader = top;
    return top;
  }

  /** The highest ballot among this node (if a voter) and the quorum-connected nodes that replied. */
  private topCandidate(): Ballot {
    let top = this.selfVoter() ? this.ballot : BOTTOM;
    for (const r of this.replies.values()) if (r.qc) top = maxBallot(top, r.ballot);
    return top;
  }

  private raiseAbove(...ballots: Ballot[]): void {
    const n = Math.max(this.ballot.n, ...ballots.map((b) => b.n)) + 1;
    this.ballot = { n, priority: this.config.priority, pid: this.config.id };
  }
}
