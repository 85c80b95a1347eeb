/**
 * kvbench: the closed loop against an in-memory fake target (counts add up, cas reads then
 * writes, pre-population, seeds, the window ends), the report's formatting, the failover
 * analysis on a made-up timeline, and the CLI as a child process — against a healthy 3-node
 * cluster the test starts (--nodes), and a failover drill on a cluster kvbench starts itself.
 * Nothing about time or speed is asserted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { formatAddr } from '../src/client/addr.js';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { CompletionTimeline } from '../src/bench/failover.js';
import { keyNames, populate, runLoop, valuePool, type LoopResult } from '../src/bench/loop.js';
import {
  compareRuns, comparisonRecord, formatFailover, formatMs, formatRate, formatRunTable, formatSideBySide, runJsonLine,
} from '../src/bench/report.js';
import { outcomeOf } from '../src/bench/kvsh-target.js';
import type { BenchOutcome, BenchTarget } from '../src/bench/target.js';
import { projectRoot } from './support/paths.js';
import { TSX } from './support/kvsh-process.js';

/** An in-memory store behind the bench interface; every answer comes a macrotask later. */
class FakeTarget implements BenchTarget {
  readonly name = 'fake';
  readonly data = new Map<string, string>();
  readonly log: { op: 'get' | 'put' | 'cas'; key: string; expected?: string | null; value?: string; answer: BenchOutcome }[] = [];
  calls = 0;
  closed = false;
  /** Every `failEvery`-th call answers `failWith` instead (0: never). */
  constructor(private readonly failEvery = 0, private readonly failWith: 'error' | 'indeterminate' = 'error', readonly keepLog = true) {}

  private async answer(op: 'get' | 'put' | 'cas', key: string, f: () => BenchOutcome, extra: { expected?: string | null; value?: string } = {}): Promise<BenchOutcome> {
    await new Promise<void>((ok) => setImmediate(ok));
    this.calls++;
    const a: BenchOutcome = this.failEvery > 0 && this.calls % this.failEvery === 0
      ? (this.failWith === 'error' ? { kind: 'error', reason: 'planted error' } : { kind: 'indeterminate', reason: 'planted timeout' })
      : f();
    if (this.keepLog) this.log.push({ op, key, ...extra, answer: a });
    return a;
  }

  put(key: string, value: string): Promise<BenchOutcome> {
    return this.answer('put', key, () => {
      this.data.set(key, value);
      return { kind: 'ok' };
    }, { value });
  }

  get(key: string): Promise<BenchOutcome> {
    return this.answer('get', key, () => ({ kind: 'ok', value: this.data.get(key) ?? null }));
  }

  cas(key: string, expected: string | null, value: string): Promise<BenchOutcome> {
    return this.answer('cas', key, () => {
      const cur = this.data.get(key) ?? null;
      if (cur !== expected) return { kind: 'mismatch', current: cur };
      this.data.set(key, value);
      return { kind: 'ok' };
    }, { expected, value });
  }

  close(): void {
    this.closed = true;
  }
}

const base = { durationMs: 150, warmupMs: 50, keys: 20, valueSize: 8, seed: 7 } as const;

function expectConsistent(r: LoopResult): void {
  expect(r.ok + r.mismatch + r.errors + r.indeterminate).to.equal(r.ops);
  expect(r.opsPerSec).to.be.at.least(0);
  if (r.ops > 0) {
    expect(r.latencyMs.p50).to.be.at.most(r.latencyMs.p90);
    expect(r.latencyMs.p90).to.be.at.most(r.latencyMs.p99);
    expect(r.latencyMs.p99).to.be.at.most(r.latencyMs.max);
  }
}

describe('kvbench loop (fake target)', () => {
  it('put: every call is a put, and the counts add up', async () => {
    const t = new FakeTarget();
    const r = await runLoop(t, { ...base, workload: 'put', concurrency: 8 });
    expectConsistent(r);
    expect(r.ops).to.be.greaterThan(0);
    expect(r.ok).to.equal(r.ops);
    expect(r.calls).to.deep.equal({ get: 0, put: r.ops, cas: 0 });
    expect(t.log.every((e) => e.op === 'put')).to.equal(true);
    // Nothing pre-populated for put: every call was a measured or warm-up operation.
    expect(t.log.length).to.equal(r.ops + r.warmupOps);
    expect(r.durationMs).to.equal(150);
    expect(r.target).to.equal('fake');
    expect(t.closed).to.equal(false);
    const keys = new Set(keyNames(20));
    const values = new Set(valuePool(8, 7));
    expect(t.log.every((e) => keys.has(e.key) && values.has(e.value!) && e.value!.length === 8)).to.equal(true);
  });

  it('get: keys are pre-populated first, so every read finds a value', async () => {
    const t = new FakeTarget();
    const r = await runLoop(t, { ...base, workload: 'get', concurrency: 4 });
    expectConsistent(r);
    const puts = t.log.filter((e) => e.op === 'put');
    expect(puts).to.have.length(20);
    expect(t.log.slice(0, 20).every((e) => e.op === 'put')).to.equal(true);
    const gets = t.log.slice(20);
    expect(gets.every((e) => e.op === 'get')).to.equal(true);
    expect(gets.every((e) => e.answer.kind === 'ok' && typeof e.answer.value === 'string')).to.equal(true);
    expect(gets.length).to.equal(r.ops + r.warmupOps);
    expect(r.calls).to.deep.equal({ get: r.ops, put: 0, cas: 0 });
  });

  it('mixed: both gets and puts, one call per operation', async () => {
    const t = new FakeTarget();
    const r = await runLoop(t, { ...base, workload: 'mixed', concurrency: 8 });
    expectConsistent(r);
    expect(r.calls.get + r.calls.put).to.equal(r.ops);
    expect(r.calls.cas).to.equal(0);
    expect(r.calls.get).to.be.greaterThan(0);
    expect(r.calls.put).to.be.greaterThan(0);
  });

  it('cas with one client: each operation reads the key, then cas-es from the value read to another value', async () => {
    const t = new FakeTarget();
    const r = await runLoop(t, { ...base, workload: 'cas', concurrency: 1 });
    expectConsistent(r);
    const ops = t.log.slice(20); // after the pre-population
    expect(ops.length % 2).to.equal(0);
    const bad: string[] = [];
    for (let i = 0; i < ops.length; i += 2) {
      const read = ops[i]!;
      const cas = ops[i + 1]!;
      const ok = read.op === 'get' && cas.op === 'cas' && cas.key === read.key && read.answer.kind === 'ok'
        && cas.expected === read.answer.value && cas.value !== cas.expected
        && cas.answer.kind === 'ok'; // alone, nobody changes the key in between
      if (!ok) bad.push(JSON.stringify([read, cas]));
    }
    expect(bad).to.deep.equal([]);
    expect(r.mismatch).to.equal(0);
    expect(r.calls.get).to.equal(r.ops);
    expect(r.calls.cas).to.equal(r.ops);
  });

  it('cas with many clients on few keys: mismatches are counted as such, not as errors', async () => {
    const t = new FakeTarget();
    const r = await runLoop(t, { ...base, keys: 2, workload: 'cas', concurrency: 16 });
    expectConsistent(r);
    expect(r.errors).to.equal(0);
    expect(r.mismatch).to.be.greaterThan(0);
    expect(r.calls.cas).to.equal(r.ops);
  });

  it('errors and indeterminate answers are counted, with the first reason', async () => {
    const e = new FakeTarget(5, 'error');
    const re = await runLoop(e, { ...base, workload: 'put', concurrency: 4 });
    expectConsistent(re);
    expect(re.errors).to.be.greaterThan(0);
    expect(re.firstError).to.equal('planted error');
    expect(re.indeterminate).to.equal(0);

    const i = new FakeTarget(5, 'indeterminate');
    const ri = await runLoop(i, { ...base, workload: 'mixed', concurrency: 4, prepopulate: false });
    expectConsistent(ri);
    expect(ri.indeterminate).to.be.greaterThan(0);
    expect(ri.firstIndeterminate).to.equal('planted timeout');
  });

  it('a cas whose read fails sends no cas and counts the read\'s outcome', async () => {
    const t = new FakeTarget(3, 'indeterminate');
    const r = await runLoop(t, { ...base, workload: 'cas', concurrency: 2, prepopulate: false });
    expectConsistent(r);
    expect(r.calls.get).to.equal(r.ops);
    expect(r.calls.cas).to.be.lessThan(r.calls.get);
  });

  it('a failed pre-population throws instead of measuring missing keys', async () => {
    const t = new FakeTarget(1, 'error');
    let thrown: unknown;
    try {
      await runLoop(t, { ...base, workload: 'get', concurrency: 2 });
    } catch (e) {
      thrown = e;
    }
    expect((thrown as Error).message).to.match(/pre-populating 20 keys: 20 puts did not succeed; first: error: planted error/);
    await populate(new FakeTarget(), { keys: 5, valueSize: 3, seed: 1 }); // and a healthy one does not
  });

  it('the same seed draws the same keys and values; another seed others', async () => {
    const draw = async (seed: number): Promise<string[]> => {
      const t = new FakeTarget();
      await runLoop(t, { ...base, seed, keys: 1000, workload: 'put', concurrency: 1 });
      return t.log.map((e) => `${e.key}=${e.value}`);
    };
    const [a, b, c] = [await draw(42), await draw(42), await draw(43)];
    const n = Math.min(a.length, b.length, c.length);
    expect(n).to.be.greaterThan(5);
    expect(a.slice(0, n)).to.deep.equal(b.slice(0, n));
    expect(a.slice(0, n)).to.not.deep.equal(c.slice(0, n));
  });

  it('an abort ends the run early; onStart and onComplete see the window', async () => {
    const t = new FakeTarget(0, 'error', false);
    const ac = new AbortController();
    let window: { measureFromMs: number; endMs: number } | undefined;
    let seen = 0;
    let measured = 0;
    const r = await runLoop(t, {
      ...base, durationMs: 600_000, warmupMs: 0, workload: 'put', concurrency: 4, signal: ac.signal,
      onStart: (w) => {
        window = w;
        setTimeout(() => ac.abort(), 100);
      },
      onComplete: (_call, _outcome, start) => {
        seen++;
        if (start >= window!.measureFromMs) measured++;
      },
    });
    expectConsistent(r);
    expect(r.durationMs).to.be.lessThan(600_000);
    expect(seen).to.equal(t.calls);
    expect(measured).to.equal(r.ops);
  });

  it('refuses bad options', async () => {
    const t = new FakeTarget();
    for (const bad of [{ concurrency: 0 }, { keys: 0 }, { durationMs: 0 }, { valueSize: -1 }, { workload: 'scan' }, { warmupMs: -1 }]) {
      let thrown = false;
      try {
        await runLoop(t, { ...base, workload: 'put', concurrency: 1, ...bad } as never);
      } catch {
        thrown = true;
      }
      expect(thrown, JSON.stringify(bad)).to.equal(true);
    }
  });

  it('value pools: distinct values of the asked size', () => {
    const v = valuePool(16, 3);
    expect(v.length).to.be.greaterThan(1);
    expect(new Set(v).size).to.equal(v.length);
    expect(v.every((x) => x.length === 16)).to.equal(true);
    expect(valuePool(0, 3)).to.deep.equal(['']);
    expect(valuePool(1, 3).every((x) => x.length === 1)).to.equal(true);
  });

  it('the kvsh target maps client results: rejected is an error, a get keeps its value', () => {
    expect(outcomeOf({ status: 'ok' })).to.deep.equal({ kind: 'ok' });
    expect(outcomeOf({ status: 'ok', value: null })).to.deep.equal({ kind: 'ok', value: null });
    expect(outcomeOf({ status: 'ok', value: 'x' })).to.deep.equal({ kind: 'ok', value: 'x' });
    expect(outcomeOf({ status: 'mismatch', current: 'y' })).to.deep.equal({ kind: 'mismatch', current: 'y' });
    expect(outcomeOf({ status: 'indeterminate', reason: 'r' })).to.deep.equal({ kind: 'indeterminate', reason: 'r' });
    expect(outcomeOf({ status: 'rejected', reason: 'r' })).to.deep.equal({ kind: 'error', reason: 'rejected: r' });
  });
});

function result(over: Partial<LoopResult> = {}): LoopResult {
  return {
    target: 'kvsh (3 nodes)', workload: 'put', concurrency: 64, keys: 1000, valueSize: 16, seed: 1, warmupMs: 1000,
    durationMs: 5000, ops: 50_000, opsPerSec: 9_876.4, latencyMs: { p50: 0.4123, p90: 3.75, p99: 41.25, max: 1234.5, mean: 2 },
    ok: 49_990, mismatch: 0, errors: 4, indeterminate: 6, calls: { get: 0, put: 50_000, cas: 0 }, warmupOps: 9000, drainMs: 3, cpuPercent: 61.4,
    ...over,
  };
}

describe('kvbench report', () => {
  it('formats rates and milliseconds', () => {
    expect(formatRate(1234.6)).to.equal('1,235');
    expect(formatRate(NaN)).to.equal('-');
    expect(formatMs(0.4123)).to.equal('0.412');
    expect(formatMs(3.754)).to.equal('3.75');
    expect(formatMs(41.25)).to.equal('41.3');
    expect(formatMs(123.4)).to.equal('123');
    expect(formatMs(1234.5)).to.equal('1,235');
    expect(formatMs(NaN)).to.equal('-');
  });

  it('a table with one row per run', () => {
    const text = formatRunTable([result(), result({ workload: 'get', concurrency: 1, opsPerSec: 1500, errors: 0, indeterminate: 0 })]);
    const lines = text.split('\n');
    expect(lines).to.have.length(4);
    expect(lines[0]).to.match(/^target\s+workload\s+C\s+ops\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+max ms\s+ops\s+mismatch\s+errors\s+indet\.\s+bench CPU$/);
    expect(lines[1]).to.match(/^-+( +-+)+$/);
    expect(lines[2]!.split(/\s{2,}/)).to.deep.equal(['kvsh (3 nodes)', 'put', '64', '9,876', '0.412', '3.75', '41.3', '1,235', '50,000', '0', '4', '6', '61%']);
    expect(lines[3]).to.match(/get\s+1\s+1,500/);
    // Columns line up: every line as long as the header's rule (trailing spaces trimmed).
    expect(lines[2]!.length).to.equal(lines[1]!.length);
  });

  it('one JSON line per run, NaN as null', () => {
    const rec = JSON.parse(runJsonLine(result({ latencyMs: { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN }, ops: 0 }), { nodes: 3 })) as Record<string, unknown>;
    expect(rec).to.include({ type: 'run', target: 'kvsh (3 nodes)', workload: 'put', concurrency: 64, opsPerSec: 9876.4, p99Ms: null, errors: 4, nodes: 3 });
    const full = JSON.parse(runJsonLine(result())) as Record<string, unknown>;
    expect(full).to.include({ p50Ms: 0.412, p99Ms: 41.25, maxMs: 1234.5, indeterminate: 6 });
  });

  it('side by side with ratios ours / theirs, unmatched runs kept', () => {
    const ours = [result({ opsPerSec: 2000 }), result({ workload: 'get', opsPerSec: 900 })];
    const theirs = [
      result({ target: 'etcd', opsPerSec: 1000, latencyMs: { p50: 1, p90: 2, p99: 82.5, max: 90, mean: 1 } }),
      result({ target: 'etcd', workload: 'cas', opsPerSec: 100 }),
    ];
    const cmp = compareRuns(ours, theirs);
    expect(cmp.map((c) => `${c.workload}/${c.concurrency}`)).to.deep.equal(['put/64', 'get/64', 'cas/64']);
    expect(cmp[0]!.throughputRatio).to.equal(2);
    expect(cmp[0]!.p99Ratio).to.equal(0.5);
    expect(cmp[1]!.throughputRatio).to.equal(undefined);
    expect(comparisonRecord(cmp[0]!)).to.include({ type: 'compare', throughputRatio: 2, p99Ratio: 0.5, ours: 'kvsh (3 nodes)', theirs: 'etcd' });
    expect(comparisonRecord(cmp[2]!)).to.include({ ours: null, throughputRatio: null });
    const text = formatSideBySide(ours, theirs, { ours: 'kvsh', theirs: 'etcd' });
    const lines = text.split('\n');
    expect(lines[0]).to.match(/^workload\s+C\s+kvsh ops\/s\s+etcd ops\/s\s+ratio\s+kvsh p50\s+etcd p50\s+kvsh p99\s+etcd p99\s+p99 ratio/);
    expect(lines[2]).to.match(/^put\s+64\s+2,000\s+1,000\s+2\.00×\s+0\.412\s+1\.00\s+41\.3\s+82\.5\s+0\.50×\s+4\/6\s+4\/6$/);
    expect(lines[3]).to.match(/^get\s+64\s+900\s+-\s+-/);
    expect(lines[5]).to.match(/kvsh = kvsh \(3 nodes\), etcd = etcd/);
  });
});

describe('kvbench failover analysis', () => {
  /** ok writes every ms from 0 to 100, the kill at 50.5, two late answers, nothing until 300, then every ms to 400. */
  function timeline(): CompletionTimeline {
    const t = new CompletionTimeline(0);
    for (let ms = 0; ms <= 100; ms++) {
      if (ms <= 50) t.observer('put', 'ok', ms - 1, ms);
    }
    t.observer('put', 'ok', 40, 51);
    t.observer('put', 'ok', 40, 52);
    t.observer('put', 'indeterminate', 45, 120);
    t.observer('put', 'error', 45, 130);
    for (let ms = 300; ms <= 400; ms++) t.observer('put', 'ok', ms - 1, ms);
    // A later and longer hiccup is not the failover's.
    t.observer('put', 'ok', 1000, 2000);
    t.observer('get', 'ok', 1, 200); // reads do not end an outage
    return t;
  }

  it('measures from the kill to the first write after the outage, late answers aside', () => {
    const a = timeline().analyze(50.5, 0);
    expect(a.unavailableMs).to.equal(249.5);
    expect(a.firstOkAfterKillMs).to.equal(0.5);
    expect(a.longestGapMs).to.equal(248);
    expect(a.okAfterKillBeforeOutage).to.equal(2);
    expect(a.before).to.include({ ops: 50, ok: 50 }); // the write ending at 0 started before fromMs
    expect(a.outage).to.include({ ops: 5, ok: 3, errors: 1, indeterminate: 1 });
    expect(a.after).to.include({ ops: 102, ok: 102 });
    const text = formatFailover({ target: 'kvsh', concurrency: 8, killedLeader: 1, newLeader: 2, newLeaderMs: 120, analysis: a, run: result() });
    expect(text).to.match(/unavailable\s+250 ms/);
    expect(text).to.match(/new leader\s+2, seen elected 120 ms after the kill/);
  });

  it('no write after the kill: no recovery', () => {
    const t = new CompletionTimeline(0);
    for (let ms = 0; ms <= 50; ms++) t.observer('put', 'ok', ms - 1, ms);
    t.observer('put', 'indeterminate', 45, 1000);
    const a = t.analyze(50.5, 0);
    expect(a.unavailableMs).to.be.NaN;
    expect(a.outage).to.include({ ops: 1, indeterminate: 1 });
    expect(a.after.ops).to.equal(0);
    expect(formatFailover({ target: 'kvsh', concurrency: 8, killedLeader: 1, newLeader: undefined, newLeaderMs: NaN, analysis: a, run: result() }))
      .to.match(/no successful write after the kill[\s\S]*new leader\s+none seen/);
  });

  it('ignores operations started before fromMs', () => {
    const t = new CompletionTimeline(10);
    t.observer('put', 'ok', 5, 12);
    t.observer('put', 'ok', 10, 13);
    expect(t.count).to.equal(1);
  });
});

// ---- the CLI, as a process -------------------------------------------------------------------

const KVBENCH = join(projectRoot, 'cli', 'kvbench.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runKvbench(args: string[], timeoutMs = 100_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', TSX, KVBENCH, ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

function jsonLines(run: Run): Record<string, unknown>[] {
  const lines = run.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines.length, run.stderr).to.be.greaterThan(0);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('kvbench CLI (real processes)', function () {
  this.timeout(150_000);
  let dir: string;
  let cluster: LocalCluster | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvbench-test-'));
  });

  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every workload against a healthy 3-node cluster: operations, no errors, valid JSON', async () => {
    const { file } = await writeTestConfig({ nodes: 3, dir });
    cluster = await startCluster({ configFile: file });
    await cluster.waitForLeader();
    const nodes = cluster.nodeIds.map((id) => formatAddr(cluster!.addr(id))).join(',');
    // Four workloads of 0.5 s each: two seconds of load.
    const run = await runKvbench(['--nodes', nodes, '--workload', 'all', '-c', '4', '--duration', '0.5', '--warmup', '0.2', '--keys', '100', '--seed', '5', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const recs = jsonLines(run);
    expect(recs[0]).to.include({ type: 'meta', seed: 5, local: false, keys: 100 });
    const runs = recs.filter((r) => r.type === 'run');
    expect(runs.map((r) => r.workload)).to.deep.equal(['put', 'get', 'mixed', 'cas']);
    for (const r of runs) {
      expect(r.ops as number, JSON.stringify(r)).to.be.greaterThan(0);
      expect(r.opsPerSec as number).to.be.greaterThan(0);
      expect(r.errors, JSON.stringify(r)).to.equal(0);
      expect(r.indeterminate, JSON.stringify(r)).to.equal(0);
      expect(typeof r.p99Ms).to.equal('number');
      expect(r.concurrency).to.equal(4);
    }
    // The table went to stderr.
    expect(run.stderr).to.match(/target\s+workload\s+C\s+ops\/s/);
  });

  it('--failover on its own local cluster reports an unavailability window, a new leader and node memory', async () => {
    const run = await runKvbench(['--failover', '-c', '8', '--duration', '3', '--warmup', '0.3', '--keys', '100', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const recs = jsonLines(run);
    expect(recs[0]).to.include({ type: 'meta', local: true, fsync: true, failover: true });
    expect(recs.filter((r) => r.type === 'run')).to.have.length(0);
    const f = recs.find((r) => r.type === 'failover');
    expect(f, run.stdout).to.not.equal(undefined);
    expect(f!.unavailableMs, JSON.stringify(f)).to.be.a('number');
    expect(Number.isFinite(f!.unavailableMs)).to.equal(true);
    expect(f!.newLeader).to.be.a('number');
    expect(f!.newLeader).to.not.equal(f!.killedLeader);
    expect(f!.newLeaderMs).to.be.a('number');
    expect(f!.ops as number).to.be.greaterThan(0);
    const rss = recs.filter((r) => r.type === 'rss');
    expect(rss.length).to.be.at.least(3);
    for (const r of rss) expect(r.maxRssKb as number).to.be.greaterThan(0);
    expect(run.stderr).to.match(/unavailable\s+\S+ ms/);
  });

  it('--cpu-prof profiles the nodes and says, per run and node, where their CPU went in the measured window', async () => {
    const profDir = join(dir, 'prof');
    const run = await runKvbench(['--workload', 'put', '-c', '4', '--duration', '1', '--warmup', '0.2', '--keys', '50', '--cpu-prof', profDir, '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const profiles = jsonLines(run).filter((r) => r.type === 'profile');
    expect(profiles.map((p) => p.node)).to.deep.equal([1, 2, 3]);
    for (const p of profiles) {
      expect(p).to.include({ workload: 'put', concurrency: 4 });
      // The window is the measured second (not the start-up or the warm-up), and every node worked in it.
      expect(p.wallMs as number, JSON.stringify(p)).to.be.within(500, 1500);
      expect(p.busyMs as number).to.be.greaterThan(0);
      expect((p.functions as unknown[]).length).to.be.greaterThan(0);
    }
    for (const id of [1, 2, 3]) expect(readdirSync(join(profDir, `node-${id}`)).some((f) => f.endsWith('.cpuprofile'))).to.equal(true);
    expect(run.stderr).to.match(/where the nodes' CPU went: put C=4/);
    expect(run.stderr).to.match(/file \(self time, all nodes\)/);
  });

  it('refuses --failover with --nodes, and bad flags', async () => {
    const a = await runKvbench(['--failover', '--nodes', '127.0.0.1:1']);
    expect(a.code).to.equal(2);
    expect(a.stderr).to.match(/--failover needs the local cluster/);
    const b = await runKvbench(['--workload', 'scan']);
    expect(b.code).to.equal(2);
    const c = await runKvbench(['-c', '0']);
    expect(c.code).to.equal(2);
    const d = await runKvbench(['--cpu-prof', 'x', '--nodes', '127.0.0.1:1']);
    expect(d.code).to.equal(2);
    expect(d.stderr).to.match(/--cpu-prof needs the local cluster/);
  });
});
