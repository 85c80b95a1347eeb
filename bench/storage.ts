/**
 * npm run bench:storage — write-ahead log throughput under group commit.
 *
 * W writers each loop "write one batch of E entries, wait until it is durable" (as W replica
 * steps whose messages wait for their batch). Batches queued in the same turn share a write
 * and an fsync, so batches/s grows with W while fsyncs/s stays near what the disk allows.
 * Prints a table; asserts nothing. BENCH_DIR=<dir> measures another file system (the default
 * is the OS temp directory, which may be a tmpfs where fsync costs nothing); BENCH_MS=<ms>
 * sets the time per row (default 1000). Last, the time to recover (reopen) a log of
 * BENCH_RECOVER one-entry batches (default 100,000).
 */
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/replica/entry.js';
import type { StorageOp } from '../src/replica/storage.js';
import { countingFs } from '../src/storage/fs-layer.js';
import { FSYNC_OFF_WARNING, openWal } from '../src/storage/wal.js';

const MS = Number(process.env.BENCH_MS ?? 1000);
const base = process.env.BENCH_DIR ?? tmpdir();
const root = mkdtempSync(join(base, 'kvsh-bench-storage-'));

const FS_TYPES: Record<number, string> = { 0x01021994: 'tmpfs', 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };
const fsType = (() => {
  try {
    const t = statfsSync(root).type;
    return FS_TYPES[t] ?? `type 0x${t.toString(16)}`;
  } catch {
    return 'unknown';
  }
})();

const value = 'v'.repeat(100);
const batchOf = (entries: number, n: number): StorageOp[] => [{
  kind: 'append',
  entries: Array.from({ length: entries }, (_, i): Entry =>
    ({ kind: 'command', command: { clientId: 'bench-client', seq: n * entries + i + 1, op: { kind: 'put', key: `key-${i}`, value } } })),
}];

interface Row { entries: number; writers: number; fsync: boolean }
const rows: Row[] = [];
for (const entries of [1, 10, 100]) for (const writers of [1, 16, 128]) rows.push({ entries, writers, fsync: true });
rows.push({ entries: 10, writers: 16, fsync: false });

console.log(`bench:storage — ${root} (${fsType}${fsType === 'tmpfs' ? ': fsync costs nothing here, try BENCH_DIR=<a disk>' : ''}), ${MS} ms per row`);
console.log('entries/batch  writers  fsync          batches/s   fsyncs/s  batches/fsync      MB/s');
let i = 0;
for (const row of rows) {
  const { fs, counts } = countingFs();
  const dir = join(root, `r${i++}`);
  const { wal } = await openWal(dir, { fs, fsync: row.fsync });
  const batch = batchOf(row.entries, 0);
  const syncs0 = counts.fileSyncs;
  const bytes0 = counts.bytesWritten;
  let batches = 0;
  const t0 = performance.now();
  const deadline = t0 + MS;
  await Promise.all(Array.from({ length: row.writers }, async () => {
    while (performance.now() < deadline) {
      await wal.write(batch);
      batches++;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  await wal.close();
  const fsyncs = counts.fileSyncs - syncs0;
  const mb = (counts.bytesWritten - bytes0) / 1e6;
  console.log([
    String(row.entries).padStart(13), String(row.writers).padStart(8), (row.fsync ? 'on' : 'off (UNSAFE)').padEnd(12),
    (batches / s).toFixed(0).padStart(12), (fsyncs / s).toFixed(0).padStart(10),
    (fsyncs > 0 ? (batches / fsyncs).toFixed(1) : '—').padStart(14), (mb / s).toFixed(1).padStart(9),
  ].join('  '));
  rmSync(dir, { recursive: true, force: true });
}

// Recovery: reopen a log of RECOVER_N one-entry batches (written with fsync off to be quick).
const RECOVER_N = Number(process.env.BENCH_RECOVER ?? 100_000);
{
  const dir = join(root, 'recover');
  const { wal } = await openWal(dir, { fsync: false });
  for (let n = 0; n < RECOVER_N; n++) {
    void wal.write([...batchOf(1, n), { kind: 'set-decided-idx', idx: n }]);
    if (n % 1000 === 999) await new Promise(resolve => setImmediate(resolve));
  }
  await wal.close();
  const t0 = performance.now();
  const { wal: again, recovery } = await openWal(dir);
  const ms = performance.now() - t0;
  await again.close();
  console.log(`recovery: ${recovery.records} records, ${(recovery.bytes / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms `
    + `(${(recovery.records / ms * 1000).toFixed(0)} records/s)`);
}
console.log(`note: ${FSYNC_OFF_WARNING}`);
rmSync(root, { recursive: true, force: true });
