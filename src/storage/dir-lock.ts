/**
 * One owner per data directory: a lock file, `<dir>/LOCK`, taken before anything in the
 * directory is read or written and held for the owner's life. Two processes on one directory
 * corrupt it — the second recovers (and may cut as a "torn tail") the log the first is writing,
 * then both append — so the second must stop before it reads a byte.
 *
 * Why a lock file of our own. Node 20 has no flock(2) (a native addon would bring a build step
 * for one system call). proper-lockfile, the usual npm choice, judges staleness by mtime: after
 * a kill -9 a restart is blocked for its stale period (10 s by default, and shortening it lets a
 * paused holder lose its lock), and it records no pid to name in the error. A pid check is exact
 * on one machine, so:
 *
 * - **Create.** The record (pid, process start time, boot id, host, a random token) is written
 *   and fsynced to a temporary file, then hard-linked to `LOCK`: link(2) fails with EEXIST if the
 *   lock exists and never shows a half-written record (a plain O_EXCL create would, between its
 *   open and its write, to a reader deciding whether the lock is stale).
 * - **Held or stale.** On EEXIST the record is read. The holder is dead — the lock stale — when
 *   it was written before this boot (boot id), when `kill(pid, 0)` says ESRCH, when the pid is a
 *   zombie, or when the pid now belongs to another process (its start time in /proc/<pid>/stat
 *   differs from the recorded one: pid reuse). A live holder is reported (`DirLockHeldError`,
 *   with its pid). A record from another host cannot be checked and counts as held.
 * - **Taking over a stale lock, one winner.** Removing the stale file and creating ours would let
 *   two starters that both read the stale record both win (the second removes the first's new
 *   lock). So the right to remove the stale record with token T is itself a lock:
 *   `LOCK.takeover-T`, created the same exclusive way. Its holder re-reads `LOCK` and removes it
 *   only if it still carries T — it cannot change meanwhile: T's owner is dead and only the
 *   holder of the takeover file removes it — then drops the takeover file and tries to create
 *   `LOCK` again like everybody else. A starter that finds the takeover file held by a live
 *   process waits a little (a takeover takes microseconds); one held by a dead process (killed
 *   mid-takeover) is a stale lock of its own and is taken over the same way.
 * - **Release** on `release()` and on process exit (an 'exit' handler, so `process.exit` and a
 *   fatal error release too), and only if `LOCK` still carries our token. kill -9 leaves the file:
 *   the next starter finds its pid dead and takes it over at once.
 *
 * Limits: the liveness check needs the holder on this machine and in this pid namespace (a
 * process in another container sharing the directory could be judged dead); the start-time and
 * zombie checks need Linux's /proc (elsewhere `kill(pid, 0)` alone decides); the file system must
 * support hard links. A temporary `LOCK.new-*` file can be left behind by a process killed
 * between writing and linking it; it locks nothing.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';

/** What a lock file records about its holder. */
export interface LockRecord {
  readonly pid: number;
  /** Who holds it, for a person reading the file ("kvnode 2", "cluster manager"). */
  readonly by: string;
  readonly host: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken; null where there is none. */
  readonly boot: string | null;
  /** The holder's start time (field 22 of /proc/<pid>/stat, clock ticks since boot); null where unknown. */
  readonly start: string | null;
  /** Unique per acquisition: tells this lock from a later one of the same process. */
  readonly token: string;
  /** When it was taken (ISO 8601), for people. */
  readonly since: string;
}

export interface DirLockOptions {
  /** How the directory is named in the error, e.g. "node 2's data directory". Default "data directory". */
  readonly what?: string;
  /** Recorded in the lock file as `by`. Default "process <pid>". */
  readonly by?: string;
  /** How long to wait for another process's takeover of a stale lock to finish; default 2000 ms. */
  readonly takeoverWaitMs?: number;
  /** Called after a stale holder is read, before taking it over. Tests use it to line up racing starters. */
  readonly onStale?: (stale: LockRecord) => void;
}

/** The directory is held by a live process. */
export class DirLockHeldError extends Error {
  constructor(readonly dir: string, readonly lockFile: string, readonly holder: LockRecord, what: string) {
    const where = holder.host === hostname() ? '' : ` on host ${holder.host}`;
    super(`${what} ${dir} is in use by process ${holder.pid}${where} (lock file ${lockFile}); stop that process first`);
    this.name = 'DirLockHeldError';
  }
}

export interface DirLock {
  readonly dir: string;
  readonly file: string;
  readonly record: LockRecord;
  /** False once released. */
  readonly held: boolean;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/**
 * Takes `<dir>/LOCK` (the directory must exist). Throws DirLockHeldError when a live process
 * holds it, and a plain Error when the lock file cannot be read or written.
 */
export function acquireDirLock(dir: string, opts: DirLockOptions = {}): DirLock {
  const file = join(dir, LOCK_FILE);
  const what = opts.what ?? 'data directory';
  const record: LockRecord = {
    pid: process.pid, by: opts.by ?? `process ${process.pid}`, host: hostname(), boot: BOOT_ID,
    start: processStartTime(process.pid), token: randomBytes(12).toString('hex'), since: new Date().toISOString(),
  };
  const deadline = Date.now() + (opts.takeoverWaitMs ?? 2000);
  // Each round either takes the lock, throws, or sees another process change the file; the bound
  // only turns a livelock nobody has seen into an error.
  for (let round = 0; ; round++) {
    if (round > MAX_ROUNDS) throw new Error(`${what} ${dir}: could not take ${file} in ${MAX_ROUNDS} rounds; something keeps changing it`);
    if (createExclusive(file, record)) return hold(dir, file, record);
    const holder = readRecord(file);
    if (holder === 'missing') continue; // released between our link and our read
    if (holderIsAlive(holder)) throw new DirLockHeldError(dir, file, holder, what);
    opts.onStale?.(holder);
    const outcome = removeStale(file, holder, record, 0);
    if (outcome.kind === 'busy') {
      if (Date.now() >= deadline) {
        throw new Error(`${what} ${dir}: process ${outcome.by.pid} has been taking over its stale lock for `
          + `${opts.takeoverWaitMs ?? 2000} ms (${outcome.file}); is it stopped? If no process uses the directory, delete ${file}`);
      }
      sleepSync(10);
    }
  }
}

/** The live holder of `<dir>/LOCK`, or null when it is free or stale. For status displays and tests. */
export function lockHolder(dir: string): LockRecord | null {
  const holder = readRecord(join(dir, LOCK_FILE));
  return holder !== 'missing' && holderIsAlive(holder) ? holder : null;
}

type Removal = { readonly kind: 'done' } | { readonly kind: 'busy'; readonly by: LockRecord; readonly file: string };

const MAX_ROUNDS = 1000;

/** Claims of claims nest only when claimers die mid-takeover, one level per such death. */
const MAX_TAKEOVER_DEPTH = 4;

/**
 * Removes `file` if it still carries `stale` (whose holder is dead), under the exclusive
 * takeover file for `stale`'s token. 'done' when the caller may try to create its lock again
 * (the stale record is gone, or someone else replaced it); 'busy' when a live process is taking
 * it over right now.
 */
function removeStale(file: string, stale: LockRecord, me: LockRecord, depth: number): Removal {
  const claim = `${file}.takeover-${stale.token}`;
  if (!createExclusive(claim, me)) {
    const claimer = readRecord(claim);
    if (claimer === 'missing') return { kind: 'done' };
    if (holderIsAlive(claimer)) return { kind: 'busy', by: claimer, file: claim };
    // A claimer killed mid-takeover left its claim: that is a stale lock too.
    if (depth >= MAX_TAKEOVER_DEPTH) throw new Error(`${claim}: too many abandoned takeovers of ${file}; if no process uses the directory, delete ${file}*`);
    return removeStale(claim, claimer, me, depth + 1);
  }
  try {
    const current = readRecord(file);
    if (current !== 'missing' && current.token === stale.token) unlinkSync(file);
  } finally {
    unlinkSync(claim);
  }
  return { kind: 'done' };
}

const held = new Set<HeldLock>();
let exitHookInstalled = false;

class HeldLock implements DirLock {
  private isHeld = true;
  constructor(readonly dir: string, readonly file: string, readonly record: LockRecord) {}

  get held(): boolean {
    return this.isHeld;
  }

  release(): void {
    if (!this.isHeld) return;
    this.isHeld = false;
    held.delete(this);
    try {
      const current = readRecord(this.file);
      // Someone who judged us dead may have taken it over: then it is theirs to remove.
      if (current !== 'missing' && current.token === this.record.token) unlinkSync(this.file);
    } catch {
      // Unreadable or already gone (the directory was deleted): nothing of ours to remove.
    }
  }
}

function hold(dir: string, file: string, record: LockRecord): DirLock {
  const lock = new HeldLock(dir, file, record);
  held.add(lock);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers may only do synchronous work, which is all release() does.
    process.on('exit', () => { for (const l of [...held]) l.release(); });
  }
  return lock;
}

/** Writes `record` aside, then links it to `target`: false when `target` exists. */
function createExclusive(target: string, record: LockRecord): boolean {
  const tmp = `${target}.new-${record.token}-${randomBytes(4).toString('hex')}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw new Error(`cannot create the lock file ${target}: ${(e as Error).message}`);
  }
  try {
    try {
      writeSync(fd, JSON.stringify(record) + '\n');
      // Durable before it has its name: after a power loss the lock is either absent or whole.
      fsyncSync(fd);
    } catch (e) {
      throw new Error(`cannot create the lock file ${target}: ${(e as Error).message}`);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, target);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        throw new Error(`cannot create the lock file ${target}: the file system does not support hard links (${code}), which the lock needs`);
      }
      throw e;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Gone already: nothing to clean up.
    }
  }
}

/** The record in a lock file, or 'missing'. A file that holds no record is an error naming it. */
function readRecord(file: string): LockRecord | 'missing' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  const record = parseRecord(text);
  if (!record) {
    // Only a person or a damaged disk writes this: the records we link are always whole.
    throw new Error(`the lock file ${file} holds no lock record (${JSON.stringify(text.slice(0, 60))}); `
      + `if no process uses the directory, delete ${file}`);
  }
  return record;
}

function parseRecord(text: string): LockRecord | null {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof x !== 'object' || x === null) return null;
  const r = x as Record<string, unknown>;
  const nullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
  // pid ≥ 1: kill(0 or a negative pid, 0) would ask about a process group.
  if (!Number.isSafeInteger(r.pid) || (r.pid as number) < 1) return null;
  if (typeof r.token !== 'string' || r.token === '' || !/^[0-9a-f]+$/.test(r.token)) return null;
  if (typeof r.host !== 'string' || !nullableString(r.boot) || !nullableString(r.start)) return null;
  return {
    pid: r.pid as number, by: typeof r.by === 'string' ? r.by : '', host: r.host, boot: r.boot, start: r.start,
    token: r.token, since: typeof r.since === 'string' ? r.since : '',
  };
}

/** Whether the process that wrote `r` still runs (see the header for what counts as dead). */
function holderIsAlive(r: LockRecord): boolean {
  if (r.host !== hostname()) return true; // cannot be checked from here
  if (r.boot !== null && BOOT_ID !== null && r.boot !== BOOT_ID) return false;
  if (!pidExists(r.pid)) return false;
  const stat = HAS_PROC ? procStat(r.pid) : undefined;
  // No stat: exited just now, or hidden from us (/proc mounted with hidepid); kill(2) decides.
  if (!stat) return pidExists(r.pid);
  if (stat.state === 'Z' || stat.state === 'X') return false; // killed, not yet reaped: runs no code
  return r.start === null || stat.start === r.start;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** State letter and start time (field 22) of /proc/<pid>/stat; undefined when there is no such process. */
function procStat(pid: number): { state: string; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and ')': split after the last one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] ?? '' };
}

function processStartTime(pid: number): string | null {
  return HAS_PROC ? procStat(pid)?.start ?? null : null;
}

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

const HAS_PROC = procStat(process.pid) !== undefined;
const BOOT_ID = readBootId();

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
