/**
 * Recovery of damaged logs: a torn tail is cut wherever the crash fell; damage followed by a
 * valid record, a wrong file, a damaged checkpoint (the file's base), or a record that passes
 * its checksum but does not decode is refused with a message naming the file and the byte
 * offset — and the file is left as it was. A version-1 log (no checkpoint) is still read.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Entry } from '../src/replica/entry.js';
import { applyStorageOps, emptyState, type PersistentState, type StorageOp } from '../src/replica/storage.js';
import { WAL_HEADER_BYTES, encodeCheckpointRecord, encodeHeader, encodeRecord } from '../src/storage/wal-format.js';
import { WalCorruptionError } from '../src/storage/wal-recovery.js';
import { WAL_FILE, openWal, readWalState, type StorageEvent } from '../src/storage/wal.js';

const put = (seq: number, value = `value-${seq}`): Entry =>
  ({ kind: 'command', command: { clientId: 'client', seq, op: { kind: 'put', key: `k${seq}`, value } } });

const BATCHES: StorageOp[][] = [
  [{ kind: 'set-promise', ballot: { n: 1, priority: 0, pid: 2 } }],
  [{ kind: 'set-accepted-rnd', ballot: { n: 1, priority: 0, pid: 2 } }, { kind: 'append', entries: [put(1), put(2)] }],
  [{ kind: 'set-decided-idx', idx: 1 }],
  [{ kind: 'append-on-prefix', fromIdx: 1, entries: [put(3), { kind: 'expire-sessions', idleBefore: 1 }] }],
  [{ kind: 'append', entries: [put(4, 'x'.repeat(40)), put(5)] }, { kind: 'set-decided-idx', idx: 3 }],
];

const upTo = (k: number): PersistentState => {
  const s = emptyState();
  for (const b of BATCHES.slice(0, k)) applyStorageOps(s, b);
  return s;
};

async function refusal(dir: string): Promise<WalCorruptionError> {
  const err = await openWal(dir).then(async ({ wal }) => { await wal.close(); return null; }, (e: unknown) => e);
  expect(err, 'openWal must refuse').to.be.instanceOf(WalCorruptionError);
  return err as WalCorruptionError;
}

describe('storage: WAL recovery', () => {
  let root: string;
  /** The intact log of BATCHES, and where each record starts (plus the end). */
  let image: Buffer;
  let starts: number[];
  let n = 0;
  const dirWith = (bytes: Uint8Array): string => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, WAL_FILE), bytes);
    return dir;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kvsh-recovery-'));
    const dir = join(root, 'source');
    const { wal } = await openWal(dir);
    starts = [wal.status().bytes];
    for (const b of BATCHES) {
      await wal.write(b);
      starts.push(wal.status().bytes);
    }
    await wal.close();
    image = readFileSync(join(dir, WAL_FILE));
    // A new log: the header, then the checkpoint of the empty state.
    expect(starts[0]).to.equal(WAL_HEADER_BYTES + encodeCheckpointRecord(emptyState()).length);
    expect(starts.at(-1)).to.equal(image.length);
  });
  after(() => { rmSync(root, { recursive: true, force: true }); });

  it('a torn tail at every byte offset of the last record is cut; the earlier records survive and the log takes new writes', async () => {
    const last = starts[BATCHES.length - 1]!;
    for (let cut = last; cut < image.length; cut++) {
      const dir = dirWith(image.subarray(0, cut));
      const events: StorageEvent[] = [];
      const { wal, state, recovery } = await openWal(dir, { log: e => events.push(e) });
      expect(state, `cut at ${cut}`).to.deep.equal(upTo(BATCHES.length - 1));
      expect(recovery.records).to.equal(BATCHES.length - 1);
      if (cut === last) {
        expect(recovery.tornTail).to.equal(null);
      } else {
        expect(recovery.tornTail).to.deep.include({ offset: last, droppedBytes: cut - last });
        expect(events.find(e => e.kind === 'wal-torn-tail-cut')).to.deep.include({ offset: last, droppedBytes: cut - last });
      }
      expect(readFileSync(join(dir, WAL_FILE)).length).to.equal(last);
      await wal.write(BATCHES.at(-1)!);
      await wal.close();
      expect(await readWalState(dir), `rewrite after cut at ${cut}`).to.deep.equal(upTo(BATCHES.length));
    }
  });

  it('a cut anywhere after the checkpoint keeps exactly the records wholly before it', async () => {
    for (let cut = starts[0]!; cut <= image.length; cut++) {
      const whole = starts.filter(s => s <= cut).length - 1;
      const dir = dirWith(image.subarray(0, cut));
      const { wal, state, recovery } = await openWal(dir);
      expect(state, `cut at ${cut}`).to.deep.equal(upTo(whole));
      expect(recovery.bytes).to.equal(starts[whole]);
      await wal.close();
    }
  });

  it('the problem of a cut tail says what was wrong: an incomplete header or payload, a zero-filled or garbage tail', async () => {
    const tail = async (extra: Uint8Array) => {
      const { wal, recovery } = await openWal(dirWith(Buffer.concat([image, extra])));
      await wal.close();
      expect(recovery.records).to.equal(BATCHES.length);
      return recovery.tornTail!;
    };
    expect((await tail(new Uint8Array(3))).problem).to.match(/incomplete record header \(3 of 8 bytes\)/);
    const zeros = await tail(new Uint8Array(4096));
    expect(zeros).to.deep.include({ offset: image.length, droppedBytes: 4096 });
    expect(zeros.problem).to.match(/record length 0 is below the minimum.*zero-filled/);
    const partial = encodeRecord(BATCHES[1]!).subarray(0, 20);
    expect((await tail(partial)).problem).to.match(/incomplete record: \d+ payload bytes announced, 12 present/);
    const garbage = new Uint8Array(1000).map((_, i) => (i * 73 + 11) & 0xff);
    expect((await tail(garbage)).droppedBytes).to.equal(1000);
  });

  it('a flipped byte anywhere in a middle record refuses to start, naming the file and the record offset, and leaves the file alone', async () => {
    const at = starts[2]!;
    const next = starts[3]!;
    for (let i = at; i < next; i++) {
      const bad = Buffer.from(image);
      bad[i]! ^= 0x40;
      const dir = dirWith(bad);
      const err = await refusal(dir);
      expect(err.offset, `flip at ${i}`).to.equal(at);
      expect(err.message).to.include(`${join(dir, WAL_FILE)}: byte ${at}: batch record 3 after the checkpoint is damaged`);
      expect(err.message).to.include(`a valid record follows at byte ${next}`);
      expect(err.message).to.match(/Refusing to start/);
      expect(readFileSync(join(dir, WAL_FILE)).equals(bad)).to.equal(true);
    }
  });

  it('a damaged middle record whose length points past the end still refuses (a later record is found by scanning)', async () => {
    const bad = Buffer.from(image);
    bad.writeUInt32BE(image.length, starts[1]!);
    const err = await refusal(dirWith(bad));
    expect(err.offset).to.equal(starts[1]);
    expect(err.message).to.match(/incomplete record: \d+ payload bytes announced.*a valid record follows at byte/);
  });

  it('a wrong magic, an unknown version, a bad header checksum, a short file, a snapshot base: refused at the header', async () => {
    const cases: [Uint8Array, number, RegExp][] = [
      [Buffer.concat([Buffer.from('{"not": "a log"}\n'), image.subarray(17)]), 0, /bad magic 7b 22 6e 6f 74 22 3a .*not a kvsh write-ahead log/],
      [Buffer.concat([encodeHeader({ version: 4, base: 0 }), image.subarray(WAL_HEADER_BYTES)]), 7, /format version 4; this build reads versions 1 and 3/],
      [Buffer.concat([encodeHeader({ version: 2, base: 0 }), image.subarray(WAL_HEADER_BYTES)]), 7, /format version 2; this build reads versions 1 and 3/],
      [Buffer.from(image).fill(0xff, 10, 11), 16, /header checksum mismatch/],
      [new Uint8Array(0), 0, /the file is 0 bytes, shorter than the 20-byte header/],
      [image.subarray(0, 12), 12, /shorter than the 20-byte header/],
      [encodeHeader({ version: 1, base: 42 }), 8, /a version-1 log continues snapshot 42/],
      [Buffer.concat([encodeHeader({ version: 3, base: 42 }), image.subarray(WAL_HEADER_BYTES)]), 8,
        /the header's base 42 is not the compacted index 0 of the checkpoint after it/],
      [encodeHeader({ version: 3, base: 0 }), 20, /the checkpoint record that begins the log is damaged \(incomplete record header \(0 of 8 bytes\)\)/],
    ];
    for (const [bytes, offset, problem] of cases) {
      const dir = dirWith(bytes);
      const err = await refusal(dir);
      expect(err.offset).to.equal(offset);
      expect(err.message).to.include(`${join(dir, WAL_FILE)}: byte ${offset}:`);
      expect(err.problem).to.match(problem);
      expect(readFileSync(join(dir, WAL_FILE)).equals(Buffer.from(bytes))).to.equal(true);
    }
  });

  it('a record that passes its checksum but does not decode is refused even at the end', async () => {
    const payload = new Uint8Array([0, 0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
    const rec = Buffer.alloc(8 + payload.length);
    rec.writeUInt32BE(payload.length, 0);
    rec.writeUInt32BE(crc32(payload), 4);
    rec.set(payload, 8);
    const err = await refusal(dirWith(Buffer.concat([image, rec])));
    expect(err.offset).to.equal(image.length);
    expect(err.problem).to.match(/passes its checksum but does not decode \(at byte \d+, op\[0\]\.code: unknown storage operation code 9\)/);
  });

  it('damage in the last record cannot be told from a torn write: it is cut (documented limit)', async () => {
    const bad = Buffer.from(image);
    bad[image.length - 3]! ^= 1;
    const { wal, state, recovery } = await openWal(dirWith(bad));
    await wal.close();
    expect(recovery.tornTail).to.deep.include({ offset: starts[BATCHES.length - 1] });
    expect(recovery.tornTail!.problem).to.match(/checksum mismatch/);
    expect(state).to.deep.equal(upTo(BATCHES.length - 1));
  });

  it('readWalState reads a torn log without cutting it', async () => {
    const torn = image.subarray(0, image.length - 5);
    const dir = dirWith(torn);
    expect(await readWalState(dir)).to.deep.equal(upTo(BATCHES.length - 1));
    expect(readFileSync(join(dir, WAL_FILE)).length).to.equal(torn.length);
  });
});
