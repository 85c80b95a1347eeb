/**
 * A brute-force linearizability check for SMALL histories, written straight from the history
 * semantics (../shared/corpus/README.md, docs/history-format.md) and sharing no code with the
 * checker's search or model. It is slow on purpose: it tries every subset of the operations
 * whose outcome is unknown, and every order of the chosen operations, and asks whether one
 * order respects real time and the sequential semantics of the store.
 *
 * Semantics, all keys in one map (so per-key splitting is checked too):
 *  - every key starts absent (null);
 *  - get ok must read the current value; put sets; delete removes; append appends to
 *    (current ?? ""); cas ok needs current == expected and sets value; cas fail needs
 *    current != expected and changes nothing;
 *  - info, or no completion at all: the operation may or may not have taken effect, and it
 *    returns at +infinity. One that is chosen to take effect behaves as if it had succeeded
 *    (a cas that ran but found another value changes nothing: the same as not choosing it);
 *  - operations that constrain nothing take no part: gets with no known outcome, and failed
 *    gets / puts / deletes / appends;
 *  - real time: a precedes b iff a returned strictly before b was invoked.
 */
import type { History, KeyValue, Operation } from '../../src/history/types.js';

export const BRUTE_FORCE_MAX_OPERATIONS = 8;

interface Candidate {
  op: Operation;
  invoke: number;
  ret: number;
}

export type BruteForceResult =
  | { linearizable: true; order: Operation[] }
  | { linearizable: false };

type Store = ReadonlyMap<string, string>;

/** The store after `op`, or undefined if `op` cannot happen in `store`. */
function apply(store: Store, op: Operation): Store | undefined {
  const cur: KeyValue = store.get(op.key) ?? null;
  const set = (v: string | null): Store => {
    const next = new Map(store);
    if (v === null) next.delete(op.key);
    else next.set(op.key, v);
    return next;
  };
  switch (op.f) {
    case 'get':
      return cur === op.output ? store : undefined;
    case 'put':
      return set(op.value!);
    case 'delete':
      return set(null);
    case 'append':
      return set((cur ?? '') + op.value!);
    case 'cas': {
      const expected = op.expected ?? null;
      if (op.status === 'fail') return cur !== expected ? store : undefined;
      return cur === expected ? set(op.value!) : undefined;
    }
  }
}

export function bruteForceCheck(history: History): BruteForceResult {
  if (history.operations.length > BRUTE_FORCE_MAX_OPERATIONS) {
    throw new Error(`brute force: ${history.operations.length} operations, at most ${BRUTE_FORCE_MAX_OPERATIONS}`);
  }
  const mandatory: Candidate[] = [];
  const optional: Candidate[] = [];
  for (const op of history.operations) {
    const unknown = op.status === 'info';
    const c: Candidate = { op, invoke: op.invokeTime, ret: unknown ? Infinity : op.completionTime! };
    if (op.status === 'ok' || (op.status === 'fail' && op.f === 'cas')) mandatory.push(c);
    else if (unknown && op.f !== 'get') optional.push(c);
  }
  for (let mask = 0; mask < 1 << optional.length; mask++) {
    const chosen = [...mandatory, ...optional.filter((_, i) => (mask >> i) & 1)];
    const order = findOrder(chosen, [], new Map());
    if (order) return { linearizable: true, order: order.map(c => c.op) };
  }
  return { linearizable: false };
}

/**
 * Every order of `left` after `prefix`, extended one operation at a time. A prefix that
 * already breaks real time or the semantics is not extended: no order that starts with it
 * can be valid, so this visits exactly the valid orders of the plain enumeration.
 */
function findOrder(left: Candidate[], prefix: Candidate[], store: Store): Candidate[] | undefined {
  if (left.length === 0) return prefix;
  for (const c of left) {
    const rest = left.filter(x => x !== c);
    // c goes next, so everything in `rest` comes after it: none of them may have returned
    // before c was invoked.
    if (rest.some(x => x.ret < c.invoke)) continue;
    const after = apply(store, c.op);
    if (after === undefined) continue;
    const found = findOrder(rest, [...prefix, c], after);
    if (found) return found;
  }
  return undefined;
}

export function bruteForceLinearizable(history: History): boolean {
  return bruteForceCheck(history).linearizable;
}

/**
 * Checks a witness the checker returned for one key: every operation that must take effect
 * appears once, chosen indeterminate ones at most once, real time is respected, and each
 * step is legal. Returns what is wrong, or undefined. (Indeterminate operations left out
 * are taken not to have happened; an indeterminate cas may appear where it changes nothing.)
 */
export function witnessProblem(operations: readonly Operation[], order: readonly Operation[]): string | undefined {
  const seen = new Set<Operation>();
  let store: Store = new Map();
  for (let k = 0; k < order.length; k++) {
    const op = order[k]!;
    if (seen.has(op)) return `id ${op.id} appears twice`;
    seen.add(op);
    if (op.status === 'fail' && op.f !== 'cas') return `id ${op.id} failed and cannot take effect`;
    if (op.status === 'info' && op.f === 'get') return `id ${op.id} is a get with no outcome and cannot be placed`;
    for (const later of order.slice(k + 1)) {
      const ret = later.status === 'info' ? Infinity : later.completionTime!;
      if (ret < op.invokeTime) return `id ${later.id} returned before id ${op.id} was invoked, but comes after it`;
    }
    // An indeterminate cas placed where its compare fails ran and changed nothing: allowed.
    const noOp = op.status === 'info' && op.f === 'cas' && (store.get(op.key) ?? null) !== (op.expected ?? null);
    const after = noOp ? store : apply(store, op);
    if (after === undefined) return `id ${op.id} is illegal at position ${k}`;
    store = after;
  }
  for (const op of operations) {
    const mustAppear = op.status === 'ok' || (op.status === 'fail' && op.f === 'cas');
    if (mustAppear && !seen.has(op)) return `id ${op.id} (${op.status}) is missing`;
  }
  return undefined;
}
