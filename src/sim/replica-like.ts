/**
 * What the simulator needs of a replica: exactly the public surface of `Replica`
 * (src/replica/replica.ts). Tests may hand in another implementation through a factory.
 */
import type { Entry } from '../replica/entry.js';
import type { PersistentState } from '../replica/storage.js';
import type { Ready, ReplicaConfig, ReplicaInput, ReplicaStatus } from '../replica/types.js';

export interface ReplicaLike {
  step(...inputs: ReplicaInput[]): Ready;
  status(): ReplicaStatus;
  readonly log: readonly Entry[];
  kvEntries(): [string, string][];
}

/** Builds a replica from its configuration and the durable state it restarts from. */
export type ReplicaFactory = (config: ReplicaConfig, durable: PersistentState) => ReplicaLike;
