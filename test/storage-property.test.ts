/**
 * Properties of the write-ahead log on random batches (fast-check):
 *  (a) written in random turns and sessions, then reopened, the log holds exactly what
 *      `applyStorageOps` makes of the batches in memory;
 *  (b) cut at a random byte (a crash mid-write), it recovers the batches wholly before the cut
 *      and takes new writes after them;
 *  (c) one damaged byte in any record but the last refuses to start, naming that record's offset;
 *  (d) with install-snapshot in random batches (compaction), (a) still holds, and the file is
 *      exactly a header, the checkpoint of the last snapshot's batch (or of the empty state)
 *      and the records after it — nothing the snapshot compacted stays on disk.
 *
 * Seeds: one base seed for the file, printed when it starts. Replay with
 * FC_SEED=<seed> npx mocha -g 'storage properties'; FC_RUNS=<k> multiplies the runs.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ballot } from '../src/replica/ballot.js';
import type { Entry, KvOp } from '../src/replica/entry.js';
import type { SessionRecord, Snapshot } from '../src/replica/snapshot.js';
import {
  applyStorageOps, compactedIdx, emptyState, logLength, type PersistentState, type StorageOp,
} from '../src/replica/storage.js';
import { WAL_HEADER_BYTES, encodeCheckpointRecord, encodeRecord } from '../src/storage/wal-format.js';
import { WalCorruptionError } from '../src/storage/wal-recovery.js';
import { WAL_FILE, openWal, readWalState } from '../src/storage/wal.js';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const RUNS = Number(process.env.FC_RUNS ?? 1);
const params = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns: Math.ceil(numRuns * RUNS) });

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const idx = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.maxSafeNat());
const str = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const ballot: fc.Arbitrary<Ballot> = fc.record({ n: u32, priority: u32, pid: u32 });
const kvOp: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), key: str }),
  fc.record({ kind: fc.constant('put' as const), key: str, value: str }),
  fc.record({ kind: fc.constant('cas' as const), key: str, expected: fc.option(str, { nil: null }), value: str }),
  fc.record({ kind: fc.constant('delete' as const), key: str }),
);
const entry: fc.Arbitrary<Entry> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('command' as const), command: fc.record({ clientId: str, seq: idx, op: kvOp }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire-sessions' as const), idleBefore: idx }) },
);
const entries = fc.array(entry, { maxLength: 5 });
const storageOp: fc.Arbitrary<StorageOp> = fc.oneof(
  fc.record({ kind: fc.constant('set-promise' as const), ballot }),
  fc.record({ kind: fc.constant('set-accepted-rnd' as const), ballot }),
  fc.record({ kind: fc.constant('append-on-prefix' as const), fromIdx: fc.integer({ min: 0, max: 30 }), entries }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('append' as const), entries }) },
  fc.record({ kind: fc.constant('set-decided-idx' as const), idx }),
);
/** A batch, and what the driver does after queueing it. */
const step = fc.record({
  ops: fc.array(storageOp, { minLength: 0, maxLength: 4 }),
  then: fc.constantFrom('same-turn', 'same-turn', 'next-turn', 'await', 'reopen'),
});
const nonEmpty = (b: readonly StorageOp[]) => b.length > 0;

const inMemory = (batches: readonly (readonly StorageOp[])[]): PersistentState => {
  const s = emptyState();
  for (const b of batches) applyStorageOps(s, b);
  return s;
};
const turn = () => new Promise<void>(resolve => setImmediate(resolve));

describe('storage properties', () => {
  let root: string;
  let n = 0;
  const freshDir = () => {
    const d = join(root, `p${n++}`);
    mkdirSync(d);
    return d;
  };
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kvsh-wal-prop-'));
    console.log(`      fast-check base seed ${SEED} (replay: FC_SEED=${SEED}), runs ×${RUNS}`);
  });
  after(() => { rmSync(root, { recursive: true, force: true }); });

  /** Writes the steps; returns the log's bytes and each non-empty batch's record offsets. */
  async function writeAll(dir: string, steps: readonly { ops: StorageOp[]; then: string }[]) {
    let { wal } = await openWal(dir);
    const pending: Promise<void>[] = [];
    for (const s of steps) {
      pending.push(wal.write(s.ops));
      if (s.then === 'next-turn') await turn();
      else if (s.then === 'await') await Promise.all(pending);
      else if (s.then === 'reopen') {
        await wal.close();
        await Promise.all(pending);
        ({ wal } = await openWal(dir));
      }
    }
    await Promise.all(pending);
    await wal.close();
  }

  it('(a) reopened after random batches, turns and sessions, the log equals applyStorageOps in memory', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 40 }), async steps => {
      const dir = freshDir();
      await writeAll(dir, steps);
      const { wal, state, recovery } = await openWal(dir);
      await wal.close();
      expect(state).to.deep.equal(inMemory(steps.map(s => s.ops)));
      expect(recovery.records).to.equal(steps.filter(s => nonEmpty(s.ops)).length);
      expect(recovery.tornTail).to.equal(null);
      rmSync(dir, { recursive: true });
    }), params(150));
  });

  it('(b) cut at a random byte, the log keeps the batches wholly before the cut and takes new writes', async () => {
    const batches = fc.array(fc.array(storageOp, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 });
    await fc.assert(fc.asyncProperty(batches, fc.double({ min: 0, max: 1, noNaN: true }), batches, async (written, where, more) => {
      const dir = freshDir();
      const { wal } = await openWal(dir);
      const ends: number[] = [];
      for (const b of written) {
        await wal.write(b);
        ends.push(wal.status().bytes);
      }
      await wal.close();
      const image = readFileSync(join(dir, WAL_FILE));
      const first = WAL_HEADER_BYTES + encodeCheckpointRecord(emptyState()).length;
      const cut = first + Math.floor(where * (image.length - first));
      writeFileSync(join(dir, WAL_FILE), image.subarray(0, cut));
      const kept = ends.filter(e => e <= cut).length;
      const again = await openWal(dir);
      expect(again.state).to.deep.equal(inMemory(written.slice(0, kept)));
      await Promise.all(more.map(b => again.wal.write(b)));
      await again.wal.close();
      expect(await readWalState(dir)).to.deep.equal(inMemory([...written.slice(0, kept), ...more]));
      rmSync(dir, { recursive: true });
    }), params(100));
  });

  it('(c) one damaged byte in any record but the last refuses to start, naming that record', async () => {
    const batches = fc.array(fc.array(storageOp, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 10 });
    await fc.assert(fc.asyncProperty(batches, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (written, which, at, xor) => {
      const dir = freshDir();
      const { wal } = await openWal(dir);
      const starts = [wal.status().bytes];
      for (const b of written) {
        await wal.write(b);
        starts.push(wal.status().bytes);
      }
      await wal.close();
      const k = which % (written.length - 1);
      const start = starts[k]!;
      const pos = start + (at % (starts[k + 1]! - start));
      const image = readFileSync(join(dir, WAL_FILE));
      image[pos]! ^= xor;
      writeFileSync(join(dir, WAL_FILE), image);
      const err = await openWal(dir).then(async o => { await o.wal.close(); return null; }, (e: unknown) => e);
      expect(err, `byte ${pos} of record ${k + 1}`).to.be.instanceOf(WalCorruptionError);
      expect((err as WalCorruptionError).offset).to.equal(start);
      expect((err as Error).message).to.include(`: byte ${start}: batch record ${k + 1} after the checkpoint is damaged`);
      rmSync(dir, { recursive: true });
    }), params(150));
  });

  it('(d) with snapshots installed at random points, reopening equals applyStorageOps and the file holds only the last checkpoint and what follows', async () => {
    const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
    const result = fc.oneof(
      fc.record({ kind: fc.constant('ok' as const) }),
      fc.record({ kind: fc.constant('value' as const), value: str }),
      fc.record({ kind: fc.constant('mismatch' as const), current: fc.option(str, { nil: null }) }),
      fc.record({ kind: fc.constant('deleted' as const), existed: fc.boolean() }),
    );
    /** Ops whose indices are fractions of what the log allows when the batch is written. */
    const rawOp = fc.oneof(
      storageOp.filter(op => op.kind !== 'append-on-prefix'),
      fc.record({ kind: fc.constant('raw-append-on-prefix' as const), at: frac, entries }),
      { weight: 2, arbitrary: fc.record({
        kind: fc.constant('raw-install-snapshot' as const), at: frac,
        kv: fc.uniqueArray(fc.tuple(str, str), { selector: p => p[0], maxLength: 6 }),
        sessions: fc.uniqueArray(fc.record({ clientId: str, lastSeq: idx, lastResult: result, lastIdx: frac }),
          { selector: x => x.clientId, maxLength: 4 }),
      }) },
    );
    type RawOp = typeof rawOp extends fc.Arbitrary<infer T> ? T : never;
    const materialize = (op: RawOp, s: PersistentState): StorageOp => {
      const c = compactedIdx(s);
      const len = logLength(s);
      if (op.kind === 'raw-append-on-prefix') return { kind: 'append-on-prefix', fromIdx: c + Math.floor(op.at * (len - c + 3)), entries: op.entries };
      if (op.kind !== 'raw-install-snapshot') return op;
      // Sometimes older than the current snapshot (a no-op), sometimes beyond the log's end.
      const at = Math.floor(op.at * (len + 4)) + 1;
      const sessions: SessionRecord[] = op.sessions.map(x => ({ ...x, lastIdx: Math.floor(x.lastIdx * at) }));
      const snapshot: Snapshot = { idx: at, kv: op.kv, sessions, members: [] };
      return { kind: 'install-snapshot', snapshot };
    };
    const rawStep = fc.record({
      ops: fc.array(rawOp, { minLength: 0, maxLength: 4 }),
      then: fc.constantFrom('same-turn', 'same-turn', 'next-turn', 'await', 'reopen'),
    });
    await fc.assert(fc.asyncProperty(fc.array(rawStep, { maxLength: 30 }), async steps => {
      const dir = freshDir();
      const model = emptyState();
      /** The file the model expects: the last checkpoint's bytes, then the records after it. */
      let fileBytes = WAL_HEADER_BYTES + encodeCheckpointRecord(model).length;
      let checkpoints = 0;
      let { wal } = await openWal(dir);
      const pending: Promise<void>[] = [];
      for (const st of steps) {
        const ops: StorageOp[] = [];
        // Materialize op by op: a later op's indices see the earlier ops of the same batch.
        const scratch = { ...model, log: model.log.slice() };
        for (const raw of st.ops) {
          const op = materialize(raw, scratch);
          applyStorageOps(scratch, [op]);
          ops.push(op);
        }
        applyStorageOps(model, ops);
        if (ops.some(op => op.kind === 'install-snapshot')) {
          fileBytes = WAL_HEADER_BYTES + encodeCheckpointRecord(model).length;
          checkpoints++;
        } else if (ops.length > 0) {
          fileBytes += encodeRecord(ops).length;
        }
        pending.push(wal.write(ops));
        if (st.then === 'next-turn') await turn();
        else if (st.then === 'await') await Promise.all(pending);
        else if (st.then === 'reopen') {
          await wal.close();
          await Promise.all(pending);
          ({ wal } = await openWal(dir));
        }
      }
      await Promise.all(pending);
      expect(wal.status().checkpoints).to.be.at.most(checkpoints);
      await wal.close();
      expect(readFileSync(join(dir, WAL_FILE)).length).to.equal(fileBytes);
      const { wal: w2, state, recovery } = await openWal(dir);
      await w2.close();
      expect(state).to.deep.equal(model);
      expect(recovery.compactedIdx).to.equal(compactedIdx(model));
      expect(recovery.tornTail).to.equal(null);
      rmSync(dir, { recursive: true });
    }), params(150));
  });
});
