/**
 * The bytes of the write-ahead log (documented in docs/wal-format.md): a fixed header, then
 * records. A record is one atomic batch of `StorageOp`s — one replica step's `persist`:
 *
 *   u32 payload length | u32 CRC-32 of the payload | payload = u32 op count, ops…
 *
 * Big-endian throughout. Ballots and entries use the shared encodings of src/wire/values.ts,
 * so a log entry has the same bytes on disk as on the wire. This file is pure: no I/O.
 */
import { crc32 } from 'node:zlib';
import type { StorageOp } from '../replica/storage.js';
import { ByteReader, ByteWriter, DecodeError } from '../wire/bytes.js';
import { readBallot, readEntries, writeBallot, writeEntries } from '../wire/values.js';

/** "KVSHWAL" in ASCII: the first 7 bytes of every log file. */
export const WAL_MAGIC = new Uint8Array([0x4b, 0x56, 0x53, 0x48, 0x57, 0x41, 0x4c]);
export const WAL_VERSION = 1;
/** magic (7) + version (1) + base (8) + header CRC (4). */
export const WAL_HEADER_BYTES = 20;
/** u32 length + u32 CRC. */
export const RECORD_HEADER_BYTES = 8;
/** The smallest payload: an op count and one op (the smallest: an append of no entries). */
export const MIN_PAYLOAD_BYTES = 4 + 1 + 4;
/**
 * Largest payload written or accepted. Far above any batch a replica produces (a batch is at
 * most what one wire frame carries, 4 MiB, plus the node's own entries); a length beyond it
 * is damage, not data, and is never allocated.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export const STORAGE_OP_CODE = {
  'set-promise': 1,
  'set-accepted-rnd': 2,
  'append-on-prefix': 3,
  append: 4,
  'set-decided-idx': 5,
} as const satisfies Record<StorageOp['kind'], number>;

/** The file header: which format, and which state the records replay onto. */
export interface WalHeader {
  readonly version: number;
  /**
   * The snapshot this log continues: 0 means the records replay onto `emptyState()`. Reserved
   * for compaction (issue 6): a snapshot file beside the log, the log's base naming it.
   */
  readonly base: number;
}

export function encodeHeader(h: WalHeader): Uint8Array {
  const w = new ByteWriter(WAL_HEADER_BYTES);
  w.raw(WAL_MAGIC).u8(h.version).u64(h.base);
  w.u32(crc32(w.bytes()));
  return w.bytes().slice();
}

/** Why a header is not one this build can use, and where. */
export type HeaderProblem = { readonly offset: number; readonly problem: string };

export function decodeHeader(b: Uint8Array): WalHeader | HeaderProblem {
  if (b.length < WAL_HEADER_BYTES) {
    return { offset: b.length, problem: `the file is ${b.length} bytes, shorter than the ${WAL_HEADER_BYTES}-byte header` };
  }
  for (let i = 0; i < WAL_MAGIC.length; i++) {
    if (b[i] !== WAL_MAGIC[i]) {
      return { offset: 0, problem: `bad magic ${hex(b.subarray(0, WAL_MAGIC.length))} (expected ${hex(WAL_MAGIC)} "KVSHWAL"): not a kvsh write-ahead log` };
    }
  }
  const r = new ByteReader(b.subarray(0, WAL_HEADER_BYTES));
  r.raw(WAL_MAGIC.length, 'magic');
  const version = r.u8('version');
  const base = r.u64('base');
  const stored = r.u32('header crc');
  const computed = crc32(b.subarray(0, WAL_HEADER_BYTES - 4));
  if (stored !== computed) {
    return { offset: WAL_HEADER_BYTES - 4, problem: `header checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})` };
  }
  if (version !== WAL_VERSION) {
    return { offset: WAL_MAGIC.length, problem: `format version ${version}; this build reads version ${WAL_VERSION}` };
  }
  return { version, base };
}

export function isHeaderProblem(h: WalHeader | HeaderProblem): h is HeaderProblem {
  return 'problem' in h;
}

/** The payload of one record. Throws RangeError on a value no field can hold (a bug). */
export function encodeOps(ops: readonly StorageOp[]): Uint8Array {
  if (ops.length === 0) throw new RangeError('a WAL record holds at least one operation');
  const w = new ByteWriter();
  w.u32(ops.length);
  for (const op of ops) {
    w.u8(STORAGE_OP_CODE[op.kind]);
    switch (op.kind) {
      case 'set-promise': case 'set-accepted-rnd': writeBallot(w, op.ballot); break;
      case 'append-on-prefix': w.u64(op.fromIdx); writeEntries(w, op.entries); break;
      case 'append': writeEntries(w, op.entries); break;
      case 'set-decided-idx': w.u64(op.idx); break;
    }
  }
  return w.bytes();
}

/** Decodes a payload; throws `DecodeError` (offsets relative to the payload). */
export function decodeOps(payload: Uint8Array): StorageOp[] {
  const r = new ByteReader(payload);
  const count = r.u32('op count');
  // Each op takes at least 5 bytes (code + the smallest body, an empty entry list).
  if (count === 0 || count * 5 > r.remaining) throw new DecodeError('op count', 0, `count ${count} is impossible here`);
  const ops: StorageOp[] = [];
  for (let i = 0; i < count; i++) {
    const field = `op[${i}]`;
    const at = r.offset;
    const code = r.u8(`${field}.code`);
    switch (code) {
      case STORAGE_OP_CODE['set-promise']: ops.push({ kind: 'set-promise', ballot: readBallot(r, `${field}.ballot`) }); break;
      case STORAGE_OP_CODE['set-accepted-rnd']: ops.push({ kind: 'set-accepted-rnd', ballot: readBallot(r, `${field}.ballot`) }); break;
      case STORAGE_OP_CODE['append-on-prefix']: {
        const fromIdx = r.u64(`${field}.fromIdx`);
        ops.push({ kind: 'append-on-prefix', fromIdx, entries: readEntries(r, `${field}.entries`, Number.MAX_SAFE_INTEGER) });
        break;
      }
      case STORAGE_OP_CODE.append: ops.push({ kind: 'append', entries: readEntries(r, `${field}.entries`, Number.MAX_SAFE_INTEGER) }); break;
      case STORAGE_OP_CODE['set-decided-idx']: ops.push({ kind: 'set-decided-idx', idx: r.u64(`${field}.idx`) }); break;
      default: throw new DecodeError(`${field}.code`, at, `unknown storage operation code ${code}`);
    }
  }
  r.end('record payload');
  return ops;
}

/** A whole record: length, checksum, payload. */
export function encodeRecord(ops: readonly StorageOp[]): Uint8Array {
  const payload = encodeOps(ops);
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`a batch of ${payload.length} bytes exceeds the WAL record limit of ${MAX_PAYLOAD_BYTES}`);
  }
  const rec = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(rec.buffer);
  view.setUint32(0, payload.length, false);
  view.setUint32(4, crc32(payload), false);
  rec.set(payload, RECORD_HEADER_BYTES);
  return rec;
}

export function hex(b: Uint8Array): string {
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join(' ');
}

export function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
