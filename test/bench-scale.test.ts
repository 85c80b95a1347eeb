/**
 * bench:scale (issue E): its parts on made-up input — the node-log watcher (ballots counted once,
 * windows, stalls per node), the rows' ratios to the fewest keys, the data-directory size, the
 * preload's retries, the event-loop stall watcher — and the CLI as a child process on tiny key
 * counts, checking the output's shape and sanity. Nothing about time or speed is asserted
 * beyond "a figure is there and consistent".
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseLogRecord, type ClusterEvent } from '../src/cluster/events.js';
import { dirSize } from '../src/bench/dir-size.js';
import { NodeLogWatch } from '../src/bench/node-log-watch.js';
import { preload } from '../src/bench/preload.js';
import { formatScaleTable, scaleRowRecord, scaleRows } from '../src/bench/scale-report.js';
import type { ScalePhase, ScaleResult } from '../src/bench/scale-run.js';
import type { BenchOutcome, BenchTarget } from '../src/bench/target.js';
import { watchEventLoopStalls } from '../src/node/event-loop-stall.js';
import type { LogFields } from '../src/node/logger.js';
import { projectRoot } from './support/paths.js';
import { TSX } from './support/kvsh-process.js';

/** A node's JSON log line as the cluster manager reports it (parsed as it parses them). */
function logLine(nodeId: number, time: number, record: Record<string, unknown>): ClusterEvent {
  const line = JSON.stringify({ time: new Date(time).toISOString(), node: nodeId, level: 'info', ...record });
  const parsed = parseLogRecord(line);
  return { type: 'output', nodeId, stream: 'stdout', line, time, ...(parsed ? { record: parsed } : {}) };
}

describe('bench:scale parts', () => {
  it('NodeLogWatch: a ballot counts once, at its first sighting on any node; stalls per node and window', () => {
    const w = new NodeLogWatch();
    const T = Date.parse('2026-01-01T00:00:00.000Z');
    w.listener(logLine(1, T, { event: 'leader-change', leader: 3, ballot: '1.0.3' }));
    w.listener(logLine(2, T + 5, { event: 'leader-change', leader: 3, ballot: '1.0.3' }));
    w.listener(logLine(3, T + 1000, { event: 'leader-change', leader: 2, ballot: '2.0.2' }));
    w.listener(logLine(1, T + 1010, { event: 'leader-change', leader: 2, ballot: '2.0.2' }));
    // A restarted node logs the ballot it finds: no change.
    w.listener(logLine(1, T + 3000, { event: 'leader-change', leader: 2, ballot: '2.0.2' }));
    w.listener(logLine(2, T + 1500, { event: 'event-loop-stall', ms: 80, thresholdMs: 50 }));
    w.listener(logLine(2, T + 1600, { event: 'event-loop-stall', ms: 230, thresholdMs: 50 }));
    w.listener(logLine(3, T + 1700, { event: 'event-loop-stall', ms: 60, thresholdMs: 50 }));
    w.listener(logLine(3, T + 2500, { event: 'event-loop-stall', ms: 999, thresholdMs: 50 }));
    w.listener(logLine(1, T + 1800, { event: 'event-loop-stall', ms: 'long' }));
    w.listener(logLine(1, T + 1900, { event: 'listening', host: '127.0.0.1' }));
    expect(w.ballotsSeen).to.equal(2);
    expect(w.newBallots(T + 1, T + 2000)).to.deep.equal(['2.0.2']);
    expect(w.newBallots(T + 1001, T + 5000)).to.deep.equal([]);
    expect(w.newBallots(T, T + 5000)).to.deep.equal(['1.0.3', '2.0.2']);
    expect(w.stallsIn(T + 1000, T + 2000, 2)).to.deep.equal({ count: 2, maxMs: 230 });
    expect(w.stallsIn(T + 1000, T + 2000, 1)).to.deep.equal({ count: 0, maxMs: 0 });
    expect(w.stallsIn(T + 1000, T + 2000)).to.deep.equal({ count: 3, maxMs: 230 });
    expect(w.stallsByNode(T + 1000, T + 3000, [1, 2, 3])).to.deep.equal({
      1: { count: 0, maxMs: 0 }, 2: { count: 2, maxMs: 230 }, 3: { count: 2, maxMs: 999 },
    });
    expect(w.malformed).to.have.length(1);
    expect(w.malformed[0]).to.include('"long"');
  });

  const phase = (keys: number, workload: ScalePhase['workload'], opsPerSec: number, p99: number, cpu: number): ScalePhase => ({
    workload, keys, valueSize: 16, concurrency: 64, durationMs: 1000, opsPerSec,
    latencyMs: { p50: p99 / 2, p90: p99 * 0.9, p99, max: p99 * 2, mean: p99 / 2 }, ops: opsPerSec, errors: 0, indeterminate: 0,
    serverCpuMs: cpu * opsPerSec / 1000, serverCpuMsPer1kOps: cpu, nodeCpuMs: {}, otherCores: 0.1, benchCores: 0.5, maxRssKb: 100 * 1024, rssKbByNode: {},
    leader: 1, newBallots: [], leaderStall: { count: 0, maxMs: 0 }, stallsByNode: {},
  });
  const config = (keys: number, phases: ScalePhase[]): ScaleResult => ({
    keys, valueSize: 16, nodes: 3, phases, dataDir: {}, restart: null, peakRssKbByNode: {}, ballotsSeen: 1, wallMs: 1, dir: '/x',
  });

  it('rows carry their ratio to the same workload and value size at the fewest keys', () => {
    const results = [
      config(1000, [phase(1000, 'put', 8000, 20, 100), phase(1000, 'get', 10000, 10, 50)]),
      config(10_000, [phase(10_000, 'put', 2000, 200, 500), phase(10_000, 'get', 5000, 30, 50)]),
    ];
    const rows = scaleRows(results);
    expect(rows.map((r) => [r.phase.keys, r.phase.workload, r.base?.keys])).to.deep.equal([
      [1000, 'put', undefined], [1000, 'get', undefined], [10_000, 'put', 1000], [10_000, 'get', 1000],
    ]);
    const bigPut = scaleRowRecord(rows[2]!);
    expect(bigPut).to.include({ type: 'scale-row', keys: 10_000, workload: 'put', baseKeys: 1000, opsPerSecRatio: 0.25, p99Ratio: 10, cpuRatio: 5, leaderChanges: 0 });
    expect(scaleRowRecord(rows[0]!)).to.include({ baseKeys: null, opsPerSecRatio: null });
    const text = formatScaleTable(results);
    expect(text.split('\n')[0]).to.match(/keys +value B +workload +C +ops\/s +×ops\/s/);
    expect(text).to.include('0.25×').and.include('10.00×').and.include('5.00×');
  });

  it('dirSize adds up the files under a directory, subdirectories included', () => {
    const d = mkdtempSync(join(tmpdir(), 'dirsize-'));
    try {
      writeFileSync(join(d, 'a'), Buffer.alloc(10_000, 1));
      mkdirSync(join(d, 'sub'));
      writeFileSync(join(d, 'sub', 'b'), Buffer.alloc(5000, 2));
      const s = dirSize(d);
      expect(s.apparentBytes).to.equal(15_000);
      expect(s.files).to.equal(2);
      expect(s.diskBytes).to.be.at.least(15_000);
      expect(dirSize(join(d, 'missing'))).to.deep.equal({ diskBytes: 0, apparentBytes: 0, files: 0 });
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  /** Fails the first `failFirst` puts of each key listed, then succeeds. */
  class FlakyTarget implements BenchTarget {
    readonly name = 'flaky';
    readonly data = new Map<string, string>();
    readonly tries = new Map<string, number>();
    constructor(private readonly failures: Map<string, number>) {}
    async put(key: string, value: string): Promise<BenchOutcome> {
      await new Promise<void>((ok) => setImmediate(ok));
      const n = (this.tries.get(key) ?? 0) + 1;
      this.tries.set(key, n);
      if (n <= (this.failures.get(key) ?? 0)) return n % 2 === 1 ? { kind: 'indeterminate', reason: 'timeout' } : { kind: 'error', reason: 'rejected: busy' };
      this.data.set(key, value);
      return { kind: 'ok' };
    }
    get(): Promise<BenchOutcome> { throw new Error('not used'); }
    cas(): Promise<BenchOutcome> { throw new Error('not used'); }
    close(): void {}
  }

  it('preload writes every key once, tries a failed key again and counts every failure', async () => {
    const t = new FlakyTarget(new Map([['bench-3', 2], ['bench-7', 1]]));
    const r = await preload(t, { keys: 50, valueSize: 8, seed: 1, concurrency: 8 });
    expect(t.data.size).to.equal(50);
    expect([...t.data.keys()].every((k) => /^bench-\d+$/.test(k))).to.equal(true);
    expect(r).to.include({ keys: 50, concurrency: 8, puts: 53, errors: 1, indeterminate: 2 });
    expect(r.firstFailure).to.match(/^indeterminate: timeout/);
    expect(r.keysPerSec).to.be.greaterThan(0);
    expect(r.latencyMs.p50).to.be.at.most(r.latencyMs.p99);
  });

  it('preload gives up when no put has succeeded for a while, saying how far it got', async () => {
    const t = new FlakyTarget(new Map([...Array.from({ length: 100 }, (_, i): [string, number] => [`bench-${i}`, i < 5 ? 0 : 1e9])]));
    let err: Error | undefined;
    await preload(t, { keys: 100, valueSize: 8, seed: 1, concurrency: 4, giveUpAfterMs: 50 }).catch((e: Error) => { err = e; });
    expect(err?.message).to.match(/^preloading 100 keys: no put succeeded for \d+ s \(5 of 100 written\); last: (indeterminate: timeout|error: rejected: busy)$/);
  });

  it('preload gives up on a key that keeps failing, naming it', async () => {
    const t = new FlakyTarget(new Map([['bench-4', 3]]));
    let err: Error | undefined;
    await preload(t, { keys: 10, valueSize: 8, seed: 1, concurrency: 2, attemptsPerKey: 3 }).catch((e: Error) => { err = e; });
    expect(err?.message).to.match(/preloading 10 keys: key bench-4: 3 puts did not succeed; last: indeterminate: timeout/);
  });

  it('the stall watcher logs a blocked event loop, with how long it was blocked', async () => {
    const lines: { event: string; fields: LogFields | undefined }[] = [];
    const logger = { info() {}, error() {}, warn: (event: string, fields?: LogFields) => { lines.push({ event, fields }); } };
    const stop = watchEventLoopStalls(logger, { intervalMs: 10, thresholdMs: 100 });
    try {
      await new Promise((r) => setTimeout(r, 30));
      const until = Date.now() + 400;
      while (Date.now() < until) { /* block the loop */ }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      stop();
    }
    const stalls = lines.filter((l) => l.event === 'event-loop-stall');
    expect(stalls.length, JSON.stringify(lines)).to.be.at.least(1);
    // The blocked stretch was at least 400 ms: the watcher sees at least 400 − one interval of it.
    expect(Math.max(...stalls.map((s) => Number(s.fields?.['ms'])))).to.be.at.least(390);
    expect(stalls[0]!.fields).to.include({ thresholdMs: 100 });
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScale(args: string[], timeoutMs = 100_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', TSX, join(projectRoot, 'bench', 'scale.ts'), ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
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

describe('bench:scale CLI (real processes)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'bench-scale-test-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--quick on tiny key counts: a row per (keys, workload) and a config row per cluster, every figure present', async () => {
    const run = await runScale(['--quick', '--keys', '1500,300', '--value-bytes', '16', '--duration', '0.5', '--warmup', '0.2', '--seed', '5', '--dir', dir, '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const records = run.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, any>);
    const meta = records.find((r) => r['type'] === 'meta')!;
    expect(meta).to.include({ seed: 5, nodes: 3, fsync: true, concurrency: 64, preloadConcurrency: 256, durationMs: 500, warmupMs: 200, restart: 'kill' });
    expect(meta['keys']).to.deep.equal([300, 1500]);

    const rows = records.filter((r) => r['type'] === 'scale-row');
    expect(rows.map((r) => `${r['keys']}/${r['workload']}`)).to.deep.equal(['300/preload', '300/put', '300/get', '1500/preload', '1500/put', '1500/get']);
    for (const r of rows) {
      const what = JSON.stringify(r);
      expect(r['valueSize'], what).to.equal(16);
      expect(r['concurrency'], what).to.equal(r['workload'] === 'preload' ? 256 : 64);
      expect(r['opsPerSec'], what).to.be.a('number').greaterThan(0);
      expect(r['p50Ms'], what).to.be.a('number').at.most(r['p99Ms']);
      expect(r['p99Ms'], what).to.be.at.most(r['maxMs']);
      expect(r['serverCpuMsPer1kOps'], what).to.be.a('number').at.least(0);
      expect(r['maxRssKb'], what).to.be.a('number').greaterThan(0);
      expect(r['otherCores'], what).to.be.a('number').at.least(0);
      expect(r['benchCores'], what).to.be.a('number').greaterThan(0);
      expect(Object.keys(r['rssKbByNode']).sort(), what).to.deep.equal(['1', '2', '3']);
      expect(r['leaderChanges'], what).to.be.a('number').and.satisfy(Number.isInteger).and.at.least(0);
      expect(r['newBallots'], what).to.have.length(r['leaderChanges']);
      expect(r['leaderStallMaxMs'], what).to.be.a('number').at.least(0);
      expect(r['leaderStalls'], what).to.be.a('number').at.least(0);
      expect(Object.keys(r['stallsByNode']).sort(), what).to.deep.equal(['1', '2', '3']);
      expect([1, 2, 3], what).to.include(r['leader']);
      // Nothing fails in this benchmark: no errors, and the preload wrote each key once.
      expect(r['errors'] + r['indeterminate'], what).to.equal(0);
      if (r['workload'] === 'preload') expect(r['ops'], what).to.equal(r['keys']);
      if (r['keys'] === 300) expect(r, what).to.include({ baseKeys: null, opsPerSecRatio: null });
      else {
        expect(r['baseKeys'], what).to.equal(300);
        expect(r['opsPerSecRatio'], what).to.be.a('number').greaterThan(0);
        expect(r['p99Ratio'], what).to.be.a('number').greaterThan(0);
      }
    }

    const configs = records.filter((r) => r['type'] === 'scale-config');
    expect(configs.map((c) => c['keys'])).to.deep.equal([300, 1500]);
    for (const c of configs) {
      const what = JSON.stringify(c);
      expect(Object.keys(c['dataDir']).sort(), what).to.deep.equal(['1', '2', '3']);
      for (const d of Object.values(c['dataDir']) as { diskBytes: number; apparentBytes: number; files: number }[]) {
        expect(d.diskBytes, what).to.be.greaterThan(0);
        expect(d.apparentBytes, what).to.be.greaterThan(0);
        expect(d.files, what).to.be.at.least(2); // meta.json and the WAL
      }
      expect(Object.values(c['peakRssKbByNode']), what).to.have.length(3);
      const rs = c['restart'];
      expect(rs, what).to.include({ how: 'kill' });
      expect(rs['bootMs'], what).to.be.a('number').greaterThan(0).and.at.most(rs['listenMs']);
      expect(rs['listenMs'], what).to.be.at.most(rs['serveMs']);
      expect(rs['probes'], what).to.be.at.least(1);
      expect(rs['recovered'], what).to.include({ event: 'recovered' });
      expect(c['ballotsSeen'], what).to.be.at.least(1);
    }
    // The tables went to stderr (stdout is JSON only).
    expect(run.stderr).to.match(/keys +value B +workload +C +ops\/s +×ops\/s +p50 ms +p99 ms/);
    expect(run.stderr).to.include('preload keys/s');
    // Each cluster's directory is removed at the end.
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('bad arguments: exit 2 and a message naming the flag', async () => {
    const run = await runScale(['--keys', '100,abc', '--dir', dir]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('--keys: a comma list of whole numbers ≥ 1, got "100,abc"');
  });
});
