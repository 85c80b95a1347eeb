/**
 * Encodings of the values that messages and WAL records share: ballots, stream sequence
 * numbers, log entries, KV operations and results, snapshots. Layouts are documented in
 * protocol.md ("Common values"); this file is the only place they are defined.
 */
import type { Ballot } from '../replica/ballot.js';
import type { Entry, KvOp, KvResult } from '../replica/entry.js';
import type { LogSync, SeqNum } from '../replica/messages.js';
import type { SessionRecord, Snapshot } from '../replica/snapshot.js';
import type { Member } from '../replica/membership.js';
import { DecodeError, type ByteReader, type ByteWriter } from './bytes.js';

export function writeBallot(w: ByteWriter, b: Ballot): void {
  w.u32(b.n).u32(b.priority).u32(b.pid);
}

export function readBallot(r: ByteReader, field: string): Ballot {
  return { n: r.u32(`${field}.n`), priority: r.u32(`${field}.priority`), pid: r.u32(`${field}.pid`) };
}

export function writeSeq(w: ByteWriter, s: SeqNum): void {
  w.u64(s.session).u64(s.counter);
}

export function readSeq(r: ByteReader, field: string): SeqNum {
  return { session: r.u64(`${field}.session`), counter: r.u64(`${field}.counter`) };
}

export const OP_CODE = { get: 1, put: 2, cas: 3, delete: 4 } as const;

export function writeOp(w: ByteWriter, op: KvOp): void {
  w.u8(OP_CODE[op.kind]).string(op.key);
  if (op.kind === 'put') w.string(op.value);
  else if (op.kind === 'cas') w.optionalString(op.expected).string(op.value);
}

export function readOp(r: ByteReader, field: string): KvOp {
  const at = r.offset;
  const code = r.u8(`${field}.op`);
  const key = r.string(`${field}.key`);
  switch (code) {
    case OP_CODE.get: return { kind: 'get', key };
    case OP_CODE.put: return { kind: 'put', key, value: r.string(`${field}.value`) };
    case OP_CODE.cas: {
      const expected = r.optionalString(`${field}.expected`);
      return { kind: 'cas', key, expected, value: r.string(`${field}.value`) };
    }
    case OP_CODE.delete: return { kind: 'delete', key };
    default: throw new DecodeError(`${field}.op`, at, `unknown operation code ${code}`);
  }
}

export const ENTRY_CODE = { command: 1, 'expire-sessions': 2, join: 3, promote: 4 } as const;

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.u8(ENTRY_CODE[e.kind]);
  switch (e.kind) {
    case 'command':
      w.string(e.command.clientId).u64(e.command.seq);
      writeOp(w, e.command.op);
      break;
    case 'expire-sessions': w.u64(e.idleBefore); break;
    case 'join': w.u32(e.id).string(e.incarnation).bool(e.replace); break;
    case 'promote': w.u32(e.id).string(e.incarnation); break;
  }
}

/** Longest incarnation a message may carry, in characters (ours are 16 hex digits). */
export const MAX_INCARNATION_CHARS = 64;

/** An incarnation (membership.ts): a string of at most MAX_INCARNATION_CHARS characters. */
export function readIncarnation(r: ByteReader, field: string): string {
  const at = r.offset;
  const s = r.string(field);
  if (s.length > MAX_INCARNATION_CHARS) throw new DecodeError(field, at, `an incarnation of ${s.length} characters (at most ${MAX_INCARNATION_CHARS})`);
  return s;
}

/** `count u32, then (id u32, incarnation string, voter bool) × count`, sorted by id. */
export function writeMembers(w: ByteWriter, members: readonly Member[]): void {
  w.u32(members.length);
  for (const m of members) w.u32(m.id).string(m.incarnation).bool(m.voter);
}

/** Refuses an impossible count, an id below 1, an id twice, and a voter without an incarnation. */
export function readMembers(r: ByteReader, field: string): Member[] {
  let at = r.offset;
  const n = r.u32(`${field} count`);
  if (n * 9 > r.remaining) throw new DecodeError(field, at, `count ${n} is impossible here`);
  const out: Member[] = [];
  const ids = new Set<number>();
  for (let i = 0; i < n; i++) {
    at = r.offset;
    const id = r.u32(`${field}[${i}].id`);
    if (id < 1 || ids.has(id)) throw new DecodeError(`${field}[${i}].id`, at, id < 1 ? 'node ids start at 1' : `node ${id} appears twice`);
    ids.add(id);
    const incarnation = readIncarnation(r, `${field}[${i}].incarnation`);
    at = r.offset;
    const voter = r.bool(`${field}[${i}].voter`);
    if (voter && incarnation === '') throw new DecodeError(`${field}[${i}].voter`, at, `node ${id} is a voter without an incarnation`);
    out.push({ id, incarnation, voter });
  }
  return out;
}

export function readEntry(r: ByteReader, field: string): Entry {
  const at = r.offset;
  const code = r.u8(`${field}.kind`);
  if (code === ENTRY_CODE.command) {
    const clientId = r.string(`${field}.clientId`);
    const seq = r.u64(`${field}.seq`);
    return { kind: 'command', command: { clientId, seq, op: readOp(r, field) } };
  }
  if (code === ENTRY_CODE['expire-sessions']) return { kind: 'expire-sessions', idleBefore: r.u64(`${field}.idleBefore`) };
  if (code === ENTRY_CODE.join) {
    const id = r.u32(`${field}.id`);
    return { kind: 'join', id, incarnation: readIncarnation(r, `${field}.incarnation`), replace: r.bool(`${field}.replace`) };
  }
  if (code === ENTRY_CODE.promote) {
    const id = r.u32(`${field}.id`);
    return { kind: 'promote', id, incarnation: readIncarnation(r, `${field}.incarnation`) };
  }
  throw new DecodeError(`${field}.kind`, at, `unknown entry kind ${code}`);
}

export function writeEntries(w: ByteWriter, entries: readonly Entry[]): void {
  w.u32(entries.length);
  for (const e of entries) writeEntry(w, e);
}

export function readEntries(r: ByteReader, field: string, max: number): Entry[] {
  const at = r.offset;
  const n = r.u32(`${field} count`);
  // Each entry takes at least 2 bytes: a count beyond what is left is malformed, not a reason
  // to allocate.
  if (n > max || n * 2 > r.remaining) throw new DecodeError(field, at, `count ${n} is impossible here`);
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) out.push(readEntry(r, `${field}[${i}]`));
  return out;
}

/**
 * `hasSnapshot bool | snapshot Snapshot (if hasSnapshot) | syncIdx u64 | suffix Entries`: in the
 * order the receiver acts on them. With a snapshot, `syncIdx` must equal `snapshot.idx` (the
 * suffix continues right after the snapshot); the encoder refuses anything else.
 */
export function writeLogSync(w: ByteWriter, s: LogSync): void {
  w.bool(s.snapshot !== null);
  if (s.snapshot !== null) {
    if (s.syncIdx !== s.snapshot.idx) {
      throw new RangeError(`a LogSync with a snapshot of idx ${s.snapshot.idx} must have syncIdx ${s.snapshot.idx}, not ${s.syncIdx}`);
    }
    writeSnapshot(w, s.snapshot);
  }
  w.u64(s.syncIdx);
  writeEntries(w, s.suffix);
}

export function readLogSync(r: ByteReader, field: string, maxEntries: number): LogSync {
  const snapshot = r.bool(`${field}.hasSnapshot`) ? readSnapshot(r, `${field}.snapshot`) : null;
  const at = r.offset;
  const syncIdx = r.u64(`${field}.syncIdx`);
  if (snapshot !== null && syncIdx !== snapshot.idx) {
    throw new DecodeError(`${field}.syncIdx`, at, `${syncIdx} is not the snapshot's idx ${snapshot.idx}`);
  }
  return { syncIdx, suffix: readEntries(r, `${field}.suffix`, maxEntries), snapshot };
}

/** Smallest encoded key/value pair: two empty strings. */
const MIN_PAIR_BYTES = 8;
/** Smallest encoded session: empty clientId, lastSeq, lastIdx, a 1-byte result. */
const MIN_SESSION_BYTES = 4 + 8 + 8 + 1;

/**
 * `idx u64 | kv count u32, then (key string, value string) × count | sessions count u32, then
 * (clientId string, lastSeq u64, lastIdx u64, lastResult Result) × count`.
 */
export function writeSnapshot(w: ByteWriter, s: Snapshot): void {
  w.u64(s.idx).u32(s.kv.length);
  for (const [key, value] of s.kv) w.string(key).string(value);
  w.u32(s.sessions.length);
  for (const x of s.sessions) {
    w.string(x.clientId).u64(x.lastSeq).u64(x.lastIdx);
    writeResult(w, x.lastResult);
  }
  writeMembers(w, s.members);
}

/**
 * Refuses (DecodeError) a count the remaining bytes cannot hold — before allocating anything —
 * a key or clientId that appears twice, and a session whose `lastIdx` is not below `idx` (the
 * snapshot covers only entries before `idx`). The order of pairs and sessions is not checked.
 */
export function readSnapshot(r: ByteReader, field: string): Snapshot {
  const idx = r.u64(`${field}.idx`);
  let at = r.offset;
  const nPairs = r.u32(`${field}.kv count`);
  if (nPairs * MIN_PAIR_BYTES > r.remaining) throw new DecodeError(`${field}.kv`, at, `count ${nPairs} is impossible here`);
  const kv: [string, string][] = [];
  const keys = new Set<string>();
  for (let i = 0; i < nPairs; i++) {
    at = r.offset;
    const key = r.string(`${field}.kv[${i}].key`);
    if (keys.has(key)) throw new DecodeError(`${field}.kv[${i}].key`, at, `key ${JSON.stringify(key)} appears twice`);
    keys.add(key);
    kv.push([key, r.string(`${field}.kv[${i}].value`)]);
  }
  at = r.offset;
  const nSessions = r.u32(`${field}.sessions count`);
  if (nSessions * MIN_SESSION_BYTES > r.remaining) throw new DecodeError(`${field}.sessions`, at, `count ${nSessions} is impossible here`);
  const sessions: SessionRecord[] = [];
  const clients = new Set<string>();
  for (let i = 0; i < nSessions; i++) {
    const f = `${field}.sessions[${i}]`;
    at = r.offset;
    const clientId = r.string(`${f}.clientId`);
    if (clients.has(clientId)) throw new DecodeError(`${f}.clientId`, at, `clientId ${JSON.stringify(clientId)} appears twice`);
    clients.add(clientId);
    const lastSeq = r.u64(`${f}.lastSeq`);
    at = r.offset;
    const lastIdx = r.u64(`${f}.lastIdx`);
    if (lastIdx >= idx) throw new DecodeError(`${f}.lastIdx`, at, `${lastIdx} is not below the snapshot's idx ${idx}`);
    sessions.push({ clientId, lastSeq, lastResult: readResult(r, `${f}.lastResult`), lastIdx });
  }
  return { idx, kv, sessions, members: readMembers(r, `${field}.members`) };
}

export const RESULT_CODE = {
  value: 1, 'not-found': 2, ok: 3, mismatch: 4, deleted: 5, 'session-expired': 6,
} as const;

export function writeResult(w: ByteWriter, res: KvResult): void {
  w.u8(RESULT_CODE[res.kind]);
  if (res.kind === 'value') w.string(res.value);
  else if (res.kind === 'mismatch') w.optionalString(res.current);
  else if (res.kind === 'deleted') w.bool(res.existed);
}

export function readResult(r: ByteReader, field: string): KvResult {
  const at = r.offset;
  const code = r.u8(`${field}.kind`);
  switch (code) {
    case RESULT_CODE.value: return { kind: 'value', value: r.string(`${field}.value`) };
    case RESULT_CODE['not-found']: return { kind: 'not-found' };
    case RESULT_CODE.ok: return { kind: 'ok' };
    case RESULT_CODE.mismatch: return { kind: 'mismatch', current: r.optionalString(`${field}.current`) };
    case RESULT_CODE.deleted: return { kind: 'deleted', existed: r.bool(`${field}.existed`) };
    case RESULT_CODE['session-expired']: return { kind: 'session-expired' };
    default: throw new DecodeError(`${field}.kind`, at, `unknown result kind ${code}`);
  }
}
