/**
 * A `StorageFs` over a real one (temp directories) whose disk can fill up, for ENOSPC tests and the reliability trials
 * without mounting anything.
 *
 * `free` is how many more bytes writes may write (Infinity: no limit). A write that asks for
 * more gets what is left — a short write, as Linux's write(2) returns when the disk fills in
 * the middle — and a write with nothing left throws ENOSPC like Node's fs does (code, errno,
 * syscall, no path). The budget is a count of bytes written, not of blocks in use: overwrites
 * consume it too, truncating or unlinking gives nothing back. "Space returns" is the test
 * raising `free`.
 *
 * `syncFails`: fsync and fdatasync throw ENOSPC (NFS and thin-provisioned volumes report a full
 * disk only there). `truncateFails`: truncate throws EIO (to leave a failed append's bytes on
 * disk, as a node that died before cutting them would).
 */
import type { StorageFile, StorageFs } from './fs-layer.js';
import { nodeFs } from './fs-layer.js';

export function enospc(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { errno: -28, code: 'ENOSPC', syscall });
}

export class FullDiskFs implements StorageFs {
  free = Infinity;
  syncFails = false;
  truncateFails = false;
  /** Writes that wrote less than asked because the budget ran out. */
  shortWrites = 0;
  /** Calls that threw ENOSPC. */
  refused = 0;

  constructor(private readonly inner: StorageFs = nodeFs) {}

  async open(path: string, mode: 'read' | 'read-write' | 'create'): Promise<StorageFile> {
    const f = await this.inner.open(path, mode);
    const sync = (real: () => Promise<void>, syscall: string) => async (): Promise<void> => {
      if (this.syncFails) {
        this.refused++;
        throw enospc(syscall);
      }
      return real();
    };
    return {
      read: (b, o, l, p) => f.read(b, o, l, p),
      write: async (b, o, l, p) => {
        if (this.free <= 0) {
          this.refused++;
          throw enospc('write');
        }
        const n = Math.min(l, this.free);
        if (n < l) this.shortWrites++;
        const written = await f.write(b, o, n, p);
        this.free -= written;
        return written;
      },
      datasync: sync(() => f.datasync(), 'fdatasync'),
      sync: sync(() => f.sync(), 'fsync'),
      truncate: async n => {
        if (this.truncateFails) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { errno: -5, code: 'EIO', syscall: 'ftruncate' });
        return f.truncate(n);
      },
      size: () => f.size(),
      close: () => f.close(),
    };
  }

  rename(from: string, to: string): Promise<void> { return this.inner.rename(from, to); }
  syncDir(path: string): Promise<void> { return this.inner.syncDir(path); }
  mkdirs(path: string): Promise<string | undefined> { return this.inner.mkdirs(path); }
  exists(path: string): Promise<boolean> { return this.inner.exists(path); }
  readFile(path: string): Promise<Uint8Array> { return this.inner.readFile(path); }
  unlink(path: string): Promise<void> { return this.inner.unlink(path); }
}
