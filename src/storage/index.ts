/**
 * Durable storage for a real node: the write-ahead log of the replica's `PersistentState`
 * (wal.ts, format in docs/wal-format.md) — compacted by checkpoints that replace the file when
 * the replica installs a snapshot — and the small metadata file beside it (meta.ts).
 * The simulator's in-memory twin is src/sim/disk.ts; both apply batches with
 * `applyStorageOps`, so they cannot disagree on what a batch means.
 */
export { countingFs, nodeFs, type FsCounts, type StorageFile, type StorageFs } from './fs-layer.js';
export { META_FILE, MetaError, readMeta, writeMeta, type MetaOptions } from './meta.js';
export { WalCorruptionError, type RecoveryReport, type TornTail } from './wal-recovery.js';
export {
  FSYNC_OFF_WARNING, WAL_FILE, WAL_TEMP_FILE, Wal, WalFailedError, WalMissingError, openWal, readWal, readWalState,
  type OpenedWal, type StorageEvent, type WalContents, type WalOptions, type WalStatus,
} from './wal.js';
export { DiskFullError, diskFullCode, namingDiskFull, type DiskFullCode } from './disk-full.js';
export { DirLockHeldError, LOCK_FILE, acquireDirLock, lockHolder, type DirLock, type DirLockOptions, type LockRecord } from './dir-lock.js';
