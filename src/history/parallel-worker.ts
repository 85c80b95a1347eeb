/** A worker thread of the checker: checks the keys it is sent, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { keyReportFromResult, prepareKey } from './check-key.js';
import type { Operation } from './types.js';

const { stopFlag, deadline, pruning, explain } = workerData as {
  stopFlag: Int32Array; deadline: number | null; pruning: boolean; explain: boolean;
};

parentPort!.on('message', ({ key, ops }: { key: string; ops: Operation[] }) => {
  const t0 = performance.now();
  const job = prepareKey(key, ops, { pruning, explain });
  let r = job.steps.next(false);
  while (!r.done) {
    const stop = Atomics.load(stopFlag, 0) === 1 || (deadline !== null && Date.now() > deadline);
    r = job.steps.next(stop);
  }
  parentPort!.postMessage({ ...keyReportFromResult(job, r.value), elapsedMs: performance.now() - t0 });
});
