/**
 * The key-value model: the sequential specification of one key, as the checker sees it.
 * Semantics are those of docs/history-format.md: every key starts absent; `get` reads;
 * `put` writes; `delete` removes; `append` appends (absent counts as ""); `cas` swaps only if
 * the value equals `expected` (`null` = absent), and a failed cas is a definite non-effect
 * that still says the value differed at its linearization point.
 */
import { ILLEGAL, type Illegal, type Model } from './check-search.js';
import type { KeyValue, Operation } from './types.js';

/**
 * Whether an operation takes part in the search at all. Dropped: gets whose outcome is not
 * known (they constrain nothing), and failed puts / deletes / appends / gets (a definite
 * non-effect that, unlike a failed cas, says nothing about the value).
 */
export function isSearchRelevant(op: Operation): boolean {
  if (op.status === 'fail') return op.f === 'cas';
  if (op.f === 'get') return op.status === 'ok';
  return true;
}

/** Sequential semantics; an indeterminate operation may or may not take effect. */
export function kvStep(state: KeyValue, op: Operation, indeterminate: boolean): KeyValue | Illegal {
  switch (op.f) {
    case 'get':
      return state === op.output ? state : ILLEGAL;
    case 'put':
      return op.value!;
    case 'delete':
      return null;
    case 'append':
      return (state ?? '') + op.value!;
    case 'cas':
      if (indeterminate) return state === op.expected ? op.value! : state;
      if (op.status === 'fail') return state === op.expected ? ILLEGAL : state;
      return state === op.expected ? op.value! : ILLEGAL;
  }
}

export const kvModel: Model<KeyValue, Operation> = {
  init: null,
  step: kvStep,
  readOnly: (op) => op.f === 'get' || (op.f === 'cas' && op.status === 'fail'),
  effectKey: (op) => JSON.stringify([op.f, op.expected, op.value]),
  hints: {
    requires(op) {
      if (op.f === 'get') return { state: op.output ?? null };
      // A determinate cas needs its expected value; an indeterminate one takes effect only then.
      if (op.f === 'cas' && op.status !== 'fail') return { state: op.expected ?? null };
      return undefined;
    },
    produces(op) {
      if (op.f === 'put' || (op.f === 'cas' && op.status !== 'fail')) return { state: op.value! };
      if (op.f === 'delete') return { state: null };
      return undefined;
    },
    forbids(op) {
      return op.f === 'cas' && op.status === 'fail' ? { state: op.expected ?? null } : undefined;
    },
    opaque: (op) => op.f === 'append',
    // Appends only ever add to the end; absent counts as "" for them but is itself reachable
    // only by a delete (a producer), never by an append.
    canReach: (from, to, pending) => to !== null && to.startsWith(from ?? '')
      && isConcatenation(to.slice((from ?? '').length), pending),
    opaqueToken: (op) => (op.f === 'append' ? op.value : undefined),
  },
};

/** A value for people: strings quoted, absent as `absent`. */
export function showValue(v: KeyValue | undefined): string {
  return v === null || v === undefined ? 'absent' : JSON.stringify(v);
}

/** One operation as a person would write it, with its outcome: `cas x "1"→"2" fail`. */
export function describeOperation(op: Operation): string {
  const outcome = op.status === 'info' ? ' ?' : op.status === 'fail' ? ' → fail' : '';
  switch (op.f) {
    case 'get':
      return `get ${op.key}${op.status === 'ok' ? ` → ${showValue(op.output)}` : outcome}`;
    case 'put':
    case 'append':
      return `${op.f} ${op.key} ${showValue(op.value)}${outcome}`;
    case 'delete':
      return `delete ${op.key}${outcome}`;
    case 'cas':
      return `cas ${op.key} ${showValue(op.expected)}→${showValue(op.value)}${outcome}`;
  }
}

/** Why an operation cannot take effect in `state`, or undefined if it can. */
export function explainIllegal(state: KeyValue, op: Operation): string | undefined {
  if (kvStep(state, op, op.status === 'info') !== ILLEGAL) return undefined;
  if (op.f === 'get') return `it read ${showValue(op.output)}, but the value was ${showValue(state)}`;
  if (op.f === 'cas' && op.status === 'fail') {
    return `it failed, so the value was not ${showValue(op.expected)}, but it was`;
  }
  return `it succeeded, so the value was ${showValue(op.expected)}, but it was ${showValue(state)}`;
}

/** Why an operation that needs a particular value can never take effect from `state` on. */
export function explainUnreachable(state: KeyValue, op: Operation): string {
  const needed = op.f === 'get' ? op.output ?? null : op.expected ?? null;
  const what = op.f === 'get' ? `it read ${showValue(needed)}` : `it succeeded, so the value was ${showValue(needed)}`;
  return `${what}, but the value is ${showValue(state)} and no operation left can make it ${showValue(needed)}`;
}

/** Why an operation cannot see the value it needs: an operation that completed before it began saw another. */
export function explainOverwritten(op: Operation, before: Operation): string {
  const needed = op.f === 'get' ? op.output ?? null : op.expected ?? null;
  const what = op.f === 'get' ? `it read ${showValue(needed)}` : `it succeeded, so the value was ${showValue(needed)}`;
  const seen = before.f === 'get' ? before.output ?? null : before.f === 'delete' ? null : before.value ?? null;
  return `${what}, but id ${before.id} (${describeOperation(before)}) completed before it began, leaving the value ${showValue(seen)},`
    + ` and no operation that could fall between the two writes ${showValue(needed)}`;
}

/** Why two successful CASes from the same value cannot both have happened: a lost update. */
export function explainConsumed(op: Operation, other: Operation): string {
  return `it succeeded from ${showValue(op.expected)}, and so did id ${other.id} (${describeOperation(other)}), `
    + `but each leaves another value and no operation that could fall between them writes ${showValue(op.expected)} again`;
}

/**
 * Can `text` be written as a concatenation of pieces from `pieces` (those with a count > 0)?
 * Each piece may be used any number of times: an over-approximation, which is what the
 * search's reachability rule needs (it may only ever say "reachable" too often).
 */
export function isConcatenation(text: string, pieces: ReadonlyMap<string, number>): boolean {
  if (text === '') return true;
  const lengths = new Set<number>();
  for (const [piece, count] of pieces) if (count > 0 && piece.length > 0) lengths.add(piece.length);
  if (lengths.size === 0) return false;
  const reachable = new Uint8Array(text.length + 1);
  reachable[0] = 1;
  for (let at = 0; at < text.length; at++) {
    if (!reachable[at]) continue;
    for (const len of lengths) {
      if (at + len <= text.length && (pieces.get(text.slice(at, at + len)) ?? 0) > 0) reachable[at + len] = 1;
    }
  }
  return reachable[text.length] === 1;
}
