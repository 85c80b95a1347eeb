/**
 * Recording what a `KvClient` does as a history (docs/history-format.md) through the project's
 * `HistoryWriter`, with the conventions of the simulator's clients (src/sim/clients.ts):
 *
 * | client result                 | history completion                                      |
 * |-------------------------------|---------------------------------------------------------|
 * | get ok                        | `ok` with `value` (null: absent)                        |
 * | put / cas / delete ok         | `ok`                                                    |
 * | cas mismatch                  | `fail` (the store compared and refused)                 |
 * | rejected get / put / delete   | `fail` (a definite non-effect; the checker ignores it)  |
 * | rejected cas                  | `info` — a `fail` cas would claim the value was not `expected`, which nobody checked; `info` claims nothing |
 * | indeterminate                 | `info`, and the process continues under a new number    |
 *
 * A history process is single-threaded: one operation at a time. After an `info` the operation
 * may still take effect at any later time, so the virtual client goes on as a new process
 * (as Jepsen's clients do) instead of pretending the old one finished.
 */
import type { KvOp } from '../replica/entry.js';
import type { HistoryWriter } from '../history/writer.js';
import type { KvClient } from './client.js';
import type {
  CasResult, DeleteResult, GetResult, OpResult, PutResult, ResultOf,
} from './results.js';

/** How an operation's result was recorded. */
export type Recorded = 'ok' | 'fail' | 'info';

/**
 * Where operations are recorded: one writer, or a function asked at each invocation (the shell
 * switches recording on and off while clients run; `null` means "not recording now"). An
 * operation's completion always goes to the writer its invocation went to.
 */
export type HistoryTarget = HistoryWriter | (() => HistoryWriter | null);

/** Hands out history process numbers; several recorders writing one history share one. */
export type ProcessAllocator = () => number;

export function processCounter(first = 0): ProcessAllocator {
  let next = first;
  return () => next++;
}

export class HistoryRecorder {
  readonly allocateProcess: ProcessAllocator;
  private readonly target: () => HistoryWriter | null;

  /** `processes`: the first process number handed out (default 0), or a shared allocator. */
  constructor(readonly client: KvClient, history: HistoryTarget, processes: number | ProcessAllocator = 0) {
    this.target = typeof history === 'function' ? history : () => history;
    this.allocateProcess = typeof processes === 'function' ? processes : processCounter(processes);
  }

  /** The writer an invocation made now would go to (`null`: not recording). */
  get history(): HistoryWriter | null {
    return this.target();
  }

  /** A new virtual client with a process number of its own. */
  process(): RecordedProcess {
    return new RecordedProcess(this);
  }
}

export class RecordedProcess {
  private current: number;
  private busy = false;

  constructor(private readonly recorder: HistoryRecorder) {
    this.current = recorder.allocateProcess();
  }

  /** The history process this virtual client records under now. */
  get process(): number {
    return this.current;
  }

  get(key: string): Promise<GetResult> {
    return this.execute({ kind: 'get', key });
  }

  put(key: string, value: string): Promise<PutResult> {
    return this.execute({ kind: 'put', key, value });
  }

  cas(key: string, expected: string | null, value: string): Promise<CasResult> {
    return this.execute({ kind: 'cas', key, expected, value });
  }

  delete(key: string): Promise<DeleteResult> {
    return this.execute({ kind: 'delete', key });
  }

  /** Runs `op`, recording its invocation and completion. One operation at a time. */
  async execute<K extends KvOp['kind']>(op: Extract<KvOp, { readonly kind: K }>): Promise<ResultOf[K]> {
    return (await this.executeRecorded(op)).result as ResultOf[K];
  }

  /** Like `execute`, also saying how the result was recorded. */
  async executeRecorded(op: KvOp): Promise<{ result: OpResult; recorded: Recorded }> {
    if (this.busy) throw new Error(`process ${this.current} already has an operation in flight; a process does one at a time`);
    this.busy = true;
    const h = this.recorder.history;
    try {
      const process = this.current;
      const id = h === null ? -1
        : op.kind === 'put' ? h.invoke({ process, f: 'put', key: op.key, value: op.value })
          : op.kind === 'cas' ? h.invoke({ process, f: 'cas', key: op.key, expected: op.expected, value: op.value })
            : h.invoke({ process, f: op.kind, key: op.key });
      const result = await this.recorder.client.execute(op);
      const recorded = completionOf(op, result);
      if (h === null) {
        // Not recorded, but an unknown outcome still ends this process: were recording to start
        // now, the operation could take effect while the process seems idle.
        if (recorded === 'info') this.current = this.recorder.allocateProcess();
      } else if (recorded === 'ok') {
        if (op.kind === 'get' && result.status === 'ok' && 'value' in result) h.ok(id, result.value);
        else h.ok(id);
      } else if (recorded === 'fail') {
        h.fail(id);
      } else {
        h.info(id);
        this.current = this.recorder.allocateProcess();
      }
      return { result, recorded };
    } finally {
      this.busy = false;
    }
  }
}

/** The history completion for a result (table at the top of this file). */
export function completionOf(op: KvOp, result: OpResult): Recorded {
  switch (result.status) {
    case 'ok': return 'ok';
    case 'mismatch': return 'fail';
    case 'rejected': return op.kind === 'cas' ? 'info' : 'fail';
    case 'indeterminate': return 'info';
  }
}
