/**
 * A full disk (ENOSPC), deterministically, through an injected file-system layer
 * (src/storage/full-disk-fs.ts) over temp directories:
 *  - an append that runs out of space (a short write, then ENOSPC) or whose fsync reports
 *    ENOSPC is rejected with an error that says "disk full (ENOSPC)" and names the file; the
 *    batches queued with it and every later one are rejected too (fail-stop);
 *  - the file then holds exactly the acknowledged batches (what the failed append wrote is cut),
 *    and if that cut did not happen, recovery cuts it as a torn tail;
 *  - once space returns the log reopens with the acknowledged state and takes new batches;
 *  - a checkpoint, the creation of a log and the metadata file fail the same way, leaving the
 *    old file in place and no temporary file behind.
 * The real thing (a tiny tmpfs under a real node) is in real-storage-faults.test.ts.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/replica/entry.js';
import { applyStorageOps, emptyState, type PersistentState, type StorageOp } from '../src/replica/storage.js';
import { DiskFullError } from '../src/storage/disk-full.js';
import { META_FILE, readMeta, writeMeta } from '../src/storage/meta.js';
import { WAL_FILE, WAL_TEMP_FILE, WalFailedError, openWal, readWal, readWalState, type StorageEvent } from '../src/storage/wal.js';
import { FullDiskFs } from '../src/storage/full-disk-fs.js';

const put = (seq: number, value = `value-${seq}-${'x'.repeat(40)}`): Entry =>
  ({ kind: 'command', command: { clientId: 'c1', seq, op: { kind: 'put', key: `k${seq}`, value } } });

/** Acknowledged before the disk fills. */
const ACKED: StorageOp[][] = [
  [{ kind: 'set-promise', ballot: { n: 1, priority: 0, pid: 1 } }],
  [{ kind: 'set-accepted-rnd', ballot: { n: 1, priority: 0, pid: 1 } }, { kind: 'append', entries: [put(1), put(2)] }],
  [{ kind: 'set-decided-idx', idx: 2 }],
];
/** Each record is well over 10 bytes, so a budget of 10 cuts the first one short. */
const LATER: StorageOp[][] = [
  [{ kind: 'append', entries: [put(3)] }],
  [{ kind: 'append', entries: [put(4)] }, { kind: 'set-decided-idx', idx: 4 }],
  [{ kind: 'append', entries: [put(5)] }],
];
const INSTALL: StorageOp[] = [{ kind: 'install-snapshot', snapshot: { idx: 2, kv: [['k1', 'v1'], ['k2', 'v2']], sessions: [], members: [] } }];

const stateOf = (batches: readonly (readonly StorageOp[])[]): PersistentState => {
  const s = emptyState();
  for (const b of batches) applyStorageOps(s, b);
  return s;
};
const rejection = (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: unknown) => e);

describe('storage: disk full (ENOSPC)', () => {
  let dir: string;
  let walPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-enospc-'));
    walPath = join(dir, WAL_FILE);
  });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  /** A log holding ACKED, open on `disk`; returns it and its size. */
  async function ackedLog(disk: FullDiskFs, events: StorageEvent[] = []) {
    const { wal } = await openWal(dir, { fs: disk, log: e => events.push(e) });
    for (const b of ACKED) await wal.write(b);
    return { wal, ackedBytes: wal.status().bytes };
  }

  /** After space returns: the log reopens with ACKED, nothing cut, and takes LATER. */
  async function recoversWhenSpaceReturns(disk: FullDiskFs, ackedBytes: number): Promise<void> {
    disk.free = Infinity;
    disk.syncFails = false;
    disk.truncateFails = false;
    const { wal, state, recovery } = await openWal(dir, { fs: disk });
    expect(state, 'recovered state').to.deep.equal(stateOf(ACKED));
    expect(recovery.bytes).to.equal(ackedBytes);
    for (const b of LATER) await wal.write(b);
    await wal.close();
    expect(await readWalState(dir), 'after new writes').to.deep.equal(stateOf([...ACKED, ...LATER]));
  }

  it('an append cut short by a full disk: its group and every later batch are rejected naming ENOSPC and the file; only acknowledged batches stay', async () => {
    const disk = new FullDiskFs();
    const events: StorageEvent[] = [];
    const { wal, ackedBytes } = await ackedLog(disk, events);
    disk.free = 10;
    // One turn, one group: two batches in one write, of which 10 bytes fit.
    const first = rejection(wal.write(LATER[0]!));
    const second = rejection(wal.write(LATER[1]!));
    const err = await first;
    expect(err).to.be.instanceOf(WalFailedError);
    const message = (err as WalFailedError).message;
    expect(message).to.include(`${walPath}: the write-ahead log failed: disk full (ENOSPC) while appending 2 batches (`);
    expect(message).to.include(`bytes) at byte ${ackedBytes}. It accepts no more batches (fail-stop)`);
    expect(message).to.match(/no acknowledged batch is lost\. Free space on the disk, then restart the node/);
    expect((err as WalFailedError).diskFull).to.equal('ENOSPC');
    expect(disk.shortWrites, 'the append was a short write, then ENOSPC').to.equal(1);
    expect(disk.refused).to.equal(1);
    expect(await second).to.equal(err);
    // Space is back, but a failed log stays failed: only a restart (recovery) decides.
    disk.free = Infinity;
    expect(await rejection(wal.write(LATER[2]!))).to.equal(err);
    expect(wal.status().failed).to.match(/disk full \(ENOSPC\)/);
    const failed = events.filter(e => e.kind === 'wal-failed');
    expect(failed).to.have.length(1);
    expect(failed[0]).to.deep.include({ file: walPath, diskFull: 'ENOSPC', error: message });
    await wal.close();

    // The 10 bytes that reached the file were cut: it holds exactly the acknowledged batches.
    expect(statSync(walPath).size).to.equal(ackedBytes);
    const contents = await readWal(dir);
    expect(contents.tornTail).to.equal(null);
    expect(contents.records).to.equal(ACKED.length);
    expect(contents.state).to.deep.equal(stateOf(ACKED));
    await recoversWhenSpaceReturns(disk, ackedBytes);
  });

  it('an fsync that reports ENOSPC (NFS, thin provisioning): rejected the same way, and the written batch is cut', async () => {
    const disk = new FullDiskFs();
    const { wal, ackedBytes } = await ackedLog(disk);
    disk.syncFails = true;
    const err = await rejection(wal.write(LATER[0]!));
    expect(err).to.be.instanceOf(WalFailedError);
    expect((err as Error).message).to.include(`${walPath}: the write-ahead log failed: disk full (ENOSPC) while fsyncing 1 batch (`);
    expect(await rejection(wal.write(LATER[1]!))).to.equal(err);
    await wal.close();
    expect(statSync(walPath).size).to.equal(ackedBytes);
    expect((await readWal(dir)).state).to.deep.equal(stateOf(ACKED));
    await recoversWhenSpaceReturns(disk, ackedBytes);
  });

  it('a node that stopped before cutting the failed append: recovery after space returns cuts the partial record as a torn tail', async () => {
    const disk = new FullDiskFs();
    const { wal, ackedBytes } = await ackedLog(disk);
    disk.free = 10;
    disk.truncateFails = true;
    expect(await rejection(wal.write(LATER[0]!))).to.be.instanceOf(WalFailedError);
    await wal.close();
    expect(statSync(walPath).size, 'the partial record is still there').to.equal(ackedBytes + 10);
    expect((await readWal(dir)).tornTail).to.deep.include({ offset: ackedBytes, droppedBytes: 10 });

    disk.truncateFails = false;
    disk.free = Infinity;
    const events: StorageEvent[] = [];
    const { wal: again, state, recovery } = await openWal(dir, { fs: disk, log: e => events.push(e) });
    await again.close();
    expect(recovery.tornTail).to.deep.include({ offset: ackedBytes, droppedBytes: 10 });
    expect(events.find(e => e.kind === 'wal-torn-tail-cut')).to.deep.include({ file: walPath, offset: ackedBytes, droppedBytes: 10 });
    expect(state).to.deep.equal(stateOf(ACKED));
    await recoversWhenSpaceReturns(disk, ackedBytes);
  });

  it('a checkpoint on a full disk fails naming wal.log.tmp; the old log stays in place, byte for byte, and no temporary file is left', async () => {
    const disk = new FullDiskFs();
    const { wal } = await ackedLog(disk);
    const before = readFileSync(walPath);
    disk.free = 30;
    const err = await rejection(wal.write(INSTALL));
    expect(err).to.be.instanceOf(WalFailedError);
    const message = (err as Error).message;
    expect(message).to.include(`${walPath}: the write-ahead log failed: ${join(dir, WAL_TEMP_FILE)}: disk full (ENOSPC) while writing a checkpoint (`);
    expect((err as WalFailedError).diskFull).to.equal('ENOSPC');
    expect(disk.shortWrites).to.equal(1);
    await wal.close();
    expect(readFileSync(walPath).equals(before), 'wal.log untouched').to.equal(true);
    expect(readdirSync(dir)).to.deep.equal([WAL_FILE]);

    // Space returns: the old state is there, and the same checkpoint now goes through.
    disk.free = Infinity;
    const { wal: again, state } = await openWal(dir, { fs: disk });
    expect(state).to.deep.equal(stateOf(ACKED));
    await again.write(INSTALL);
    await again.close();
    const after = await readWal(dir);
    expect(after.compactedIdx).to.equal(2);
    expect(after.state).to.deep.equal(stateOf([...ACKED, INSTALL]));
  });

  it('creating a log on a full disk fails naming wal.log.tmp and leaves no file; it is created once space returns', async () => {
    const disk = new FullDiskFs();
    disk.free = 30;
    const sub = join(dir, 'node-1');
    const err = await rejection(openWal(sub, { fs: disk }));
    expect(err).to.be.instanceOf(DiskFullError);
    expect((err as Error).message).to.equal(`${join(sub, WAL_TEMP_FILE)}: disk full (ENOSPC) while writing a new log (70 bytes)`);
    expect(readdirSync(sub)).to.deep.equal([]);
    disk.free = Infinity;
    const { wal, recovery } = await openWal(sub, { fs: disk });
    await wal.close();
    expect(recovery.created).to.equal(true);
  });

  it('the metadata file on a full disk: the write fails naming meta.json.tmp, the old file is still read, no temporary file is left', async () => {
    const parse = (v: unknown) => v as { clusterId: string };
    await writeMeta(dir, { clusterId: 'old' });
    const disk = new FullDiskFs();
    disk.free = 5;
    const err = await rejection(writeMeta(dir, { clusterId: 'new' }, { fs: disk }));
    expect(err).to.be.instanceOf(DiskFullError);
    expect((err as Error).message).to.match(new RegExp(`^${join(dir, META_FILE).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\.tmp: disk full \\(ENOSPC\\) while writing \\d+ bytes$`));
    expect(disk.shortWrites).to.equal(1);
    expect(await readMeta(dir, parse)).to.deep.equal({ clusterId: 'old' });
    expect(readdirSync(dir)).to.deep.equal([META_FILE]);

    disk.syncFails = true;
    disk.free = Infinity;
    expect((await rejection(writeMeta(dir, { clusterId: 'new' }, { fs: disk })) as Error).message)
      .to.match(/meta\.json\.tmp: disk full \(ENOSPC\) while fsyncing it$/);
    expect(await readMeta(dir, parse)).to.deep.equal({ clusterId: 'old' });
    expect(existsSync(join(dir, `${META_FILE}.tmp`))).to.equal(false);

    disk.syncFails = false;
    await writeMeta(dir, { clusterId: 'new' }, { fs: disk });
    expect(await readMeta(dir, parse)).to.deep.equal({ clusterId: 'new' });
  });
});
