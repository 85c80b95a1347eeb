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
 * Fail-stop: after a failed write or fsync the WAL rejects every pending and later batch. An
 * fsync error cannot be retried (the kernel may have dropped the dirty pages and will report
 * success next time); the node must restart, and recovery decides what is durable.
 */
import { dirname, join } from 'node:path';
import { type PersistentState, type StorageOp } from '../replica/storage.js';
import { nodeFs, type StorageFile, type StorageFs } from './fs-layer.js';
import { WAL_VERSION, encodeHeader, encodeRecord } from './wal-format.js';
import { scanWal, type RecoveryReport } from './wal-recovery.js';

export const WAL_FILE = 'wal.log';

/** Shown wherever the fsync-off mode appears (logs, status). */
export const FSYNC_OFF_WARNING = 'fsync is OFF (UNSAFE): acknowledged writes can be lost on an OS crash or power loss';

export interface WalOptions {
  /**
   * true (the default): a batch is durable once fdatasync returned. false is UNSAFE: a batch
   * counts as durable once write() returned — it survives the process being killed, not an
   * OS crash or power loss, so acknowledged writes and promises can be lost and the cluster's
   * safety with them. Order is kept either way. For benchmarks and throwaway clusters only.
   */
  readonly fsync?: boolean;
  /**
   * Refuse to create a log: a node that has bootstrapped (its metadata exists) must find its
   * log, or it would start with no promises and could vote twice. Default false.
   */
  readonly mustExist?: boolean;
  /** The file-system layer; tests inject one that counts or fails. */
  readonly fs?: StorageFs;
  /** Notable events (creation, recovery, a cut torn tail, fsync off, failure). */
  readonly log?: (event: StorageEvent) => void;
}

export type StorageEvent =
  | { readonly kind: 'wal-created'; readonly file: string }
  | { readonly kind: 'wal-recovered'; readonly file: string; readonly records: number; readonly bytes: number }
  | { readonly kind: 'wal-torn-tail-cut'; readonly file: string; readonly offset: number; readonly droppedBytes: number; readonly problem: string }
  | { readonly kind: 'wal-fsync-off'; readonly file: string; readonly warning: string }
  | { readonly kind: 'wal-failed'; readonly file: string; readonly error: string };

export interface WalStatus {
  readonly file: string;
  readonly fsync: 'on' | 'off (UNSAFE)';
  /** Bytes of the log that are written (durable, with fsync on). */
  readonly bytes: number;
  readonly recordsRecovered: number;
  readonly recordsWritten: number;
  /** Group writes: each is one write call (or a few, on short writes) and one fsync. */
  readonly flushes: number;
  readonly fsyncs: number;
  /** Batches waiting for a flush, or in the one under way. */
  readonly pending: number;
  readonly failed: string | null;
}

/** Thrown (as a rejection) for every batch after the WAL failed. */
export class WalFailedError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(`${file}: the write-ahead log failed (${cause instanceof Error ? cause.message : String(cause)}) and accepts `
      + 'no more batches: restart the node; recovery keeps what is durable', { cause });
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
  const created = !(await fs.exists(path));
  if (created && options.mustExist === true) throw new WalMissingError(path);
  const madeDir = await fs.mkdirs(dir);
  // A directory we created is itself a new name in its parent.
  if (madeDir !== undefined) await fs.syncDir(dirname(madeDir));
  if (created) {
    await createEmptyWal(fs, dir, path);
    log({ kind: 'wal-created', file: path });
  }
  const file = await fs.open(path, 'read-write');
  try {
    const scan = await scanWal(file, path);
    if (scan.tornTail !== null) {
      await file.truncate(scan.validEnd);
      await file.sync();
      log({ kind: 'wal-torn-tail-cut', file: path, ...scan.tornTail });
    }
    log({ kind: 'wal-recovered', file: path, records: scan.records, bytes: scan.validEnd });
    const fsync = options.fsync ?? true;
    if (!fsync) log({ kind: 'wal-fsync-off', file: path, warning: FSYNC_OFF_WARNING });
    const wal = new Wal(file, path, scan.validEnd, scan.records, fsync, log);
    const recovery: RecoveryReport = { file: path, created, records: scan.records, bytes: scan.validEnd, tornTail: scan.tornTail };
    return { wal, state: scan.state, recovery };
  } catch (err) {
    await file.close().catch(() => {});
    throw err;
  }
}

/**
 * The header goes to a temporary file that is renamed into place, so a crash while creating
 * leaves either no log or a whole header — never a short file that would look damaged.
 */
async function createEmptyWal(fs: StorageFs, dir: string, path: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await fs.open(tmp, 'create');
  try {
    await writeFully(f, encodeHeader({ version: WAL_VERSION, base: 0 }), 0);
    await f.sync();
  } finally {
    await f.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dir);
}

async function writeFully(f: StorageFile, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const n = await f.write(bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n} at byte ${position + done}`);
    done += n;
  }
}

export class Wal {
  private queue: Queued[] = [];
  private inFlight = 0;
  private flushing = false;
  private scheduled = false;
  private failure: WalFailedError | null = null;
  private closing: Promise<void> | null = null;
  private recordsWritten = 0;
  private flushes = 0;
  private fsyncs = 0;

  /** Use `openWal`. */
  constructor(
    private readonly file: StorageFile,
    readonly path: string,
    private end: number,
    private readonly recordsRecovered: number,
    readonly fsync: boolean,
    private readonly log: (event: StorageEvent) => void,
  ) {}

  /**
   * Queues one atomic batch; resolves once it and every earlier batch are durable. The ops
   * are encoded before this returns, so the caller may change its arrays afterwards.
   */
  write(ops: readonly StorageOp[]): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null) return Promise.reject(new Error(`${this.path}: write after close`));
    if (ops.length === 0 && this.queue.length === 0 && !this.flushing) return Promise.resolve();
    let record: Uint8Array | null = null;
    if (ops.length > 0) {
      try {
        record = encodeRecord(ops);
      } catch (err) {
        // The replica already holds this change in memory; a log without it would restart the
        // node into a different state. Fail-stop.
        this.fail(err);
        return Promise.reject(this.failure);
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for every queued batch to settle, then closes the file. Later writes are refused. */
  close(): Promise<void> {
    if (this.closing === null) {
      const last = this.queue.length > 0 || this.flushing
        ? new Promise<void>(resolve => this.queue.push({ record: null, resolve, reject: () => resolve() }))
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
      recordsRecovered: this.recordsRecovered,
      recordsWritten: this.recordsWritten,
      flushes: this.flushes,
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
    try {
      if (this.failure !== null) throw this.failure;
      const records = group.flatMap(q => (q.record === null ? [] : [q.record]));
      if (records.length > 0) {
        const bytes = records.length === 1 ? records[0]! : Buffer.concat(records);
        await writeFully(this.file, bytes, this.end);
        if (this.fsync) {
          this.fsyncs++;
          await this.file.datasync();
        }
        this.end += bytes.length;
        this.recordsWritten += records.length;
        this.flushes++;
      }
      for (const q of group) q.resolve();
    } catch (err) {
      this.fail(err);
      for (const q of group) q.reject(this.failure!);
    } finally {
      this.flushing = false;
      this.inFlight = 0;
    }
    if (this.queue.length > 0) this.schedule();
  }

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err instanceof WalFailedError ? err : new WalFailedError(this.path, err);
    this.log({ kind: 'wal-failed', file: this.path, error: this.failure.message });
    // Batches already queued behind the failure are rejected by the flush that takes them.
    if (this.queue.length > 0) this.schedule();
  }
}

/**
 * For tools and tests: the state a log holds, read-only (a torn tail is skipped, not cut).
 * Throws `WalCorruptionError` like `openWal`.
 */
export async function readWalState(dir: string, fs: StorageFs = nodeFs): Promise<PersistentState> {
  const path = join(dir, WAL_FILE);
  const file = await fs.open(path, 'read');
  try {
    return (await scanWal(file, path)).state;
  } finally {
    await file.close();
  }
}
