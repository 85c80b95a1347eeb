/**
 * The write-ahead log a real node keeps its replica's `PersistentState` in.
 *
 *   const { wal, state } = await openWal(dataDir)       // recovery: replay, cut a torn tail
 *   replica = new Replica(config, state)
 *   loop: ready = replica.step(…); await wal.write(ready.persist); send/reply
 *
 * Group commit: every batch queued in one event-loop turn goes out in one write and one
 * fsync; batches queued while that is in flight go together in the next. One flush at a time,
 * in queue order, so batches become durable in the order they were written, and a batch's
 * promise resolves only when it and every earlier batch are durable. An empty batch writes
 * nothing and resolves when every earlier batch is durable (its step's messages may depend on
 * them — the step contract in src/replica/README.md).
 *
 * Compaction (bounded disk): a batch holding an `install-snapshot` is not appended. The WAL
 * keeps the state every queued batch leads to, and writes that batch as a CHECKPOINT — the
 * whole state after it, as the first record of a new file — which atomically replaces the
 * log (`replaceLog`): the entries the snapshot covers leave the disk with the old file. In a
 * group, a checkpoint makes every batch queued before it redundant (they are in it), and the
 * batches after it are appended behind it in the new file; the group is still one atomic
 * unit: a crash recovers the state before the group or after it.
 *
 * Fail-stop: after a failed write or fsync the WAL rejects every pending and later batch. An
 * fsync error cannot be retried (the kernel may have dropped the dirty pages and will report
 * success next time); the node must restart, and recovery decides what is durable. Bytes a
 * failed append left past the last acknowledged batch are truncated away at once (best
 * effort; recovery would cut them as a torn tail otherwise), and a new log or checkpoint that
 * failed before its rename is removed, so the file holds only whole acknowledged batches.
 *
 * A full disk (ENOSPC, or EDQUOT) is such a failure, reported as "disk full (ENOSPC)" with the
 * file and the step (disk-full.ts). The WAL does not wait for space and retry: the batch that
 * hit it was never acknowledged, so stopping loses nothing, and a restart once there is space
 * recovers — the choice etcd makes too. Waiting would keep a node that cannot persist a vote
 * in the cluster, holding its clients' requests with no bound (docs/wal-format.md, "Disk full").
 */
import { dirname, join } from 'node:path';
import { applyStorageOps, cloneState, compactedIdx, emptyState, type PersistentState, type StorageOp } from '../replica/storage.js';
import { DiskFullError, diskFullCode, namingDiskFull, type DiskFullCode } from './disk-full.js';
import { nodeFs, type StorageFile, type StorageFs } from './fs-layer.js';
import { checkpointHeader, encodeCheckpointRecord, encodeRecord } from './wal-format.js';
import { scanWal, type RecoveryReport } from './wal-recovery.js';

export const WAL_FILE = 'wal.log';
/** A new log (creation, checkpoint) is written here, then renamed over `WAL_FILE`. */
export const WAL_TEMP_FILE = `${WAL_FILE}.tmp`;

/** Shown wherever the fsync-off mode appears (logs, status). */
export const FSYNC_OFF_WARNING = 'fsync is OFF (UNSAFE): acknowledged writes can be lost on an OS crash or power loss';

export interface WalOptions {
  /**
   * true (the default): a batch is durable once fdatasync returned. false is UNSAFE: a batch
   * counts as durable once write() returned — it survives the process being killed, not an
   * OS crash or power loss, so acknowledged writes and promises can be lost and the cluster's
   * safety with them. Order is kept either way. For benchmarks and throwaway clusters only.
   * (Checkpoints still fsync their new file before the rename, see `replaceLog`.)
   */
  readonly fsync?: boolean;
  /**
   * Refuse to create a log: a node that has bootstrapped (its metadata exists) must find its
   * log, or it would start with no promises and could vote twice. Default false.
   */
  readonly mustExist?: boolean;
  /** The file-system layer; tests inject one that counts or fails. */
  readonly fs?: StorageFs;
  /** Notable events (creation, recovery, a cut torn tail, fsync off, checkpoints, failure). */
  readonly log?: (event: StorageEvent) => void;
}

export type StorageEvent =
  | { readonly kind: 'wal-created'; readonly file: string }
  | {
    readonly kind: 'wal-recovered'; readonly file: string; readonly version: number; readonly compactedIdx: number;
    readonly records: number; readonly bytes: number;
  }
  | { readonly kind: 'wal-torn-tail-cut'; readonly file: string; readonly offset: number; readonly droppedBytes: number; readonly problem: string }
  /** A temporary file a crash left behind (an unfinished creation or checkpoint) was removed. */
  | { readonly kind: 'wal-temp-removed'; readonly file: string; readonly bytes: number }
  /** The log was replaced by a checkpoint: `bytes` is the new file's size, `before` the old one's. */
  | { readonly kind: 'wal-checkpoint'; readonly file: string; readonly compactedIdx: number; readonly bytes: number; readonly before: number }
  | { readonly kind: 'wal-fsync-off'; readonly file: string; readonly warning: string }
  /** `diskFull`: the failure was a full disk (ENOSPC / EDQUOT), else null. */
  | { readonly kind: 'wal-failed'; readonly file: string; readonly error: string; readonly diskFull: DiskFullCode | null };

export interface WalStatus {
  readonly file: string;
  readonly fsync: 'on' | 'off (UNSAFE)';
  /** Bytes of the log that are written (durable, with fsync on). */
  readonly bytes: number;
  /** Compacted index of the checkpoint the current file begins with (0: none, or no snapshot). */
  readonly base: number;
  readonly recordsRecovered: number;
  /** Records written (a checkpoint counts as one; batches a checkpoint made redundant, as none). */
  readonly recordsWritten: number;
  /** Group writes: each is one write call (or a few, on short writes) and one fsync. */
  readonly flushes: number;
  /** Checkpoints written: each replaced the log by a new file. */
  readonly checkpoints: number;
  /** fsync/fdatasync calls on the log and its directory since opening. */
  readonly fsyncs: number;
  /** Batches waiting for a flush, or in the one under way. */
  readonly pending: number;
  readonly failed: string | null;
}

/** Thrown (as a rejection) for every batch after the WAL failed. */
export class WalFailedError extends Error {
  /** The failure was a full disk (ENOSPC / EDQUOT), else null. */
  readonly diskFull: DiskFullCode | null;

  constructor(readonly file: string, cause: unknown) {
    const diskFull = diskFullCode(cause);
    const what = cause instanceof Error ? cause.message : String(cause);
    if (diskFull === null) {
      super(`${file}: the write-ahead log failed (${what}) and accepts no more batches: restart the node; recovery keeps what is durable`,
        { cause });
    } else {
      // The batches that hit the full disk were never acknowledged (and their bytes are cut);
      // every acknowledged batch was durable before them.
      const where = cause instanceof DiskFullError && cause.file === file ? cause.problem : what;
      super(`${file}: the write-ahead log failed: ${where}. It accepts no more batches (fail-stop); no acknowledged batch `
        + 'is lost. Free space on the disk, then restart the node: recovery keeps every acknowledged batch', { cause });
    }
    this.diskFull = diskFull;
    this.name = 'WalFailedError';
  }
}

/** `mustExist` was set and there is no log. */
export class WalMissingError extends Error {
  constructor(readonly file: string) {
    super(`${file}: no write-ahead log, but this node has run before: refusing to start with an empty state `
      + '(it would have forgotten its promises and accepted entries, and could vote twice)');
    this.name = 'WalMissingError';
  }
}

interface Queued {
  /** A whole record, or null for an empty batch (it only waits). */
  readonly record: Uint8Array | null;
  /** Set when `record` is a checkpoint: the header of the file it begins, and its base. */
  readonly checkpoint: { readonly header: Uint8Array; readonly base: number } | null;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export interface OpenedWal {
  readonly wal: Wal;
  /** The durable state, to build the replica from. */
  readonly state: PersistentState;
  readonly recovery: RecoveryReport;
}

/** Opens (or creates) the log in `dir` and recovers its state. */
export async function openWal(dir: string, options: WalOptions = {}): Promise<OpenedWal> {
  const fs = options.fs ?? nodeFs;
  const log = options.log ?? (() => {});
  const path = join(dir, WAL_FILE);
  const tmp = join(dir, WAL_TEMP_FILE);
  const created = !(await fs.exists(path));
  if (created && options.mustExist === true) throw new WalMissingError(path);
  const madeDir = await fs.mkdirs(dir);
  // A directory we created is itself a new name in its parent.
  if (madeDir !== undefined) await fs.syncDir(dirname(madeDir));
  if (created) {
    const f = await writeNewLog(fs, dir, 'a new log', checkpointHeader(emptyState()), encodeCheckpointRecord(emptyState()), true);
    await f.close();
    log({ kind: 'wal-created', file: path });
  } else if (await fs.exists(tmp)) {
    // A crash before a checkpoint's (or a creation's) rename left its temporary file: the
    // rename is the commit point, so the log in place is the one to use and the leftover is
    // garbage, however whole it looks. Removed so that it does not hold disk space; no
    // directory fsync: if the removal is lost to a power cut, the next open removes it again.
    const f = await fs.open(tmp, 'read');
    const bytes = await f.size().finally(() => f.close());
    await fs.unlink(tmp);
    log({ kind: 'wal-temp-removed', file: tmp, bytes });
  }
  const file = await fs.open(path, 'read-write');
  try {
    const scan = await scanWal(file, path);
    if (scan.tornTail !== null) {
      await file.truncate(scan.validEnd);
      await file.sync();
      log({ kind: 'wal-torn-tail-cut', file: path, ...scan.tornTail });
    }
    const version = scan.header.version;
    const compacted = compactedIdx(scan.state);
    log({ kind: 'wal-recovered', file: path, version, compactedIdx: compacted, records: scan.records, bytes: scan.validEnd });
    const fsync = options.fsync ?? true;
    if (!fsync) log({ kind: 'wal-fsync-off', file: path, warning: FSYNC_OFF_WARNING });
    const wal = new Wal({
      fs, dir, file, end: scan.validEnd, base: scan.header.base, recordsRecovered: scan.records, fsync, log,
      state: cloneState(scan.state),
    });
    const recovery: RecoveryReport = {
      file: path, created, version, compactedIdx: compacted, checkpointBytes: scan.checkpointBytes,
      records: scan.records, bytes: scan.validEnd, tornTail: scan.tornTail,
    };
    return { wal, state: scan.state, recovery };
  } catch (err) {
    await file.close().catch(() => {});
    throw err;
  }
}

/**
 * Writes a whole new log — `header`, the checkpoint `record`, then the records in `more` —
 * and puts it in place of `WAL_FILE` atomically. Returns the new file, open for appending. Used to create a log and for every
 * checkpoint. Order, and why each step is needed:
 *
 *  1. Write everything to `WAL_TEMP_FILE` (opened with O_TRUNC: a leftover from a crash is
 *     overwritten). The old log is not touched, so until step 3 a crash recovers the old state.
 *  2. fsync the new file — BEFORE the rename, and even with fsync off. Without it the rename
 *     can reach the disk before the file's data (file systems order metadata and data
 *     independently; ext4 without auto_da_alloc, xfs, …), and a power cut then leaves
 *     `wal.log` naming a short or zero-filled file: the old log gone, the new one torn. With
 *     fsync on that loses acknowledged batches; with fsync off it would still lose the whole
 *     base state and the node could not start at all (recovery refuses a damaged checkpoint,
 *     see wal-recovery.ts), so this one fsync is kept in both modes: it costs one fsync per
 *     checkpoint, and a checkpoint comes once per snapshot.
 *  3. rename over `WAL_FILE`: atomic, so any observer — and, with the new data durable, any
 *     crash — sees the whole old log or the whole new one, never a mix. This is the commit
 *     point. The old file's inode lives on until its descriptor is closed.
 *  4. fsync the directory: the rename is a change to the directory, and it is durable only
 *     when the directory is. Needed before the batches in the new file are acknowledged —
 *     otherwise a power cut could bring back the old name, without them — and before anything
 *     is appended to the new file (an append acknowledged into a file whose name is not
 *     durable could be lost the same way). Skipped with fsync off, whose batches count as
 *     durable once written: a lost rename there means old state, never damaged state.
 */
async function writeNewLog(fs: StorageFs, dir: string, what: string, header: Uint8Array, record: Uint8Array, syncDir: boolean,
  more: readonly Uint8Array[] = [], renamed: (f: StorageFile) => void = () => {}): Promise<StorageFile> {
  const tmp = join(dir, WAL_TEMP_FILE);
  const bytes = Buffer.concat([header, record, ...more]);
  const f = await namingDiskFull(tmp, `creating ${what}`, () => fs.open(tmp, 'create'));
  let inPlace = false;
  try {
    await namingDiskFull(tmp, `writing ${what} (${bytes.length} bytes)`, () => writeFully(f, bytes, 0));
    await namingDiskFull(tmp, `fsyncing ${what}`, () => f.sync());
    await namingDiskFull(tmp, `renaming it to ${WAL_FILE}`, () => fs.rename(tmp, join(dir, WAL_FILE)));
    inPlace = true;
    // The new file is the log now; whatever follows, the caller must hold (and close) it.
    renamed(f);
    if (syncDir) await namingDiskFull(dir, `fsyncing the directory after renaming ${WAL_TEMP_FILE}`, () => fs.syncDir(dir));
    return f;
  } catch (err) {
    if (!inPlace) {
      await f.close().catch(() => {});
      // The old log is still the live one and this file is garbage. Removed at once: on a full
      // disk it holds the very space the node needs (and the next open would remove it anyway).
      // Best effort: a leftover is harmless (openWal removes it, never reads it).
      await fs.unlink(tmp).catch(() => {});
    }
    throw err;
  }
}

async function writeFully(f: StorageFile, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const n = await f.write(bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n} at byte ${position + done}`);
    done += n;
  }
}

interface WalInit {
  readonly fs: StorageFs;
  readonly dir: string;
  readonly file: StorageFile;
  /** Bytes of the log (its valid end). */
  readonly end: number;
  readonly base: number;
  readonly recordsRecovered: number;
  readonly fsync: boolean;
  readonly log: (event: StorageEvent) => void;
  /** The recovered state; the WAL owns it from here (pass a copy). */
  readonly state: PersistentState;
}

export class Wal {
  readonly path: string;
  readonly fsync: boolean;
  private readonly fs: StorageFs;
  private readonly dir: string;
  private readonly log: (event: StorageEvent) => void;
  private readonly recordsRecovered: number;
  private file: StorageFile;
  private end: number;
  private base: number;
  /**
   * The state after every batch queued so far (durable or not): what a checkpoint of the
   * latest batch holds. It shares entries and snapshots with the replica (both immutable).
   */
  private readonly state: PersistentState;
  private queue: Queued[] = [];
  private inFlight = 0;
  private flushing = false;
  private scheduled = false;
  private failure: WalFailedError | null = null;
  private closing: Promise<void> | null = null;
  private recordsWritten = 0;
  private flushes = 0;
  private checkpoints = 0;
  private fsyncs = 0;

  /** Use `openWal`. */
  constructor(init: WalInit) {
    this.fs = init.fs;
    this.dir = init.dir;
    this.path = join(init.dir, WAL_FILE);
    this.file = init.file;
    this.end = init.end;
    this.base = init.base;
    this.recordsRecovered = init.recordsRecovered;
    this.fsync = init.fsync;
    this.log = init.log;
    this.state = init.state;
  }

  /**
   * Queues one atomic batch; resolves once it and every earlier batch are durable. The ops
   * are encoded before this returns, so the caller may change its arrays afterwards. A batch
   * with an `install-snapshot` becomes a checkpoint: the log is replaced by one holding the
   * state after the batch (encoded here, at once, like any batch).
   */
  write(ops: readonly StorageOp[]): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null) return Promise.reject(new Error(`${this.path}: write after close`));
    if (ops.length === 0 && this.queue.length === 0 && !this.flushing) return Promise.resolve();
    let record: Uint8Array | null = null;
    let checkpoint: Queued['checkpoint'] = null;
    if (ops.length > 0) {
      try {
        if (ops.some(op => op.kind === 'install-snapshot')) {
          applyStorageOps(this.state, ops);
          record = encodeCheckpointRecord(this.state);
          checkpoint = { header: checkpointHeader(this.state), base: compactedIdx(this.state) };
        } else {
          record = encodeRecord(ops);
          applyStorageOps(this.state, ops);
        }
      } catch (err) {
        // The replica already holds this change in memory; a log without it would restart the
        // node into a different state. Fail-stop.
        this.fail(err);
        return Promise.reject(this.failure);
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, checkpoint, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for every queued batch to settle, then closes the file. Later writes are refused. */
  close(): Promise<void> {
    if (this.closing === null) {
      const last = this.queue.length > 0 || this.flushing
        ? new Promise<void>(resolve => this.queue.push({ record: null, checkpoint: null, resolve, reject: () => resolve() }))
        : Promise.resolve();
      if (this.queue.length > 0) this.schedule();
      this.closing = last.then(() => this.file.close());
    }
    return this.closing;
  }

  status(): WalStatus {
    return {
      file: this.path,
      fsync: this.fsync ? 'on' : 'off (UNSAFE)',
      bytes: this.end,
      base: this.base,
      recordsRecovered: this.recordsRecovered,
      recordsWritten: this.recordsWritten,
      flushes: this.flushes,
      checkpoints: this.checkpoints,
      fsyncs: this.fsyncs,
      pending: this.queue.length + this.inFlight,
      failed: this.failure?.message ?? null,
    };
  }

  /** The next flush runs after this turn, so everything the turn queues joins it. */
  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    const group = this.queue;
    this.queue = [];
    this.flushing = true;
    this.inFlight = group.length;
    let appending = false;
    try {
      if (this.failure !== null) throw this.failure;
      // The last checkpoint of the group holds every batch before it: only it and the
      // records after it are written.
      let from = 0;
      for (let i = 0; i < group.length; i++) if (group[i]!.checkpoint !== null) from = i;
      const { checkpoint, record } = group[from]!;
      const records = group.slice(checkpoint !== null ? from + 1 : 0).flatMap(q => (q.record === null ? [] : [q.record]));
      if (checkpoint !== null) {
        await this.replaceLog(checkpoint, record!, records);
      } else if (records.length > 0) {
        appending = true;
        const bytes = records.length === 1 ? records[0]! : Buffer.concat(records);
        const batches = `${records.length} batch${records.length === 1 ? '' : 'es'} (${bytes.length} bytes) at byte ${this.end}`;
        await namingDiskFull(this.path, `appending ${batches}`, () => writeFully(this.file, bytes, this.end));
        if (this.fsync) {
          this.fsyncs++;
          await namingDiskFull(this.path, `fsyncing ${batches}`, () => this.file.datasync());
        }
        this.end += bytes.length;
        this.recordsWritten += records.length;
        this.flushes++;
      }
      for (const q of group) q.resolve();
    } catch (err) {
      this.fail(err);
      // Before the rejections: a rejected batch may stop the process (the node exits at once).
      if (appending) await this.cutFailedAppend();
      for (const q of group) q.reject(this.failure!);
    } finally {
      this.flushing = false;
      this.inFlight = 0;
    }
    if (this.queue.length > 0) this.schedule();
  }

  /**
   * A checkpoint: a new file of `header`, the checkpoint record and the group's records after
   * it replaces the log (`writeNewLog` explains each fsync). Every earlier group is durable in
   * the old file and contained in the checkpoint, so the switch loses nothing; the group's
   * promises resolve only after the directory fsync, and the next group appends to the new
   * file only after this one is durable (one flush at a time).
   */
  private async replaceLog(cp: NonNullable<Queued['checkpoint']>, record: Uint8Array, records: readonly Uint8Array[]): Promise<void> {
    const before = this.end;
    const size = cp.header.length + record.length + records.reduce((n, r) => n + r.length, 0);
    await writeNewLog(this.fs, this.dir, 'a checkpoint', cp.header, record, this.fsync, records, f => {
      const old = this.file;
      this.file = f;
      this.end = size;
      // The old log is unlinked by the rename; closing its descriptor frees its space.
      void old.close().catch(() => {});
    });
    this.fsyncs += this.fsync ? 2 : 1;
    this.base = cp.base;
    this.recordsWritten += 1 + records.length;
    this.checkpoints++;
    this.flushes++;
    this.log({ kind: 'wal-checkpoint', file: this.path, compactedIdx: this.base, bytes: size, before });
  }

  /**
   * After a failed append (write or fsync): whatever part of the group reached the file lies
   * past `end`, the last acknowledged byte, and belongs to batches that are rejected. Cut it
   * so the file holds only whole acknowledged batches — on a full disk this also gives back
   * the space. Best effort and not fsynced: if the cut is lost, recovery finds a torn tail and
   * cuts it then (or keeps whole records of the group, which were never acknowledged, exactly
   * as after a crash before the acknowledgement).
   */
  private async cutFailedAppend(): Promise<void> {
    try {
      await this.file.truncate(this.end);
    } catch {
      // Recovery cuts it instead.
    }
  }

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err instanceof WalFailedError ? err : new WalFailedError(this.path, err);
    this.log({ kind: 'wal-failed', file: this.path, error: this.failure.message, diskFull: this.failure.diskFull });
    // Batches already queued behind the failure are rejected by the flush that takes them.
    if (this.queue.length > 0) this.schedule();
  }
}

/** What `readWal` finds: the state, and how the file holds it. */
export interface WalContents {
  readonly state: PersistentState;
  /** Format version of the file. */
  readonly version: number;
  /** Entries before this index exist only as the snapshot (`state.snapshot`). */
  readonly compactedIdx: number;
  readonly checkpointBytes: number;
  readonly records: number;
  /** Size of the valid part of the file. */
  readonly bytes: number;
  readonly tornTail: RecoveryReport['tornTail'];
}

/**
 * For tools and tests: what a log holds, read-only (a torn tail is skipped, not cut, and a
 * leftover temporary file is ignored). Throws `WalCorruptionError` like `openWal`.
 */
export async function readWal(dir: string, fs: StorageFs = nodeFs): Promise<WalContents> {
  const path = join(dir, WAL_FILE);
  const file = await fs.open(path, 'read');
  try {
    const scan = await scanWal(file, path);
    return {
      state: scan.state, version: scan.header.version, compactedIdx: compactedIdx(scan.state),
      checkpointBytes: scan.checkpointBytes, records: scan.records, bytes: scan.validEnd, tornTail: scan.tornTail,
    };
  } finally {
    await file.close();
  }
}

/** The state a log holds (`readWal(dir).state`; `compactedIdx(state)` is its compacted index). */
export async function readWalState(dir: string, fs: StorageFs = nodeFs): Promise<PersistentState> {
  return (await readWal(dir, fs)).state;
}
