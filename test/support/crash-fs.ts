/**
 * An in-memory `StorageFs` that knows what a crash would keep, for crash tests of the WAL.
 *
 * Like a kernel, it keeps two views: what is in the page cache (every write, rename and
 * unlink, at once) and what is on the disk (a file's bytes as of its last fsync/fdatasync; a
 * directory's names as of its last directory fsync). Files are inodes: a descriptor keeps
 * writing to its inode after the name is renamed or unlinked, as on POSIX.
 *
 * `crashAfter(k)` lets k more mutating calls (open for create, write, fsync, truncate, rename,
 * directory fsync, unlink, mkdir) happen and makes the next one and every later call fail, as
 * if the machine stopped there; `image(mode)` is then a new file system holding what survived:
 *  - 'process': a killed process — the page cache survives, so everything done so far;
 *  - 'power': a power cut — only what was fsynced: names as of the last directory fsync,
 *    bytes as of each file's last fsync;
 *  - 'power-names': a power cut where the directory changes reached the disk but no unsynced
 *    data did (file systems order metadata and data independently);
 *  - 'power-torn': like 'power-names', but half of each file's unsynced appended bytes made it;
 *  - 'power-data': the unsynced data reached the disk, the directory changes did not.
 */
import { dirname } from 'node:path';
import type { StorageFile, StorageFs } from '../../src/storage/fs-layer.js';

export type CrashMode = 'process' | 'power' | 'power-names' | 'power-torn' | 'power-data';
export const CRASH_MODES: readonly CrashMode[] = ['process', 'power', 'power-names', 'power-torn', 'power-data'];

class Inode {
  constructor(public data: Uint8Array = new Uint8Array(0), public durable: Uint8Array = new Uint8Array(0)) {}
}

export class CrashedError extends Error {
  constructor(what: string) {
    super(`simulated crash: ${what} did not happen`);
    this.name = 'CrashedError';
  }
}

const enoent = (path: string) => Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });

export class CrashFs implements StorageFs {
  private readonly names = new Map<string, Inode>();
  private readonly durableNames = new Map<string, Inode>();
  private readonly dirs = new Set<string>(['/']);
  /** Mutating calls that happened. */
  steps = 0;
  /** What each mutating call was, in order (for failure messages). */
  readonly trace: string[] = [];
  private limit = Infinity;
  /** Set by the crash: from then on every call fails. */
  crashed = false;

  /** Every mutating call after the next `k` fails; so does every call once one has. */
  crashAfter(k: number): void {
    this.limit = this.steps + k;
  }

  private step(what: string): void {
    this.alive(what);
    if (this.steps >= this.limit) {
      this.crashed = true;
      this.trace.push(`CRASH before ${what}`);
      throw new CrashedError(what);
    }
    this.steps++;
    this.trace.push(what);
  }

  private alive(what: string): void {
    if (this.crashed) throw new CrashedError(what);
  }

  /** The names in the page cache (for tests: which files exist). */
  list(): string[] {
    return [...this.names.keys()].sort();
  }

  /** A file's bytes in the page cache. */
  bytes(path: string): Uint8Array {
    const i = this.names.get(path);
    if (!i) throw enoent(path);
    return i.data.slice();
  }

  /** Replaces a file's bytes, durably (test setup: plant a file). */
  plant(path: string, bytes: Uint8Array): void {
    const i = new Inode(bytes.slice(), bytes.slice());
    this.dirs.add(dirname(path));
    this.names.set(path, i);
    this.durableNames.set(path, i);
  }

  /** What a crash of the given kind leaves: a new file system, everything in it durable. */
  image(mode: CrashMode): CrashFs {
    const out = new CrashFs();
    for (const d of this.dirs) out.dirs.add(d);
    const names = mode === 'power' || mode === 'power-data' ? this.durableNames : this.names;
    const copies = new Map<Inode, Inode>();
    for (const [path, inode] of names) {
      let c = copies.get(inode);
      if (!c) {
        const data = mode === 'process' || mode === 'power-data' ? inode.data
          : mode === 'power-torn' ? tornData(inode) : inode.durable;
        c = new Inode(data.slice(), data.slice());
        copies.set(inode, c);
      }
      out.names.set(path, c);
      out.durableNames.set(path, c);
    }
    return out;
  }

  async open(path: string, mode: 'read' | 'read-write' | 'create'): Promise<StorageFile> {
    let inode = this.names.get(path);
    if (mode === 'create') {
      this.step(`open ${path} (create)`);
      if (!this.dirs.has(dirname(path))) throw enoent(path);
      if (inode) inode.data = new Uint8Array(0);
      else {
        inode = new Inode();
        this.names.set(path, inode);
      }
    } else {
      this.alive(`open ${path}`);
      if (!inode) throw enoent(path);
    }
    return this.file(path, inode, mode === 'read');
  }

  private file(path: string, inode: Inode, readOnly: boolean): StorageFile {
    // Calls are labelled with the inode's name now (a renamed file writes under its new name).
    const name = () => [...this.names].find(([, i]) => i === inode)?.[0] ?? `${path} (unlinked)`;
    const step = (what: string) => this.step(what.replace('@', name()));
    const alive = (what: string) => this.alive(what.replace('@', name()));
    let closed = false;
    const open = (what: string) => {
      if (closed) throw new Error(`EBADF: ${what} on a closed file (${path})`);
    };
    return {
      async read(buf, offset, length, position) {
        open('read');
        alive('read @');
        const part = inode.data.subarray(position, position + length);
        buf.set(part, offset);
        return part.length;
      },
      async write(buf, offset, length, position) {
        open('write');
        if (readOnly) throw new Error(`EBADF: write to a file opened read-only (${path})`);
        step(`write @ [${position}, ${position + length})`);
        const end = position + length;
        if (end > inode.data.length) {
          const grown = new Uint8Array(end);
          grown.set(inode.data);
          inode.data = grown;
        }
        inode.data.set(buf.subarray(offset, offset + length), position);
        return length;
      },
      async datasync() {
        open('datasync');
        step('fdatasync @');
        inode.durable = inode.data.slice();
      },
      async sync() {
        open('sync');
        step('fsync @');
        inode.durable = inode.data.slice();
      },
      async truncate(n) {
        open('truncate');
        step(`truncate @ to ${n}`);
        const next = new Uint8Array(n);
        next.set(inode.data.subarray(0, n));
        inode.data = next;
      },
      async size() {
        open('size');
        alive('stat @');
        return inode.data.length;
      },
      async close() {
        closed = true;
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    this.step(`rename ${from} → ${to}`);
    const inode = this.names.get(from);
    if (!inode) throw enoent(from);
    this.names.delete(from);
    this.names.set(to, inode);
  }

  async syncDir(path: string): Promise<void> {
    this.step(`fsync dir ${path}`);
    if (!this.dirs.has(path)) throw enoent(path);
    for (const name of [...this.durableNames.keys()]) if (dirname(name) === path) this.durableNames.delete(name);
    for (const [name, inode] of this.names) if (dirname(name) === path) this.durableNames.set(name, inode);
  }

  async mkdirs(path: string): Promise<string | undefined> {
    if (this.dirs.has(path)) return undefined;
    this.step(`mkdir ${path}`);
    let first: string | undefined;
    for (let p = path; !this.dirs.has(p); p = dirname(p)) first = p;
    for (let p = path; !this.dirs.has(p); p = dirname(p)) this.dirs.add(p);
    return first;
  }

  async exists(path: string): Promise<boolean> {
    this.alive(`stat ${path}`);
    return this.names.has(path) || this.dirs.has(path);
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.alive(`read ${path}`);
    return this.bytes(path);
  }

  async unlink(path: string): Promise<void> {
    this.step(`unlink ${path}`);
    if (!this.names.delete(path)) throw enoent(path);
  }
}

/** The durable bytes plus half of what was appended since (an append cut by the power). */
function tornData(inode: Inode): Uint8Array {
  const { data, durable } = inode;
  const prefixKept = durable.length <= data.length && durable.every((b, i) => data[i] === b);
  if (!prefixKept) return durable;
  return data.subarray(0, durable.length + Math.floor((data.length - durable.length) / 2));
}
