/**
 * Checking the operations of one key: the search, and what its result means for people.
 * Pure: the caller drives the generator and decides when to stop it.
 */
import { searchSteps, type SearchOp, type SearchResult } from './check-search.js';
import {
  describeOperation, explainConsumed, explainIllegal, explainOverwritten, explainUnreachable, isSearchRelevant, kvModel, showValue,
} from './kv-model.js';
import type { KeyValue, Operation } from './types.js';

/** `skipped`: not checked, because another key had already settled the verdict. */
export type KeyVerdict = 'linearizable' | 'not-linearizable' | 'unknown' | 'skipped';

/** One operation placed in a linearization, with the value of the key around it. */
export interface LinearizedStep {
  /** Index into History.operations. */
  op: number;
  before: KeyValue;
  after: KeyValue;
}

export interface KeyFailure {
  /** The value after the longest linearizable prefix. */
  state: KeyValue;
  /** The operation that had to take effect next and could not (index into History.operations). */
  stuck: number;
  reason: string;
  /** Every operation that could have gone next, with why it could not (if it was illegal). */
  rejected: { op: number; reason: string }[];
}

export interface KeyReport {
  key: string;
  verdict: KeyVerdict;
  /** Operations on this key, and how many of them have an unknown outcome. */
  operations: number;
  indeterminate: number;
  /** Operations the search had to place (the rest constrain nothing). */
  searched: number;
  /**
   * Linearizable: a linearization (indeterminate ops not listed took effect at the end, if
   * at all). Otherwise: the longest linearizable prefix found.
   */
  linearization: LinearizedStep[];
  failure?: KeyFailure;
  /** Distinct configurations explored. */
  configs: number;
  /** Why an `unknown` key has no verdict: the time limit, or the search's memory bound. */
  unknownBecause?: 'time' | 'memory';
  /** Filled in by the driver that timed it. */
  elapsedMs?: number;
}


export interface KeyCheckOptions {
  /** Default true; false runs the plain memoised WGL search (for comparison). */
  pruning?: boolean;
  shouldStop?: () => boolean;
  /** Bound on the search's memo (see MAX_CONFIGS in check-search.ts). */
  maxConfigs?: number;
  /** Default true: on a violation, also try the plain search for the most direct explanation. */
  explain?: boolean;
}

/** A key's search, ready to run: step it with `steps.next(stop)`. */
export interface KeyJob {
  key: string;
  ops: readonly Operation[];
  relevant: Operation[];
  input: SearchOp<Operation>[];
  pruning: boolean;
  explain: boolean;
  steps: Generator<void, SearchResult<KeyValue>, boolean>;
}

/**
 * How long (in the search's slices of about a thousand steps) the plain search may run to
 * explain a violation the pruned search found. Its explanation is the direct one — the
 * longest prefix and the operation that is illegal after it — while the pruned search may
 * stop earlier, at the step that makes a later read impossible.
 */
const EXPLAIN_SLICES = 64;

/** The plain search's result, if it finishes within the budget. */
function plainSearch(job: KeyJob): SearchResult<KeyValue> | undefined {
  const steps = searchSteps(kvModel, job.input, { pruning: false });
  let r = steps.next(false);
  for (let slice = 0; !r.done && slice < EXPLAIN_SLICES; slice++) r = steps.next(false);
  return r.done ? r.value : undefined;
}

export function prepareKey(key: string, ops: readonly Operation[], options: KeyCheckOptions = {}): KeyJob {
  const relevant = ops.filter(isSearchRelevant);
  const input: SearchOp<Operation>[] = relevant.map(op => ({
    op, call: op.invokeTime, ret: op.returnTime, indeterminate: op.status === 'info',
  }));
  const pruning = options.pruning ?? true;
  return { key, ops, relevant, input, pruning, explain: options.explain ?? true, steps: searchSteps(kvModel, input, { pruning, ...(options.maxConfigs ? { maxConfigs: options.maxConfigs } : {}) }) };
}

/** Runs a key's search on this thread until it ends or `shouldStop` says so. */
export function checkKey(key: string, ops: readonly Operation[], options: KeyCheckOptions = {}): KeyReport {
  const job = prepareKey(key, ops, options);
  let r = job.steps.next(false);
  while (!r.done) r = job.steps.next(options.shouldStop?.() ?? false);
  return keyReportFromResult(job, r.value);
}

export function keyReportFromResult(job: KeyJob, found: SearchResult<KeyValue>): KeyReport {
  const { key, ops, relevant } = job;
  let result = found;
  if (found.kind === 'not-linearizable' && job.pruning && job.explain) {
    const plain = plainSearch(job);
    // The pruning rules are proved sound; if the plain search ever disagrees, say so loudly
    // rather than print a verdict that one of the two searches contradicts.
    if (plain?.kind === 'linearizable') {
      throw new Error(`checker bug: key ${JSON.stringify(key)} is linearizable by the plain search but not by the pruned one`);
    }
    if (plain?.kind === 'not-linearizable') result = plain;
  }
  const steps = (placements: { op: number; state: KeyValue }[]): LinearizedStep[] => {
    let before: KeyValue = kvModel.init;
    return placements.map(p => {
      const step = { op: relevant[p.op]!.index, before, after: p.state };
      before = p.state;
      return step;
    });
  };
  const base = {
    key,
    operations: ops.length,
    indeterminate: ops.filter(o => o.status === 'info').length,
    searched: relevant.length,
    configs: result.configs,
  };
  switch (result.kind) {
    case 'linearizable':
      return { ...base, verdict: 'linearizable', linearization: steps(result.order) };
    case 'unknown':
      return { ...base, verdict: 'unknown', unknownBecause: result.why === 'memory' ? 'memory' : 'time', linearization: steps(result.prefix) };
    case 'not-linearizable': {
      const placed = new Set(result.prefix.map(p => p.op));
      /** Why a candidate was refused, in words. */
      const refusal = (c: number): string => {
        const illegal = explainIllegal(result.state, relevant[c]!);
        if (illegal) return illegal;
        const dead = result.deadEnds.find(d => d.op === c);
        if (dead) {
          const needer = relevant.findIndex((o, i) => !placed.has(i) && i !== c && o.status !== 'info'
            && kvModel.hints!.requires(o)?.state === dead.lost);
          const example = needer >= 0 ? ` (id ${relevant[needer]!.id}: ${describeOperation(relevant[needer]!)})` : '';
          return `after it the value could never be ${showValue(dead.lost)} again, yet a later operation needs that${example}`;
        }
        return 'it is legal here, but every order of the operations after it fails';
      };
      const rejected = result.candidates.map(c => ({ op: relevant[c]!.index, reason: refusal(c) }));
      const unsatisfiable = result.unsatisfiable === undefined ? undefined : relevant[result.unsatisfiable];
      const stuckIdx = result.unsatisfiable ?? result.stuck;
      const stuck = relevant[stuckIdx];
      const reason = stuck === undefined ? 'no operation can be placed first'
        : result.overwrittenBy !== undefined ? explainOverwritten(stuck, relevant[result.overwrittenBy]!)
          : result.consumedBy !== undefined ? explainConsumed(stuck, relevant[result.consumedBy]!)
          : unsatisfiable !== undefined ? explainUnreachable(result.state, unsatisfiable) : refusal(stuckIdx);
      return {
        ...base,
        verdict: 'not-linearizable',
        linearization: steps(result.prefix),
        failure: { state: result.state, stuck: stuck?.index ?? -1, reason, rejected },
      };
    }
  }
}

