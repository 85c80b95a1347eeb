/**
 * Every message replicas exchange. The wire codec (src/wire) encodes exactly these shapes;
 * the simulator passes them as objects.
 */
import type { Ballot, LogIdx } from './ballot.js';
import type { Entry } from './entry.js';
import type { Snapshot } from './snapshot.js';

/**
 * A position in one leader→follower stream. AcceptSync opens a session (counter 1); every
 * AcceptDecide / Decide on it increments the counter, so a follower sees a lost message as a gap.
 */
export interface SeqNum {
  readonly session: number;
  readonly counter: number;
}

/**
 * "Truncate your log to `syncIdx`, then append `suffix`." With a snapshot: "first install the
 * snapshot (it replaces the log prefix `[0, snapshot.idx)`)"; then `syncIdx === snapshot.idx`.
 * A snapshot travels when the receiver needs entries the sender has compacted away.
 */
export interface LogSync {
  readonly syncIdx: LogIdx;
  readonly suffix: readonly Entry[];
  readonly snapshot: Snapshot | null;
}

// --- ballot leader election ---
export interface HeartbeatRequest { readonly kind: 'heartbeat-request'; readonly round: number }
export interface HeartbeatReply {
  readonly kind: 'heartbeat-reply';
  readonly round: number;
  readonly ballot: Ballot;
  /** Whether the sender heard a quorum in its last round: only such nodes are candidates. */
  readonly qc: boolean;
  /** The sender's incarnation (membership.ts): only voters' replies make a quorum. */
  readonly inc: string;
}

// --- Sequence Paxos ---
export interface Prepare {
  readonly kind: 'prepare';
  readonly n: Ballot;
  readonly decidedIdx: LogIdx;
  readonly acceptedRnd: Ballot;
  readonly acceptedIdx: LogIdx;
}
export interface Promise {
  readonly kind: 'promise';
  readonly n: Ballot;
  readonly acceptedRnd: Ballot;
  readonly decidedIdx: LogIdx;
  readonly acceptedIdx: LogIdx;
  /** Present when the follower's log is newer than the leader's (see follower.ts). */
  readonly sync: LogSync | null;
  /** The sender's incarnation: the promise counts only if it is a voter's (membership.ts). */
  readonly inc: string;
}
export interface AcceptSync {
  readonly kind: 'accept-sync';
  readonly n: Ballot;
  readonly seq: SeqNum;
  readonly decidedIdx: LogIdx;
  readonly sync: LogSync;
}
export interface AcceptDecide {
  readonly kind: 'accept-decide';
  readonly n: Ballot;
  readonly seq: SeqNum;
  readonly decidedIdx: LogIdx;
  readonly entries: readonly Entry[];
}
/** `inc`: the sender's incarnation; the vote counts only if it is a voter's (membership.ts). */
export interface Accepted { readonly kind: 'accepted'; readonly n: Ballot; readonly acceptedIdx: LogIdx; readonly inc: string }
export interface Decide { readonly kind: 'decide'; readonly n: Ballot; readonly seq: SeqNum; readonly decidedIdx: LogIdx }
/** Tells a stale leader that the sender promised the higher ballot `n`. */
export interface NotAccepted { readonly kind: 'not-accepted'; readonly n: Ballot }
/** "I may have missed messages of ballot `n`: prepare me again." */
export interface PrepareReq { readonly kind: 'prepare-req'; readonly n: Ballot }
export interface ProposalForward { readonly kind: 'proposal-forward'; readonly entries: readonly Entry[] }

export type BleMessage = HeartbeatRequest | HeartbeatReply;
export type PaxosMessage =
  | Prepare | Promise | AcceptSync | AcceptDecide | Accepted | Decide | NotAccepted | PrepareReq | ProposalForward;
export type PeerMessage = BleMessage | PaxosMessage;

export function isBleMessage(m: PeerMessage): m is BleMessage {
  return m.kind === 'heartbeat-request' || m.kind === 'heartbeat-reply';
}
