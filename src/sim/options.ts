/**
 * The knobs of one simulated run, their defaults, and the fault profile syntax of the CLI.
 * Times are virtual microseconds.
 */
import type { NodeId } from '../replica/ballot.js';
import type { PlantedBug } from '../replica/types.js';
import { DEFAULT_DISK, type DiskOptions } from './disk.js';
import { DEFAULT_NETWORK, type NetworkOptions } from './network.js';
import type { ReplicaFactory } from './replica-like.js';

export const FAULTS = ['crash', 'partition', 'one-way', 'partial', 'loss', 'dup', 'delay', 'slow-disk', 'pause'] as const;
/**
 * Faults named explicitly, not part of `all`: `amnesia` (a crash that loses the whole data
 * directory; the node restarts empty with a new incarnation — and, as the operator would, with
 * `replace`, at once or after a while). Kept out of `all` so that the schedules of `all` seeds
 * stay what they were.
 */
export const EXTRA_FAULTS = ['amnesia'] as const;
export type Fault = (typeof FAULTS)[number] | (typeof EXTRA_FAULTS)[number];
const KNOWN_FAULTS: readonly string[] = [...FAULTS, ...EXTRA_FAULTS];

/** `ack-before-durable` (BUG-1) is planted in the driver; the others in the replica. */
export type SimPlantedBug = 'ack-before-durable' | PlantedBug;
export const PLANTED_BUGS: readonly SimPlantedBug[] = [
  'ack-before-durable', 'sync-by-round-only', 'assign-decided-idx', 'skip-dedup', 'snapshot-without-sessions', 'sync-without-snapshot',
  'leader-counts-before-durable', 'amnesia-guard-off',
];

/** `none`, `all`, or a comma list of fault names. */
export function parseFaults(spec: string): Fault[] {
  const s = spec.trim();
  if (s === '' || s === 'none') return [];
  if (s === 'all') return [...FAULTS];
  const out: Fault[] = [];
  for (const part of s.split(',').map(p => p.trim()).filter(p => p !== '')) {
    if (part === 'all') {
      for (const f of FAULTS) if (!out.includes(f)) out.push(f);
      continue;
    }
    if (!KNOWN_FAULTS.includes(part)) {
      throw new Error(`unknown fault "${part}" (expected none, all, or a comma list of ${KNOWN_FAULTS.join(', ')}; all is every one but ${EXTRA_FAULTS.join(', ')})`);
    }
    if (!out.includes(part as Fault)) out.push(part as Fault);
  }
  return out;
}

export function formatFaults(faults: readonly Fault[]): string {
  if (faults.length === 0) return 'none';
  if (FAULTS.every(f => faults.includes(f))) {
    const extra = faults.filter(f => !(FAULTS as readonly string[]).includes(f));
    return ['all', ...extra].join(',');
  }
  return faults.join(',');
}

export interface SimOptions {
  readonly seed: number;
  /** Node ids (any distinct positive integers), or a count n for ids 1…n. */
  readonly nodes: number | readonly NodeId[];
  readonly tickUs: number;
  /** Each node's tick period is tickUs × (1 ± up to this fraction), fixed per run: clocks drift. */
  readonly tickDrift: number;
  readonly electionTicks: number;
  readonly resendTicks: number;
  /** The run stops at this virtual time at the latest. */
  readonly durationUs: number;
  /** Stop as soon as the clients are done and the faults are over (default true). */
  readonly stopWhenIdle: boolean;
  readonly clients: number;
  readonly opsTotal: number;
  readonly keys: number;
  readonly clientTimeoutUs: number;
  readonly clientAttempts: number;
  readonly thinkMinUs: number;
  readonly thinkMaxUs: number;
  /** Clients start no operation after this time (default: durationUs − 800 ms). */
  readonly stopIssuingAtUs?: number;
  /** Per-client target nodes: client i sends to `clientTargets[i % length]`. */
  readonly clientTargets?: readonly (readonly NodeId[])[];
  readonly faults: readonly Fault[];
  /** Faults happen in [faultStartUs, faultEndUs); after it everything heals (defaults: 100 ms, durationUs − 1.2 s). */
  readonly faultStartUs?: number;
  readonly faultEndUs?: number;
  /**
   * Liveness: an operation invoked this long after the faults end (all healed, all nodes up)
   * must get a definite answer, else the run reports `no-progress`. Default 300 ms; null: no
   * check (for scenarios that keep a partition to the end).
   */
  readonly progressGraceUs?: number | null;
  readonly network: NetworkOptions;
  readonly disk: DiskOptions;
  readonly trace: boolean;
  readonly plantedBug?: SimPlantedBug;
  readonly sessionIdleEntries?: number;
  /**
   * The replicas' snapshotEntries (log compaction). Default: from the seed — off for one seed in
   * five, else a snapshot every 4–32 applied entries, so that runs snapshot and trim often,
   * crash in the middle of it, and bring back nodes whose log others compacted past.
   */
  readonly snapshotEntries?: number;
  readonly maxBatch?: number;
  /** Leader priority per node id (default: none). */
  readonly priorities?: Readonly<Record<number, number>>;
  /** Defaults to the real `Replica`. */
  readonly replicaFactory?: ReplicaFactory;
}

export const DEFAULT_OPTIONS: Omit<SimOptions, 'seed'> = {
  nodes: 3,
  tickUs: 10_000,
  tickDrift: 0.05,
  electionTicks: 5,
  resendTicks: 2,
  durationUs: 3_000_000,
  stopWhenIdle: true,
  clients: 5,
  opsTotal: 150,
  keys: 3,
  clientTimeoutUs: 200_000,
  clientAttempts: 5,
  thinkMinUs: 2_000,
  thinkMaxUs: 40_000,
  faults: [],
  network: DEFAULT_NETWORK,
  disk: DEFAULT_DISK,
  trace: false,
};

/** Seeded without drawing from the run's generator, so older seeds keep their schedules. */
export function defaultSnapshotEntries(seed: number): number {
  const s = Math.abs(Math.trunc(seed));
  return s % 5 === 0 ? 0 : 4 + (s % 29);
}

export type SimOptionsInput = Partial<SimOptions> & { readonly seed: number };

export function resolveOptions(input: SimOptionsInput): SimOptions {
  return { ...DEFAULT_OPTIONS, ...stripUndefined(input) } as SimOptions;
}

export function nodeIds(nodes: number | readonly NodeId[]): NodeId[] {
  const ids = typeof nodes === 'number' ? Array.from({ length: nodes }, (_, i) => i + 1) : [...nodes];
  if (ids.length === 0) throw new Error('a cluster needs at least one node');
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 1) throw new Error(`node ids must be positive integers, got ${id}`);
  }
  if (new Set(ids).size !== ids.length) throw new Error(`node ids must be distinct: ${ids.join(',')}`);
  return ids;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
