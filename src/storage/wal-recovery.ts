/**
 * Reading a log back: validate the header and every record, replay the records onto a
 * `PersistentState`, and decide what a bad record means.
 *
 * A version-3 file begins with a checkpoint record (the whole state; wal-format.ts), and the
 * batch records after it replay onto that state; a version-1 file (older builds) has no
 * checkpoint and replays onto the empty state. The checkpoint is the file's base: it was
 * written to a temporary file and fsynced BEFORE the file was renamed into place (wal.ts), so
 * no crash can tear it. A damaged or missing checkpoint is therefore never a torn write, and
 * it is refused — cutting it would start the node from an empty state, forgetting promises.
 *
 * A crash can only tear the END of the log: records are appended and the next group is written
 * only after the previous one's fsync returned. So the first bad batch record is
 *  - a torn tail if no valid record starts anywhere after it: it is cut away (those batches
 *    were never acknowledged, unless the disk later rotted the last record — a WAL cannot tell
 *    the two apart, see docs/wal-format.md);
 *  - damage in the middle if a valid record follows it: refusing to start is the only safe
 *    answer, because skipping it would replay later batches without the batch they built on,
 *    and cutting there would drop batches that were acknowledged (promises and accepted
 *    entries other nodes counted as votes).
 * A record that passes its checksum but does not decode is never a torn write (the bytes are
 * the ones written): it is a bug or a newer format, and refused wherever it is.
 */
import { crc32 } from 'node:zlib';
import { applyStorageOps, compactedIdx, emptyState, type PersistentState } from '../replica/storage.js';
import { DecodeError } from '../wire/bytes.js';
import type { StorageFile } from './fs-layer.js';
import {
  MAX_PAYLOAD_BYTES, MIN_PAYLOAD_BYTES, RECORD_HEADER_BYTES, WAL_HEADER_BYTES, decodeCheckpoint, decodeHeader, decodeOps,
  hex32, isHeaderProblem, type WalHeader,
} from './wal-format.js';

/** The log cannot be used as it is; the node must not start on it. */
export class WalCorruptionError extends Error {
  constructor(readonly file: string, readonly offset: number, readonly problem: string) {
    super(`${file}: byte ${offset}: ${problem}. Refusing to start: the log holds votes (promises, accepted entries) `
      + 'other nodes may rely on, so it is neither skipped nor cut. Keep the file for inspection; do not delete or '
      + 'edit it to get past this (a node that forgets its promises can vote twice).');
    this.name = 'WalCorruptionError';
  }
}

export interface TornTail {
  /** Where the cut is: the start of the first bad record. */
  readonly offset: number;
  readonly droppedBytes: number;
  readonly problem: string;
}

export interface RecoveryReport {
  readonly file: string;
  /** Whether this open created the log (no file was there). */
  readonly created: boolean;
  /** Format version of the file (1: an older build's log without a checkpoint). */
  readonly version: number;
  /** Entries before this index were compacted: they exist only as the recovered snapshot. */
  readonly compactedIdx: number;
  /** Size of the checkpoint record the file begins with (0 in a version-1 file). */
  readonly checkpointBytes: number;
  /** Batch records replayed after the checkpoint. */
  readonly records: number;
  /** Size of the log after recovery: header + checkpoint + valid records. */
  readonly bytes: number;
  /** What was cut off the end, if anything. */
  readonly tornTail: TornTail | null;
}

export interface ScanResult {
  readonly header: WalHeader;
  readonly state: PersistentState;
  /** Size of the checkpoint record (0: none, a version-1 file). */
  readonly checkpointBytes: number;
  /** Batch records after the checkpoint. */
  readonly records: number;
  /** Offset just past the last valid record. */
  readonly validEnd: number;
  readonly tornTail: TornTail | null;
}

/** A forward-moving read window over a file, so a scan costs few read calls. */
class FileWindow {
  private buf = new Uint8Array(0);
  private start = 0;

  constructor(private readonly file: StorageFile, readonly size: number, private readonly path: string, private readonly chunk = 1 << 20) {}

  /** Bytes [pos, pos + n); the caller ensures pos + n ≤ size. Valid until the next call. */
  async get(pos: number, n: number): Promise<Uint8Array> {
    if (pos >= this.start && pos + n <= this.start + this.buf.length) {
      return this.buf.subarray(pos - this.start, pos - this.start + n);
    }
    const len = Math.min(Math.max(n, this.chunk), this.size - pos);
    const b = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      const k = await this.file.read(b, got, len - got, pos + got);
      if (k === 0) throw new Error(`${this.path}: the file shrank while being read (at byte ${pos + got})`);
      got += k;
    }
    this.buf = b;
    this.start = pos;
    return b.subarray(0, n);
  }
}

type RecordRead<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly end: number }
  /** Damaged or incomplete: a torn write if nothing valid follows. */
  | { readonly kind: 'bad'; readonly problem: string }
  /** Checksum fine, contents not: never a torn write. */
  | { readonly kind: 'undecodable'; readonly offset: number; readonly problem: string };

async function readRecord<T>(w: FileWindow, pos: number, decode: (payload: Uint8Array) => T): Promise<RecordRead<T>> {
  const left = w.size - pos;
  if (left < RECORD_HEADER_BYTES) return { kind: 'bad', problem: `incomplete record header (${left} of ${RECORD_HEADER_BYTES} bytes)` };
  const head = await w.get(pos, RECORD_HEADER_BYTES);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const len = view.getUint32(0, false);
  const stored = view.getUint32(4, false);
  if (len < MIN_PAYLOAD_BYTES) return { kind: 'bad', problem: `record length ${len} is below the minimum of ${MIN_PAYLOAD_BYTES}` };
  if (len > MAX_PAYLOAD_BYTES) return { kind: 'bad', problem: `record length ${len} exceeds the limit of ${MAX_PAYLOAD_BYTES}` };
  if (len > left - RECORD_HEADER_BYTES) {
    return { kind: 'bad', problem: `incomplete record: ${len} payload bytes announced, ${left - RECORD_HEADER_BYTES} present` };
  }
  const payload = await w.get(pos + RECORD_HEADER_BYTES, len);
  const computed = crc32(payload);
  if (computed !== stored) return { kind: 'bad', problem: `checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})` };
  try {
    return { kind: 'ok', value: decode(payload), end: pos + RECORD_HEADER_BYTES + len };
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    // The DecodeError's own offset is relative to the payload; report the file's.
    const problem = err.message.slice(`${err.field} at byte ${err.offset}: `.length);
    return { kind: 'undecodable', offset: pos + RECORD_HEADER_BYTES + err.offset, problem: `${err.field}: ${problem}` };
  }
}

/** The first offset after `from` where a whole valid record starts, or null. */
async function findValidRecord(w: FileWindow, from: number): Promise<number | null> {
  for (let q = from; q + RECORD_HEADER_BYTES + MIN_PAYLOAD_BYTES <= w.size; q++) {
    if ((await readRecord(w, q, decodeOps)).kind === 'ok') return q;
  }
  return null;
}

async function allZero(w: FileWindow, from: number): Promise<boolean> {
  for (let p = from; p < w.size; p += 1 << 16) {
    if (!(await w.get(p, Math.min(1 << 16, w.size - p))).every(x => x === 0)) return false;
  }
  return true;
}

/** Reads and replays a whole log; throws `WalCorruptionError` when it must not be used. */
export async function scanWal(file: StorageFile, path: string): Promise<ScanResult> {
  const size = await file.size();
  const w = new FileWindow(file, size, path);
  const header = decodeHeader(await w.get(0, Math.min(size, WAL_HEADER_BYTES)));
  if (isHeaderProblem(header)) throw new WalCorruptionError(path, header.offset, header.problem);
  let state: PersistentState;
  let pos = WAL_HEADER_BYTES;
  let checkpointBytes = 0;
  if (header.version === 1) {
    if (header.base !== 0) throw new WalCorruptionError(path, 8, `a version-1 log continues snapshot ${header.base}: version 1 has no snapshots`);
    state = emptyState();
  } else {
    const first = await readRecord(w, pos, decodeCheckpoint);
    if (first.kind === 'bad') {
      throw new WalCorruptionError(path, pos,
        `the checkpoint record that begins the log is damaged (${first.problem}); a checkpoint is fsynced before its `
        + 'file is renamed into place, so this is not a write torn by a crash, and the state the log continues from is lost');
    }
    if (first.kind === 'undecodable') {
      throw new WalCorruptionError(path, pos,
        `the checkpoint record that begins the log passes its checksum but does not decode (at byte ${first.offset}, `
        + `${first.problem}); written by a newer or a broken build`);
    }
    state = first.value;
    if (compactedIdx(state) !== header.base) {
      throw new WalCorruptionError(path, 8,
        `the header's base ${header.base} is not the compacted index ${compactedIdx(state)} of the checkpoint after it`);
    }
    checkpointBytes = first.end - pos;
    pos = first.end;
  }
  let records = 0;
  const number = (k: number) => (checkpointBytes > 0 ? `batch record ${k} after the checkpoint` : `record ${k}`);
  while (pos < size) {
    const rec = await readRecord(w, pos, decodeOps);
    if (rec.kind === 'ok') {
      try {
        applyStorageOps(state, rec.value);
      } catch (err) {
        // E.g. an append-on-prefix into the compacted prefix: the bytes are the ones written.
        throw new WalCorruptionError(path, pos,
          `${number(records + 1)} decodes but cannot be applied (${err instanceof Error ? err.message : String(err)}); `
          + 'written by a broken build');
      }
      records++;
      pos = rec.end;
      continue;
    }
    if (rec.kind === 'undecodable') {
      throw new WalCorruptionError(path, pos,
        `${number(records + 1)} passes its checksum but does not decode (at byte ${rec.offset}, ${rec.problem}); `
        + 'written by a newer or a broken build');
    }
    const next = await findValidRecord(w, pos + 1);
    if (next !== null) {
      throw new WalCorruptionError(path, pos,
        `${number(records + 1)} is damaged (${rec.problem}), yet a valid record follows at byte ${next}: `
        + 'damage in the middle of the log, not a write torn by a crash');
    }
    const zero = await allZero(w, pos);
    return {
      header, state, checkpointBytes, records, validEnd: pos,
      tornTail: { offset: pos, droppedBytes: size - pos, problem: zero ? `${rec.problem}; the tail is zero-filled` : rec.problem },
    };
  }
  return { header, state, checkpointBytes, records, validEnd: pos, tornTail: null };
}
