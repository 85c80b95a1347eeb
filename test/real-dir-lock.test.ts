/**
 * One owner per data directory, with real processes (issue: a second kvnode on a live node's
 * directory damaged its log; a second `kvsh --start` rewrote the running cluster's effective
 * config, so its restarted nodes dialed dead relay ports).
 *
 *  1. A second kvnode on a live node's directory — other ports, or the very same config — exits
 *     2 naming the live node's pid, and every file in that directory is byte-for-byte unchanged.
 *  2. kill -9, then restart on the same directory: the node takes the lock over and serves.
 *  3. A second cluster manager on a running cluster's data directory (`kvsh --start`,
 *     `npm run cluster`, with --fresh too) exits 2 naming the first manager's pid and writes
 *     nothing: the first can still kill and restart every node, elect a leader and serve a put.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import {
  EFFECTIVE_CONFIG_FILE, freePorts, kvnodeCommand, startCluster, writeTestConfig, type LocalCluster,
} from '../src/cluster/index.js';
import { connect, type KvClient } from '../src/client/index.js';
import { LOCK_FILE } from '../src/storage/dir-lock.js';
import { META_FILE, WAL_FILE } from '../src/storage/index.js';
import { runKvsh, TSX } from './support/kvsh-process.js';
import { projectRoot } from './support/paths.js';

/** sha256 of every file under `dir`, by relative path. */
function hashTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, hashTree(path, `${prefix}${name}/`));
    else out[prefix + name] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

interface Outcome { code: number | null; signal: NodeJS.Signals | null; stderr: string; listened: boolean }

/**
 * Runs a process until it exits; one that logs "listening" instead (it ran beside the owner: the
 * bug) is killed at once and reported as such.
 */
function runUntilExitOrListening(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((done, fail) => {
    const p = spawn(command, [...args], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    let listened = false;
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    createInterface({ input: p.stdout }).on('line', (line) => {
      if (line.includes('"event":"listening"') && !listened) {
        listened = true;
        p.kill('SIGKILL');
      }
    });
    p.on('error', fail);
    p.on('close', (code, signal) => done({ code, signal, stderr, listened }));
  });
}

describe('one owner per data directory (real processes)', function () {
  this.timeout(180_000);
  let dir: string;
  let cluster: LocalCluster | undefined;
  const clients: KvClient[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-real-lock-'));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster?.stopAll();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function client(c: LocalCluster): KvClient {
    const kv = connect(c.nodeIds.map((id) => c.addr(id)));
    clients.push(kv);
    return kv;
  }

  it('a second kvnode on a live node\'s directory exits 2 naming its pid, and leaves every file of it as it was', async () => {
    // One node: it stays leader and, idle, writes nothing, so its files must not change at all.
    const { file, config } = await writeTestConfig({ nodes: 1, dir, fsync: true });
    const c = await startCluster({ configFile: file, fsync: true });
    cluster = c;
    await c.waitForLeader();
    const kv = client(c);
    for (let i = 0; i < 20; i++) expect((await kv.put(`k${i}`, `v${i}`)).status).to.equal('ok');
    const nodeDir = c.nodeDataDir(1);
    // The decided index of the last put is written after its reply, with nothing to wait on:
    // poll until the files have not changed for a second (a slow disk on a loaded machine only
    // makes this wait longer; what follows needs the node idle, not a deadline).
    let before = hashTree(nodeDir);
    for (let stableSince = Date.now(), deadline = Date.now() + 30_000; Date.now() - stableSince < 1000;) {
      await new Promise((r) => setTimeout(r, 100));
      const now = hashTree(nodeDir);
      if (JSON.stringify(now) !== JSON.stringify(before)) {
        before = now;
        stableSince = Date.now();
      }
      if (Date.now() > deadline) expect.fail('the idle node\'s files kept changing for 30 s');
    }
    expect(Object.keys(before)).to.include.members([LOCK_FILE, META_FILE, WAL_FILE]);

    // The same node on other ports (the config of a careless copy), and with the very same config.
    const [peerPort, clientPort] = await freePorts(2);
    const other = join(dir, 'other.config.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { peerPort: number; clientPort: number }[] };
    json.nodes[0] = { ...json.nodes[0]!, peerPort: peerPort!, clientPort: clientPort! };
    writeFileSync(other, JSON.stringify(json), { mode: 0o600 });
    const pid = c.pid(1)!;
    for (const configFile of [other, file]) {
      const spec = kvnodeCommand({ id: 1, configFile, fsync: true });
      const second = await runUntilExitOrListening(spec.command, spec.args);
      expect(second.listened, `a second kvnode (${configFile}) ran beside the first:\n${second.stderr}`).to.equal(false);
      expect(second.code, second.stderr).to.equal(2);
      expect(second.stderr).to.include(
        `kvnode 1: cannot start: node 1's data directory ${nodeDir} is in use by process ${pid} (lock file ${join(nodeDir, LOCK_FILE)}); stop that process first`);
      expect(hashTree(nodeDir), `after the second kvnode with ${configFile}`).to.deep.equal(before);
    }
    expect(config.dataDir).to.equal(join(dir, 'data'));

    // The owner never noticed.
    expect(c.state(1)).to.equal('running');
    expect(await kv.get('k19')).to.deep.equal({ status: 'ok', value: 'v19' });
  });

  it('kill -9, then a restart on the same directory takes the lock over and serves', async () => {
    const { file } = await writeTestConfig({ nodes: 3, dir, fsync: true });
    const c = await startCluster({ configFile: file, fsync: true });
    cluster = c;
    await c.waitForLeader();
    const kv = client(c);
    expect((await kv.put('a', '1')).status).to.equal('ok');

    const lockFile = join(c.nodeDataDir(2), LOCK_FILE);
    const killedPid = c.pid(2)!;
    await c.kill(2);
    expect((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid, 'the killed node\'s lock is left behind').to.equal(killedPid);
    await c.restart(2);
    expect(c.state(2)).to.equal('running');
    expect((JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number }).pid).to.equal(c.pid(2));

    // It serves: the only running nodes are 2 and one other, so every write needs node 2.
    const other = c.nodeIds.find((id) => id !== 2)!;
    await c.kill(c.nodeIds.find((id) => id !== 2 && id !== other)!);
    await c.waitForLeader();
    expect((await kv.put('b', '2')).status).to.equal('ok');
    expect(await kv.get('a')).to.deep.equal({ status: 'ok', value: '1' });
  });

  it('a second manager (kvsh --start, npm run cluster, with --fresh too) exits 2 naming the first and writes nothing; the first still restarts its nodes', async () => {
    const { file, config } = await writeTestConfig({ nodes: 3, dir });
    // Relays, as kvsh --start runs it: the effective config holds the routes to this manager's relays.
    const c = await startCluster({ configFile: file, relays: true });
    cluster = c;
    await c.waitForLeader();
    const effective = join(config.dataDir, EFFECTIVE_CONFIG_FILE);
    const effectiveBefore = readFileSync(effective);
    const topBefore = readdirSync(config.dataDir).sort();
    const held = `the cluster data directory ${config.dataDir} is in use by process ${process.pid} (lock file ${join(config.dataDir, LOCK_FILE)}); stop that process first`;

    for (const args of [['--start', file, '-e', 'status'], ['--start', file, '--fresh', '-e', 'status']]) {
      const r = await runKvsh(args, { cwd: dir });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.include(`kvsh: ${held}`);
    }
    const npmCluster = await runUntilExitOrListening(process.execPath, ['--import', TSX, resolve(projectRoot, 'cli', 'cluster.ts'), '--config', file, '--relays']);
    expect(npmCluster.code, npmCluster.stderr).to.equal(2);
    expect(npmCluster.stderr).to.include(held);

    expect(readFileSync(effective).equals(effectiveBefore), 'cluster.effective.json was rewritten').to.equal(true);
    expect(readdirSync(config.dataDir).sort()).to.deep.equal(topBefore);
    for (const id of c.nodeIds) expect(readdirSync(c.nodeDataDir(id))).to.include.members([META_FILE, WAL_FILE]);

    // The case of the issue: every node killed and restarted reads the effective config again.
    for (const id of c.nodeIds) await c.kill(id);
    for (const id of c.nodeIds) await c.restart(id);
    await c.waitForLeader({ timeoutMs: 30_000 });
    const kv = client(c);
    expect((await kv.put('after', 'restart')).status).to.equal('ok');
    expect(await kv.get('after')).to.deep.equal({ status: 'ok', value: 'restart' });
  });
});
