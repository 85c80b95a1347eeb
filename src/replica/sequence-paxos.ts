/**
 * Sequence Paxos (reference §A.4): the state both roles share, the effects a step collects, and
 * the dispatch of messages to the role handlers in leader.ts and follower.ts.
 *
 * Persistent state lives in `state` (a cache of what the driver writes); every change goes
 * through `persist`, which applies it to the cache and queues the same ops for the driver.
 * Nothing here sends a message before the driver made the step's writes durable — the step
 * contract (README.md) does that ordering for every handler at once — except the leader's
 * AcceptDecide and Decide (release.ts), which is why the leader's own vote waits for a
 * `persisted` input instead (leader.onPersisted).
 */
import { BOTTOM, ballotGt, majority, type Ballot, type LogIdx, type NodeId } from './ballot.js';
import type { Entry } from './entry.js';
import { invariant } from './invariant.js';
import type {
  AcceptDecide, Decide, LogSync, PaxosMessage, PeerMessage, Promise as PromiseMsg, SeqNum,
} from './messages.js';
import { commandKey, sameEntry } from './entry.js';
import { ForwardedProposals } from './forwarded.js';
import {
  applyStorageOps, compactedIdx, entryAt, logLength, logSlice, type PersistentState, type StorageOp,
} from './storage.js';
import type { LogMark, Phase, PlantedBug, Role } from './types.js';
import * as follower from './follower.js';
import * as leader from './leader.js';

export interface PaxosConfig {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly clusterSize: number;
  readonly resendTicks: number;
  readonly maxBatch: number;
  /**
   * How many ticks a follower remembers the proposals it forwarded, to forward them again if
   * another node leads before they show up decided (follower.flush). Long enough to span the
   * election after a leader dies; 0 turns it off.
   */
  readonly reforwardTicks?: number;
  readonly plantedBug?: PlantedBug;
  /** This node's incarnation: it goes in our Promises and Accepteds (membership.ts). */
  readonly incarnation: string;
  /** Does a vote from `id` speaking as `incarnation` count? (the replicated membership) */
  readonly isVoter: (id: NodeId, incarnation: string) => boolean;
}

/** Most forwarded commands a node remembers (ForwardedProposals). */
export const MAX_REMEMBERED_FORWARDS = 100_000;

/** What a leader remembers of one promise. */
export interface PromiseMeta {
  readonly acceptedRnd: Ballot;
  readonly acceptedIdx: LogIdx;
  readonly decidedIdx: LogIdx;
  /** The incarnation that promised: its Accepteds must come from the same one. */
  readonly inc: string;
}

export interface MaxPromise extends PromiseMeta {
  readonly from: NodeId;
  readonly sync: LogSync | null;
}

/** Volatile state of the leader of ballot `n`; rebuilt from scratch for every new ballot. */
export class LeaderState {
  readonly promises = new Map<NodeId, PromiseMeta>();
  maxPromise: MaxPromise;
  /** Highest log index each node accepted in this ballot (the leader's own once durable). */
  readonly acc = new Map<NodeId, LogIdx>();
  /** Last sequence number sent on each follower's stream; a follower is streamed to iff present. */
  readonly streams = new Map<NodeId, SeqNum>();
  /** Followers that answered NotAccepted: they promised a higher ballot. */
  readonly promisedHigher = new Set<NodeId>();
  /** Proposals that arrived during the Prepare phase. */
  readonly buffered: Entry[] = [];
  /**
   * Per learner (`id:incarnation`): our log length when we first saw it registered while
   * leading this ballot. Everything its predecessor could have voted for lies before it, so the
   * learner is promoted only once it accepted that much (membership.ts, Replica.maybePromote).
   */
  readonly promotionMark = new Map<string, LogIdx>();
  /** Learners whose promotion we proposed in this ballot. */
  readonly promoting = new Set<string>();
  nextSession = 1;
  constructor(readonly n: Ballot, own: MaxPromise) {
    this.maxPromise = own;
  }
}

export type Send = (to: NodeId, msg: PeerMessage) => void;

export class SequencePaxos {
  role: Role = 'follower';
  phase: Phase = 'none';
  lead: LeaderState | null = null;
  /** Follower: the leader stream's last sequence number accepted in this ballot. */
  expected: SeqNum | null = null;
  /** Follower: stream messages of the current session that arrived ahead of their turn. */
  readonly early = new Map<number, AcceptDecide | Decide>();
  /** The session the messages in `early` belong to. */
  earlySession = 0;
  /** `session:counter` of a gap seen open at the last resend tick. */
  gapAtLastResend: string | null = null;
  cachedPromise: PromiseMsg | null = null;
  /** Proposals to append (leader, Accept phase) or to forward (follower), flushed per step. */
  batch: Entry[] = [];
  /** Follower: proposals waiting for a known leader. */
  waiting: Entry[] = [];
  /** Follower: proposals it forwarded, until applied here or `reforwardTicks` old (forwarded.ts). */
  readonly forwarded: ForwardedProposals;
  /** Ticks seen, for `forwarded`. */
  ticks = 0;
  decidedChanged = false;
  readonly quorum: number;
  private ticksToResend: number;
  private persistOut: StorageOp[] = [];
  private sendOut: Send = () => { throw new Error('send outside a step'); };

  constructor(readonly config: PaxosConfig, readonly state: PersistentState) {
    this.quorum = majority(config.clusterSize);
    this.ticksToResend = config.resendTicks;
    this.forwarded = new ForwardedProposals(config.reforwardTicks ?? 0, MAX_REMEMBERED_FORWARDS);
    invariant(state.decidedIdx <= logLength(state) && state.decidedIdx >= compactedIdx(state),
      () => `recovered decidedIdx ${state.decidedIdx} outside [${compactedIdx(state)}, ${logLength(state)}]`);
  }

  get id(): NodeId { return this.config.id; }
  get promised(): Ballot { return this.state.promised; }
  get logLength(): LogIdx { return logLength(this.state); }
  /** Entries before this index exist only as the snapshot. */
  get compactedIdx(): LogIdx { return compactedIdx(this.state); }
  get decidedIdx(): LogIdx { return this.state.decidedIdx; }
  /** The ballot this node leads, or ⊥. */
  get leading(): Ballot { return this.role === 'leader' && this.lead ? this.lead.n : BOTTOM; }

  /**
   * Binds the effect sinks of one step. After a crash, a node with a durable promise starts in
   * Recover: it may have missed anything, so it asks every peer to prepare it again.
   */
  begin(persistOut: StorageOp[], send: Send): void {
    this.persistOut = persistOut;
    this.sendOut = send;
  }

  recoverOnStart(): void {
    if (this.state.promised.pid !== 0) {
      this.phase = 'recover';
      for (const p of this.config.peers) this.send(p, { kind: 'prepare-req', n: this.state.promised });
    }
  }

  persist(ops: StorageOp[]): void {
    applyStorageOps(this.state, ops);
    for (const op of ops) this.persistOut.push(op);
  }

  send(to: NodeId, msg: PeerMessage): void {
    this.sendOut(to, msg);
  }

  /** Raises the decided index; it never moves back and never passes the local log (BUG-6). */
  raiseDecided(idx: LogIdx): void {
    const next = this.config.plantedBug === 'assign-decided-idx'
      ? Math.min(idx, this.logLength)
      : Math.max(this.state.decidedIdx, Math.min(idx, this.logLength));
    if (next === this.state.decidedIdx) return;
    this.persist([{ kind: 'set-decided-idx', idx: next }]);
    this.decidedChanged = true;
  }

  handleLeader(n: Ballot): void {
    leader.handleLeader(this, n);
  }

  /** The driver made a batch durable that left our log as `mark` describes. */
  persisted(mark: LogMark): void {
    leader.onPersisted(this, mark);
  }

  propose(entries: readonly Entry[]): void {
    if (this.role === 'leader' && this.lead) {
      if (this.phase === 'accept') for (const e of entries) this.batch.push(e);
      else for (const e of entries) this.lead.buffered.push(e);
    } else {
      for (const e of entries) this.waiting.push(e);
    }
  }

  handle(from: NodeId, msg: PaxosMessage): void {
    switch (msg.kind) {
      case 'prepare': follower.onPrepare(this, from, msg); break;
      case 'accept-sync': follower.onAcceptSync(this, from, msg); break;
      case 'accept-decide': follower.onAcceptDecide(this, from, msg); break;
      case 'decide': follower.onDecide(this, from, msg); break;
      case 'promise': leader.onPromise(this, from, msg); break;
      case 'accepted': leader.onAccepted(this, from, msg); break;
      case 'not-accepted': leader.onNotAccepted(this, from, msg); break;
      case 'prepare-req': leader.onPrepareReq(this, from, msg); break;
      case 'proposal-forward': this.propose(msg.entries); break;
    }
  }

  /** A link to `peer` was re-established: whatever was in flight on the old one may be lost. */
  reconnected(peer: NodeId): void {
    if (this.role === 'follower' && peer === this.state.promised.pid && this.phase !== 'none') {
      this.phase = 'recover';
      this.early.clear();
      this.send(peer, { kind: 'prepare-req', n: this.state.promised });
    } else if (this.role === 'leader' && this.lead) {
      leader.forgetFollower(this, peer);
      leader.sendPrepare(this, peer);
    }
  }

  /**
   * Removes the remembered forwards (all, or those not sent to the leader of `keep`) and returns their
   * entries that are not in our log — those may have died with the leader they went to. Call it
   * once our log is the current leader's (a follower after its AcceptSync, a leader after
   * adopting the newest log): an entry in it will be decided in this round, so sending it again
   * would only put a duplicate in the log. A forwarded command can only be in the log after the
   * decided index at the time it was forwarded, so only that part is searched. Where it is
   * compacted away the entry is returned anyway: a duplicate is applied once.
   */
  takeForwarded(keep?: Ballot): Entry[] {
    const taken = this.forwarded.take(keep);
    if (taken.length === 0) return [];
    const c = this.compactedIdx;
    let from = this.logLength;
    for (const r of taken) if (r.decidedAt >= c && r.decidedAt < from) from = r.decidedAt;
    const inLog = new Set<string>(); // decided, or about to be in this round
    for (let i = from; i < this.logLength; i++) {
      const k = commandKey(entryAt(this.state, i)!);
      if (k !== null) inLog.add(k);
    }
    const again: Entry[] = [];
    for (const r of taken) {
      // A snapshot we installed may cover it: it cannot be checked, and a copy could run twice
      // if its session has expired since. Dropped; its client retries (BUG-12).
      if (r.decidedAt < c) continue;
      if (!inLog.has(commandKey(r.entry)!)) again.push(r.entry);
    }
    return again;
  }

  tick(): void {
    this.ticks++;
    this.forwarded.prune(this.ticks);
    if (--this.ticksToResend > 0) return;
    this.ticksToResend = this.config.resendTicks;
    if (this.role === 'leader') leader.onResendTimer(this);
    else follower.onResendTimer(this);
  }

  /** End of step: ship the batch (leader) or the forwarded proposals (follower). */
  flush(): void {
    if (this.role === 'leader') leader.flush(this);
    else follower.flush(this);
    this.decidedChanged = false;
  }

  /**
   * Our log from `from` on, to send to a node that may lack it. When entries from `from` are
   * compacted away, the snapshot travels instead of them (reference §A.6): the receiver installs
   * it and the suffix follows from the snapshot's index.
   */
  logSyncFrom(from: LogIdx): LogSync {
    const c = this.compactedIdx;
    if (from < c && this.config.plantedBug === 'sync-without-snapshot') return { syncIdx: c, suffix: this.state.log.slice(), snapshot: null };
    if (from < c) return { syncIdx: c, suffix: this.state.log.slice(), snapshot: this.state.snapshot };
    return { syncIdx: from, suffix: logSlice(this.state, from), snapshot: null };
  }

  /**
   * The storage ops that make our log equal to `sync` applied on it, without ever rewriting
   * our decided prefix (BUG-5): a snapshot is installed only when it reaches beyond what we
   * decided, and entries of the sync that overlap our decided prefix must equal ours (those we
   * compacted are decided too, and cannot be compared: they are skipped).
   */
  syncOps(sync: LogSync, from: NodeId): StorageOp[] {
    const decided = this.decidedIdx;
    if (sync.snapshot && sync.snapshot.idx > decided) {
      invariant(sync.syncIdx === sync.snapshot.idx,
        () => `node ${this.id}: ${from}'s sync starts at ${sync.syncIdx}, not at its snapshot ${sync.snapshot!.idx}`);
      return [
        { kind: 'install-snapshot', snapshot: sync.snapshot },
        { kind: 'append-on-prefix', fromIdx: sync.syncIdx, entries: sync.suffix },
      ];
    }
    let syncIdx = sync.syncIdx;
    let suffix = sync.suffix;
    if (syncIdx < decided) {
      const overlap = decided - syncIdx;
      invariant(suffix.length >= overlap,
        () => `node ${this.id}: ${from}'s log ends at ${syncIdx + suffix.length}, before our decided ${decided}`);
      for (let i = 0; i < overlap; i++) {
        const ours = entryAt(this.state, syncIdx + i);
        invariant(ours === undefined || sameEntry(suffix[i]!, ours),
          () => `node ${this.id}: ${from} disagrees with our decided entry ${syncIdx + i}`);
      }
      suffix = suffix.slice(overlap);
      syncIdx = decided;
    }
    return [{ kind: 'append-on-prefix', fromIdx: syncIdx, entries: suffix }];
  }

  isHigherThanPromise(n: Ballot): boolean {
    return ballotGt(n, this.state.promised);
  }
}
