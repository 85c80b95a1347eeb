/**
 * What the simulator needs of a replica: exactly the public surface of `Replica`
 * (src/replica/replica.ts). Tests may hand in another implementation through a factory.
 */
import type { LogIdx } from '../replica/ballot.js';
import type { Entry } from '../replica/entry.js';
import type { Snapshot } from '../replica/snapshot.js';
import type { PersistentState } from '../replica/storage.js';
import type { Ready, ReplicaConfig, ReplicaInput, ReplicaStatus } from '../replica/types.js';

export interface ReplicaLike {
  step(...inputs: ReplicaInput[]): Ready;
  status(): ReplicaStatus;
  /** The log from `compactedIdx` on. */
  readonly log: readonly Entry[];
  readonly compactedIdx: LogIdx;
  /** Entry `idx`, or undefined when compacted away or beyond the log. */
  entryAt(idx: LogIdx): Entry | undefined;
  /** The snapshot that replaces the log prefix `[0, compactedIdx)`, if any. */
  currentSnapshot(): Snapshot | null;
  kvEntries(): [string, string][];
  /** The state machine now (map and sessions), as a snapshot at the applied index. */
  stateSnapshot(): Snapshot;
}

/** Builds a replica from its configuration and the durable state it restarts from. */
export type ReplicaFactory = (config: ReplicaConfig, durable: PersistentState) => ReplicaLike;
