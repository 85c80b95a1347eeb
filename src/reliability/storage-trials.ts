/**
 * Storage faults for docs/reliability.md, tried exhaustively on a small real log in a temp
 * directory: a torn tail at every byte, a flipped byte in every middle record, and a disk that
 * fills up at every byte of the appends. Each trial counts what it tried and says what broke
 * (nothing, when the storage holds). The same properties have unit tests; this is their census.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Entry } from '../replica/entry.js';
import { applyStorageOps, emptyState, type PersistentState, type StorageOp } from '../replica/storage.js';
import { FullDiskFs } from '../storage/full-disk-fs.js';
import { WalCorruptionError } from '../storage/wal-recovery.js';
import { WAL_FILE, openWal, readWalState } from '../storage/wal.js';
import type { TrialResult } from './trial.js';

const put = (seq: number, value = `value-${seq}`): Entry =>
  ({ kind: 'command', command: { clientId: 'client', seq, op: { kind: 'put', key: `k${seq}`, value } } });

/** A promise, an accepted round with entries, decided indexes, an append on a prefix. */
const BATCHES: StorageOp[][] = [
  [{ kind: 'set-promise', ballot: { n: 1, priority: 0, pid: 2 } }],
  [{ kind: 'set-accepted-rnd', ballot: { n: 1, priority: 0, pid: 2 } }, { kind: 'append', entries: [put(1), put(2)] }],
  [{ kind: 'set-decided-idx', idx: 1 }],
  [{ kind: 'append-on-prefix', fromIdx: 1, entries: [put(3), { kind: 'expire-sessions', idleBefore: 1 }] }],
  [{ kind: 'append', entries: [put(4, 'x'.repeat(40)), put(5, 'é😀')] }, { kind: 'set-decided-idx', idx: 3 }],
];

/** A batch written after recovery, to show the log takes writes again. */
const AFTER: StorageOp[] = [{ kind: 'set-promise', ballot: { n: 9, priority: 0, pid: 1 } }];

function stateAfter(k: number): PersistentState {
  const s = emptyState();
  for (const b of BATCHES.slice(0, k)) applyStorageOps(s, b);
  return s;
}

async function withRoot<T>(f: (root: string) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), 'kvsh-reliability-'));
  try {
    return await f(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The intact log of BATCHES and the byte where each record starts (the last entry: the end). */
async function writeImage(dir: string): Promise<{ image: Buffer; starts: number[] }> {
  const { wal } = await openWal(dir);
  const starts = [wal.status().bytes];
  for (const b of BATCHES) {
    await wal.write(b);
    starts.push(wal.status().bytes);
  }
  await wal.close();
  return { image: readFileSync(join(dir, WAL_FILE)), starts };
}

/**
 * Cut the log at every byte after its checkpoint (a crash in the middle of any append): the node
 * must start with exactly the records wholly before the cut, and take new writes.
 */
export async function tornTailTrial(): Promise<TrialResult> {
  return withRoot(async (root) => {
    const { image, starts } = await writeImage(join(root, 'source'));
    const failures: string[] = [];
    let tried = 0;
    for (let cut = starts[0]!; cut <= image.length; cut++) {
      const dir = join(root, `cut-${cut}`);
      mkdirSync(dir);
      writeFileSync(join(dir, WAL_FILE), image.subarray(0, cut));
      tried++;
      const whole = starts.filter((s) => s <= cut).length - 1;
      try {
        const { wal, state } = await openWal(dir);
        if (!isDeepStrictEqual(state, stateAfter(whole))) failures.push(`cut at byte ${cut}: not the state of the ${whole} whole batches`);
        await wal.write(AFTER);
        await wal.close();
      } catch (e) {
        failures.push(`cut at byte ${cut}: ${(e as Error).message}`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      area: 'storage', fault: 'torn tail: the WAL cut at every byte after its checkpoint', tried, unit: 'cuts',
      expected: 'starts with exactly the batches wholly before the cut, takes new writes', failures,
    };
  });
}

/**
 * Flip a bit in every byte of every record but the last (damage that is not a torn write): the
 * node must refuse to start, name the file and the damaged record's offset, and leave the file.
 */
export async function corruptRecordTrial(): Promise<TrialResult> {
  return withRoot(async (root) => {
    const { image, starts } = await writeImage(join(root, 'source'));
    const failures: string[] = [];
    let tried = 0;
    // Records 0 … n-2 (the last one cannot be told from a torn write: it is cut, documented).
    for (let r = 0; r + 2 < starts.length; r++) {
      for (let i = starts[r]!; i < starts[r + 1]!; i++) {
        const bad = Buffer.from(image);
        bad[i]! ^= 0x40;
        const dir = join(root, `flip-${i}`);
        mkdirSync(dir);
        const file = join(dir, WAL_FILE);
        writeFileSync(file, bad);
        tried++;
        const err = await openWal(dir).then(async ({ wal }) => { await wal.close(); return null; }, (e: unknown) => e);
        if (!(err instanceof WalCorruptionError)) failures.push(`flip at byte ${i}: started (${err === null ? 'no error' : (err as Error).message})`);
        else if (err.offset !== starts[r] || !err.message.includes(file)) failures.push(`flip at byte ${i}: the error does not name ${file} at byte ${starts[r]}: ${err.message}`);
        else if (!readFileSync(file).equals(bad)) failures.push(`flip at byte ${i}: the file was changed`);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return {
      area: 'storage', fault: 'a flipped byte in every byte of every record but the last', tried, unit: 'flips',
      expected: 'refuses to start, naming the file and the record\'s offset; the file is left as it was', failures,
    };
  });
}

/**
 * The disk fills after every possible number of bytes of the appends (a short write, then
 * ENOSPC): every batch acknowledged before must survive a restart, nothing after it may appear,
 * the error must say ENOSPC, and once space returns the log takes new writes.
 */
export async function diskFullTrial(): Promise<TrialResult> {
  return withRoot(async (root) => {
    const source = join(root, 'source');
    const { image, starts } = await writeImage(source);
    const appendBytes = image.length - starts[0]!;
    const failures: string[] = [];
    let tried = 0;
    for (let free = 0; free <= appendBytes; free++) {
      const dir = join(root, `full-${free}`);
      tried++;
      const disk = new FullDiskFs();
      try {
        const { wal } = await openWal(dir, { fs: disk });
        disk.free = free;
        let acked = 0;
        let error: unknown = null;
        for (const b of BATCHES) {
          try {
            await wal.write(b);
            acked++;
          } catch (e) {
            error = e;
            break;
          }
        }
        await wal.close().catch(() => {});
        if (error !== null && !/ENOSPC/.test((error as Error).message)) failures.push(`${free} bytes free: the error does not say ENOSPC: ${(error as Error).message}`);
        if (error === null && acked !== BATCHES.length) failures.push(`${free} bytes free: a batch neither acknowledged nor refused`);
        // Space returns: the log reopens with exactly the acknowledged batches and takes writes.
        disk.free = Infinity;
        const reopened = await openWal(dir, { fs: disk });
        if (!isDeepStrictEqual(reopened.state, stateAfter(acked))) failures.push(`${free} bytes free: after restart not the state of the ${acked} acknowledged batches`);
        await reopened.wal.write(AFTER);
        await reopened.wal.close();
        const expected = stateAfter(acked);
        applyStorageOps(expected, AFTER);
        if (!isDeepStrictEqual(await readWalState(dir), expected)) failures.push(`${free} bytes free: a write after space returned was not kept`);
      } catch (e) {
        failures.push(`${free} bytes free: ${(e as Error).message}`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      area: 'storage', fault: 'disk full (ENOSPC) after every byte count of the appends, then space returns', tried, unit: 'fill points',
      expected: 'the failed write says ENOSPC; acknowledged batches survive, nothing else appears; writes resume after a restart', failures,
    };
  });
}
