/**
 * What a managed node can tell its manager: its output lines (parsed when they are kvnode's
 * JSON log records), its state changes and its exits.
 */

/**
 * - `starting`: spawned, not yet listening;
 * - `running`: listening (it logged "listening");
 * - `paused`: SIGSTOPped by the manager;
 * - `stopping`: SIGTERM sent by `stop`, not yet exited;
 * - `stopped`: never started, or exited after `stop`;
 * - `killed`: exited after `kill` / `restart` (SIGKILL);
 * - `exited(…)`: exited without being asked to — the exit code, or the signal's name.
 */
export type NodeState =
  | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'killed' | `exited(${number})` | `exited(${string})`;

/** True while there is a process (it may be stopped by SIGSTOP). */
export function isLive(state: NodeState): boolean {
  return state === 'starting' || state === 'running' || state === 'paused' || state === 'stopping';
}

/** One kvnode log record: `{"time":…,"node":1,"level":"info","event":"listening",…}`. */
export interface NodeLogRecord {
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface OutputLine {
  readonly nodeId: number;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
  /** When the manager read it (ms since the epoch). */
  readonly time: number;
  /** The parsed record when the line is a JSON object with an `event` field. */
  readonly record?: NodeLogRecord;
}

export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type ClusterEvent =
  | ({ readonly type: 'output' } & OutputLine)
  | {
    readonly type: 'state'; readonly nodeId: number; readonly state: NodeState; readonly previous: NodeState;
    readonly pid: number | undefined;
  }
  | {
    readonly type: 'exit';
    readonly nodeId: number;
    readonly pid: number | undefined;
    readonly exit: NodeExit;
    /** false: nobody asked it to exit (a crash, a fatal error, an outside kill). */
    readonly expected: boolean;
    /** `stop` had to fall back to SIGKILL after its grace period. */
    readonly forced: boolean;
  }
  | { readonly type: 'spawn-error'; readonly nodeId: number; readonly message: string };

export type ClusterListener = (e: ClusterEvent) => void;

export function parseLogRecord(line: string): NodeLogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { event?: unknown }).event === 'string') {
      return v as NodeLogRecord;
    }
  } catch {
    // Not JSON after all: kept as a plain line.
  }
  return undefined;
}

export function describeExit(e: NodeExit): string {
  return e.signal !== null ? e.signal : `${e.code ?? '?'}`;
}
