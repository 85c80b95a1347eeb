/**
 * Encodings of the values that messages and WAL records share: ballots, stream sequence
 * numbers, log entries, KV operations and results. Layouts are documented in protocol.md
 * ("Common values"); this file is the only place they are defined.
 */
import type { Ballot } from '../replica/ballot.js';
import type { Entry, KvOp, KvResult } from '../replica/entry.js';
import type { LogSync, SeqNum } from '../replica/messages.js';
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

export const ENTRY_CODE = { command: 1, 'expire-sessions': 2 } as const;

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.u8(ENTRY_CODE[e.kind]);
  if (e.kind === 'command') {
    w.string(e.command.clientId).u64(e.command.seq);
    writeOp(w, e.command.op);
  } else {
    w.u64(e.idleBefore);
  }
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

export function writeLogSync(w: ByteWriter, s: LogSync): void {
  w.u64(s.syncIdx);
  writeEntries(w, s.suffix);
}

export function readLogSync(r: ByteReader, field: string, maxEntries: number): LogSync {
  const syncIdx = r.u64(`${field}.syncIdx`);
  return { syncIdx, suffix: readEntries(r, `${field}.suffix`, maxEntries) };
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
