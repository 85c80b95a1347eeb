/**
 * kvnode and the cluster secret, as real processes: no secret → exit 2 with a message naming
 * where to put one; a too-short one → exit 2; --insecure → a warning on stderr and a log line,
 * and it runs; KVSH_CLUSTER_SECRET beats the config's secret (two nodes whose config files
 * disagree form a cluster because the environment gives them the same one).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchStatus } from '../src/client/admin.js';
import { SECRET_ENV } from '../src/node/cluster-secret.js';
import { writeTestConfig } from '../src/cluster/ports.js';
import { kvnodeScript } from '../src/cluster/node-command.js';
import { projectRoot } from './support/paths.js';
import { waitUntil } from './support/raw-peer.js';

interface Run { readonly child: ChildProcess; out: string; err: string; readonly exited: Promise<number | null> }

function kvnode(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const base = { ...process.env };
  delete base[SECRET_ENV];
  const child = spawn(process.execPath, ['--import', 'tsx', kvnodeScript, '--log', 'json', ...args], { cwd: projectRoot, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = {
    child, out: '', err: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (d: Buffer) => { run.out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { run.err += d.toString(); });
  return run;
}

const events = (r: Run): Record<string, unknown>[] => r.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('kvnode: cluster secret and --insecure (processes)', function () {
  this.timeout(60_000);
  let dir: string;
  const running: Run[] = [];
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-secret-cli-')); });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('no secret anywhere: exit 2, the message says where to set one and mentions --insecure', async () => {
    const { file } = await writeTestConfig({ nodes: 1, dir, secret: null });
    const r = kvnode(['--config', file, '--id', '1']);
    expect(await r.exited).to.equal(2);
    expect(r.err).to.include('no cluster secret').and.include(SECRET_ENV).and.include('secretFile').and.include('--insecure').and.include('at least 16 characters');
  });

  it('a secret under 16 characters (environment): exit 2 naming the minimum, the secret not echoed', async () => {
    const { file } = await writeTestConfig({ nodes: 1, dir, secret: null });
    const r = kvnode(['--config', file, '--id', '1'], { [SECRET_ENV]: 'tiny-secret' });
    expect(await r.exited).to.equal(2);
    expect(r.err).to.include('at least 16 characters').and.not.include('tiny-secret');
  });

  it('--insecure: a warning on stderr and a log line, and the node runs and serves status', async () => {
    const { file, config } = await writeTestConfig({ nodes: 1, dir, secret: null });
    const r = kvnode(['--config', file, '--id', '1', '--insecure']);
    running.push(r);
    await waitUntil(() => events(r).some((e) => e['event'] === 'listening'), `"listening" (stderr: ${r.err})`, 30_000);
    expect(r.err).to.include('WARNING').and.include('not authenticated');
    expect(events(r).find((e) => e['event'] === 'insecure')).to.include({ level: 'warn' });
    expect(events(r).find((e) => e['event'] === 'listening')).to.include({ peerAuth: 'off (INSECURE)' });
    const n = config.nodes[0]!;
    const s = await fetchStatus({ host: n.host, port: n.clientPort }, { timeoutMs: 5000 });
    expect(s.nodeId).to.equal(1);
  });

  it('--insecure together with a secret is a contradiction: exit 2', async () => {
    const { file } = await writeTestConfig({ nodes: 1, dir });
    const r = kvnode(['--config', file, '--id', '1', '--insecure']);
    expect(await r.exited).to.equal(2);
    expect(r.err).to.include('--insecure');
  });

  it('the environment beats the config: nodes whose configs hold different secrets link when KVSH_CLUSTER_SECRET agrees', async () => {
    const { config } = await writeTestConfig({ nodes: 2, dir, bootThreshold: 2, secret: 'secret in config A, 1' });
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify({ ...config, secret: 'secret in config A, 1' }));
    writeFileSync(b, JSON.stringify({ ...config, secret: 'secret in config B, 2' }));
    const shared = { [SECRET_ENV]: 'the secret both get from the environment' };
    // First without the environment on node 2: the configs disagree, so no link.
    const n1 = kvnode(['--config', a, '--id', '1'], shared);
    const n2 = kvnode(['--config', b, '--id', '2']);
    running.push(n1, n2);
    await waitUntil(() => events(n2).some((e) => e['event'] === 'auth-failed'), `node 2 auth-failed (${n2.out.slice(-500)})`, 30_000);
    expect(events(n1).find((e) => e['event'] === 'peer-auth')).to.include({ secretFrom: 'environment' });
    expect(events(n2).find((e) => e['event'] === 'peer-auth')).to.include({ secretFrom: 'config' });
    n2.child.kill('SIGKILL');
    await n2.exited;
    // Node 2 again, now with the environment: it boots.
    const n2b = kvnode(['--config', b, '--id', '2'], shared);
    running.push(n2b);
    await waitUntil(() => events(n2b).some((e) => e['event'] === 'booted'), `node 2 booted (${n2b.out.slice(-500)})`, 30_000);
    expect(events(n2b).filter((e) => e['event'] === 'auth-failed')).to.deep.equal([]);
  });
});
