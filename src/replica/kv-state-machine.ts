/**
 * The replicated map and the session table. Every replica applies the same decided entries in
 * the same order, so every replica computes the same results; the node that received a request
 * answers it from its own copy.
 *
 * Exactly-once: a session (clientId → last seq and its result) is updated when a command is
 * applied. A command whose seq is not newer than its session's last seq is not executed again:
 * the same seq gets the remembered result (a retry whose first copy was applied), an older seq
 * gets nothing (its client has moved on, so nobody waits for the answer).
 *
 * Expiry: sessions are dropped only by an `expire-sessions` entry, which is in the log, so all
 * replicas drop the same sessions at the same index. A command from an unknown session with
 * seq > 1 is answered `session-expired` without being executed: its client must start a new
 * session, and if the command was a retry, report its outcome as unknown (an earlier copy may
 * have been applied before the expiry). Assumption (documented in protocol.md): a client does
 * not retry seq 1 after its session has expired, which takes `sessionIdleEntries` entries.
 */
import type { LogIdx } from './ballot.js';
import type { Command, Entry, KvResult } from './entry.js';
import { Membership, type Member } from './membership.js';
import type { Snapshot } from './snapshot.js';

export interface Session {
  lastSeq: number;
  lastResult: KvResult;
  /** Log index of the last command applied for this session. */
  lastIdx: LogIdx;
}

export interface ApplyOutcome {
  readonly command: Command;
  /** `null` when a duplicate of an older seq was skipped: nobody is waiting for it. */
  readonly result: KvResult | null;
  readonly duplicate: boolean;
}

export interface KvOptions {
  /**
   * TEST ONLY (BUG-13): execute every copy of a retried command. Exists so that the simulator
   * can prove it catches duplicate application; never set outside tests.
   */
  readonly skipDeduplication?: boolean;
  /** TEST ONLY: snapshots leave the session table out (BUG-13 through compaction). */
  readonly snapshotWithoutSessions?: boolean;
}

export class KvStateMachine {
  private readonly data = new Map<string, string>();
  private readonly sessions = new Map<string, Session>();
  /** Number of entries applied = index of the next entry to apply. */
  appliedIdx: LogIdx = 0;
  /** Who may vote (membership.ts): replicated like the map, carried in snapshots. */
  readonly membership: Membership;

  /** @param genesis the membership at index 0 (from the cluster's first boot). */
  constructor(private readonly options: KvOptions = {}, genesis: readonly Member[] = []) {
    this.membership = new Membership(genesis);
  }

  /** Applies the entry at `appliedIdx`. Returns the outcome for command entries. */
  apply(entry: Entry): ApplyOutcome | null {
    const idx = this.appliedIdx++;
    if (entry.kind === 'expire-sessions') {
      for (const [id, s] of this.sessions) if (s.lastIdx < entry.idleBefore) this.sessions.delete(id);
      return null;
    }
    if (entry.kind === 'join' || entry.kind === 'promote') {
      this.membership.apply(entry);
      return null;
    }
    const command = entry.command;
    const session = this.sessions.get(command.clientId);
    if (!this.options.skipDeduplication) {
      if (session && command.seq <= session.lastSeq) {
        const result = command.seq === session.lastSeq ? session.lastResult : null;
        return { command, result, duplicate: true };
      }
      if (!session && command.seq > 1) {
        return { command, result: { kind: 'session-expired' }, duplicate: false };
      }
    }
    const result = this.execute(command);
    this.sessions.set(command.clientId, { lastSeq: command.seq, lastResult: result, lastIdx: idx });
    return { command, result, duplicate: false };
  }

  /** The remembered result of `(clientId, seq)` if that exact command was already applied. */
  cachedResult(clientId: string, seq: number): KvResult | 'older' | null {
    const s = this.sessions.get(clientId);
    if (!s) return null;
    if (seq === s.lastSeq) return s.lastResult;
    return seq < s.lastSeq ? 'older' : null;
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  get size(): number {
    return this.data.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The smallest `lastIdx` over all sessions, or null when there are none. */
  oldestSessionIdx(): LogIdx | null {
    let min: LogIdx | null = null;
    for (const s of this.sessions.values()) if (min === null || s.lastIdx < min) min = s.lastIdx;
    return min;
  }

  /**
   * The state after the first `appliedIdx` entries: map and sessions in the maps' insertion
   * order. Not sorted: sorting a million keys stopped the event loop for over a second at every
   * compaction. The order is still the same on every replica — all apply the same entries in the
   * same order, and a restore inserts in the snapshot's order, which is the order it had.
   */
  snapshot(): Snapshot {
    return {
      idx: this.appliedIdx,
      kv: [...this.data.entries()],
      sessions: this.options.snapshotWithoutSessions ? [] : [...this.sessions.entries()]
        .map(([clientId, s]) => ({ clientId, lastSeq: s.lastSeq, lastResult: s.lastResult, lastIdx: s.lastIdx })),
      members: this.membership.list(),
    };
  }

  /** Replaces everything by the snapshot's state; the next entry to apply is `snapshot.idx`. */
  restore(snapshot: Snapshot): void {
    this.data.clear();
    this.sessions.clear();
    for (const [k, v] of snapshot.kv) this.data.set(k, v);
    for (const s of snapshot.sessions) this.sessions.set(s.clientId, { lastSeq: s.lastSeq, lastResult: s.lastResult, lastIdx: s.lastIdx });
    this.membership.restore(snapshot.members);
    this.appliedIdx = snapshot.idx;
  }

  /** A copy of the map, for invariant checks and status queries. */
  entries(): [string, string][] {
    return [...this.data.entries()];
  }

  private execute(command: Command): KvResult {
    const op = command.op;
    switch (op.kind) {
      case 'get': {
        const v = this.data.get(op.key);
        return v === undefined ? { kind: 'not-found' } : { kind: 'value', value: v };
      }
      case 'put':
        this.data.set(op.key, op.value);
        return { kind: 'ok' };
      case 'cas': {
        const current = this.data.get(op.key) ?? null;
        if (current !== op.expected) return { kind: 'mismatch', current };
        this.data.set(op.key, op.value);
        return { kind: 'ok' };
      }
      case 'delete':
        return { kind: 'deleted', existed: this.data.delete(op.key) };
    }
  }
}
