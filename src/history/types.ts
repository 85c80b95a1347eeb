/**
 * The history format: one JSON object per line (see docs/history-format.md).
 *
 * Operation events (`invoke` / `ok` / `fail` / `info`) describe what clients asked and what
 * they were told; `nemesis` and `leader` events describe what happened around them and are
 * drawn in reports but never affect the verdict.
 */

/** The operations a client can invoke. `append` exists for histories from other systems. */
export const OP_FUNCTIONS = ['get', 'put', 'cas', 'delete', 'append'] as const;
export type OpFunction = (typeof OP_FUNCTIONS)[number];

export const COMPLETION_TYPES = ['ok', 'fail', 'info'] as const;
export type CompletionType = (typeof COMPLETION_TYPES)[number];

/** The value of one key: a string, or `null` when the key is absent. */
export type KeyValue = string | null;

/** Nanoseconds from one monotonic clock. */
export type TimeNs = number;

export interface InvokeEvent {
  type: 'invoke';
  process: number;
  id: number;
  f: OpFunction;
  key: string;
  /** The argument of put / cas / append. */
  value?: string;
  /** The value a cas compares with; `null` means "only if absent". */
  expected?: KeyValue;
  time: TimeNs;
}

export interface CompletionEvent {
  type: CompletionType;
  process: number;
  id: number;
  /** What a successful get read (`null`: the key was absent). */
  value?: KeyValue;
  time: TimeNs;
}

/** A fault injected (or healed) by a drill. `f` is open-ended; the listed ones are drawn specially. */
export const KNOWN_NEMESIS_FUNCTIONS = ['kill', 'pause', 'resume', 'restart', 'partition', 'heal', 'delay'] as const;

export type NodeRef = number | string;

export interface NemesisEvent {
  type: 'nemesis';
  f: string;
  node?: NodeRef;
  nodes?: NodeRef[];
  groups?: NodeRef[][];
  time: TimeNs;
}

/** A leader change observed by the recorder. `node: null` means no leader is known. */
export interface LeaderEvent {
  type: 'leader';
  node: NodeRef | null;
  ballot?: unknown;
  time: TimeNs;
}

export type OperationEvent = InvokeEvent | CompletionEvent;
export type AnnotationEvent = NemesisEvent | LeaderEvent;
export type HistoryEvent = OperationEvent | AnnotationEvent;

/**
 * The outcome of one operation. `info` covers both an explicit `info` completion and an
 * invocation that never completed: either way the operation may or may not have taken effect.
 */
export type OpStatus = CompletionType;

/** One operation: an invocation paired with its completion. */
export interface Operation {
  /** Position in the history's list of operations (ordered by invocation line). */
  index: number;
  id: number;
  process: number;
  f: OpFunction;
  key: string;
  value?: string;
  expected?: KeyValue;
  status: OpStatus;
  /** What a successful get read. */
  output?: KeyValue;
  invokeTime: TimeNs;
  /** When the client learned the outcome; +Infinity when the outcome is unknown (`info`). */
  returnTime: number;
  /** The time written on the completion line, if there was one (an `info` line still has a time). */
  completionTime?: TimeNs;
  /** 1-based line numbers in the source, for messages. */
  invokeLine: number;
  completionLine?: number;
}

export interface History {
  operations: Operation[];
  annotations: AnnotationEvent[];
}
