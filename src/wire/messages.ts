/**
 * Everything that crosses a kvsh connection. Peer messages between replicas are the replica's
 * own types (src/replica/messages.ts); this file adds the connection setup, bootstrap, client
 * and operator messages. Byte layouts: codec.ts and protocol.md.
 */
import type { Ballot, LogIdx, NodeId } from '../replica/ballot.js';
import type { Command, Entry, KvResult } from '../replica/entry.js';
import type { Member } from '../replica/membership.js';
import type { PeerMessage } from '../replica/messages.js';
import type { Phase, Role } from '../replica/types.js';

/**
 * The version byte of every frame. A node speaks exactly this version and refuses any other
 * (`unsupported-version`); protocol.md "Versions" lists what changed. 2: log compaction
 * (LogSync carries an optional snapshot; status-response carries compactedIdx). 3: node identity
 * (incarnations in check-in, boot, heartbeat-reply, promise, accepted; membership entries and
 * the membership in snapshots).
 */
export const PROTOCOL_VERSION = 3;

/** First frame on a peer connection: who is calling, and for which cluster. */
export interface PeerHello { readonly kind: 'peer-hello'; readonly nodeId: NodeId; readonly clusterId: string }

/** A node's address as the bootstrap server hands it out. */
export interface NodeAddress {
  readonly id: NodeId;
  readonly host: string;
  readonly peerPort: number;
  readonly clientPort: number;
}

// --- peer authentication (every peer-port connection, right after peer-hello) ---
/** Bytes of an auth-challenge's nonce and of an auth-proof's MAC (HMAC-SHA-256). */
export const AUTH_NONCE_BYTES = 32;
export const AUTH_MAC_BYTES = 32;
/** A fresh random nonce from one side of a peer connection (src/node/peer-auth.ts). */
export interface AuthChallenge { readonly kind: 'auth-challenge'; readonly nonce: Uint8Array }
/** The sender's HMAC-SHA-256 proof of the cluster secret over both nonces, the ids and its role. */
export interface AuthProof { readonly kind: 'auth-proof'; readonly mac: Uint8Array }

// --- bootstrap (on the bootstrap server's peer port) ---
/** `incarnation`: the checking-in node's data directory (membership.ts). */
export interface CheckIn { readonly kind: 'check-in'; readonly node: NodeAddress; readonly incarnation: string }
/** `members`: the genesis membership — the incarnations that checked in before the boot are its voters. */
export interface Boot {
  readonly kind: 'boot';
  readonly clusterId: string;
  readonly nodes: readonly NodeAddress[];
  readonly members: readonly Member[];
}
export interface BootReady { readonly kind: 'boot-ready'; readonly nodeId: NodeId }

// --- client port ---
export interface ClientRequest {
  readonly kind: 'client-request';
  /** Chosen by the client, unique among its requests in flight on this connection. */
  readonly requestId: number;
  readonly command: Command;
}

/**
 * - `result`: the command was applied (or was a duplicate of one that was): definite.
 * - `unknown`: the node stopped waiting (timeout, lost leadership); it may still take effect:
 *   indeterminate — retry with the same (clientId, seq).
 * - `rejected`: the request was not accepted (bad key, too large, shutting down): definite, not applied.
 */
export type ClientResponse =
  | { readonly kind: 'client-response'; readonly requestId: number; readonly status: 'result'; readonly result: KvResult }
  | { readonly kind: 'client-response'; readonly requestId: number; readonly status: 'unknown'; readonly reason: string }
  | { readonly kind: 'client-response'; readonly requestId: number; readonly status: 'rejected'; readonly reason: string };

export interface StatusRequest { readonly kind: 'status-request'; readonly requestId: number }

export interface PeerLink { readonly id: NodeId; readonly connected: boolean }

export interface StatusResponse {
  readonly kind: 'status-response';
  readonly requestId: number;
  readonly nodeId: NodeId;
  readonly role: Role;
  readonly phase: Phase;
  /** The ballot this node leads (⊥ unless leader). */
  readonly leaderBallot: Ballot;
  /** The leader ballot the election picked, as this node sees it (⊥: none). */
  readonly electedBallot: Ballot;
  readonly quorumConnected: boolean;
  readonly promised: Ballot;
  readonly acceptedRnd: Ballot;
  readonly logLength: LogIdx;
  readonly decidedIdx: LogIdx;
  readonly appliedIdx: LogIdx;
  /** Entries before this index are compacted into the node's snapshot (0: none yet). */
  readonly compactedIdx: LogIdx;
  /** The node's data directory (src/replica/membership.ts); "" before it has one. */
  readonly incarnation: string;
  /** Whether its votes count, as far as it has applied the membership (false: a learner, or refused). */
  readonly voter: boolean;
  readonly fsync: boolean;
  readonly peers: readonly PeerLink[];
}

export interface LogRequest { readonly kind: 'log-request'; readonly requestId: number; readonly from: LogIdx; readonly count: number }

export interface LogResponse {
  readonly kind: 'log-response';
  readonly requestId: number;
  /** Index of `entries[0]`. */
  readonly from: LogIdx;
  readonly decidedIdx: LogIdx;
  readonly logLength: LogIdx;
  readonly entries: readonly Entry[];
}

export const ERROR_CODES = {
  'unsupported-version': 1,
  'unknown-type': 2,
  'malformed': 3,
  'frame-too-large': 4,
  'unexpected-message': 5,
  'wrong-cluster': 6,
  /** A peer that did not prove it knows the cluster secret (peer authentication). */
  'auth-failed': 7,
  /** The node already serves as many client connections as it allows. */
  'too-many-connections': 8,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** Sent before the connection is closed because of what the other side sent. */
export interface ErrorFrame { readonly kind: 'error'; readonly code: ErrorCode; readonly message: string }

export type SetupMessage = PeerHello | AuthChallenge | AuthProof | CheckIn | Boot | BootReady;
export type ClientPortMessage =
  | ClientRequest | ClientResponse | StatusRequest | StatusResponse | LogRequest | LogResponse;
/**
 * One piece of a message too large for one frame (a snapshot, a long log sync). The pieces of
 * a message follow each other on one peer connection; the receiver joins `total` bytes of
 * chunks and decodes them as the message. Peer connections only.
 */
export interface Fragment { readonly kind: 'fragment'; readonly total: number; readonly chunk: Uint8Array }

export type WireMessage = PeerMessage | SetupMessage | ClientPortMessage | ErrorFrame | Fragment;
