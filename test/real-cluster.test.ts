/**
 * The seed's scenarios against real kvnode processes over TCP, every history recorded and
 * checked linearizable: basic operations; 5 nodes with concurrent clients on one entry node;
 * clients on several nodes while the leader and then a follower are killed with kill -9.
 * Also: bad input on both ports of a node process, and the Python client written from
 * protocol.md alone (test/third-party).
 */
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { connect, type KvClient } from '../src/client/client.js';
import { formatAddr } from '../src/client/addr.js';
import { HistoryRecorder } from '../src/client/recorder.js';
import { runWorkload, type WorkloadReport } from '../src/client/workload.js';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { checkHistorySync } from '../src/history/check-history.js';
import { parseHistory } from '../src/history/reader.js';
import { HistoryWriter } from '../src/history/writer.js';
import { badInputCases, frameOf, sendRaw } from './support/bad-input.js';
import type { ClusterConfig } from '../src/node/config.js';
import { projectRoot } from './support/paths.js';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 0x7fff_ffff));

/** A history in memory; on a failed check it is written to a file the message names. */
class RecordedHistory {
  readonly lines: string[] = [];
  readonly writer = new HistoryWriter((l) => { this.lines.push(l); });

  check(name: string): void {
    const report = checkHistorySync(parseHistory(this.lines.join('\n')));
    if (report.verdict !== 'LINEARIZABLE') {
      const file = join(tmpdir(), `kvsh-${name}-${SEED}.jsonl`);
      writeFileSync(file, this.lines.join('\n') + '\n');
      expect.fail(`${name}: ${report.verdict} (seed ${SEED}); history in ${file}: npm run kvcheck -- ${file}`);
    }
    console.log(`      ${name}: ${this.lines.length} history events, LINEARIZABLE`);
  }
}

/** Resolves once `count()` reaches `n` (checked after every operation result). */
function until(counter: { n: number; waiters: (() => void)[] }, n: number): Promise<void> {
  if (counter.n >= n) return Promise.resolve();
  return new Promise((resolve) => counter.waiters.push(() => { if (counter.n >= n) resolve(); }));
}

function okCounter() {
  const counter = { n: 0, waiters: [] as (() => void)[] };
  const onResult = (_op: unknown, r: { status: string }): void => {
    if (r.status === 'ok' || r.status === 'mismatch') counter.n++;
    for (const w of [...counter.waiters]) w();
  };
  return { counter, onResult };
}

const configs = new WeakMap<LocalCluster, ClusterConfig>();

async function startTestCluster(nodes: number, dir: string): Promise<LocalCluster> {
  const { file, config } = await writeTestConfig({ nodes, dir, fsync: true });
  const cluster = await startCluster({ configFile: file });
  configs.set(cluster, config);
  await cluster.waitForLeader({ timeoutMs: 20_000 });
  return cluster;
}

describe('real processes: the seed scenarios', function () {
  this.timeout(120_000);
  let dir: string;
  let cluster: LocalCluster | undefined;
  const clients: KvClient[] = [];

  before(() => {
    console.log(`      seed ${SEED} (re-run with SEED=${SEED})`);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-real-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster?.stopAll();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('basic operations (3 nodes)', async () => {
    cluster = await startTestCluster(3, dir);
    const addrs = cluster.nodeIds.map((id) => formatAddr(cluster!.addr(id)));
    const client = connect(addrs);
    clients.push(client);
    const h = new RecordedHistory();
    const p = new HistoryRecorder(client, h.writer).process();
    expect(await p.get('a')).to.deep.equal({ status: 'ok', value: null });
    expect(await p.put('a', '1')).to.deep.equal({ status: 'ok' });
    expect(await p.get('a')).to.deep.equal({ status: 'ok', value: '1' });
    expect(await p.cas('a', '1', '2')).to.deep.equal({ status: 'ok' });
    expect(await p.cas('a', '1', '3')).to.deep.equal({ status: 'mismatch', current: '2' });
    expect(await p.delete('a')).to.deep.equal({ status: 'ok', existed: true });
    expect(await p.get('a')).to.deep.equal({ status: 'ok', value: null });
    h.check('basic');
  });

  it('5 nodes, concurrent clients on one entry node', async () => {
    cluster = await startTestCluster(5, dir);
    const leader = (await cluster.waitForLeader()).leaderId;
    const entry = cluster.nodeIds.find((id) => id !== leader)!;
    const client = connect([formatAddr(cluster.addr(entry))]);
    clients.push(client);
    const h = new RecordedHistory();
    const report = await runWorkload(client, h.writer, { clients: 10, keys: 4, ops: 1500, seed: SEED });
    console.log(`      entry node ${entry} (leader ${leader}): ${summary(report)}`);
    expect(report.invoked).to.equal(1500);
    expect(report.info, 'a healthy cluster answers every operation').to.equal(0);
    h.check('one-entry-node');
  });

  it('clients on several nodes while the leader and then a follower are killed with kill -9', async () => {
    cluster = await startTestCluster(5, dir);
    const c = cluster;
    const h = new RecordedHistory();
    const { counter, onResult } = okCounter();
    const abort = new AbortController();
    // One client per node, each entering through its own node first (retries go elsewhere).
    const runs: Promise<WorkloadReport>[] = c.nodeIds.map((id, i) => {
      const client = connect(c.nodeIds.map((n) => formatAddr(c.addr(n))), { prefer: formatAddr(c.addr(id)), attemptTimeoutMs: 500 });
      clients.push(client);
      return runWorkload(client, h.writer, {
        clients: 3, keys: 4, signal: abort.signal, seed: SEED + i, firstProcess: i * 100_000, onResult,
      });
    });
    await until(counter, 300);
    const first = await c.waitForLeader();
    h.writer.nemesis('kill', { node: first.leaderId });
    await c.kill(first.leaderId);
    const second = await c.waitForLeader({ after: first.ballot, timeoutMs: 20_000 });
    h.writer.leader(second.leaderId);
    const afterLeaderKill = counter.n;
    await until(counter, afterLeaderKill + 300);
    const follower = c.nodeIds.find((id) => id !== first.leaderId && id !== second.leaderId)!;
    h.writer.nemesis('kill', { node: follower });
    await c.kill(follower);
    const afterFollowerKill = counter.n;
    await until(counter, afterFollowerKill + 300);
    abort.abort();
    const reports = await Promise.all(runs);
    console.log(`      killed leader ${first.leaderId}, new leader ${second.leaderId}, killed follower ${follower}`);
    for (const r of reports) console.log(`      ${summary(r)}`);
    h.check('kill-leader-then-follower');
  });
});

describe('real processes: bad input on both ports', function () {
  this.timeout(120_000);
  let dir: string;
  let cluster: LocalCluster;
  let client: KvClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-real-bad-'));
    cluster = await startTestCluster(3, dir);
    client = connect([formatAddr(cluster.addr(2))]);
  });
  after(async () => {
    client?.close();
    await cluster?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers with an error frame or closes, logs it, and keeps serving everyone else', async () => {
    const node = 2;
    const config = configs.get(cluster)!;
    const nodeCfg = config.nodes.find((n) => n.id === node)!;
    let served = 0;
    const steady = async (): Promise<void> => {
      expect(await client.put('steady', String(++served))).to.deep.equal({ status: 'ok' });
    };
    const badLines = (): number => cluster.output(node).filter((l) => l.record?.event === 'bad-input').length;
    await steady();
    let cases = 0;
    for (const port of ['client', 'peer'] as const) {
      for (const c of badInputCases(SEED)) {
        const before = badLines();
        const hello = frameOf({ kind: 'peer-hello', nodeId: 1, clusterId: config.clusterId });
        const chunks = port === 'peer' && c.code !== 'frame-too-large' ? [hello, ...c.chunks] : c.chunks;
        const out = await sendRaw(nodeCfg.host, port === 'client' ? nodeCfg.clientPort : nodeCfg.peerPort, chunks, { endAfter: c.endAfter });
        expect(out.closed, `${port}: ${c.name}: closed`).to.equal(true);
        if (c.code !== null) expect(out.frames.map((f) => (f.kind === 'error' ? f.code : f.kind)), `${port}: ${c.name}`).to.deep.equal([c.code]);
        // The log line is read from the process's output: wait for it (the pipe is asynchronous).
        await waitFor(() => badLines() > before, `${port}: ${c.name}: a bad-input log line`);
        await steady();
        cases++;
      }
    }
    expect(cluster.state(node)).to.equal('running');
    console.log(`      ${cases} bad-input cases, node ${node} still serving (${served} writes)`);
  });
});

describe('real processes: a client written from protocol.md alone (Python 3)', function () {
  this.timeout(120_000);
  const python = spawnSync('python3', ['--version']).status === 0;
  let dir: string;
  let cluster: LocalCluster | undefined;

  before(function () {
    if (!python) {
      console.log('      (python3 not found: the third-party client test is skipped)');
      this.skip();
    }
  });
  after(async () => {
    await cluster?.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('test/third-party/smoke.py: PUT / GET / CAS / DELETE through a non-leader, a retried seq applied once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-real-py-'));
    cluster = await startTestCluster(3, dir);
    const nodes = cluster.nodeIds.map((id) => formatAddr(cluster!.addr(id))).join(',');
    const { code, stdout, stderr } = await run('python3', [join(projectRoot, 'test/third-party/smoke.py'), '--nodes', nodes]);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { check?: string; ok: boolean; summary?: boolean; checks?: number; failed?: unknown[] });
    const failed = lines.filter((l) => !l.ok);
    expect(failed, `failed checks:\n${JSON.stringify(failed, null, 1)}\n${stderr}`).to.deep.equal([]);
    const summaryLine = lines.find((l) => l.summary)!;
    expect(summaryLine.checks).to.be.greaterThan(20);
    const names = lines.map((l) => l.check);
    for (const needed of ['entry-point', 'put', 'get', 'cas-ok', 'cas-mismatch', 'delete', 'dedupe-cas-resend', 'counter-value']) {
      expect(names, needed).to.include(needed);
    }
    expect(code).to.equal(0);
    console.log(`      smoke.py: ${summaryLine.checks} checks passed`);
  });
});

function summary(r: WorkloadReport): string {
  return `seed ${r.seed}: ${r.invoked} ops, ok ${r.ok}, fail ${r.fail}, info ${r.info}, ${Math.round(r.invoked / (r.elapsedMs / 1000))} ops/s`;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
