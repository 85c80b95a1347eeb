/**
 * The kvsh command line against a running 3-node cluster (`--nodes`): `-e`, `-f`, commands on a
 * piped stdin, `--json` (one object per result), exit statuses, and an unknown outcome shown as
 * `?` (indeterminate), not as an error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { formatAddr } from '../src/client/addr.js';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { runKvsh } from './support/kvsh-process.js';

describe('kvsh CLI (scripts, pipes, --json, exit status)', function () {
  this.timeout(120_000);
  let dir: string;
  let cluster: LocalCluster;
  let nodes: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-cli-'));
    const cfg = await writeTestConfig({ nodes: 3, dir });
    cluster = await startCluster({ configFile: cfg.file, fresh: true });
    await cluster.waitForLeader();
    nodes = cluster.nodeIds.map((id) => formatAddr(cluster.addr(id))).join(',');
  });

  after(async () => {
    await cluster?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('-e runs ; separated commands and prints redis-cli style results', async () => {
    const r = await runKvsh(['--nodes', nodes, '-e', 'put a 1; get a; cas a 1 2; cas a 1 3; delete a; get a; cas a nil x'], { cwd: dir });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.deep.equal(['OK', '"1"', 'OK', 'MISMATCH: current value is "2"', 'OK (deleted)', '(nil)', 'OK']);
  });

  it('reads commands from a piped stdin and prints one JSON object per result with --json', async () => {
    const r = await runKvsh(['--nodes', nodes, '--json'], { cwd: dir, input: 'put j "two words"\nget j # a comment\nget missing\nleader\n' });
    expect(r.code, r.stderr).to.equal(0);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out).to.have.length(4);
    expect(out[0]).to.include({ command: 'put', key: 'j', status: 'ok' });
    expect(out[1]).to.include({ command: 'get', key: 'j', status: 'ok', value: 'two words' });
    expect(out[2]).to.include({ command: 'get', key: 'missing', status: 'ok', value: null });
    expect(out[3].command).to.equal('leader');
    expect(cluster.nodeIds).to.include(out[3].leader);
  });

  it('-f runs a file; a failing command makes the exit status 1 and says where it was', async () => {
    const file = join(dir, 'script.kvsh');
    writeFileSync(file, 'put f 1\nbogus command\nget\nget f\n');
    const r = await runKvsh(['--nodes', nodes, '-f', file], { cwd: dir });
    expect(r.code).to.equal(1);
    expect(r.stdout.trim().split('\n')).to.deep.equal(['OK', '"1"']);
    expect(r.stderr).to.contain(`${file}:2: bogus: unknown command`);
    expect(r.stderr).to.contain(`${file}:3: get: an argument is missing (usage: get <key>)`);
  });

  it('--json reports errors as objects too, in order', async () => {
    const r = await runKvsh(['--nodes', nodes, '--json', '-e', 'get; put z 1'], { cwd: dir });
    expect(r.code).to.equal(1);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out[0].error).to.contain('an argument is missing');
    expect(out[1]).to.include({ command: 'put', status: 'ok' });
  });

  it('bad arguments exit 2 with a message', async () => {
    const none = await runKvsh([], { cwd: dir, env: { KVSH_NODES: '' } });
    expect(none.code).to.equal(2);
    expect(none.stderr).to.contain('--start');
    const bad = await runKvsh(['--nodes', 'nonsense', '-e', 'get a'], { cwd: dir });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--nodes');
  });

  it('fault commands need the local cluster kvsh started and say so', async () => {
    const r = await runKvsh(['--nodes', nodes, '-e', 'kill 1'], { cwd: dir });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('needs the local cluster kvsh started');
    expect(cluster.state(1)).to.equal('running');
  });

  it('an operation without a quorum is shown as ? (indeterminate), exit status 0', async () => {
    const [a, b, c] = cluster.nodeIds as [number, number, number];
    await cluster.kill(b);
    await cluster.kill(c);
    try {
      const r = await runKvsh(['--nodes', formatAddr(cluster.addr(a)), '--timeout', '1500', '-e', 'put q 1'], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^\? indeterminate/);
      expect(r.stderr).not.to.contain('error');
    } finally {
      await cluster.start(b);
      await cluster.start(c);
      await cluster.waitForLeader();
    }
  });
});
