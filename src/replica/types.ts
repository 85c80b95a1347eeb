/**
 * The replica's step contract: what goes in, what comes out. See README.md in this folder.
 */
import type { Ballot, LogIdx, NodeId } from './ballot.js';
import type { Command, Entry, KvResult } from './entry.js';
import type { Member } from './membership.js';
import type { PeerMessage } from './messages.js';
import type { StorageOp } from './storage.js';

export type ReplicaInput =
  /** One unit of time; every timer in the replica counts ticks. */
  | { readonly kind: 'tick' }
  | { readonly kind: 'message'; readonly from: NodeId; readonly msg: PeerMessage }
  /** A client request that arrived at this node. The reply comes out of a later (or this) step. */
  | { readonly kind: 'request'; readonly command: Command }
  /** The driver re-established a link to `peer`: messages may have been lost on the old one. */
  | { readonly kind: 'reconnected'; readonly peer: NodeId }
  /**
   * The batch of a step whose Ready carried `logMark` (and every earlier batch) is durable: the
   * driver hands the mark back. Only now does a leader count its own vote (reference §A.5).
   */
  | { readonly kind: 'persisted'; readonly mark: LogMark };

/**
 * What a leader's log looks like once one step's batch is durable: the round it belongs to
 * (`acceptedRnd`) and its length. Within one round the leader's log only grows, so a mark with
 * the leader's own round names a durable prefix of that leader's log; a mark of any other round
 * describes a log the node held before (a follower's, or an older round's) and counts for nothing.
 */
export interface LogMark {
  readonly acceptedRnd: Ballot;
  readonly logLength: LogIdx;
}

export interface Outgoing {
  readonly to: NodeId;
  readonly msg: PeerMessage;
}

export interface ClientReply {
  readonly clientId: string;
  readonly seq: number;
  readonly result: KvResult;
}

/** An entry applied to the state machine in this step (for observers: simulator, shell). */
export interface AppliedEntry {
  readonly idx: LogIdx;
  readonly entry: Entry;
  /** For commands: whether it was executed (false: a duplicate, or a session-expired answer). */
  readonly executed: boolean;
}

/**
 * The output of one step. The driver MUST write `persist` as one atomic batch and wait until
 * it, and every earlier batch, is durable before it delivers `reply` and sends `send` — except
 * the messages `mayLeaveBeforeDurable` (release.ts) allows out early, and only in per-peer order
 * (`ReleaseQueue` does both; README.md, "Pipelining").
 */
export interface Ready {
  readonly persist: StorageOp[];
  readonly send: Outgoing[];
  readonly reply: ClientReply[];
  readonly applied: AppliedEntry[];
  /**
   * Set when this step changed a leader's log (or its round): once this batch and every earlier
   * one are durable the driver MUST step the replica with `{ kind: 'persisted', mark }`, or the
   * leader never counts itself toward a quorum.
   */
  readonly logMark?: LogMark;
  /** Things the operator should hear about (a refused voter); each reported once. */
  readonly notices?: Notice[];
}

/**
 * - `vote-refused`: node `id` spoke as `incarnation`, which is not a voter here; the cluster
 *   records `known` for it (NO_INCARNATION: it has not joined yet).
 * - `not-a-voter`: this node's own incarnation is not the voter the cluster records for its id:
 *   its data directory is not the one that voted as this id before (it was deleted or replaced).
 * - `joining`: as far as this node has applied, its id never joined; it asks to (the cluster may
 *   record another incarnation, which it learns once a leader syncs it).
 * - `learner` / `voter`: this node's incarnation is registered as a learner / is a voter (also
 *   reported at start).
 */
export type Notice =
  | { readonly kind: 'vote-refused'; readonly id: NodeId; readonly incarnation: string; readonly known: string }
  | { readonly kind: 'not-a-voter'; readonly incarnation: string; readonly known: string }
  /** As far as this node knows its id has never joined: it asks to (the cluster may know better). */
  | { readonly kind: 'joining'; readonly incarnation: string }
  | { readonly kind: 'learner'; readonly incarnation: string }
  | { readonly kind: 'voter'; readonly incarnation: string };

/**
 * Known bugs that tests plant to prove the simulator catches them. NEVER set outside tests.
 * - `sync-by-round-only` (BUG-3): the leader picks the log to adopt by acceptedRnd alone.
 * - `assign-decided-idx` (BUG-6): followers assign the decided index instead of taking the max.
 * - `skip-dedup` (BUG-13): retried commands are executed again.
 * (BUG-1, acknowledging before the write is durable, is a driver bug: see src/sim.)
 */
export type PlantedBug =
  | 'sync-by-round-only' | 'assign-decided-idx' | 'skip-dedup'
  /** BUG-13 through compaction: snapshots carry the map but not the session table. */
  | 'snapshot-without-sessions'
  /** BUG-14: a node behind the compacted prefix gets the log from there, without the snapshot. */
  | 'sync-without-snapshot'
  /**
   * BUG-1 with pipelining: the leader counts its own append toward a quorum at once, before the
   * write is durable, while its AcceptDecides and Decides leave before that write too.
   */
  | 'leader-counts-before-durable'
  /** The identity guard off: every vote counts, whatever incarnation sent it (amnesia faults). */
  | 'amnesia-guard-off';

export interface ReplicaConfig {
  readonly id: NodeId;
  /** Every node of the cluster, this one included. Ids are stable and need not be contiguous. */
  readonly nodes: readonly NodeId[];
  /**
   * This data directory's incarnation (membership.ts), created with the directory; default
   * `defaultIncarnation(id)` (tests and tools that have no disk).
   */
  readonly incarnation?: string;
  /**
   * The membership at index 0, from the first boot (default: every node a voter with its
   * default incarnation). Replaced by a snapshot's when one is installed.
   */
  readonly genesis?: readonly Member[];
  /**
   * The operator says this directory takes the place of whatever incarnation the cluster records
   * for this id (`kvnode --replace`): it asks to join with `replace`.
   */
  readonly replace?: boolean;
  /** Leader priority: a higher one wins among ballots with the same round number. */
  readonly priority?: number;
  /** Ticks per heartbeat round; one round is the election timeout. */
  readonly electionTicks: number;
  /** Ticks between resends of Prepare / Promise / PrepareReq and stream keep-alives. */
  readonly resendTicks: number;
  /** Most entries in one AcceptDecide (default 256). */
  readonly maxBatch?: number;
  /**
   * Ticks a follower keeps the proposals it forwarded, to forward them again to the next leader
   * if the one it sent them to is replaced meanwhile (default 3 × electionTicks; 0 turns it off).
   */
  readonly reforwardTicks?: number;
  /** Sessions unused for this many decided entries are expired through the log (default 100000). */
  readonly sessionIdleEntries?: number;
  /**
   * Log compaction: once this many applied entries lie beyond the last snapshot, the replica
   * snapshots its state machine and drops the log prefix the snapshot covers (default 10000;
   * 0 turns compaction off).
   */
  readonly snapshotEntries?: number;
  readonly plantedBug?: PlantedBug;
}

export type Role = 'leader' | 'follower';
export type Phase = 'none' | 'prepare' | 'accept' | 'recover';

export interface ReplicaStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly phase: Phase;
  /** The ballot this node leads (meaningful when role is leader). */
  readonly leaderBallot: Ballot;
  /** The leader ballot elected by BLE, as this node sees it. */
  readonly bleLeader: Ballot;
  readonly quorumConnected: boolean;
  readonly promised: Ballot;
  readonly acceptedRnd: Ballot;
  readonly logLength: LogIdx;
  readonly decidedIdx: LogIdx;
  readonly appliedIdx: LogIdx;
  /** Entries before this index exist only as the snapshot. */
  readonly compactedIdx: LogIdx;
  readonly incarnation: string;
  /** Whether this node's incarnation is a voter in its view of the membership. */
  readonly voter: boolean;
}

/** The incarnation a node has when nobody gave it one (tests, tools without a disk). */
export function defaultIncarnation(id: NodeId): string {
  return `node-${id}`;
}
