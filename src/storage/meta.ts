/**
 * Small node metadata beside the log (the node table from bootstrap, the cluster id): one JSON
 * file, replaced atomically — write a temporary file, fsync it, rename it over the old one,
 * fsync the directory. A crash leaves the old file or the new one, never a mix. Not a hot path.
 * A failure before the rename (a full disk: "disk full (ENOSPC)", naming the file) leaves the
 * old file in place and removes the temporary one.
 *
 * The file is an envelope `{"format": "kvsh-meta", "version": 1, "meta": …}` so a stray JSON
 * file is refused rather than misread.
 */
import { join } from 'node:path';
import { namingDiskFull } from './disk-full.js';
import { nodeFs, type StorageFs } from './fs-layer.js';

export const META_FILE = 'meta.json';
const FORMAT = 'kvsh-meta';
const VERSION = 1;

export class MetaError extends Error {
  constructor(readonly file: string, problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options);
    this.name = 'MetaError';
  }
}

export interface MetaOptions {
  readonly fs?: StorageFs;
  /** The file in the directory (default META_FILE); identity.json uses the same envelope. */
  readonly file?: string;
}

/** Throws a RangeError naming the path of the first value JSON cannot carry faithfully. */
function assertJson(v: unknown, path: string): void {
  switch (typeof v) {
    case 'string': case 'boolean': return;
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError(`${path}: ${v} is not a JSON number`);
      return;
    case 'object':
      if (v === null) return;
      if (Array.isArray(v)) {
        v.forEach((x, i) => assertJson(x, `${path}[${i}]`));
        return;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) {
        throw new RangeError(`${path}: a ${(v as object).constructor?.name ?? 'non-plain'} object is not JSON`);
      }
      for (const [k, x] of Object.entries(v)) assertJson(x, `${path}.${k}`);
      return;
    default:
      throw new RangeError(`${path}: a ${typeof v} is not JSON`);
  }
}

/** Serializes writers per directory: they share the temporary file name. */
const writing = new Map<string, Promise<void>>();

/**
 * Replaces the metadata of `dir` (which must exist). `meta` must be plain JSON data — strings,
 * finite numbers, booleans, null, arrays and plain objects; anything else is refused before
 * the disk is touched.
 */
export function writeMeta<T>(dir: string, meta: T, options: MetaOptions = {}): Promise<void> {
  assertJson(meta, 'meta');
  const text = `${JSON.stringify({ format: FORMAT, version: VERSION, meta }, null, 2)}\n`;
  const file = options.file ?? META_FILE;
  const key = join(dir, file);
  const previous = writing.get(key) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => replaceFile(options.fs ?? nodeFs, dir, file, text));
  writing.set(key, next);
  void next.finally(() => { if (writing.get(key) === next) writing.delete(key); }).catch(() => {});
  return next;
}

async function replaceFile(fs: StorageFs, dir: string, file: string, text: string): Promise<void> {
  const path = join(dir, file);
  const tmp = `${path}.tmp`;
  const bytes = new TextEncoder().encode(text);
  try {
    const f = await namingDiskFull(tmp, 'creating it', () => fs.open(tmp, 'create'));
    try {
      let done = 0;
      while (done < bytes.length) {
        const n = await namingDiskFull(tmp, `writing ${bytes.length} bytes`, () => f.write(bytes, done, bytes.length - done, done));
        if (n <= 0) throw new MetaError(tmp, `write returned ${n}`);
        done += n;
      }
      await namingDiskFull(tmp, 'fsyncing it', () => f.sync());
    } finally {
      await f.close();
    }
    await namingDiskFull(tmp, `renaming it to ${file}`, () => fs.rename(tmp, path));
  } catch (err) {
    // The old file is still in place; the new one is garbage (a reader never looks at it), and
    // on a full disk it holds space. Best effort: a leftover is overwritten by the next write.
    await fs.unlink(tmp).catch(() => {});
    throw err;
  }
  await namingDiskFull(dir, `fsyncing the directory after renaming ${file}.tmp`, () => fs.syncDir(dir));
}

/**
 * The metadata of `dir`, checked by `parse` (which throws on a value of the wrong shape), or
 * null when there is none yet. A file that is not JSON or not our envelope is an error that
 * names the file: it is never treated as absent.
 */
export async function readMeta<T>(dir: string, parse: (meta: unknown) => T, options: MetaOptions = {}): Promise<T | null> {
  const fs = options.fs ?? nodeFs;
  const path = join(dir, options.file ?? META_FILE);
  if (!(await fs.exists(path))) return null;
  const text = new TextDecoder().decode(await fs.readFile(path));
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (err) {
    throw new MetaError(path, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof envelope !== 'object' || envelope === null || (envelope as { format?: unknown }).format !== FORMAT) {
    throw new MetaError(path, `not a kvsh metadata file (expected "format": "${FORMAT}")`);
  }
  const { version, meta } = envelope as { version?: unknown; meta?: unknown };
  if (version !== VERSION) throw new MetaError(path, `metadata version ${String(version)}; this build reads version ${VERSION}`);
  if (!('meta' in envelope)) throw new MetaError(path, 'no "meta" field');
  try {
    return parse(meta);
  } catch (err) {
    throw new MetaError(path, `unexpected contents: ${(err as Error).message}`, { cause: err });
  }
}
