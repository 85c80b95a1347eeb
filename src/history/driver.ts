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
  /**
   * Worker threads: a number, 0 for none, or 'auto' (default): keys start on this thread,
   * and if several are still unfinished after a short while, those move to workers.
   */
  workers?: number | 'auto';
  /** With workers 'auto': the time on this thread before handing off (default MAIN_THREAD_BUDGET_MS). */
  handOffMs?: number;
  /** Default true: explain violations as directly as possible (see check-key.ts). */
  explain?: boolean;
  /** Called when a key finishes and every ~100 ms in between. */
  onProgress?: (p: Progress) => void;
}

export interface RunReport extends CheckReport {
  elapsedMs: number;
  workers: number;
}

/**
 * With workers 'auto': how long keys run on the calling thread before the unfinished ones
 * move to worker threads (and start again there). Size alone predicts badly whether workers
 * pay: a generated 60,000-operation history of 8 easy keys checks in 0.55 s on one thread
 * and 1.6 s when handed to two workers after 300 ms (copying the operations, starting the
 * workers and redoing the work cost more than they save), while a few hard keys gain
 * nearly a factor of the core count. A second is long enough for the first kind to finish.
 */
export const MAIN_THREAD_BUDGET_MS = 1000;

export async function checkHistory(history: History, options: RunOptions = {}): Promise<RunReport> {
  const start = performance.now();
  const deadline = options.timeoutMs === undefined ? Infinity : start + options.timeoutMs;
  // Big keys first: they bound the total time, and on workers they should start early.
  const keys = [...groupByKey(history.operations)].sort((a, b) => b[1].length - a[1].length);
  const ctx: RunContext = {
    start, deadline, pruning: options.pruning ?? true, explain: options.explain ?? true, allKeys: options.allKeys ?? false,
    onProgress: options.onProgress, total: keys.length,
  };
  const requested = options.workers ?? 'auto';
  let reports: KeyReport[];
  let workers = 0;
  if (requested === 'auto') {
    const cores = availableParallelism();
    const first = runInterleaved(keys, ctx, cores > 1 ? start + (options.handOffMs ?? MAIN_THREAD_BUDGET_MS) : Infinity);
    reports = first.done;
    if (first.unfinished.length > 0) {
      // Still running after the budget, and at least two of them: they start again on workers.
      workers = Math.min(cores, first.unfinished.length);
      reports.push(...await runOnWorkers(first.unfinished, workers, ctx, reports.length));
    }
  } else {
    workers = Math.max(0, Math.min(requested, keys.length));
    reports = workers > 0 ? await runOnWorkers(keys, workers, ctx, 0) : runInterleaved(keys, ctx, Infinity).done;
  }
  const byKey = new Map(reports.map(r => [r.key, r]));
  const ordered = [...groupByKey(history.operations).keys()].map(k => byKey.get(k)!);
  return { ...summarize(history, ordered), elapsedMs: performance.now() - start, workers };
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

/**
 * Keys on this thread, a slice of each in turn, so cheap violations are found first. After
 * `handOffAt`, if two or more keys are unfinished (and the verdict is open), returns them
 * unfinished so they can move to workers.
 */
function runInterleaved(keys: [string, Operation[]][], ctx: RunContext, handOffAt: number):
  { done: KeyReport[]; unfinished: [string, Operation[]][] } {
  const active = keys.map(([key, ops]) => ({ key, ops, job: prepareKey(key, ops, { pruning: ctx.pruning, explain: ctx.explain }), ms: 0 }));
  const done: KeyReport[] = [];
  let lastProgress = performance.now();
  let settled = false;
  while (active.length > 0) {
    if (!settled && active.length >= 2 && performance.now() > handOffAt && performance.now() < ctx.deadline) {
      return { done, unfinished: active.map(a => [a.key, a.ops]) };
    }
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
  return { done, unfinished: [] };
}

/** Keys handed out one at a time to a pool of workers; a shared flag stops them all. */
async function runOnWorkers(keys: [string, Operation[]][], count: number, ctx: RunContext, alreadyDone: number): Promise<KeyReport[]> {
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const url = new URL(`./parallel-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  const queue = [...keys];
  const reports: KeyReport[] = [];
  const deadline = ctx.deadline === Infinity ? null : Date.now() + (ctx.deadline - performance.now());
  const timer = ctx.onProgress && setInterval(() => ctx.onProgress!({
    keysDone: alreadyDone + reports.length, keysTotal: ctx.total, elapsedMs: performance.now() - ctx.start,
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
      ctx.onProgress?.({ keysDone: alreadyDone + reports.length, keysTotal: ctx.total, elapsedMs: performance.now() - ctx.start });
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
