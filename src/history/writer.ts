/**
 * The history writer: every recorder in the project (simulator, drills, kvsh) writes through
 * this class, so all histories share one format and one clock.
 */
import type { Writable } from 'node:stream';
import type {
  CompletionType, HistoryEvent, KeyValue, NodeRef, OpFunction, TimeNs,
} from './types.js';
import { validateEvent } from './validate.js';

/** A clock in integer nanoseconds; the default is the process's monotonic clock. */
export type Clock = () => TimeNs;

export function monotonicClock(): Clock {
  const origin = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - origin);
}

/** Serialises one event with a fixed field order, so histories diff cleanly. */
export function formatEvent(ev: HistoryEvent): string {
  const ordered: Record<string, unknown> = { type: ev.type };
  for (const k of ['process', 'id', 'f', 'key', 'expected', 'value', 'node', 'nodes', 'groups', 'ballot'] as const) {
    const v = (ev as unknown as Record<string, unknown>)[k];
    if (v !== undefined) ordered[k] = v;
  }
  ordered.time = ev.time;
  return JSON.stringify(ordered);
}

export interface InvokeArgs {
  process: number;
  f: OpFunction;
  key: string;
  value?: string;
  expected?: KeyValue;
}

/** Where lines go: a stream, or any function that takes one line (without newline). */
export type LineSink = Writable | ((line: string) => void);

export class HistoryWriter {
  private nextId = 0;
  private readonly pending = new Map<number, number>(); // id -> process
  private readonly emit: (line: string) => void;
  private eventCount = 0;
  private closed = false;

  constructor(sink: LineSink, private readonly clock: Clock = monotonicClock()) {
    this.emit = typeof sink === 'function' ? sink : (line) => { sink.write(`${line}\n`); };
  }

  /** Records an invocation and returns its id, to be passed to the completion. */
  invoke(args: InvokeArgs, time: TimeNs = this.clock()): number {
    if (this.closed) throw new Error('history writer: invoke after close');
    const id = this.nextId++;
    this.write({ type: 'invoke', id, ...args, time } as HistoryEvent);
    this.pending.set(id, args.process);
    return id;
  }

  ok(id: number, value?: KeyValue, time?: TimeNs): void {
    this.complete('ok', id, value, time);
  }

  /** A definite non-effect. Record it only for a CAS the store compared and rejected. */
  fail(id: number, time?: TimeNs): void {
    this.complete('fail', id, undefined, time);
  }

  /** Outcome unknown: the operation may or may not have taken effect. */
  info(id: number, time?: TimeNs): void {
    this.complete('info', id, undefined, time);
  }

  nemesis(f: string, where: { node?: NodeRef; nodes?: NodeRef[]; groups?: NodeRef[][] } = {}, time: TimeNs = this.clock()): void {
    if (this.closed) return;
    this.write({ type: 'nemesis', f, ...where, time });
  }

  leader(node: NodeRef | null, ballot?: unknown, time: TimeNs = this.clock()): void {
    if (this.closed) return;
    this.write(ballot === undefined ? { type: 'leader', node, time } : { type: 'leader', node, ballot, time });
  }

  /** Ids invoked and not yet completed; a recorder closes them as `info` when it stops. */
  pendingIds(): number[] {
    return [...this.pending.keys()];
  }

  get events(): number {
    return this.eventCount;
  }

  /**
   * Ends the history: every operation still pending is completed as `info` (it may yet take
   * effect), and whatever arrives later is ignored — a late completion of such an operation,
   * a nemesis or leader event. Invoking after close is a bug and throws. Returns how many
   * operations were closed as `info`.
   */
  close(time: TimeNs = this.clock()): number {
    if (this.closed) return 0;
    const open = this.pendingIds();
    for (const id of open) this.complete('info', id, undefined, time);
    this.closed = true;
    return open.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private complete(type: CompletionType, id: number, value: KeyValue | undefined, time: TimeNs = this.clock()): void {
    if (this.closed) return;
    const process = this.pending.get(id);
    if (process === undefined) throw new Error(`history writer: id ${id} is not pending`);
    this.pending.delete(id);
    this.write(value === undefined ? { type, process, id, time } : { type, process, id, value, time });
  }

  private write(ev: HistoryEvent): void {
    // The writer holds itself to the reader's rules: a bad event is a bug in the recorder.
    validateEvent(JSON.parse(JSON.stringify(ev)), this.eventCount + 1);
    this.emit(formatEvent(ev));
    this.eventCount++;
  }
}
