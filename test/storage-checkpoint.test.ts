/**
 * Compaction in the write-ahead log: a batch that installs a snapshot is written as a
 * checkpoint — a new file holding the whole state — that atomically replaces the log
 * (docs/wal-format.md, "Checkpoints").
 *
 * On a real disk: round trips, the file shrinking to the checkpoint, disk staying bounded over
 * many cycles, group commit across a checkpoint, a version-1 log upgraded by its first
 * checkpoint, leftovers of a crash, a damaged checkpoint refused (never cut to an empty state).
 * On a simulated disk (test/support/crash-fs.ts): the exact order of writes and fsyncs, and a
 * crash at every step of checkpoints and of the appends after them, with each kind of crash
 * (process kill, power cut with and without the metadata or data reaching the disk), recovers
 * the state before the group or after it — after, once the group was acknowledged.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ballot } from '../src/replica/ballot.js';
import type { Entry } from '../src/replica/entry.js';
import type { Snapshot } from '../src/replica/snapshot.js';
import {
  applyStorageOps, cloneState, compactedIdx, emptyState, logLength, type PersistentState, type StorageOp,
} from '../src/replica/storage.js';
import { countingFs } from '../src/storage/fs-layer.js';
import {
  WAL_HEADER_BYTES, encodeCheckpointRecord, encodeHeader, encodeRecord,
} from '../src/storage/wal-format.js';
import { WalCorruptionError } from '../src/storage/wal-recovery.js';
import {
  WAL_FILE, WAL_TEMP_FILE, WalFailedError, openWal, readWal, readWalState, type StorageEvent,
} from '../src/storage/wal.js';
import { CRASH_MODES, CrashFs } from './support/crash-fs.js';

const ballot = (n: number, pid = 1): Ballot => ({ n, priority: 0, pid });
const put = (seq: number, key = `k${seq % 5}`, value = `v${seq}`): Entry =>
  ({ kind: 'command', command: { clientId: 'c1', seq, op: { kind: 'put', key, value } } });
const puts = (from: number, n: number): Entry[] => Array.from({ length: n }, (_, i) => put(from + i));

/** A snapshot at `idx` with `keys` pairs and a session of every result kind. */
const snapshot = (idx: number, keys = 3): Snapshot => ({
  idx,
  kv: Array.from({ length: keys }, (_, i): [string, string] => [`key-${String(i).padStart(4, '0')}`, `value ${idx}/${i} ü🙂`]),
  sessions: [
    { clientId: 'a', lastSeq: 1, lastResult: { kind: 'ok' }, lastIdx: 0 },
    { clientId: 'b', lastSeq: 2, lastResult: { kind: 'value', value: 'x' }, lastIdx: idx - 1 },
    { clientId: 'c', lastSeq: 3, lastResult: { kind: 'not-found' }, lastIdx: 0 },
    { clientId: 'd', lastSeq: 4, lastResult: { kind: 'mismatch', current: null }, lastIdx: 0 },
    { clientId: 'e', lastSeq: 5, lastResult: { kind: 'mismatch', current: 'cur' }, lastIdx: 0 },
    { clientId: 'f', lastSeq: 6, lastResult: { kind: 'deleted', existed: true }, lastIdx: 0 },
    { clientId: 'g', lastSeq: 2 ** 40, lastResult: { kind: 'session-expired' }, lastIdx: idx - 1 },
  ],
  members: [{ id: 1, incarnation: '0123456789abcdef', voter: true }, { id: 2, incarnation: '', voter: false }],
});
const install = (idx: number, keys?: number): StorageOp => ({ kind: 'install-snapshot', snapshot: snapshot(idx, keys) });

const apply = (base: PersistentState, batches: readonly (readonly StorageOp[])[]): PersistentState => {
  const s = cloneState(base);
  for (const b of batches) applyStorageOps(s, b);
  return s;
};
const turn = () => new Promise<void>(resolve => setImmediate(resolve));

/** Batches written before the scenarios: a durable history to compact. */
const SETUP: StorageOp[][] = [
  [{ kind: 'set-promise', ballot: ballot(1) }],
  [{ kind: 'set-accepted-rnd', ballot: ballot(1) }, { kind: 'append', entries: puts(1, 6) }],
  [{ kind: 'set-decided-idx', idx: 4 }],
];
/**
 * Groups (each queued in one turn, so each is one flush):
 *  1. a leader's compaction, with a batch before it and one after it in the same group;
 *  2. appends to the new file;
 *  3. a far-behind follower installing a leader's snapshot beyond its log, then the suffix;
 *  4. appends again.
 */
const GROUPS: StorageOp[][][] = [
  [
    [{ kind: 'append', entries: puts(7, 2) }],
    [{ kind: 'set-decided-idx', idx: 7 }, install(6)],
    [{ kind: 'append', entries: puts(9, 1) }],
  ],
  [
    [{ kind: 'append', entries: puts(10, 2) }],
    [{ kind: 'set-decided-idx', idx: 9 }],
  ],
  [
    [{ kind: 'set-promise', ballot: ballot(2, 3) }, { kind: 'set-accepted-rnd', ballot: ballot(2, 3) }, install(40, 5),
      { kind: 'append-on-prefix', fromIdx: 40, entries: puts(41, 3) }],
  ],
  [
    [{ kind: 'append', entries: puts(44, 1) }, { kind: 'set-decided-idx', idx: 42 }],
  ],
];

describe('storage: WAL checkpoints (compaction)', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'kvsh-checkpoint-')); });
  afterEach(() => { rmSync(root, { recursive: true, force: true }); });

  it('a batch with install-snapshot replaces the log by header + checkpoint; reopening restores snapshot, log and decided index', async () => {
    const events: StorageEvent[] = [];
    const { wal } = await openWal(root, { log: e => events.push(e) });
    for (const b of SETUP) await wal.write(b);
    const batch: StorageOp[] = [{ kind: 'set-decided-idx', idx: 5 }, install(5)];
    await wal.write(batch);
    const expected = apply(emptyState(), [...SETUP, batch]);
    expect(compactedIdx(expected)).to.equal(5);
    expect(expected.log).to.deep.equal([put(6)]);
    const size = WAL_HEADER_BYTES + encodeCheckpointRecord(expected).length;
    expect(wal.status()).to.deep.include({ bytes: size, base: 5, checkpoints: 1 });
    expect(events.at(-1)).to.deep.include({ kind: 'wal-checkpoint', compactedIdx: 5, bytes: size });
    await wal.close();
    const bytes = readFileSync(join(root, WAL_FILE));
    expect(bytes.length).to.equal(size);
    expect(bytes.subarray(0, WAL_HEADER_BYTES)).to.deep.equal(Buffer.from(encodeHeader({ version: 3, base: 5 })));
    expect(existsSync(join(root, WAL_TEMP_FILE))).to.equal(false);

    const { wal: w2, state, recovery } = await openWal(root);
    expect(state).to.deep.equal(expected);
    expect(recovery).to.deep.include({ version: 3, compactedIdx: 5, records: 0, bytes: size, tornTail: null });
    expect(recovery.checkpointBytes).to.equal(size - WAL_HEADER_BYTES);
    // The log takes appends after the checkpoint, and they replay onto it.
    const more: StorageOp[] = [{ kind: 'append', entries: puts(7, 2) }, { kind: 'set-decided-idx', idx: 7 }];
    await w2.write(more);
    await w2.close();
    const read = await readWal(root);
    expect(read).to.deep.include({ version: 3, compactedIdx: 5, records: 1 });
    expect(read.state).to.deep.equal(apply(expected, [more]));
    expect(logLength(read.state)).to.equal(8);
    expect(await readWalState(root)).to.deep.equal(read.state);
  });

  it('a far-behind follower: a snapshot beyond the log drops the whole log, and append-on-prefix continues after it', async () => {
    const { wal } = await openWal(root);
    for (const b of SETUP) await wal.write(b);
    const batch = GROUPS[2]![0]!;
    await wal.write(batch);
    await wal.close();
    const state = await readWalState(root);
    expect(state).to.deep.equal(apply(emptyState(), [...SETUP, batch]));
    expect(state).to.deep.include({ decidedIdx: 40, promised: ballot(2, 3) });
    expect(compactedIdx(state)).to.equal(40);
    expect(state.log).to.deep.equal(puts(41, 3));
  });

  it('an install-snapshot not newer than the current snapshot changes nothing, but the batch is still whole', async () => {
    const { wal } = await openWal(root);
    const batches: StorageOp[][] = [...SETUP, [install(5)], [install(3), { kind: 'append', entries: puts(7, 1) }]];
    for (const b of batches) await wal.write(b);
    await wal.close();
    const state = await readWalState(root);
    expect(state).to.deep.equal(apply(emptyState(), batches));
    expect(state.snapshot?.idx).to.equal(5);
  });

  it('group commit: a checkpoint absorbs the batches queued before it, the ones after follow it in the new file: one write, one file fsync, one directory fsync', async () => {
    const { fs, counts } = countingFs();
    const { wal } = await openWal(root, { fs });
    for (const b of SETUP) await wal.write(b);
    const before = { ...counts };
    const flushes = wal.status().flushes;
    const group = GROUPS[0]!;
    await Promise.all(group.map(b => wal.write(b)));
    expect(counts.writes - before.writes).to.equal(1);
    expect(counts.fileSyncs - before.fileSyncs).to.equal(1);
    expect(counts.dirSyncs - before.dirSyncs).to.equal(1);
    expect(wal.status().flushes - flushes).to.equal(1);
    const atCheckpoint = apply(emptyState(), [...SETUP, ...group.slice(0, 2)]);
    const after = group[2]!;
    expect(wal.status().bytes).to.equal(WAL_HEADER_BYTES + encodeCheckpointRecord(atCheckpoint).length + encodeRecord(after).length);
    await wal.close();
    const read = await readWal(root);
    expect(read.records).to.equal(1);
    expect(read.state).to.deep.equal(apply(emptyState(), [...SETUP, ...group]));
  });

  it('two checkpoints in one group: only the last is written', async () => {
    const { wal } = await openWal(root);
    for (const b of SETUP) await wal.write(b);
    const group: StorageOp[][] = [[install(3)], [{ kind: 'append', entries: puts(7, 1) }], [install(5)], [{ kind: 'append', entries: puts(8, 1) }]];
    await Promise.all(group.map(b => wal.write(b)));
    const all = apply(emptyState(), [...SETUP, ...group]);
    const atLast = apply(emptyState(), [...SETUP, ...group.slice(0, 3)]);
    expect(wal.status()).to.deep.include({
      checkpoints: 1, bytes: WAL_HEADER_BYTES + encodeCheckpointRecord(atLast).length + encodeRecord(group[3]!).length,
    });
    await wal.close();
    expect(await readWalState(root)).to.deep.equal(all);
  });

  it('a checkpoint shrinks the file, and over 60 append/snapshot cycles the disk stays bounded (without compaction it grows)', async () => {
    const compacted = join(root, 'compacted');
    const plain = join(root, 'plain');
    const { wal: a } = await openWal(compacted);
    const { wal: b } = await openWal(plain);
    const PER_CYCLE = 200;
    const model = emptyState();
    const sizes: number[] = [];
    let seq = 0;
    let bound = 0;
    for (let cycle = 0; cycle < 60; cycle++) {
      const ps: Promise<void>[] = [];
      for (let i = 0; i < PER_CYCLE / 20; i++) {
        const batch: StorageOp[] = [{ kind: 'append', entries: puts(seq + 1, 20) }, { kind: 'set-decided-idx', idx: seq + 20 }];
        seq += 20;
        applyStorageOps(model, batch);
        ps.push(a.write(batch), b.write(batch));
      }
      await Promise.all(ps);
      const beforeCheckpoint = statSync(join(compacted, WAL_FILE)).size;
      // The snapshot covers all but the last 10 entries; its map has the same 50 keys each time.
      const batch = [install(seq - 10, 50)];
      applyStorageOps(model, batch);
      await a.write(batch);
      const size = statSync(join(compacted, WAL_FILE)).size;
      expect(size, `cycle ${cycle}`).to.be.below(beforeCheckpoint);
      // Nothing but the header and the checkpoint: every compacted record left the disk.
      expect(size, `cycle ${cycle}`).to.equal(WAL_HEADER_BYTES + encodeCheckpointRecord(model).length);
      expect(size).to.equal(a.status().bytes);
      sizes.push(size);
      // The most the file ever holds: a checkpoint and one cycle of records.
      bound = Math.max(bound, beforeCheckpoint);
    }
    await a.close();
    await b.close();
    // Every checkpoint holds the same keys, sessions and log tail (only the digits of numbers
    // grow): the file does not grow with the history.
    expect(Math.max(...sizes)).to.be.below(Math.min(...sizes) * 1.2);
    const plainSize = statSync(join(plain, WAL_FILE)).size;
    expect(bound * 20).to.be.below(plainSize);
    const state = await readWalState(compacted);
    expect(compactedIdx(state)).to.equal(seq - 10);
    expect(logLength(state)).to.equal(seq);
    expect(state.log).to.deep.equal(puts(seq - 9, 10));
    expect((await readWalState(plain)).log).to.have.length(seq);
  });

  it('fsync off: a checkpoint still fsyncs its new file before the rename (a lost rename must not leave a torn base), but not the directory', async () => {
    const { fs, counts } = countingFs();
    const { wal } = await openWal(root, { fs, fsync: false });
    const syncs = { ...counts };
    for (const b of SETUP) await wal.write(b);
    expect(counts.fileSyncs).to.equal(syncs.fileSyncs);
    await wal.write([install(3)]);
    expect(counts.fileSyncs - syncs.fileSyncs).to.equal(1);
    expect(counts.dirSyncs - syncs.dirSyncs).to.equal(0);
    await wal.close();
    expect(compactedIdx(await readWalState(root))).to.equal(3);
  });

  it('a version-1 log (an older build, no checkpoint) is read and appended to; its first checkpoint replaces it by a version-3 file', async () => {
    const v1 = Buffer.concat([encodeHeader({ version: 1, base: 0 }), ...SETUP.map(b => encodeRecord(b))]);
    writeFileSync(join(root, WAL_FILE), v1);
    const { wal, state, recovery } = await openWal(root);
    expect(recovery).to.deep.include({ version: 1, compactedIdx: 0, checkpointBytes: 0, records: SETUP.length, bytes: v1.length });
    expect(state).to.deep.equal(apply(emptyState(), SETUP));
    const more: StorageOp[] = [{ kind: 'append', entries: puts(7, 1) }];
    await wal.write(more);
    expect(readFileSync(join(root, WAL_FILE))[7]).to.equal(1);
    expect((await readWal(root)).state).to.deep.equal(apply(emptyState(), [...SETUP, more]));
    await wal.write([install(4)]);
    await wal.close();
    const read = await readWal(root);
    expect(read).to.deep.include({ version: 3, compactedIdx: 4, records: 0 });
    expect(read.state).to.deep.equal(apply(emptyState(), [...SETUP, more, [install(4)]]));
  });

  it('a leftover temporary file (a crash before the rename) is ignored by readWal, and removed by openWal even when it holds a whole newer checkpoint', async () => {
    const { wal } = await openWal(root);
    for (const b of SETUP) await wal.write(b);
    await wal.close();
    const newer = apply(emptyState(), [...SETUP, [install(4)]]);
    const leftover = Buffer.concat([encodeHeader({ version: 3, base: 4 }), encodeCheckpointRecord(newer)]);
    writeFileSync(join(root, WAL_TEMP_FILE), leftover);
    const old = apply(emptyState(), SETUP);
    expect(await readWalState(root)).to.deep.equal(old);
    expect(existsSync(join(root, WAL_TEMP_FILE))).to.equal(true);
    const events: StorageEvent[] = [];
    const { wal: w2, state } = await openWal(root, { log: e => events.push(e) });
    expect(state).to.deep.equal(old);
    expect(existsSync(join(root, WAL_TEMP_FILE))).to.equal(false);
    expect(events[0]).to.deep.equal({ kind: 'wal-temp-removed', file: join(root, WAL_TEMP_FILE), bytes: leftover.length });
    await w2.close();
  });

  it('a torn or garbled checkpoint is refused, never cut to an empty state: every flipped byte, every cut, a wrong base', async () => {
    const { wal } = await openWal(root);
    for (const b of SETUP) await wal.write(b);
    await wal.write([install(5)]);
    const tail: StorageOp[] = [{ kind: 'append', entries: puts(7, 2) }];
    await wal.write(tail);
    await wal.close();
    const image = readFileSync(join(root, WAL_FILE));
    const cpEnd = WAL_HEADER_BYTES + encodeCheckpointRecord(apply(emptyState(), [...SETUP, [install(5)]])).length;
    let n = 0;
    const refused = async (bytes: Uint8Array, what: string): Promise<WalCorruptionError> => {
      const dir = join(root, `d${n++}`);
      mkdirSync(dir);
      writeFileSync(join(dir, WAL_FILE), bytes);
      const err = await openWal(dir).then(async o => { await o.wal.close(); return null; }, (e: unknown) => e);
      expect(err, what).to.be.instanceOf(WalCorruptionError);
      expect(readFileSync(join(dir, WAL_FILE)).equals(Buffer.from(bytes)), `${what}: the file is left alone`).to.equal(true);
      rmSync(dir, { recursive: true });
      return err as WalCorruptionError;
    };
    for (let i = WAL_HEADER_BYTES; i < cpEnd; i++) {
      const bad = Buffer.from(image);
      bad[i]! ^= 0x01;
      const err = await refused(bad, `flip at ${i}`);
      expect(err.offset, `flip at ${i}`).to.equal(WAL_HEADER_BYTES);
      expect(err.problem).to.match(/the checkpoint record that begins the log is damaged \((checksum mismatch|record length|incomplete record)/);
    }
    for (let cut = WAL_HEADER_BYTES; cut < cpEnd; cut++) {
      const err = await refused(image.subarray(0, cut), `cut at ${cut}`);
      expect(err.offset).to.equal(WAL_HEADER_BYTES);
      expect(err.problem).to.match(/not a write torn by a crash/);
    }
    for (let i = 0; i < WAL_HEADER_BYTES; i++) {
      const bad = Buffer.from(image);
      bad[i]! ^= 0x10;
      await refused(bad, `header flip at ${i}`);
    }
    const wrongBase = Buffer.concat([encodeHeader({ version: 3, base: 4 }), image.subarray(WAL_HEADER_BYTES)]);
    expect((await refused(wrongBase, 'base 4')).problem).to.match(/base 4 is not the compacted index 5/);
    // A checkpoint anywhere but first is refused too (it passes its checksum: never a torn write).
    const second = Buffer.concat([image, encodeCheckpointRecord(emptyState())]);
    expect((await refused(second, 'second checkpoint')).problem)
      .to.match(/batch record 2 after the checkpoint passes its checksum but does not decode.*a checkpoint \(code 6\) may only be the first record/);
    // The records after an intact checkpoint keep the torn-tail rule.
    const torn = image.subarray(0, image.length - 3);
    const dir = join(root, 'torn');
    mkdirSync(dir);
    writeFileSync(join(dir, WAL_FILE), torn);
    const { wal: w3, state, recovery } = await openWal(dir);
    await w3.close();
    expect(recovery.tornTail).to.deep.include({ offset: cpEnd });
    expect(state).to.deep.equal(apply(emptyState(), [...SETUP, [install(5)]]));
  });

  it('a state whose checkpoint would exceed the record limit fails the log (fail-stop) and leaves the old log in place', async () => {
    const { wal } = await openWal(root);
    for (const b of SETUP) await wal.write(b);
    const huge: Snapshot = { idx: 3, kv: [['k', 'x'.repeat(1024 * 1024)]], sessions: [], members: [] };
    const big: Snapshot = { ...huge, kv: Array.from({ length: 257 }, (_, i): [string, string] => [`k${i}`, huge.kv[0]![1]]) };
    const err = await wal.write([{ kind: 'install-snapshot', snapshot: big }]).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(WalFailedError);
    expect((err as Error).message).to.match(/a checkpoint of \d+ bytes exceeds the WAL record limit/);
    await wal.close();
    expect(await readWalState(root)).to.deep.equal(apply(emptyState(), SETUP));
  });

  describe('on a simulated disk', () => {
    const DIR = '/data/n1';
    const path = (f: string) => `${DIR}/${f}`;

    /**
     * The durable setup, then the groups, with a crash after `crashAfter` more mutating calls.
     * `steps` counts the calls after the setup; `stepsAtResolve[g]`, those made when group g
     * was acknowledged.
     */
    async function run(crashAfter: number, fsync: boolean) {
      const fs = new CrashFs();
      const { wal: setup } = await openWal(DIR, { fs });
      for (const b of SETUP) await setup.write(b);
      await setup.close();
      const { wal } = await openWal(DIR, { fs, fsync });
      const start = fs.steps;
      fs.crashAfter(crashAfter);
      let resolved = 0;
      const stepsAtResolve: number[] = [];
      for (const group of GROUPS) {
        const ok = await Promise.all(group.map(b => wal.write(b))).then(() => true, () => false);
        if (!ok) break;
        resolved++;
        stepsAtResolve.push(fs.steps - start);
      }
      await wal.close().catch(() => {});
      return { fs, resolved, stepsAtResolve, steps: fs.steps - start };
    }

    const states: PersistentState[] = [apply(emptyState(), SETUP)];
    for (const g of GROUPS) states.push(apply(states.at(-1)!, g));

    it('the order of a checkpoint: temp file written, fsynced, renamed over the log, directory fsynced — and only then acknowledged', async () => {
      const { fs, resolved, stepsAtResolve, steps } = await run(Infinity, true);
      expect(resolved).to.equal(GROUPS.length);
      expect(steps).to.equal(14);
      const cp = (s: PersistentState) => WAL_HEADER_BYTES + encodeCheckpointRecord(s).length;
      const g1 = cp(apply(states[0]!, GROUPS[0]!.slice(0, 2))) + encodeRecord(GROUPS[0]![2]!).length;
      const g2 = encodeRecord(GROUPS[1]![0]!).length + encodeRecord(GROUPS[1]![1]!).length;
      const g3 = cp(states[3]!);
      const g4 = encodeRecord(GROUPS[3]![0]!).length;
      const tmp = path(WAL_TEMP_FILE);
      const log = path(WAL_FILE);
      expect(fs.trace.slice(-14)).to.deep.equal([
        `open ${tmp} (create)`, `write ${tmp} [0, ${g1})`, `fsync ${tmp}`, `rename ${tmp} → ${log}`, `fsync dir ${DIR}`,
        `write ${log} [${g1}, ${g1 + g2})`, `fdatasync ${log}`,
        `open ${tmp} (create)`, `write ${tmp} [0, ${g3})`, `fsync ${tmp}`, `rename ${tmp} → ${log}`, `fsync dir ${DIR}`,
        `write ${log} [${g3}, ${g3 + g4})`, `fdatasync ${log}`,
      ]);
      // Each group was acknowledged after its last step, not before.
      expect(stepsAtResolve).to.deep.equal([5, 7, 12, 14]);
      expect(fs.list()).to.deep.equal([log]);
    });

    for (const fsync of [true, false]) {
      it(`fsync ${fsync ? 'on' : 'off'}: a crash at every step of checkpoints and appends, of every kind, recovers ${fsync
        ? 'the state before the unacknowledged group or after it; after, once acknowledged' : 'a whole state, never a refusal'}`, async () => {
        const total = (await run(Infinity, fsync)).steps;
        let checked = 0;
        for (let k = 0; ; k++) {
          const { fs, resolved, steps } = await run(k, fsync);
          for (const mode of CRASH_MODES) {
            const img = fs.image(mode);
            const where = `crash after ${k} steps (${fs.trace.at(-1)}), ${mode}, ${resolved} groups acknowledged`;
            const opened = await openWal(DIR, { fs: img }).catch((e: unknown) => e);
            if (opened instanceof Error) throw new Error(`${where}: recovery failed: ${opened.message}`, { cause: opened });
            const { wal, state } = opened as Awaited<ReturnType<typeof openWal>>;
            const which = states.findIndex(s => deepEqual(s, state));
            if (fsync) {
              // Groups 1..resolved were acknowledged: they must be there; the one in flight may be.
              expect([resolved, resolved + 1], `${where}: recovered state ${which}`).to.include(which);
            } else {
              // Unsafe mode: acknowledged groups may be lost, but the state is one of the real ones.
              expect(which, `${where}: not a state the batches lead to`).to.be.at.least(0);
              expect(which, where).to.be.at.most(resolved + 1);
            }
            expect(img.list(), `${where}: leftover removed`).to.deep.equal([path(WAL_FILE)]);
            // The recovered log takes new writes.
            const more: StorageOp[] = [{ kind: 'append', entries: puts(1000, 1) }];
            await wal.write(more);
            await wal.close();
            expect(await readWalState(DIR, img), where).to.deep.equal(apply(state, [more]));
            checked++;
          }
          if (steps >= total) break;
        }
        expect(checked).to.equal((total + 1) * CRASH_MODES.length);
      });
    }

    it('with fsync on, an acknowledged group survives every kind of crash: the state after it is durable when its promise resolves', async () => {
      const { stepsAtResolve } = await run(Infinity, true);
      for (const [g, at] of stepsAtResolve.entries()) {
        const { fs, resolved } = await run(at, true);
        expect(resolved, `crash right after group ${g + 1} resolved`).to.equal(g + 1);
        for (const mode of CRASH_MODES) {
          const state = await readWalState(DIR, fs.image(mode));
          expect(state, `group ${g + 1}, ${mode}`).to.deep.equal(states[g + 1]);
        }
      }
    });

    it('a crash at every step of creating the log leaves no log or an empty one, never a refusal', async () => {
      const probe = new CrashFs();
      await (await openWal(DIR, { fs: probe })).wal.close();
      for (let k = 0; k <= probe.steps; k++) {
        const fs = new CrashFs();
        fs.crashAfter(k);
        await openWal(DIR, { fs }).then(o => o.wal.close(), () => {});
        for (const mode of CRASH_MODES) {
          const { wal, state } = await openWal(DIR, { fs: fs.image(mode) });
          expect(state, `crash after ${k}, ${mode}`).to.deep.equal(emptyState());
          await wal.close();
        }
      }
    });
  });
});

/** chai's deep equality, as a boolean. */
function deepEqual(a: unknown, b: unknown): boolean {
  try {
    expect(a).to.deep.equal(b);
    return true;
  } catch {
    return false;
  }
}
