/**
 * The WAL's bytes (docs/wal-format.md): golden vectors computed outside this code (Python's
 * zlib.crc32 and struct), a round trip of every operation kind and of checkpoints (snapshots
 * with every result kind), and malformed payloads.
 */
import { expect } from 'chai';
import type { Entry } from '../src/replica/entry.js';
import type { Snapshot } from '../src/replica/snapshot.js';
import { emptyState, type PersistentState, type StorageOp } from '../src/replica/storage.js';
import { DecodeError } from '../src/wire/bytes.js';
import {
  CHECKPOINT_CODE, MIN_PAYLOAD_BYTES, STORAGE_OP_CODE, WAL_HEADER_BYTES, checkpointHeader, decodeCheckpoint, decodeHeader,
  decodeOps, encodeCheckpoint, encodeCheckpointRecord, encodeHeader, encodeOps, encodeRecord,
} from '../src/storage/wal-format.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

const ENTRIES: Entry[] = [
  { kind: 'command', command: { clientId: 'client-ü', seq: 1, op: { kind: 'get', key: 'k' } } },
  { kind: 'command', command: { clientId: 'c', seq: 2, op: { kind: 'put', key: 'k', value: 'v 🙂' } } },
  { kind: 'command', command: { clientId: 'c', seq: 3, op: { kind: 'cas', key: 'k', expected: null, value: 'x' } } },
  { kind: 'command', command: { clientId: 'c', seq: 4, op: { kind: 'cas', key: 'k', expected: '', value: '' } } },
  { kind: 'command', command: { clientId: 'c', seq: Number.MAX_SAFE_INTEGER, op: { kind: 'delete', key: '' } } },
  { kind: 'expire-sessions', idleBefore: 0 },
  { kind: 'expire-sessions', idleBefore: 2 ** 40 },
];

/** One of each operation kind, with edge values. */
const EVERY_OP: StorageOp[] = [
  { kind: 'set-promise', ballot: { n: 1, priority: 0, pid: 3 } },
  { kind: 'set-promise', ballot: { n: 0xffff_ffff, priority: 0xffff_ffff, pid: 0xffff_ffff } },
  { kind: 'set-accepted-rnd', ballot: { n: 7, priority: 2, pid: 1 } },
  { kind: 'append', entries: ENTRIES },
  { kind: 'append', entries: [] },
  { kind: 'append-on-prefix', fromIdx: 3, entries: ENTRIES.slice(1, 4) },
  { kind: 'append-on-prefix', fromIdx: 0, entries: [] },
  { kind: 'set-decided-idx', idx: 0 },
  { kind: 'set-decided-idx', idx: Number.MAX_SAFE_INTEGER },
];

describe('storage: WAL format', () => {
  it('every operation kind has a code, and a batch of each round-trips, alone and together', () => {
    expect(Object.keys(STORAGE_OP_CODE).sort()).to.deep.equal(
      ['append', 'append-on-prefix', 'set-accepted-rnd', 'set-decided-idx', 'set-promise']);
    for (const op of EVERY_OP) expect(decodeOps(encodeOps([op]))).to.deep.equal([op]);
    expect(decodeOps(encodeOps(EVERY_OP))).to.deep.equal(EVERY_OP);
  });

  it('golden header: "KVSHWAL", version 1, base 0, CRC-32 of the first 16 bytes', () => {
    const h = encodeHeader({ version: 1, base: 0 });
    expect(h.length).to.equal(WAL_HEADER_BYTES);
    expect(hex(h)).to.equal('4b56534857414c01' + '0000000000000000' + '44418c93');
    expect(decodeHeader(h)).to.deep.equal({ version: 1, base: 0 });
  });

  it('golden record: set-promise then set-decided-idx', () => {
    const rec = encodeRecord([
      { kind: 'set-promise', ballot: { n: 1, priority: 2, pid: 3 } },
      { kind: 'set-decided-idx', idx: 5 },
    ]);
    expect(hex(rec)).to.equal(
      '0000001a' + '8aa47194' // length 26, CRC-32
      + '00000002' // two ops
      + '01' + '00000001' + '00000002' + '00000003' // set-promise 1.2.3
      + '05' + '0000000000000005'); // set-decided-idx 5
  });

  it('golden record: append-on-prefix with two entries, then set-accepted-rnd', () => {
    const ops: StorageOp[] = [
      { kind: 'append-on-prefix', fromIdx: 4, entries: [
        { kind: 'command', command: { clientId: 'c', seq: 1, op: { kind: 'put', key: 'k', value: 'v' } } },
        { kind: 'expire-sessions', idleBefore: 7 },
      ] },
      { kind: 'set-accepted-rnd', ballot: { n: 1, priority: 0, pid: 2 } },
    ];
    const payload = unhex(`
      00000002
      03 0000000000000004 00000002
         01 00000001 63 0000000000000001 02 00000001 6b 00000001 76
         02 0000000000000007
      02 00000001 00000000 00000002`);
    const rec = encodeRecord(ops);
    expect(hex(rec)).to.equal('00000040' + 'b700c7da' + hex(payload));
    expect(decodeOps(payload)).to.deep.equal(ops);
  });

  it('refuses an empty batch, an impossible count, an unknown code and trailing bytes, naming the field', () => {
    expect(() => encodeOps([])).to.throw(RangeError);
    const bad = (h: string, field: RegExp) => {
      const err = (() => { try { decodeOps(unhex(h)); } catch (e) { return e; } return null; })();
      expect(err, h).to.be.instanceOf(DecodeError);
      expect((err as Error).message).to.match(field);
    };
    bad('00000000', /op count/);
    bad('00000005 0500000000000000 01', /op count/);
    bad('00000001 09 0000000000000000', /op\[0\]\.code.*unknown storage operation code 9/);
    bad('00000001 05 0000000000000001 00', /trailing/);
    bad('00000002 05 0000000000000001 04 00000001', /op\[1\]\.entries/);
    expect(MIN_PAYLOAD_BYTES).to.equal(encodeOps([{ kind: 'append', entries: [] }]).length);
  });

  it('header problems name the offset: short, wrong magic, bad checksum, unknown version', () => {
    const h = encodeHeader({ version: 1, base: 0 });
    expect(decodeHeader(h.subarray(0, 10))).to.include({ offset: 10 });
    const magic = h.slice();
    magic[0] = 0x7b;
    expect(decodeHeader(magic)).to.have.property('problem').that.matches(/bad magic 7b 56.*not a kvsh write-ahead log/);
    const sum = h.slice();
    sum[12] ^= 1;
    expect(decodeHeader(sum)).to.deep.include({ offset: 16 });
    expect(decodeHeader(sum)).to.have.property('problem').that.matches(/header checksum mismatch/);
    expect(decodeHeader(encodeHeader({ version: 4, base: 0 }))).to.deep.equal({ offset: 7, problem: 'format version 4; this build reads versions 1 and 3' });
    // Version 2's checkpoints had no membership in their snapshot: refused, not misread.
    expect(decodeHeader(encodeHeader({ version: 2, base: 0 }))).to.deep.equal({ offset: 7, problem: 'format version 2; this build reads versions 1 and 3' });
    expect(decodeHeader(encodeHeader({ version: 0, base: 0 }))).to.have.property('problem').that.matches(/format version 0/);
  });

  it('golden header of version 2: the base is the checkpoint\'s compacted index', () => {
    expect(hex(encodeHeader({ version: 3, base: 0 }))).to.equal('4b56534857414c03' + '0000000000000000' + '6ab7a415');
    expect(hex(encodeHeader({ version: 3, base: 5 }))).to.equal('4b56534857414c03' + '0000000000000005' + '1add509a');
    expect(decodeHeader(unhex('4b56534857414c03 0000000000000005 1add509a'))).to.deep.equal({ version: 3, base: 5 });
  });

  it('golden checkpoint: a new log\'s (the empty state) and one with a snapshot, a log entry and a decided index', () => {
    expect(hex(encodeCheckpointRecord(emptyState()))).to.equal(
      '0000002a' + '3136239c' // length 42, CRC-32
      + '00000001' + '06' // one op: checkpoint
      + '000000000000000000000000' + '000000000000000000000000' // promised ⊥, acceptedRnd ⊥
      + '00' // no snapshot
      + '00000000' // no entries
      + '0000000000000000'); // decidedIdx 0
    const state: PersistentState = {
      promised: { n: 1, priority: 2, pid: 3 },
      acceptedRnd: { n: 1, priority: 0, pid: 2 },
      snapshot: { idx: 5, kv: [['k', 'v']], sessions: [{ clientId: 'c', lastSeq: 2, lastResult: { kind: 'ok' }, lastIdx: 4 }], members: [] },
      log: [{ kind: 'command', command: { clientId: 'c', seq: 3, op: { kind: 'put', key: 'k', value: 'w' } } }],
      decidedIdx: 6,
    };
    const payload = unhex(`
      00000001 06
      00000001 00000002 00000003
      00000001 00000000 00000002
      01
        0000000000000005
        00000001 00000001 6b 00000001 76
        00000001 00000001 63 0000000000000002 0000000000000004 03
        00000000
      00000001 01 00000001 63 0000000000000003 02 00000001 6b 00000001 77
      0000000000000006`);
    expect(hex(encodeCheckpoint(state))).to.equal(hex(payload));
    expect(hex(encodeCheckpointRecord(state))).to.equal('00000077' + 'd38ba2f9' + hex(payload));
    expect(hex(checkpointHeader(state))).to.equal('4b56534857414c03' + '0000000000000005' + '1add509a');
    expect(decodeCheckpoint(payload)).to.deep.equal(state);
  });

  it('checkpoints round-trip: no snapshot, an empty snapshot, every result kind, unicode, edge numbers', () => {
    const snapshot: Snapshot = {
      idx: Number.MAX_SAFE_INTEGER,
      kv: [['', ''], ['k 🙂', 'v ü'], ['\ufeffbom', 'x'.repeat(70_000)]],
      sessions: [
        { clientId: 'a', lastSeq: 1, lastResult: { kind: 'ok' }, lastIdx: 0 },
        { clientId: 'b', lastSeq: 2, lastResult: { kind: 'value', value: '' }, lastIdx: 1 },
        { clientId: 'c', lastSeq: 3, lastResult: { kind: 'not-found' }, lastIdx: 2 },
        { clientId: 'd', lastSeq: 4, lastResult: { kind: 'mismatch', current: null }, lastIdx: 3 },
        { clientId: 'e', lastSeq: 5, lastResult: { kind: 'mismatch', current: 'now' }, lastIdx: 4 },
        { clientId: 'f', lastSeq: 6, lastResult: { kind: 'deleted', existed: false }, lastIdx: 5 },
        { clientId: 'g', lastSeq: Number.MAX_SAFE_INTEGER, lastResult: { kind: 'session-expired' }, lastIdx: Number.MAX_SAFE_INTEGER - 1 },
      ],
      members: [{ id: 7, incarnation: 'fedcba9876543210', voter: true }, { id: 0xffffffff, incarnation: '0123456789abcdef', voter: false }],
    };
    const states: PersistentState[] = [
      emptyState(),
      { ...emptyState(), log: ENTRIES, decidedIdx: 3 },
      { promised: { n: 9, priority: 1, pid: 2 }, acceptedRnd: { n: 8, priority: 1, pid: 2 }, snapshot: { idx: 1, kv: [], sessions: [], members: [] }, log: [], decidedIdx: 1 },
      { promised: { n: 0xffff_ffff, priority: 0xffff_ffff, pid: 0xffff_ffff }, acceptedRnd: { n: 1, priority: 0, pid: 1 }, snapshot, log: ENTRIES, decidedIdx: 2 ** 52 },
    ];
    for (const s of states) expect(decodeCheckpoint(encodeCheckpoint(s))).to.deep.equal(s);
  });

  it('a checkpoint is not a batch op, and install-snapshot is not written as one: both are refused where they do not belong', () => {
    expect(CHECKPOINT_CODE).to.equal(6);
    expect(() => encodeOps([{ kind: 'install-snapshot', snapshot: { idx: 1, kv: [], sessions: [], members: [] } }])).to.throw(RangeError, /written as a checkpoint/);
    const cp = encodeCheckpoint(emptyState());
    expect(() => decodeOps(cp)).to.throw(DecodeError, /op\[0\]\.code.*a checkpoint \(code 6\) may only be the first record/);
    const batch = encodeOps([{ kind: 'set-decided-idx', idx: 1 }]);
    expect(() => decodeCheckpoint(batch)).to.throw(DecodeError, /must begin with a checkpoint \(code 6\), not op code 5/);
    const bad = (h: string, field: RegExp) => {
      const err = (() => { try { decodeCheckpoint(unhex(h)); } catch (e) { return e; } return null; })();
      expect(err, h).to.be.instanceOf(DecodeError);
      expect((err as Error).message).to.match(field);
    };
    const ballots = '00'.repeat(24);
    bad(`00000002 06 ${ballots} 00 00000000 0000000000000000`, /op count.*exactly one op, not 2/);
    bad(`00000001 06 ${ballots} 00 00000000 0000000000000000 00`, /trailing/);
    bad(`00000001 06 ${ballots} 02 00000000 0000000000000000`, /hasSnapshot.*0 or 1/);
    bad(`00000001 06 ${ballots} 01 0000000000000002 00000002 00000001 6b 00000000 00000001 6b 00000000 00000000 00000000 0000000000000002`,
      /checkpoint\.snapshot\.kv\[1\]\.key.*appears twice/);
    bad(`00000001 06 ${ballots} 01 0000000000000002 00000000 00000001 00000001 63 0000000000000001 0000000000000002 03 00000000 0000000000000002`,
      /sessions\[0\]\.lastIdx.*not below the snapshot's idx 2/);
    bad(`00000001 06 ${ballots} 01 0000000000000002 0000ffff`, /checkpoint\.snapshot\.kv.*count 65535 is impossible/);
  });
});
