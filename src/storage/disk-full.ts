/**
 * A full disk, said plainly. Node's errors for file-handle calls carry a code and a syscall
 * but no path ("ENOSPC: no space left on device, write"), so an operator reading the node's
 * log could not tell which file or which step failed. Storage runs each call that can run out
 * of space through `namingDiskFull`, which turns ENOSPC (and EDQUOT, a quota: the same thing
 * for this node) into a `DiskFullError` naming the file and the step; every other error passes
 * through unchanged.
 *
 * What storage does on a full disk is in docs/wal-format.md ("Disk full"): the write-ahead log
 * fails and stops the node (fail-stop); nothing acknowledged is lost, and a restart once there
 * is space again recovers.
 */

export type DiskFullCode = 'ENOSPC' | 'EDQUOT';

/** The disk-full code of `err` or of an error in its `cause` chain, or null. */
export function diskFullCode(err: unknown): DiskFullCode | null {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return code;
  }
  return null;
}

/** A write, sync, create or rename that the file system refused for lack of space. */
export class DiskFullError extends Error {
  /** The message without the file: "disk full (ENOSPC) while …". */
  readonly problem: string;

  constructor(readonly file: string, readonly operation: string, readonly code: DiskFullCode, options?: ErrorOptions) {
    const problem = `disk full (${code}) while ${operation}`;
    super(`${file}: ${problem}`, options);
    this.problem = problem;
    this.name = 'DiskFullError';
  }
}

/**
 * Runs `op`; if it fails because the disk is full, throws a `DiskFullError` for `file` and
 * `operation` (e.g. "appending 3 batches (1,024 bytes) at byte 70") instead. Other errors, and
 * a `DiskFullError` already naming its file, are rethrown as they are.
 */
export async function namingDiskFull<T>(file: string, operation: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    const code = diskFullCode(err);
    if (code === null || err instanceof DiskFullError) throw err;
    throw new DiskFullError(file, operation, code, { cause: err });
  }
}
