/**
 * npm run bench:storage — write-ahead log throughput under group commit.
 *
 * W writers each loop "write one batch of E entries, wait until it is durable" (as W replica
 * steps whose messages wait for their batch). Batches queued in the same turn share a write
 * and an fsync, so batches/s grows with W while fsyncs/s stays near what the disk allows.
 * Prints a table; asserts nothing. BENCH_DIR=<dir> measures another file system (the default
 * is the OS temp directory, which may be a tmpfs where fsync costs nothing); BENCH_MS=<ms>
 * sets the time per row (default 1000). Then the time to recover (reopen) a log of
 * BENCH_RECOVER one-entry batches (default 100,000).
 *
 * Last, restart time and disk use for BENCH_WRITES puts (default 1,000,000) with and without
 * compaction: batches of 256 entries as a leader writes them (append, and the decided index
 * of the batch before), keys drawn from 10,000, values of 24 bytes, 64 clients. With
 * compaction, a snapshot of a KvStateMachine that applied the decided entries is installed
 * every BENCH_SNAPSHOT entries (default 10,000), as the replica does. Restart = read the WAL
 * (openWal) + rebuild the state machine (restore the snapshot, replay the decided entries
 * after it); the median of 3. BENCH_FSYNC=off writes without fsync (restart and disk use do
 * not depend on it). Prints a table and one JSON line.
 */
import { mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/replica/entry.js';
import { KvStateMachine } from '../src/replica/kv-state-machine.js';
import { compactedIdx, entryAt, type StorageOp } from '../src/replica/storage.js';
import { countingFs } from '../src/storage/fs-layer.js';
import { FSYNC_OFF_WARNING, WAL_FILE, openWal } from '../src/storage/wal.js';

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

// Restart time and disk use, with and without compaction.
const WRITES = Number(process.env.BENCH_WRITES ?? 1_000_000);
const SNAPSHOT_EVERY = Number(process.env.BENCH_SNAPSHOT ?? 10_000);
const FSYNC = (process.env.BENCH_FSYNC ?? 'on') !== 'off';
const BATCH = 256;
const KEYS = 10_000;
const CLIENTS = 64;

interface CompactionRun {
  readonly compaction: boolean;
  readonly writeMs: number;
  readonly checkpoints: number;
  readonly diskBytes: number;
  readonly readMs: number;
  readonly rebuildMs: number;
  readonly restartMs: number;
  readonly compactedIdx: number;
  /** Entries replayed at restart (after the snapshot). */
  readonly replayed: number;
  /** For the check that both runs end in the same state. */
  readonly digest: string;
}

/** Deterministic workload: the same entries in both runs. */
function* leaderBatches(): Generator<Entry[]> {
  let x = 12345;
  const seqs = new Array<number>(CLIENTS).fill(0);
  for (let done = 0; done < WRITES; done += BATCH) {
    const n = Math.min(BATCH, WRITES - done);
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const c = x % CLIENTS;
      const key = `key-${(x >>> 8) % KEYS}`;
      const value = `value-${String(done + i).padStart(18, '0')}`;
      entries.push({ kind: 'command', command: { clientId: `client-${c}`, seq: ++seqs[c]!, op: { kind: 'put', key, value } } });
    }
    yield entries;
  }
}

async function compactionRun(compaction: boolean): Promise<CompactionRun> {
  const dir = join(root, compaction ? 'compacted' : 'uncompacted');
  const { wal } = await openWal(dir, { fsync: FSYNC });
  const sm = new KvStateMachine();
  const log: Entry[] = [];
  let logStart = 0;
  let decided = 0;
  let lastSnapshot = 0;
  const t0 = performance.now();
  let pending: Promise<void>[] = [];
  let batches = 0;
  const write = async (ops: StorageOp[]) => {
    pending.push(wal.write(ops));
    // 16 steps per event-loop turn share an fsync, as under load.
    if (++batches % 16 === 0) {
      await Promise.all(pending);
      pending = [];
    }
  };
  const decide = (idx: number): StorageOp[] => {
    const ops: StorageOp[] = [{ kind: 'set-decided-idx', idx }];
    for (; decided < idx; decided++) sm.apply(log[decided - logStart]!);
    if (compaction && sm.appliedIdx - lastSnapshot >= SNAPSHOT_EVERY) {
      const snapshot = sm.snapshot();
      ops.push({ kind: 'install-snapshot', snapshot });
      log.splice(0, snapshot.idx - logStart);
      logStart = lastSnapshot = snapshot.idx;
    }
    return ops;
  };
  for (const entries of leaderBatches()) {
    // The leader appends the new batch; the one before is decided now.
    const before = logStart + log.length;
    for (const e of entries) log.push(e);
    await write([{ kind: 'append', entries }, ...(before > 0 ? decide(before) : [])]);
  }
  await write(decide(logStart + log.length));
  await Promise.all(pending);
  const writeMs = performance.now() - t0;
  const checkpoints = wal.status().checkpoints;
  await wal.close();
  const diskBytes = statSync(join(dir, WAL_FILE)).size;

  const restarts: { readMs: number; rebuildMs: number; digest: string; compacted: number; replayed: number }[] = [];
  for (let k = 0; k < 3; k++) {
    const r0 = performance.now();
    const { wal: again, state } = await openWal(dir, { fsync: FSYNC });
    const r1 = performance.now();
    const rebuilt = new KvStateMachine();
    if (state.snapshot !== null) rebuilt.restore(state.snapshot);
    for (let i = compactedIdx(state); i < state.decidedIdx; i++) rebuilt.apply(entryAt(state, i)!);
    const r2 = performance.now();
    await again.close();
    const s = rebuilt.snapshot();
    restarts.push({
      readMs: r1 - r0, rebuildMs: r2 - r1, compacted: compactedIdx(state), replayed: state.decidedIdx - compactedIdx(state),
      digest: `${s.idx}:${s.kv.length}:${s.sessions.length}:${JSON.stringify(s).length}:${s.kv.at(-1)?.[1]}`,
    });
  }
  restarts.sort((a, b) => a.readMs + a.rebuildMs - (b.readMs + b.rebuildMs));
  const median = restarts[1]!;
  rmSync(dir, { recursive: true, force: true });
  return {
    compaction, writeMs, checkpoints, diskBytes, readMs: median.readMs, rebuildMs: median.rebuildMs,
    restartMs: median.readMs + median.rebuildMs, compactedIdx: median.compacted, replayed: median.replayed, digest: median.digest,
  };
}

if (WRITES > 0) {
  console.log(`\nrestart time and disk use for ${WRITES.toLocaleString('en-US')} writes (batches of ${BATCH}, ${KEYS} keys, `
    + `${CLIENTS} clients, fsync ${FSYNC ? 'on' : 'off'}), with and without compaction (a snapshot every ${SNAPSHOT_EVERY.toLocaleString('en-US')} entries)`);
  const plain = await compactionRun(false);
  const compacted = await compactionRun(true);
  if (plain.digest !== compacted.digest) throw new Error(`the two runs end in different states: ${plain.digest} vs ${compacted.digest}`);
  console.log('compaction   disk MB   checkpoints  compactedIdx  replayed   read ms  rebuild ms  restart ms  write s');
  for (const r of [plain, compacted]) {
    console.log([
      (r.compaction ? 'on' : 'off').padEnd(10), (r.diskBytes / 1e6).toFixed(2).padStart(8), String(r.checkpoints).padStart(12),
      String(r.compactedIdx).padStart(12), String(r.replayed).padStart(9), r.readMs.toFixed(0).padStart(8),
      r.rebuildMs.toFixed(0).padStart(10), r.restartMs.toFixed(0).padStart(10), (r.writeMs / 1000).toFixed(1).padStart(8),
    ].join('  '));
  }
  const diskRatio = plain.diskBytes / compacted.diskBytes;
  const restartRatio = plain.restartMs / compacted.restartMs;
  console.log(`without/with compaction: disk ${diskRatio.toFixed(1)}×, restart ${restartRatio.toFixed(1)}× (both runs end in the same state)`);
  const round = (r: CompactionRun) => ({
    diskBytes: r.diskBytes, checkpoints: r.checkpoints, compactedIdx: r.compactedIdx, replayed: r.replayed,
    readMs: Math.round(r.readMs), rebuildMs: Math.round(r.rebuildMs), restartMs: Math.round(r.restartMs), writeMs: Math.round(r.writeMs),
  });
  console.log(JSON.stringify({
    bench: 'storage-compaction', writes: WRITES, batch: BATCH, keys: KEYS, clients: CLIENTS, snapshotEvery: SNAPSHOT_EVERY,
    fsync: FSYNC, fsType, withoutCompaction: round(plain), withCompaction: round(compacted),
    ratio: { disk: Number(diskRatio.toFixed(2)), restart: Number(restartRatio.toFixed(2)) },
  }));
}
console.log(`note: ${FSYNC_OFF_WARNING}`);
rmSync(root, { recursive: true, force: true });
