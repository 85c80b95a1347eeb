/** The kvsh client library: the public API. */
export { connect, type ClientEvent, type ClientOptions, type ClientStats, type KvClient } from './client.js';
export {
  isIndeterminate, type CasResult, type DefiniteResult, type DeleteResult, type GetResult, type Indeterminate,
  type IndeterminateCause, type OpResult, type PutResult, type Rejected, type ResultOf,
} from './results.js';
export { formatAddr, parseAddr, type NodeAddr } from './addr.js';
export { fetchLog, fetchStatus, type AdminOptions, type LogResponse, type StatusResponse } from './admin.js';
export {
  completionOf, HistoryRecorder, processCounter, RecordedProcess, type HistoryTarget, type ProcessAllocator, type Recorded,
} from './recorder.js';
export {
  isWorkloadName, runWorkload, WORKLOADS, type OpMix, type WorkloadName, type WorkloadOptions, type WorkloadReport,
} from './workload.js';
export type { KvOp } from '../replica/entry.js';
