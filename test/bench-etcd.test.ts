/**
 * The etcd side of bench:etcd (issue 7) against a real etcd, when one is installed: the cluster
 * helper starts 3 members and stops them without leaving a process (also when its parent is
 * killed with kill -9), and the BenchTarget maps put / get / cas onto etcd's answers in both
 * connection modes. No timing is asserted. Without etcd the real-etcd tests skip (one line).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { locateEtcd, startEtcdCluster, type EtcdCluster } from '../src/bench/etcd-cluster.js';
import { EtcdTarget, findEtcdLeader, type EtcdConnectMode } from '../src/bench/etcd-target.js';
import { projectRoot } from './support/paths.js';

const located = locateEtcd();
const installed = 'binary' in located;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bench: etcd cluster helper and target', function () {
  this.timeout(120_000);

  it('says how to install etcd when the binary is missing, and starts nothing', async () => {
    const missing = join(tmpdir(), 'no-such-dir-kvsh', 'etcd');
    const r = await startEtcdCluster({ binary: missing, exitHandlers: false });
    expect(r.kind).to.equal('not-installed');
    if (r.kind === 'not-installed') {
      expect(r.message).to.contain('apt-get install etcd-server');
      expect(r.message).to.contain('skipping');
    }
  });

  describe('against a real etcd', function () {
    let cluster: EtcdCluster | undefined;
    const targets: EtcdTarget[] = [];

    before(async function () {
      if (!installed) {
        console.log(`      ${'missing' in located ? located.missing : 'etcd not installed'}`);
        this.skip();
      }
      const r = await startEtcdCluster({ exitHandlers: false });
      if (r.kind !== 'started') throw new Error(r.message);
      cluster = r.cluster;
    });

    after(async () => {
      for (const t of targets) t.close();
      await cluster?.stop();
    });

    it('starts 3 members that agree on a leader', async () => {
      const c = cluster!;
      expect(c.endpoints).to.have.length(3);
      expect(new Set(c.endpoints).size).to.equal(3);
      expect(c.pids).to.have.length(3);
      for (const pid of c.pids) expect(alive(pid)).to.equal(true);
      const leader = await findEtcdLeader(c.endpoints);
      expect(c.endpoints).to.include(leader);
      expect(await c.leaderEndpoint()).to.equal(leader);
    });

    for (const mode of ['leader', 'spread'] as EtcdConnectMode[]) {
      it(`maps put / get / cas onto etcd's answers (${mode})`, async () => {
        const c = cluster!;
        const t = await EtcdTarget.connect({ endpoints: c.endpoints, mode });
        targets.push(t);
        expect(t.hosts).to.have.length(mode === 'leader' ? 1 : 3);
        if (mode === 'leader') expect(t.hosts[0]).to.equal(await findEtcdLeader(c.endpoints));
        expect(t.name).to.contain(mode === 'leader' ? 'leader only' : 'spread');
        const k = `t-${mode}`;

        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: null });
        // cas of an absent key: expecting a value is a mismatch with current null …
        expect(await t.cas(k, 'x', 'v0')).to.deep.equal({ kind: 'mismatch', current: null });
        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: null });
        // … expecting absence creates it, once.
        expect(await t.cas(k, null, 'v1')).to.deep.equal({ kind: 'ok' });
        expect(await t.cas(k, null, 'v2')).to.deep.equal({ kind: 'mismatch', current: 'v1' });
        expect(await t.cas(k, 'x', 'v2')).to.deep.equal({ kind: 'mismatch', current: 'v1' });
        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: 'v1' });
        expect(await t.cas(k, 'v1', 'v2')).to.deep.equal({ kind: 'ok' });
        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: 'v2' });
        expect(await t.put(k, 'p')).to.deep.equal({ kind: 'ok' });
        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: 'p' });
        // The empty value is a value, not absence.
        expect(await t.put(k, '')).to.deep.equal({ kind: 'ok' });
        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: '' });
        expect(await t.cas(k, null, 'n')).to.deep.equal({ kind: 'mismatch', current: '' });
        expect(await t.cas(k, '', 'e')).to.deep.equal({ kind: 'ok' });
        expect(await t.get(k)).to.deep.equal({ kind: 'ok', value: 'e' });
      });
    }

    it('a read sees a write made through another member (linearizable get)', async () => {
      const c = cluster!;
      const leader = await findEtcdLeader(c.endpoints);
      const follower = c.endpoints.find((e) => e !== leader)!;
      const w = await EtcdTarget.connect({ endpoints: [leader], mode: 'spread' });
      const r = await EtcdTarget.connect({ endpoints: [follower], mode: 'spread' });
      targets.push(w, r);
      for (let i = 0; i < 20; i++) {
        expect(await w.put('lin', `v${i}`)).to.deep.equal({ kind: 'ok' });
        expect(await r.get('lin')).to.deep.equal({ kind: 'ok', value: `v${i}` });
      }
    });

    it('stops every member and removes its directory; then writes are indeterminate and reads errors', async () => {
      const c = cluster!;
      const t = await EtcdTarget.connect({ endpoints: c.endpoints, mode: 'leader', requestTimeoutMs: 1000 });
      targets.push(t);
      expect(await t.put('before-stop', 'x')).to.deep.equal({ kind: 'ok' });
      const pids = c.pids;
      await c.stop();
      await c.stop(); // idempotent
      for (const pid of pids) expect(alive(pid), `etcd pid ${pid}`).to.equal(false);
      expect(c.pids).to.deep.equal([]);
      expect(existsSync(c.dir)).to.equal(false);
      const put = await t.put('after-stop', 'x');
      expect(put.kind).to.equal('indeterminate');
      const cas = await t.cas('after-stop', null, 'x');
      expect(cas.kind).to.equal('indeterminate');
      const get = await t.get('after-stop');
      expect(get.kind).to.equal('error');
    });

    it('leaves no etcd process behind when its parent is killed with kill -9', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kvsh-etcd-parent-'));
      try {
        const script = join(dir, 'parent.mts'); // .mts: ESM without a package.json around it
        const helper = pathToFileURL(join(projectRoot, 'src/bench/etcd-cluster.ts')).href;
        writeFileSync(script, [
          `import { startEtcdCluster } from ${JSON.stringify(helper)};`,
          `const r = await startEtcdCluster({ baseDir: ${JSON.stringify(dir)} });`,
          `if (r.kind !== 'started') { console.log('SKIP'); process.exit(0); }`,
          `console.log('PIDS ' + JSON.stringify(r.cluster.pids));`,
          'setInterval(() => {}, 1000);',
        ].join('\n'));
        const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
        await until('the parent to start etcd', () => /PIDS \[.*\]\n/.test(out) || child.exitCode !== null, 60_000);
        const m = /PIDS (\[.*\])/.exec(out);
        if (!m) throw new Error(`the parent exited (${child.exitCode}) without starting etcd: ${out}`);
        const pids = JSON.parse(m[1]!) as number[];
        expect(pids).to.have.length(3);
        for (const pid of pids) expect(alive(pid)).to.equal(true);
        child.kill('SIGKILL');
        await until('the etcd members to die with their parent', () => pids.every((p) => !alive(p)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
