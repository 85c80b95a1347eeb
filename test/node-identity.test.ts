/**
 * A data directory's identity (src/node/identity.ts): every way a node can forget, and what a
 * start does about it — in the module, and through a real kvnode process (exit 2, the message
 * naming what was found and what to do). Plus the membership rules of src/replica/membership.ts.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fetchStatus } from '../src/client/admin.js';
import { writeTestConfig } from '../src/cluster/ports.js';
import { kvnodeScript } from '../src/cluster/node-command.js';
import { DataDirError, IDENTITY_FILE, inspectDataDir } from '../src/node/identity.js';
import { Membership, NO_INCARNATION } from '../src/replica/membership.js';
import { META_FILE, WAL_FILE } from '../src/storage/index.js';
import { projectRoot } from './support/paths.js';

/** Resolves once the node on `port` answers status as a voter. */
async function untilVoter(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetchStatus({ host: '127.0.0.1', port }).catch(() => null))?.voter !== true) {
    if (Date.now() > deadline) throw new Error(`no voter answered on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const expectRefused = async (p: Promise<unknown>, pattern: RegExp): Promise<void> => {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, 'refused').to.be.instanceOf(DataDirError);
  expect((e as Error).message).to.match(pattern);
};

describe('node identity: the data directory', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-identity-dir-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const expectId = { clusterId: 'c1', nodeId: 2 };

  it('a new directory gets an identity (16 hex digits), durable in identity.json; the next start reads the same one', async () => {
    const first = await inspectDataDir(dir, expectId);
    expect(first.created).to.equal(true);
    expect(first.identity).to.deep.include(expectId);
    expect(first.identity.incarnation).to.match(/^[0-9a-f]{16}$/);
    expect(JSON.parse(readFileSync(join(dir, IDENTITY_FILE), 'utf8')).meta).to.deep.equal(first.identity);
    const again = await inspectDataDir(dir, expectId);
    expect(again).to.deep.equal({ identity: first.identity, created: false });
    const other = mkdtempSync(join(tmpdir(), 'kvsh-identity-dir-'));
    try {
      expect((await inspectDataDir(other, expectId)).identity.incarnation, 'each directory its own').to.not.equal(first.identity.incarnation);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('another cluster\'s or another node\'s directory is refused, naming both', async () => {
    await inspectDataDir(dir, expectId);
    await expectRefused(inspectDataDir(dir, { clusterId: 'c2', nodeId: 2 }), /belongs to cluster "c1", but the config says cluster "c2"/);
    await expectRefused(inspectDataDir(dir, { clusterId: 'c1', nodeId: 3 }), /belongs to node 2, not node 3/);
  });

  it('meta.json without the log (the log was lost) is refused: it could vote twice', async () => {
    await inspectDataDir(dir, expectId);
    writeFileSync(join(dir, META_FILE), '{}');
    await expectRefused(inspectDataDir(dir, expectId), /has meta\.json but its log \(wal\.log\) is missing.*--replace/);
  });

  it('a log or meta.json without identity.json (files lost, or an older kvnode\'s directory) is refused', async () => {
    writeFileSync(join(dir, WAL_FILE), 'x');
    await expectRefused(inspectDataDir(dir, expectId), /has wal\.log but no identity\.json.*--replace/);
    rmSync(join(dir, WAL_FILE));
    writeFileSync(join(dir, META_FILE), '{}');
    await expectRefused(inspectDataDir(dir, expectId), /has meta\.json but no identity\.json/);
    expect(existsSync(join(dir, IDENTITY_FILE)), 'nothing written when refusing').to.equal(false);
  });

  it('a log without meta.json (a crash between creating the log and the table) is kept: the node checks in again', async () => {
    const { identity } = await inspectDataDir(dir, expectId);
    writeFileSync(join(dir, WAL_FILE), 'x');
    expect(await inspectDataDir(dir, expectId)).to.deep.equal({ identity, created: false });
  });

  it('a damaged identity.json is an error naming the file, never a new identity', async () => {
    writeFileSync(join(dir, IDENTITY_FILE), '{"format":"kvsh-meta","version":1,"meta":{"clusterId":"c1","nodeId":2,"incarnation":"nope"}}');
    const e = await inspectDataDir(dir, expectId).then(() => null, (err: unknown) => err as Error);
    expect(e?.message).to.include(IDENTITY_FILE).and.match(/16 hex digits/);
  });
});

describe('node identity: the membership', () => {
  const genesis = [
    { id: 1, incarnation: 'aaaaaaaaaaaaaaaa', voter: true },
    { id: 2, incarnation: NO_INCARNATION, voter: false },
  ];

  it('an id that never joined takes its first incarnation as a voter; a later one needs replace and starts as a learner', () => {
    const m = new Membership(genesis);
    expect(m.isVoter(2, 'bbbbbbbbbbbbbbbb')).to.equal(false);
    m.apply({ kind: 'join', id: 2, incarnation: 'bbbbbbbbbbbbbbbb', replace: false });
    expect(m.isVoter(2, 'bbbbbbbbbbbbbbbb')).to.equal(true);
    m.apply({ kind: 'join', id: 2, incarnation: 'cccccccccccccccc', replace: false });
    expect(m.incarnationOf(2), 'a recorded incarnation is not replaced without replace').to.equal('bbbbbbbbbbbbbbbb');
    m.apply({ kind: 'join', id: 2, incarnation: 'cccccccccccccccc', replace: true });
    expect(m.isVoter(2, 'bbbbbbbbbbbbbbbb'), 'the old one no longer counts').to.equal(false);
    expect(m.isVoter(2, 'cccccccccccccccc'), 'the new one is a learner').to.equal(false);
    m.apply({ kind: 'promote', id: 2, incarnation: 'bbbbbbbbbbbbbbbb' });
    expect(m.isVoter(2, 'bbbbbbbbbbbbbbbb'), 'a stale promote changes nothing').to.equal(false);
    m.apply({ kind: 'promote', id: 2, incarnation: 'cccccccccccccccc' });
    expect(m.isVoter(2, 'cccccccccccccccc')).to.equal(true);
    expect(m.list()).to.deep.equal([genesis[0], { id: 2, incarnation: 'cccccccccccccccc', voter: true }]);
  });

  it('ids outside the membership and empty incarnations are ignored', () => {
    const m = new Membership(genesis);
    m.apply({ kind: 'join', id: 9, incarnation: 'dddddddddddddddd', replace: true });
    m.apply({ kind: 'join', id: 1, incarnation: NO_INCARNATION, replace: true });
    expect(m.list()).to.deep.equal(genesis);
    expect(m.isVoter(2, NO_INCARNATION)).to.equal(false);
  });
});

describe('node identity: kvnode processes', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-identity-cli-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', kvnodeScript, '--log', 'json', ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const r = { child, out: '', err: '', exited: new Promise<number | null>((res) => child.on('exit', (c) => res(c))) };
    child.stdout.on('data', (d: Buffer) => { r.out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { r.err += d.toString(); });
    return r;
  };

  /** A one-node cluster booted once (its directory has an identity, meta.json and a log), then stopped with `signal`. */
  const bootOnce = async (signal: NodeJS.Signals) => {
    const t = await writeTestConfig({ nodes: 1, dir });
    const first = run(['--config', t.file, '--id', '1']);
    try {
      await untilVoter(t.config.nodes[0]!.clientPort);
    } finally {
      first.child.kill(signal);
      await first.exited;
    }
    return { ...t, dataDir: resolve(dirname(t.file), t.config.dataDir, 'node-1') };
  };

  it('a changed clusterId: exit 2 naming both ids; the data directory is left as it was', async () => {
    const { file, config, dataDir } = await bootOnce('SIGTERM');
    const before = readFileSync(join(dataDir, IDENTITY_FILE));
    const changed = join(dir, 'changed.json');
    writeFileSync(changed, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), clusterId: 'another-cluster', dataDir: resolve(dirname(file), config.dataDir) }), { mode: 0o600 });
    const second = run(['--config', changed, '--id', '1']);
    expect(await second.exited).to.equal(2);
    expect(second.err).to.include(`belongs to cluster "${config.clusterId}"`).and.include('the config says cluster "another-cluster"');
    expect(readFileSync(join(dataDir, IDENTITY_FILE)).equals(before)).to.equal(true);
  });

  it('a data directory whose log was deleted: exit 2, the message says to start with --replace', async () => {
    const { file, dataDir } = await bootOnce('SIGKILL');
    rmSync(join(dataDir, WAL_FILE));
    const second = run(['--config', file, '--id', '1']);
    expect(await second.exited).to.equal(2);
    expect(second.err).to.match(/wal\.log\) is missing.*--replace/);
  });
});
