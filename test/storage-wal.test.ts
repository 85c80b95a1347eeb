/**
 * The write-ahead log on a real disk (temp directories): creation, round trips, group commit
 * (fsyncs counted by an injected file-system layer), ordering, empty batches, fsync off,
 * fail-stop on write and fsync errors, close.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/replica/entry.js';
import { applyStorageOps, emptyState, type PersistentState, type StorageOp } from '../src/replica/storage.js';
import { countingFs, nodeFs, type StorageFile, type StorageFs } from '../src/storage/fs-layer.js';
import { WAL_HEADER_BYTES } from '../src/storage/wal-format.js';
import { WAL_FILE, WalFailedError, WalMissingError, openWal, readWalState, type StorageEvent } from '../src/storage/wal.js';

const put = (seq: number, value = `v${seq}`): Entry =>
  ({ kind: 'command', command: { clientId: 'c1', seq, op: { kind: 'put', key: `k${seq % 7}`, value } } });
const append = (...seqs: number[]): StorageOp => ({ kind: 'append', entries: seqs.map(s => put(s)) });
const turn = () => new Promise<void>(resolve => setImmediate(resolve));

const inMemory = (batches: readonly (readonly StorageOp[])[]): PersistentState => {
  const s = emptyState();
  for (const b of batches) applyStorageOps(s, b);
  return s;
};

/** A layer whose file calls can be delayed or failed by the test. */
function hookedFs(hooks: {
  datasync?: (real: () => Promise<void>) => Promise<void>;
  write?: (real: StorageFile['write'], b: Uint8Array, o: number, l: number, p: number) => Promise<number>;
}, inner: StorageFs = nodeFs): StorageFs {
  return {
    ...inner,
    async open(path, mode) {
      const f = await inner.open(path, mode);
      return {
        ...f,
        read: (b, o, l, p) => f.read(b, o, l, p),
        write: (b, o, l, p) => (hooks.write ? hooks.write((...a) => f.write(...a), b, o, l, p) : f.write(b, o, l, p)),
        datasync: () => (hooks.datasync ? hooks.datasync(() => f.datasync()) : f.datasync()),
        sync: () => f.sync(),
        truncate: n => f.truncate(n),
        size: () => f.size(),
        close: () => f.close(),
      };
    },
  };
}

/** A gate the test opens: every datasync waits at it. */
function gate() {
  let open: () => void = () => {};
  const promise = new Promise<void>(r => { open = r; });
  let waiting = 0;
  let arrived: () => void = () => {};
  const reached = new Promise<void>(r => { arrived = r; });
  return {
    get waiting() { return waiting; },
    /** Resolves when the first datasync waits at the gate. */
    reached,
    async pass(real: () => Promise<void>) {
      waiting++;
      arrived();
      await promise;
      waiting--;
      return real();
    },
    release() { open(); },
  };
}

describe('storage: write-ahead log', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'kvsh-wal-')); });
  afterEach(() => { rmSync(root, { recursive: true, force: true }); });

  it('creates the data directory and a log holding the header and an empty checkpoint, fsyncing the directories', async () => {
    const dir = join(root, 'a', 'b');
    const { fs, counts } = countingFs();
    const events: StorageEvent[] = [];
    const { wal, state, recovery } = await openWal(dir, { fs, log: e => events.push(e) });
    expect(state).to.deep.equal(emptyState());
    expect(recovery).to.deep.include({
      created: true, version: 3, compactedIdx: 0, records: 0, checkpointBytes: 50, bytes: WAL_HEADER_BYTES + 50, tornTail: null,
    });
    expect(readFileSync(join(dir, WAL_FILE)).subarray(0, 7).toString()).to.equal('KVSHWAL');
    expect(readdirSync(dir)).to.deep.equal([WAL_FILE]);
    // The created directory in its parent, then the log's name in the directory.
    expect(counts.dirSyncs).to.equal(2);
    expect(counts.fileSyncs).to.equal(1);
    expect(events.map(e => e.kind)).to.deep.equal(['wal-created', 'wal-recovered']);
    await wal.close();
    const again = await openWal(dir, { fs });
    expect(again.recovery.created).to.equal(false);
    expect(counts.dirSyncs).to.equal(2);
    await again.wal.close();
  });

  it('mustExist: a missing log is refused, not created', async () => {
    const dir = join(root, 'node');
    const err = await openWal(dir, { mustExist: true }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(WalMissingError);
    expect((err as Error).message).to.include(`${join(dir, WAL_FILE)}: no write-ahead log`);
    expect(existsSync(dir)).to.equal(false);
    await (await openWal(dir)).wal.close();
    await (await openWal(dir, { mustExist: true })).wal.close();
  });

  it('round-trips a batch of every operation kind through close and reopen', async () => {
    const batches: StorageOp[][] = [
      [{ kind: 'set-promise', ballot: { n: 1, priority: 0, pid: 2 } }],
      [{ kind: 'set-accepted-rnd', ballot: { n: 1, priority: 0, pid: 2 } }, append(1, 2, 3, 4)],
      [{ kind: 'set-decided-idx', idx: 2 }],
      [{ kind: 'append-on-prefix', fromIdx: 3, entries: [put(9), { kind: 'expire-sessions', idleBefore: 1 }] }],
      [{ kind: 'set-promise', ballot: { n: 2, priority: 5, pid: 1 } }, { kind: 'set-accepted-rnd', ballot: { n: 2, priority: 5, pid: 1 } },
        { kind: 'append-on-prefix', fromIdx: 2, entries: [] }, { kind: 'append', entries: [] }, { kind: 'set-decided-idx', idx: 2 }],
    ];
    const { wal } = await openWal(root);
    for (const b of batches) await wal.write(b);
    await wal.close();
    const { wal: w2, state, recovery } = await openWal(root);
    expect(state).to.deep.equal(inMemory(batches));
    expect(state.log).to.have.length(2);
    expect(recovery.records).to.equal(batches.length);
    expect(await readWalState(root)).to.deep.equal(state);
    await w2.close();
  });

  it('group commit: 100 batches queued in one turn take one write and one fsync', async () => {
    const { fs, counts } = countingFs();
    const { wal } = await openWal(root, { fs });
    const before = { ...counts };
    const batches = Array.from({ length: 100 }, (_, i) => [append(i)]);
    await Promise.all(batches.map(b => wal.write(b)));
    expect(counts.fileSyncs - before.fileSyncs).to.equal(1);
    expect(counts.writes - before.writes).to.equal(1);
    expect(wal.status()).to.deep.include({ flushes: 1, fsyncs: 1, recordsWritten: 100, pending: 0, fsync: 'on' });
    await wal.close();
    expect((await readWalState(root)).log).to.have.length(100);
  });

  it('group commit: batches queued across the microtasks of one turn (a driver awaiting between steps) share one fsync', async () => {
    const { fs, counts } = countingFs();
    const { wal } = await openWal(root, { fs });
    const syncs = counts.fileSyncs;
    const ps: Promise<void>[] = [];
    await new Promise<void>(resolve => setImmediate(async () => {
      for (let i = 0; i < 10; i++) {
        ps.push(wal.write([append(i)]));
        await Promise.resolve();
        await null;
      }
      resolve();
    }));
    await Promise.all(ps);
    expect(counts.fileSyncs - syncs).to.equal(1);
    await wal.close();
  });

  it('batches queued while a flush is in flight, over several turns, go together in the next flush', async () => {
    const g = gate();
    const { fs, counts } = countingFs(hookedFs({ datasync: real => g.pass(real) }));
    const { wal } = await openWal(root, { fs });
    const done: string[] = [];
    const first = wal.write([append(1)]).then(() => done.push('a'));
    await g.reached; // the write runs on the thread pool: no number of turns is sure to be enough
    expect(g.waiting).to.equal(1);
    const later: Promise<unknown>[] = [];
    for (let i = 2; i <= 4; i++) {
      later.push(wal.write([append(i)]).then(() => done.push(`b${i}`)));
      await turn();
    }
    expect(done).to.deep.equal([]);
    expect(wal.status().pending).to.equal(4);
    g.release();
    await Promise.all([first, ...later]);
    expect(done).to.deep.equal(['a', 'b2', 'b3', 'b4']);
    expect(wal.status()).to.deep.include({ flushes: 2, fsyncs: 2 });
    expect(counts.writes).to.equal(1 + 2); // header + two groups
    await wal.close();
  });

  it('a batch resolves only after its fsync, and never before an earlier batch', async () => {
    const g = gate();
    const { wal } = await openWal(root, { fs: hookedFs({ datasync: real => g.pass(real) }) });
    const order: number[] = [];
    const ps = [];
    for (let i = 0; i < 5; i++) {
      ps.push(wal.write([append(i)]).then(() => order.push(i)));
      await turn(); // one group per batch: flush 0 is in flight, 1..4 wait
    }
    for (let k = 0; k < 20; k++) await turn();
    expect(order).to.deep.equal([]);
    g.release();
    await Promise.all(ps);
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    await wal.close();
  });

  it('an empty batch resolves at once when nothing is pending, else with the batch before it; it writes nothing', async () => {
    const g = gate();
    const { fs, counts } = countingFs(hookedFs({ datasync: real => g.pass(real) }));
    const { wal } = await openWal(root, { fs });
    const syncs = counts.fileSyncs;
    let resolved = false;
    await wal.write([]);
    const a = wal.write([append(1)]);
    const empty = wal.write([]).then(() => { resolved = true; });
    for (let k = 0; k < 10; k++) await turn();
    expect(resolved).to.equal(false);
    g.release();
    await Promise.all([a, empty]);
    expect(counts.fileSyncs - syncs).to.equal(1);
    await wal.write([]);
    expect(wal.status().recordsWritten).to.equal(1);
    await wal.close();
  });

  it('the caller may change its arrays after write returns', async () => {
    const { wal } = await openWal(root);
    const entries: Entry[] = [put(1)];
    const p = wal.write([{ kind: 'append', entries }]);
    entries.push(put(2));
    entries[0] = put(3);
    await p;
    await wal.close();
    expect((await readWalState(root)).log).to.deep.equal([put(1)]);
  });

  it('fsync off: no fsync, order kept, and the mode is labelled unsafe in the log and the status', async () => {
    const { fs, counts } = countingFs();
    const events: StorageEvent[] = [];
    const { wal } = await openWal(root, { fs, fsync: false, log: e => events.push(e) });
    const syncs = counts.fileSyncs;
    const order: number[] = [];
    const ps = [];
    for (let i = 0; i < 10; i++) {
      ps.push(wal.write([append(i)]).then(() => order.push(i)));
      if (i % 3 === 0) await turn();
    }
    await Promise.all(ps);
    expect(order).to.deep.equal([...Array(10).keys()]);
    expect(counts.fileSyncs).to.equal(syncs);
    expect(wal.status()).to.deep.include({ fsync: 'off (UNSAFE)', fsyncs: 0 });
    const warning = events.find(e => e.kind === 'wal-fsync-off');
    expect(warning).to.have.property('warning').that.matches(/UNSAFE/);
    await wal.close();
    expect((await readWalState(root)).log).to.have.length(10);
  });

  it('fail-stop: a failed fsync rejects its group, every queued batch and every later one', async () => {
    let fail = false;
    const events: StorageEvent[] = [];
    const fs = hookedFs({
      datasync: async real => {
        if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        return real();
      },
    });
    const { wal } = await openWal(root, { fs, log: e => events.push(e) });
    await wal.write([append(1)]);
    fail = true;
    const a = wal.write([append(2)]);
    const b = wal.write([append(3)]);
    const errA = await a.then(() => null, (e: unknown) => e);
    expect(errA).to.be.instanceOf(WalFailedError);
    expect((errA as Error).message).to.match(/wal\.log: the write-ahead log failed \(EIO.*restart the node/);
    expect(await b.then(() => null, (e: unknown) => e)).to.equal(errA);
    fail = false; // a later fsync that "succeeds" must not be trusted: still refused
    expect(await wal.write([append(4)]).then(() => null, (e: unknown) => e)).to.equal(errA);
    expect(await wal.write([]).then(() => null, (e: unknown) => e)).to.equal(errA);
    expect(wal.status().failed).to.match(/EIO/);
    expect(events.filter(e => e.kind === 'wal-failed')).to.have.length(1);
    await wal.close();
    // What reached the file is for recovery to judge; the acknowledged batch is there.
    const { wal: w2, state } = await openWal(root);
    expect(state.log[0]).to.deep.equal(put(1));
    await w2.close();
  });

  it('fail-stop: a failed write rejects the batch; a batch that cannot be encoded fails the log', async () => {
    const fs = hookedFs({ write: async () => { throw new Error('ENOSPC: no space left on device, write'); } });
    const dir1 = join(root, 'one');
    const { wal } = await openWal(dir1);
    await wal.close();
    const { wal: w1 } = await openWal(dir1, { fs });
    expect(await w1.write([append(1)]).then(() => null, (e: Error) => e.message)).to.match(/ENOSPC/);
    await w1.close();

    const { wal: w2 } = await openWal(join(root, 'two'));
    expect(await w2.write([{ kind: 'set-decided-idx', idx: -1 }]).then(() => null, (e: Error) => e.message))
      .to.match(/failed \(u64 out of range: -1\)/);
    expect(await w2.write([append(1)]).then(() => null, (e: Error) => e.name)).to.equal('WalFailedError');
    await w2.close();
  });

  it('short writes are continued, not lost', async () => {
    const fs = hookedFs({ write: (real, b, o, l, p) => real(b, o, Math.min(l, 7), p) });
    const { wal } = await openWal(root, { fs });
    const batches = Array.from({ length: 20 }, (_, i) => [append(i, i + 100)]);
    await Promise.all(batches.map(b => wal.write(b)));
    await wal.close();
    expect(await readWalState(root)).to.deep.equal(inMemory(batches));
  });

  it('close waits for pending batches; writes after close are refused', async () => {
    const { wal } = await openWal(root);
    const p = wal.write([append(1)]);
    const closed = wal.close();
    expect(await wal.write([append(2)]).then(() => null, (e: Error) => e.message)).to.match(/write after close/);
    await p;
    await closed;
    await wal.close();
    expect((await readWalState(root)).log).to.deep.equal([put(1)]);
  });

  it('reopen after 2,000 batches over many turns and three sessions equals applying them in memory', async () => {
    const all: StorageOp[][] = [];
    const mem = emptyState();
    let seq = 0;
    for (let session = 0; session < 3; session++) {
      const { wal, state } = await openWal(root);
      expect(state).to.deep.equal(inMemory(all));
      const ps: Promise<void>[] = [];
      for (let i = 0; i < 700; i++) {
        const len = mem.log.length;
        const b: StorageOp[] = i % 50 === 49
          ? [{ kind: 'set-promise', ballot: { n: session * 100 + i, priority: 0, pid: 1 } },
              { kind: 'append-on-prefix', fromIdx: Math.max(0, len - 3), entries: [put(++seq)] }]
          : i % 10 === 9 ? [{ kind: 'set-decided-idx', idx: Math.max(0, len - 1) }] : [append(++seq, ++seq)];
        all.push(b);
        applyStorageOps(mem, b);
        ps.push(wal.write(b));
        if (i % 17 === 0) await turn();
      }
      await Promise.all(ps);
      await wal.close();
    }
    const { wal, state, recovery } = await openWal(root);
    expect(recovery.records).to.equal(2100);
    expect(state).to.deep.equal(mem).and.to.deep.equal(inMemory(all));
    expect(existsSync(join(root, `${WAL_FILE}.tmp`))).to.equal(false);
    await wal.close();
  });
});
