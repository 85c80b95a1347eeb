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
    send(from, { kind: 'heartbeat-reply', round: m.round, ballot: this.ballot, qc: this.reportedQc() });
  }

  /**
   * The QC flag we tell others: that of the last finished round, unless the current round is
   * half over and we still lack a quorum of replies. Replies take a round trip, far less than
   * half a round, so by then the missing ones are not coming. Without this a leader cut off
   * just after its round collected its replies is reported as quorum-connected for up to two
   * more rounds, and taking over costs a round more (4 election timeouts instead of 3 in the
   * quorum-loss scenario; see test/sim-scenarios.test.ts). A departure from the paper's BLE.
   */
  private reportedQc(): boolean {
    const elapsed = this.config.electionTicks - this.ticksLeft;
    if (2 * elapsed >= this.config.electionTicks && this.replies.size + 1 < this.quorum) return false;
    return this.qc;
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
    // The leader is alive if it answered this round and is itself quorum-connected. Its reply
    // may still carry the ballot it had before it raised it (a reply crosses the Prepare that
    // taught us the new ballot); who sent it is what matters, or we would depose a fresh leader.
    const leaderAlive = !isBottom(this.leader) && (this.leader.pid === this.config.id
      ? ballotEq(paxos.leading, this.leader)
      : this.replies.get(this.leader.pid)?.qc === true);
    let top = this.topCandidate();
    if (leaderAlive) {
      top = maxBallot(top, this.leader);
    } else if (ballotLt(top, this.leader)) {
      // The leader is silent or no longer quorum-connected: stand as a candidate right away.
      // If another quorum-connected node does the same, the higher ballot wins its Prepare and
      // the other follows it at the end of the next round.
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

  /** The highest ballot among this node and the quorum-connected nodes that replied. */
  private topCandidate(): Ballot {
    let top = this.ballot;
    for (const r of this.replies.values()) if (r.qc) top = maxBallot(top, r.ballot);
    return top;
  }

  private raiseAbove(...ballots: Ballot[]): void {
    const n = Math.max(this.ballot.n, ...ballots.map((b) => b.n)) + 1;
    this.ballot = { n, priority: this.config.priority, pid: this.config.id };
  }
}
