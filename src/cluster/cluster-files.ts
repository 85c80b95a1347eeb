/**
 * Where a managed cluster's files are: the config the nodes read and the data directory.
 * kvnode takes its data directory from the config file (`dataDir`, relative to the file), so
 * overriding the data directory, or starting from an in-memory config, means writing an
 * effective config file for the nodes — it goes into the data directory itself.
 *
 * One manager per data directory: `<dataDir>/LOCK` (src/storage/dir-lock.ts), taken by
 * `lockDataDir` before the manager writes or deletes anything there. Resolving writes nothing.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadClusterConfig, type ClusterConfig } from '../node/config.js';
import { acquireDirLock, type DirLock } from '../storage/dir-lock.js';

export interface ClusterSource {
  /** A cluster.config.json; relative paths resolve against the cwd. */
  readonly configFile?: string;
  /** The config itself (its relative `dataDir` then resolves against the cwd). Wins over the file's contents. */
  readonly config?: ClusterConfig;
  /** Overrides the config's data directory; relative to the cwd. */
  readonly dataDir?: string;
}

export interface ClusterFiles {
  readonly config: ClusterConfig;
  /** Absolute path of the file the nodes are given with --config. */
  readonly configFile: string;
  /** Absolute; node `id` keeps its files in `<dataDir>/node-<id>`. */
  readonly dataDir: string;
  /** `configFile` is the effective config: the manager writes it (writeEffectiveConfig) once it holds the data directory. */
  readonly effective: boolean;
}

/** Name of the config written for the nodes when the one given cannot be passed as is. */
export const EFFECTIVE_CONFIG_FILE = 'cluster.effective.json';

/**
 * Reads the config and works out the paths; writes nothing. `effective`: always give the nodes
 * an effective config, even for a config file used as is — the caller rewrites it before
 * starting any node (the relays add `dialVia` routes).
 */
export function resolveClusterFiles(src: ClusterSource, opts: { effective?: boolean } = {}): ClusterFiles {
  if (src.configFile === undefined && src.config === undefined) throw new Error('startCluster: give configFile or config');
  const file = src.configFile === undefined ? undefined : resolve(src.configFile);
  const loaded = src.config ?? loadClusterConfig(file!);
  // The nodes may read an effective config elsewhere (the data directory): a relative secret
  // file must still name the same file.
  const config = loaded.secretFile === undefined ? loaded
    : { ...loaded, secretFile: resolve(file ? dirname(file) : process.cwd(), loaded.secretFile) };
  const dataDir = src.dataDir !== undefined ? resolve(src.dataDir) : resolve(file ? dirname(file) : process.cwd(), config.dataDir);
  if (file && src.config === undefined && src.dataDir === undefined && !opts.effective) return { config, configFile: file, dataDir, effective: false };
  return { config, configFile: join(dataDir, EFFECTIVE_CONFIG_FILE), dataDir, effective: true };
}

/**
 * Creates the data directory if needed and takes it for this manager (`<dataDir>/LOCK`).
 * Throws DirLockHeldError, naming the holder's pid, when another live process has it.
 */
export function lockDataDir(dataDir: string): DirLock {
  mkdirSync(dataDir, { recursive: true });
  return acquireDirLock(dataDir, { what: 'the cluster data directory', by: 'cluster manager' });
}

/**
 * Writes `<dataDir>/cluster.effective.json`: `config` with the absolute `dataDir`. Returns its
 * path. Owner-only (0600): it holds the config's cluster secret, if the config has one inline.
 */
export function writeEffectiveConfig(dataDir: string, config: ClusterConfig): string {
  const effective = join(dataDir, EFFECTIVE_CONFIG_FILE);
  // Written aside and renamed: a node starting meanwhile reads the old file or the new one, never half.
  const tmp = `${effective}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...config, dataDir }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, effective);
  return effective;
}

export function nodeDataDir(dataDir: string, id: number): string {
  return join(dataDir, `node-${id}`);
}

/** The manager's copy of node `id`'s output (beside its data directory, not in it: that one is the node's). */
export function nodeLogFile(dataDir: string, id: number): string {
  return join(dataDir, `node-${id}.log`);
}

/**
 * Deletes what the given nodes persisted (their `node-<id>` directories and log files) and
 * nothing else in the data directory — it may be shared with other files, or be `.`.
 * A node directory still held by a live process (a kvnode started by hand) is not deleted:
 * it throws DirLockHeldError naming that process, having deleted nothing.
 */
export function removeNodeData(dataDir: string, ids: readonly number[]): void {
  const locks: DirLock[] = [];
  try {
    for (const id of ids) {
      const dir = nodeDataDir(dataDir, id);
      if (existsSync(dir)) locks.push(acquireDirLock(dir, { what: `node ${id}'s data directory`, by: 'cluster manager (--fresh)' }));
    }
    for (const id of ids) {
      rmSync(nodeDataDir(dataDir, id), { recursive: true, force: true });
      rmSync(nodeLogFile(dataDir, id), { force: true });
    }
  } finally {
    for (const lock of locks) lock.release();
  }
}
