/**
 * The few file-system calls storage makes, behind an interface so tests can count fsyncs and
 * inject failures (a failing fsync, a short write) without touching a real disk's behaviour.
 * `nodeFs` is the real thing; `countingFs` wraps any layer and counts what reaches it.
 */
import { constants, promises as fsp } from 'node:fs';

/** An open file. Positions are absolute byte offsets; nothing here uses the file cursor. */
export interface StorageFile {
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync: the data and the metadata needed to read it back (the size), not timestamps. */
  datasync(): Promise<void>;
  /** fsync: data and all metadata. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface StorageFs {
  /**
   * `read-write`: an existing file, error if absent. `create`: create or truncate to empty.
   * `read`: read only.
   */
  open(path: string, mode: 'read' | 'read-write' | 'create'): Promise<StorageFile>;
  /** Atomic replace on POSIX file systems. */
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory, so a created, renamed or removed name in it is durable. */
  syncDir(path: string): Promise<void>;
  /** Creates the directory and missing parents; returns the first directory it created, if any. */
  mkdirs(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  readFile(path: string): Promise<Uint8Array>;
  unlink(path: string): Promise<void>;
}

const OPEN_FLAGS = {
  read: constants.O_RDONLY,
  'read-write': constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC,
} as const;

class NodeFile implements StorageFile {
  constructor(private readonly fh: fsp.FileHandle) {}
  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.fh.read(buf, offset, length, position)).bytesRead;
  }
  async write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.fh.write(buf, offset, length, position)).bytesWritten;
  }
  datasync(): Promise<void> { return this.fh.datasync(); }
  sync(): Promise<void> { return this.fh.sync(); }
  truncate(length: number): Promise<void> { return this.fh.truncate(length); }
  async size(): Promise<number> { return (await this.fh.stat()).size; }
  close(): Promise<void> { return this.fh.close(); }
}

export const nodeFs: StorageFs = {
  async open(path, mode) {
    return new NodeFile(await fsp.open(path, OPEN_FLAGS[mode], 0o644));
  },
  rename: (from, to) => fsp.rename(from, to),
  async syncDir(path) {
    const fh = await fsp.open(path, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  mkdirs: path => fsp.mkdir(path, { recursive: true }),
  async exists(path) {
    try {
      await fsp.access(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  },
  readFile: async path => fsp.readFile(path),
  unlink: path => fsp.unlink(path),
};

/** What reached the file system through a `countingFs`. */
export interface FsCounts {
  /** fsync + fdatasync of files. */
  fileSyncs: number;
  dirSyncs: number;
  /** write calls (a short write that is retried counts twice). */
  writes: number;
  bytesWritten: number;
}

/** Wraps a layer and counts its syncs and writes; `counts` is live. */
export function countingFs(inner: StorageFs = nodeFs): { fs: StorageFs; counts: FsCounts } {
  const counts: FsCounts = { fileSyncs: 0, dirSyncs: 0, writes: 0, bytesWritten: 0 };
  const wrap = (f: StorageFile): StorageFile => ({
    read: (b, o, l, p) => f.read(b, o, l, p),
    async write(b, o, l, p) {
      counts.writes++;
      const n = await f.write(b, o, l, p);
      counts.bytesWritten += n;
      return n;
    },
    datasync() { counts.fileSyncs++; return f.datasync(); },
    sync() { counts.fileSyncs++; return f.sync(); },
    truncate: n => f.truncate(n),
    size: () => f.size(),
    close: () => f.close(),
  });
  const fs: StorageFs = {
    open: async (path, mode) => wrap(await inner.open(path, mode)),
    rename: (a, b) => inner.rename(a, b),
    syncDir(path) { counts.dirSyncs++; return inner.syncDir(path); },
    mkdirs: path => inner.mkdirs(path),
    exists: path => inner.exists(path),
    readFile: path => inner.readFile(path),
    unlink: path => inner.unlink(path),
  };
  return { fs, counts };
}
