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
  BOTTOM, ballotEq, ballotGt, ballotLt, isBottom, majority, maxBallot, type Ballot, type NodeId,
} from './ballot.js';
import type { HeartbeatReply, HeartbeatRequest } from './messages.js';

export interface BleConfig {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly clusterSize: number;
  readonly priority: number;
  readonly electionTicks: number;
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

  onRequest(from: NodeId, m: HeartbeatRequest, send: BleSend): void {
    send(from, { kind: 'heartbeat-reply', round: m.round, ballot: this.ballot, qc: this.qc });
  }

  onReply(from: NodeId, m: HeartbeatReply): void {
    // Late replies belong to a finished round and say nothing about this one.
    if (m.round === this.round) this.replies.set(from, { ballot: m.ballot, qc: m.qc });
  }

  private startRound(send: BleSend): void {
    this.round++;
    this.replies.clear();
    this.ticksLeft = this.config.electionTicks;
    for (const p of this.config.peers) send(p, { kind: 'heartbeat-request', round: this.round });
  }

  private endRound(paxos: PaxosView): Ballot | null {
    // BUG-10: Sequence Paxos may have promised a ballot this election never saw win (it came
    // in a Prepare). Follow it, so that a dead promised leader is replaced by a higher ballot.
    if (ballotGt(paxos.promised, this.leader)) this.leader = paxos.promised;
    // The leader ballot is ours but Sequence Paxos is not leading it: we crashed and restarted
    // (or lost the leadership some other way). That ballot is dead for good; run a new one.
    if (this.leader.pid === this.config.id && !ballotEq(paxos.leading, this.leader)) {
      this.raiseAbove(this.leader, paxos.promised);
      this.leader = BOTTOM;
    }
    if (this.replies.size + 1 < this.quorum) {
      this.qc = false;
      return null;
    }
    this.qc = true;
    let top = this.ballot;
    for (const r of this.replies.values()) if (r.qc) top = maxBallot(top, r.ballot);
    if (ballotLt(top, this.leader)) {
      // The leader is silent or no longer quorum-connected: stand as a candidate next round.
      this.raiseAbove(this.leader, paxos.promised);
      this.leader = BOTTOM;
      return null;
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

  private raiseAbove(...ballots: Ballot[]): void {
    const n = Math.max(this.ballot.n, ...ballots.map((b) => b.n)) + 1;
    this.ballot = { n, priority: this.config.priority, pid: this.config.id };
  }
}
