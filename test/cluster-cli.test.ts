/**
 * `npm run cluster` (cli/cluster.ts) end to end with the real kvnode: the table and leader line,
 * a clean stop on SIGINT with exit status 0, and exit status 2 for bad input.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { writeTestConfig } from '../src/cluster/index.js';
import { projectRoot } from './support/paths.js';

const cli = resolve(projectRoot, 'cli', 'cluster.ts');

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  // One reader for the whole run; waiters look at every line as it arrives.
  const waiters = new Set<(l: string) => void>();
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters) w(l);
  });
  const waitLine = (pred: (l: string) => boolean) => new Promise<string>((ok, fail) => {
    const found = lines.find(pred);
    if (found !== undefined) return ok(found);
    const w = (l: string) => {
      if (pred(l)) {
        waiters.delete(w);
        ok(l);
      }
    };
    waiters.add(w);
    void exited.then((code) => fail(new Error(`cluster exited (${code}) first; stderr:\n${stderr}\nstdout:\n${lines.join('\n')}`)));
  });
  return { child, lines, exited, waitLine, stderr: () => stderr };
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('cluster CLI', function () {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-cluster-cli-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a cluster, prints the nodes and the leader, and stops it on SIGINT with status 0', async () => {
    const { file } = await writeTestConfig({ nodes: 3, dir });
    const run = runCli(['--config', file, '--fresh', '--fsync', 'off']);
    try {
      await run.waitLine((l) => l.includes('Ctrl-C stops the cluster'));
      const leaderLine = run.lines.find((l) => l.startsWith('leader: node '));
      expect(leaderLine).to.match(/^leader: node [123] \(ballot \d+\.\d+\.[123]\)$/);
      const header = run.lines.findIndex((l) => /^id\s+pid\s+client\s+state\s+role$/.test(l));
      expect(header).to.be.at.least(0);
      const rows = run.lines.slice(header + 1, header + 4).map((l) => l.split(/\s+/));
      expect(rows.map((r) => r[0])).to.deep.equal(['1', '2', '3']);
      expect(rows.every((r) => r[3] === 'running')).to.equal(true);
      const pids = rows.map((r) => Number(r[1]));
      for (const pid of pids) expect(gone(pid)).to.equal(false);

      run.child.kill('SIGINT');
      expect(await run.exited).to.equal(0);
      expect(run.lines).to.include('stopped');
      for (const pid of pids) expect(gone(pid), `node pid ${pid}`).to.equal(true);
    } finally {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });

  it('exits 2 on a bad config or bad arguments', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ clusterId: 'x' }));
    const a = runCli(['--config', bad]);
    expect(await a.exited).to.equal(2);
    expect(a.stderr()).to.include('bad.json');
    const b = runCli(['--nodes', 'one']);
    expect(await b.exited).to.equal(2);
    expect(b.stderr()).to.include('--nodes');
  });
});
