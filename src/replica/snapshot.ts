/**
 * A snapshot: the state machine after applying the decided log prefix `[0, idx)` — the map and
 * the session table. The sessions are part of it (BUG-13): a node that restored only the map
 * would execute a retried command a second time.
 */
import type { LogIdx } from './ballot.js';
import type { KvResult } from './entry.js';
import type { Member } from './membership.js';

export interface SessionRecord {
  readonly clientId: string;
  readonly lastSeq: number;
  readonly lastResult: KvResult;
  /** Log index of the last command applied for this session. */
  readonly lastIdx: LogIdx;
}

export interface Snapshot {
  /** Entries covered: the snapshot replaces the log prefix `[0, idx)`. */
  readonly idx: LogIdx;
  /** Key → value, in the state machine's insertion order (the same on every replica). */
  readonly kv: readonly (readonly [string, string])[];
  /** In insertion order, like `kv`. */
  readonly sessions: readonly SessionRecord[];
  /** Who may vote after these entries (membership.ts), sorted by id. */
  readonly members: readonly Member[];
}
