/**
 * The node metadata file: atomic replace (temp + fsync + rename + directory fsync), a typed
 * read through the caller's parser, and clear errors for a file that is not ours.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingFs, nodeFs, type StorageFs } from '../src/storage/fs-layer.js';
import { META_FILE, MetaError, readMeta, writeMeta } from '../src/storage/meta.js';

interface NodeTable {
  clusterId: string;
  nodes: { id: number; host: string; peerPort: number; clientPort: number }[];
}

function parseNodeTable(v: unknown): NodeTable {
  const t = v as NodeTable;
  if (typeof t !== 'object' || t === null || typeof t.clusterId !== 'string' || !Array.isArray(t.nodes)) {
    throw new Error('expected {clusterId, nodes}');
  }
  return t;
}

const TABLE: NodeTable = {
  clusterId: 'c-ü',
  nodes: [1, 2, 3].map(id => ({ id, host: '127.0.0.1', peerPort: 7000 + id, clientPort: 8000 + id })),
};

describe('storage: node metadata', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-meta-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('is null before the first write; reads back what was written; a rewrite replaces it', async () => {
    expect(await readMeta(dir, parseNodeTable)).to.equal(null);
    await writeMeta(dir, TABLE);
    const read: NodeTable | null = await readMeta(dir, parseNodeTable);
    expect(read).to.deep.equal(TABLE);
    await writeMeta(dir, { ...TABLE, nodes: TABLE.nodes.slice(0, 1) });
    expect((await readMeta(dir, parseNodeTable))!.nodes).to.have.length(1);
    expect(readdirSync(dir)).to.deep.equal([META_FILE]);
    expect(JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'))).to.include({ format: 'kvsh-meta', version: 1 });
  });

  it('writes a temporary file, fsyncs it, renames it into place and fsyncs the directory', async () => {
    const calls: string[] = [];
    const { fs: counted, counts } = countingFs();
    const fs: StorageFs = {
      ...counted,
      async open(path, mode) { calls.push(`open ${path.slice(dir.length + 1)} ${mode}`); return counted.open(path, mode); },
      async rename(a, b) { calls.push(`rename ${a.slice(dir.length + 1)} ${b.slice(dir.length + 1)}`); return counted.rename(a, b); },
      async syncDir(p) { calls.push(`syncDir ${p === dir ? '.' : p}`); return counted.syncDir(p); },
    };
    await writeMeta(dir, TABLE, { fs });
    expect(calls).to.deep.equal([`open ${META_FILE}.tmp create`, `rename ${META_FILE}.tmp ${META_FILE}`, 'syncDir .']);
    expect(counts).to.include({ fileSyncs: 1, dirSyncs: 1 });
  });

  it('a crash before the rename leaves the old contents (a stale temporary file is ignored and replaced)', async () => {
    await writeMeta(dir, TABLE);
    writeFileSync(join(dir, `${META_FILE}.tmp`), '{"format": "kvsh-meta", "version": 1, "me');
    expect(await readMeta(dir, parseNodeTable)).to.deep.equal(TABLE);
    const failing: StorageFs = { ...nodeFs, rename: async () => { throw new Error('EIO'); } };
    const err = await writeMeta(dir, { ...TABLE, clusterId: 'new' }, { fs: failing }).then(() => null, (e: Error) => e.message);
    expect(err).to.equal('EIO');
    expect((await readMeta(dir, parseNodeTable))!.clusterId).to.equal(TABLE.clusterId);
    await writeMeta(dir, { ...TABLE, clusterId: 'new' });
    expect((await readMeta(dir, parseNodeTable))!.clusterId).to.equal('new');
    expect(existsSync(join(dir, `${META_FILE}.tmp`))).to.equal(false);
  });

  it('concurrent writes are serialized: the last one wins, whole', async () => {
    await Promise.all([1, 2, 3, 4, 5].map(i => writeMeta(dir, { ...TABLE, clusterId: `c${i}` })));
    expect((await readMeta(dir, parseNodeTable))!.clusterId).to.equal('c5');
  });

  it('refuses values JSON cannot carry, naming the path, before touching the disk', async () => {
    const bad: [unknown, RegExp][] = [
      [{ a: [1, Number.NaN] }, /meta\.a\[1\]: NaN is not a JSON number/],
      [{ a: undefined }, /meta\.a: a undefined is not JSON/],
      [{ when: new Date(0) }, /meta\.when: a Date object is not JSON/],
      [{ n: 1n }, /meta\.n: a bigint is not JSON/],
      [new Map(), /meta: a Map object is not JSON/],
    ];
    for (const [v, msg] of bad) expect(() => writeMeta(dir, v)).to.throw(RangeError, msg);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a file that is not JSON, not our envelope, another version or the wrong shape is an error naming the file', async () => {
    const path = join(dir, META_FILE);
    const cases: [string, RegExp][] = [
      ['{"format": "kvsh-meta", "vers', /not valid JSON/],
      ['[1, 2]', /not a kvsh metadata file/],
      ['{"format": "kvsh-meta", "version": 2, "meta": {}}', /metadata version 2; this build reads version 1/],
      ['{"format": "kvsh-meta", "version": 1}', /no "meta" field/],
      ['{"format": "kvsh-meta", "version": 1, "meta": {"nodes": []}}', /unexpected contents: expected \{clusterId, nodes\}/],
    ];
    for (const [text, msg] of cases) {
      writeFileSync(path, text);
      const err = await readMeta(dir, parseNodeTable).then(() => null, (e: unknown) => e);
      expect(err, text).to.be.instanceOf(MetaError);
      expect((err as Error).message).to.match(msg).and.to.include(`${path}: `);
    }
  });
});
