/**
 * The bytes of the write-ahead log (documented in docs/wal-format.md): a fixed header, then
 * records. A record is one atomic batch of `StorageOp`s — one replica step's `persist`:
 *
 *   u32 payload length | u32 CRC-32 of the payload | payload = u32 op count, ops…
 *
 * From version 2 on (3 since node identity: snapshots carry the membership), the first record of a file is a CHECKPOINT: a payload of one op, code 6,
 * holding the whole `PersistentState` (snapshot included). A batch that installs a snapshot is
 * written as a checkpoint that begins a new file (wal.ts), which is how compaction bounds the
 * disk; the records after it are ordinary batches.
 *
 * Big-endian throughout. Ballots, entries and snapshots use the shared encodings of
 * src/wire/values.ts, so they have the same bytes on disk as on the wire. This file is pure:
 * no I/O.
 */
import { crc32 } from 'node:zlib';
import { compactedIdx, type PersistentState, type StorageOp } from '../replica/storage.js';
import { ByteReader, ByteWriter, DecodeError } from '../wire/bytes.js';
import { readBallot, readEntries, readSnapshot, writeBallot, writeEntries, writeSnapshot } from '../wire/values.js';

/** "KVSHWAL" in ASCII: the first 7 bytes of every log file. */
export const WAL_MAGIC = new Uint8Array([0x4b, 0x56, 0x53, 0x48, 0x57, 0x41, 0x4c]);
/**
 * The version this build writes. Version 1 (no checkpoints; written before compaction existed)
 * is still read, and appended to until its first checkpoint replaces it by a version-3 file.
 */
export const WAL_VERSION = 3;
/**
 * Version 2 (checkpoints whose snapshot had no membership) is refused: a data directory that old
 * has no identity either (src/node/identity.ts), and its checkpoint would be misread.
 */
export const WAL_READ_VERSIONS: readonly number[] = [1, 3];
/** magic (7) + version (1) + base (8) + header CRC (4). */
export const WAL_HEADER_BYTES = 20;
/** u32 length + u32 CRC. */
export const RECORD_HEADER_BYTES = 8;
/** The smallest payload: an op count and one op (the smallest: an append of no entries). */
export const MIN_PAYLOAD_BYTES = 4 + 1 + 4;
/**
 * Largest payload written or accepted. Far above any batch a replica produces (a batch is at
 * most what one wire frame carries, 4 MiB, plus the node's own entries); a length beyond it
 * is damage, not data, and is never allocated. A checkpoint holds the whole state (snapshot
 * and remaining log), so it bounds that too: a state that encodes to more cannot be
 * checkpointed and fails the log (a known limit, docs/wal-format.md).
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/**
 * Op codes of batch records. `install-snapshot` has none: a batch holding one is written as a
 * checkpoint (the whole state after the batch), never as an op in a record.
 */
export const STORAGE_OP_CODE = {
  'set-promise': 1,
  'set-accepted-rnd': 2,
  'append-on-prefix': 3,
  append: 4,
  'set-decided-idx': 5,
} as const satisfies Record<Exclude<StorageOp['kind'], 'install-snapshot'>, number>;

/** The op code of a checkpoint: the only op of the first record of a version-3 file. */
export const CHECKPOINT_CODE = 6;

/** The file header: which format, and which state the records replay onto. */
export interface WalHeader {
  readonly version: number;
  /**
   * Version 1: always 0 (the records replay onto `emptyState()`). Version 2: the compacted
   * index (`snapshot.idx`, 0 without a snapshot) of the checkpoint the file begins with — a
   * cross-check of that record, and what the file continues from at a glance.
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
  // The checksum first: a damaged field must be reported as damage, not decoded.
  const view = new DataView(b.buffer, b.byteOffset, WAL_HEADER_BYTES);
  const stored = view.getUint32(WAL_HEADER_BYTES - 4, false);
  const computed = crc32(b.subarray(0, WAL_HEADER_BYTES - 4));
  if (stored !== computed) {
    return { offset: WAL_HEADER_BYTES - 4, problem: `header checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})` };
  }
  const r = new ByteReader(b.subarray(0, WAL_HEADER_BYTES - 4));
  r.raw(WAL_MAGIC.length, 'magic');
  const version = r.u8('version');
  if (!WAL_READ_VERSIONS.includes(version)) {
    return { offset: WAL_MAGIC.length, problem: `format version ${version}; this build reads versions ${WAL_READ_VERSIONS.join(' and ')}` };
  }
  let base: number;
  try {
    base = r.u64('base');
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return { offset: 8, problem: `base: ${err.message}` };
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
    if (op.kind === 'install-snapshot') throw new RangeError('install-snapshot is written as a checkpoint, not as an op of a record');
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
      case CHECKPOINT_CODE: throw new DecodeError(`${field}.code`, at, 'a checkpoint (code 6) may only be the first record of a version-3 log');
      default: throw new DecodeError(`${field}.code`, at, `unknown storage operation code ${code}`);
    }
  }
  r.end('record payload');
  return ops;
}

/**
 * The payload of a checkpoint record: `u32 1 | u8 6 | promised Ballot | acceptedRnd Ballot |
 * hasSnapshot bool | Snapshot (if hasSnapshot) | log Entries | decidedIdx u64`. `log` holds the
 * entries from the compacted index on, as in `PersistentState`.
 */
export function encodeCheckpoint(s: PersistentState): Uint8Array {
  const w = new ByteWriter(1024);
  w.u32(1).u8(CHECKPOINT_CODE);
  writeBallot(w, s.promised);
  writeBallot(w, s.acceptedRnd);
  w.bool(s.snapshot !== null);
  if (s.snapshot !== null) writeSnapshot(w, s.snapshot);
  writeEntries(w, s.log);
  w.u64(s.decidedIdx);
  return w.bytes();
}

/** Decodes a checkpoint payload; throws `DecodeError` (offsets relative to the payload). */
export function decodeCheckpoint(payload: Uint8Array): PersistentState {
  const r = new ByteReader(payload);
  const count = r.u32('op count');
  if (count !== 1) throw new DecodeError('op count', 0, `a checkpoint record holds exactly one op, not ${count}`);
  const code = r.u8('op[0].code');
  if (code !== CHECKPOINT_CODE) {
    throw new DecodeError('op[0].code', 4, `a version-3 log must begin with a checkpoint (code ${CHECKPOINT_CODE}), not op code ${code}`);
  }
  const promised = readBallot(r, 'checkpoint.promised');
  const acceptedRnd = readBallot(r, 'checkpoint.acceptedRnd');
  const snapshot = r.bool('checkpoint.hasSnapshot') ? readSnapshot(r, 'checkpoint.snapshot') : null;
  const log = readEntries(r, 'checkpoint.log', Number.MAX_SAFE_INTEGER);
  const decidedIdx = r.u64('checkpoint.decidedIdx');
  r.end('checkpoint payload');
  return { promised, acceptedRnd, snapshot, log, decidedIdx };
}

/** A whole record: length, checksum, payload. */
export function encodeRecord(ops: readonly StorageOp[]): Uint8Array {
  return frameRecord(encodeOps(ops), 'a batch');
}

/** A whole checkpoint record of `s`. */
export function encodeCheckpointRecord(s: PersistentState): Uint8Array {
  return frameRecord(encodeCheckpoint(s), 'a checkpoint');
}

/** The header of a file that begins with a checkpoint of `s`. */
export function checkpointHeader(s: PersistentState): Uint8Array {
  return encodeHeader({ version: WAL_VERSION, base: compactedIdx(s) });
}

function frameRecord(payload: Uint8Array, what: string): Uint8Array {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`${what} of ${payload.length} bytes exceeds the WAL record limit of ${MAX_PAYLOAD_BYTES}`);
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
