/**
 * Runs the checker over a whole history: keys interleaved in slices on this thread, or spread
 * over worker threads when the history is large enough for that to pay. Owns the clock (the
 * time limit) so that the search itself stays pure.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  groupByKey, summarize, type CheckReport, type KeyReport,
} from './check-history.js';
import { keyReportFromResult, prepareKey } from './check-key.js';
import type { History, Operation } from './types.js';

export interface Progress {
  keysDone: number;
  keysTotal: number;
  elapsedMs: number;
}

export interface RunOptions {
  /** Stop with UNKNOWN for unfinished keys after this long. Default: no limit. */
  timeoutMs?: number;
  /** Default true. */
  pruning?: boolean;
  /**
   * Once one key is not linearizable the verdict is settled; by default the other keys are
   * then abandoned (reported as `skipped`). Set to check every key anyway.
   */
  allKeys?: boolean;
  /** Worker threads: a number, 0 for none, or 'auto' (default): used for large histories. */
  workers?: number | 'auto';
  /** Default true: explain violations as directly as possible (see check-key.ts). */
  explain?: boolean;
  /** Called when a key finishes and every ~100 ms in between. */
  onProgress?: (p: Progress) => void;
}

export interface RunReport extends CheckReport {
  elapsedMs: number;
  workers: number;
}

/** Histories with fewer operations than this are checked on the calling thread. */
export const PARALLEL_MIN_OPERATIONS = 20_000;

export async function checkHistory(history: History, options: RunOptions = {}): Promise<RunReport> {
  const start = performance.now();
  const deadline = options.timeoutMs === undefined ? Infinity : start + options.timeoutMs;
  // Big keys first: they bound the total time, and on workers they should start early.
  const keys = [...groupByKey(history.operations)].sort((a, b) => b[1].length - a[1].length);
  const workers = chooseWorkers(options.workers ?? 'auto', history.operations.length, keys.length);
  const ctx: RunContext = {
    start, deadline, pruning: options.pruning ?? true, explain: options.explain ?? true, allKeys: options.allKeys ?? false,
    onProgress: options.onProgress, total: keys.length,
  };
  const reports = workers > 0 ? await runOnWorkers(keys, workers, ctx) : runInterleaved(keys, ctx);
  const byKey = new Map(reports.map(r => [r.key, r]));
  const ordered = [...groupByKey(history.operations).keys()].map(k => byKey.get(k)!);
  return { ...summarize(history, ordered), elapsedMs: performance.now() - start, workers };
}

function chooseWorkers(requested: number | 'auto', operations: number, keys: number): number {
  if (requested !== 'auto') return Math.max(0, Math.min(requested, keys));
  if (operations < PARALLEL_MIN_OPERATIONS || keys < 2) return 0;
  return Math.min(availableParallelism(), keys);
}

interface RunContext {
  start: number;
  deadline: number;
  pruning: boolean;
  explain: boolean;
  allKeys: boolean;
  onProgress: ((p: Progress) => void) | undefined;
  total: number;
}

function skipped(key: string, ops: Operation[]): KeyReport {
  return {
    key, verdict: 'skipped', operations: ops.length,
    indeterminate: ops.filter(o => o.status === 'info').length,
    searched: 0, linearization: [], configs: 0,
  };
}

/** All keys on this thread, a slice of each in turn, so cheap violations are found first. */
function runInterleaved(keys: [string, Operation[]][], ctx: RunContext): KeyReport[] {
  const active = keys.map(([key, ops]) => ({ key, ops, job: prepareKey(key, ops, { pruning: ctx.pruning, explain: ctx.explain }), ms: 0 }));
  const done: KeyReport[] = [];
  let lastProgress = performance.now();
  let settled = false;
  while (active.length > 0) {
    const stop = settled || performance.now() > ctx.deadline;
    for (let k = 0; k < active.length; k++) {
      const a = active[k]!;
      if (settled) {
        done.push(skipped(a.key, a.ops));
      } else {
        const t0 = performance.now();
        const r = a.job.steps.next(stop);
        a.ms += performance.now() - t0;
        if (!r.done) continue;
        const report = { ...keyReportFromResult(a.job, r.value), elapsedMs: a.ms };
        done.push(report);
        if (report.verdict === 'not-linearizable' && !ctx.allKeys) settled = true;
      }
      active.splice(k--, 1);
      ctx.onProgress?.({ keysDone: done.length, keysTotal: ctx.total, elapsedMs: performance.now() - ctx.start });
      lastProgress = performance.now();
    }
    if (ctx.onProgress && performance.now() - lastProgress > 100) {
      lastProgress = performance.now();
      ctx.onProgress({ keysDone: done.length, keysTotal: ctx.total, elapsedMs: lastProgress - ctx.start });
    }
  }
  return done;
}

/** Keys handed out one at a time to a pool of workers; a shared flag stops them all. */
async function runOnWorkers(keys: [string, Operation[]][], count: number, ctx: RunContext): Promise<KeyReport[]> {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const url = new URL(`./parallel-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  const queue = [...keys];
  const reports: KeyReport[] = [];
  const deadline = ctx.deadline === Infinity ? null : Date.now() + (ctx.deadline - performance.now());
  const timer = ctx.onProgress && setInterval(() => ctx.onProgress!({
    keysDone: reports.length, keysTotal: ctx.total, elapsedMs: performance.now() - ctx.start,
  }), 100);
  const runWorker = (): Promise<void> => new Promise((resolve, reject) => {
    const worker = spawnWorker(url, { stopFlag, deadline, pruning: ctx.pruning, explain: ctx.explain });
    const feed = () => {
      const item = queue.shift();
      if (item === undefined) { void worker.terminate().then(() => resolve()); return; }
      if (Atomics.load(stopFlag, 0) === 1) { reports.push(skipped(item[0], item[1])); feed(); return; }
      worker.postMessage({ key: item[0], ops: item[1] });
    };
    worker.on('message', (report: KeyReport) => {
      reports.push(report);
      if (report.verdict === 'not-linearizable' && !ctx.allKeys) Atomics.store(stopFlag, 0, 1);
      ctx.onProgress?.({ keysDone: reports.length, keysTotal: ctx.total, elapsedMs: performance.now() - ctx.start });
      feed();
    });
    worker.on('error', reject);
    worker.on('exit', code => { if (code !== 0 && code !== 1) reject(new Error(`checker worker exited with code ${code}`)); });
    feed();
  });
  try {
    await Promise.all(Array.from({ length: count }, runWorker));
  } finally {
    if (timer) clearInterval(timer);
  }
  return reports;
}

/**
 * Starts the worker module. Running from TypeScript sources (tsx, as in the tests), a worker
 * thread does not inherit tsx's loader hooks on Node 20, so it registers them itself first.
 */
function spawnWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const boot = `import('tsx/esm/api').then(m => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
