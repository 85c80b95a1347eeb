/**
 * Wing & Gong's linearizability search with Lowe's memoisation, over any sequential model.
 *
 * Pure: no clock, no I/O. The caller hands in `shouldStop` to bound the time spent.
 *
 * The search keeps the unplaced operations in a doubly linked list of call and return
 * entries sorted by time (calls before returns at equal times: intervals are closed, so an
 * operation precedes another only if it returned strictly before the other was invoked).
 * The call entries before the first return entry are exactly the operations that may be
 * linearized next. Placing one "lifts" its two entries out of the list; backtracking puts
 * them back (dancing links). A configuration is (set of placed operations, model state); a
 * configuration seen before is never explored again (Lowe), because the search from a
 * configuration is complete: if it did not succeed the first time it never will.
 *
 * With `pruning` on (the default) further rules cut the search. Each is sound: whenever a
 * linearization exists from a configuration, one exists that the pruned search explores;
 * and each is proved where it is stated: R1–R6 here, R7 (dominance of configurations with
 * fewer indeterminate ops placed) at the memo, R8–R9 (static checks of reads and CASes
 * against completed operations) in check-static.ts. Tests compare the pruned search with
 * the plain one and with a brute force on thousands of generated histories.
 *
 *  R1 (take legal reads at once). A determinate read-only operation (one that changes the
 *     state in no state: a read, a failed CAS) that may be placed now and is legal in the
 *     current state s is placed without branching, and if that fails the configuration fails.
 *     Proof: take any linearization L of the rest. Move the read r to the front. Real time
 *     still holds: r may be placed now, so no unplaced operation returned before r was
 *     invoked, so nothing has to precede r. r is legal in s, and r changed nothing where it
 *     stood in L, so every other operation sees the same state as before. (A write of the
 *     value already there is NOT such an operation: where it stood in L it may have changed
 *     the state. The Knossos corpus caught exactly that mistake.)
 *
 *  R2 (indeterminate operations only where they change something). An indeterminate operation
 *     (return time +infinity) is never placed where it leaves the state unchanged. Proof: in a
 *     linearization that places it there, delete it from that position and append it at the
 *     end. Nothing else sees a different state; real time holds because nothing has to follow
 *     an operation that never returned; and an indeterminate operation is legal in every state
 *     (it may or may not take effect: the model lets it apply or do nothing). Hence too: once
 *     only indeterminate operations remain, the history is linearizable.
 *
 *  R3 (interchangeable indeterminate operations in invocation order). Indeterminate
 *     operations with the same effect (same `effectKey`) are placed in invocation order.
 *     Proof: if a linearization places b before a, with a invoked first, swap them. a moves
 *     earlier to b's position; everything that had to precede b returned before b's
 *     invocation, so before a's, and is already placed; b moves later, which is always
 *     allowed for an operation that never returned. Same effect, so the states are unchanged.
 *
 *  R4 (values that are needed must still be producible; only with value hints). Let `needs`
 *     count, per value v, the unplaced determinate operations legal only in state v (a read of
 *     v, a successful CAS from v), and `producers` the unplaced operations that can set the
 *     state to v. (a) When an operation moves the state away from v while needs[v] > 0 and
 *     producers[v] = 0, the branch is dead: those operations can never become legal.
 *     (b) An indeterminate operation i that would move the state from s to v is not placed
 *     when no unplaced operation other than i needs v (not even an indeterminate CAS from v)
 *     and no unplaced failed CAS forbids s. Proof: in a linearization L = i, o1, …, ok, o', …
 *     where o1..ok keep the state v and o' is the first to change it, build L' by dropping i
 *     (appending it at the end) and moving any indeterminate o1..ok to the end as well. The
 *     remaining o1..ok are failed CASes (legal in s, since none forbids s) or writes of v
 *     (after the first of them the state is v again and L' continues exactly as L). o' does
 *     not depend on v (nothing needs v), so it produces the same state from s as from v.
 *     Applying R2–R4 repeatedly to the head of a linearization terminates, because each
 *     application moves one more indeterminate operation into the suffix that holds only
 *     indeterminate operations; and R3's reordering keeps the sequence of effects, so it
 *     can be applied after each step.
 *  R4 needs a model whose every state change is captured by the hints; operations that are not
 *  (`opaque`, such as append) switch R4 off for the whole key.
 *
 *  R5 (a read must still be satisfiable). When an unplaced determinate operation is legal
 *     only in state g ≠ s, and g can be reached neither from s nor from the state set by any
 *     unplaced producer, the configuration is dead. Only the first few such operations in
 *     invocation order are checked, which keeps it cheap. Proof: every later
 *     state is s or the state p of the last producer placed, followed by operations that are
 *     not producers; those change nothing (no opaque ops) or, for opaque ops, can only turn a
 *     state b into states c with `canReach(b, c, pending)`, given the opaque ops still
 *     unplaced (for append: b is a prefix of c, and the rest of c is a concatenation of
 *     values of appends not yet placed).
 *
 *  R6 (indeterminate operations only just before an operation that needs them; only with
 *     value hints, no opaque ops). An indeterminate operation i that would move the state
 *     from s to v is placed only if some other operation that may go now *needs* it: a
 *     determinate read of v or successful CAS from v, an indeterminate CAS from v, or a
 *     failed CAS that forbids s. Proof: take a linearization L = …, i, o, … and look at the
 *     operation o right after i. (a) o is a blind write (put, delete, indeterminate or not):
 *     it overwrites v, so move i to the end (as in R2). (b) o is indeterminate and does not
 *     need v: in state v it has no effect, so move o to the end. (c) o is determinate, does
 *     not need v and writes nothing blindly: it is a read or failed CAS legal in both s and
 *     v, or a CAS from some third value (impossible in v); so o is legal in s with the same
 *     result, and swapping i and o changes nothing else (moving i later is always allowed;
 *     o moves earlier past an operation that never returned). Repeating this moves every
 *     indeterminate op either to the end or to just before an operation that needs it,
 *     and that operation may go wherever i may (i's placement never blocks anyone), so it
 *     is among the operations that may go now. R6 is R4(b) with real time taken into
 *     account: R4(b) asks whether anything left needs v, R6 whether anything that may go
 *     now does.
 */

import { staticViolation } from './check-static.js';

export const ILLEGAL: unique symbol = Symbol('illegal');
export type Illegal = typeof ILLEGAL;

/** What the pruning rules may know about an operation, in terms of model states. */
export interface ValueHints<S, O> {
  /** The only state in which the (determinate) operation is legal, or in which it takes effect. */
  requires(op: O): { state: S } | undefined;
  /** The state the operation leaves whenever it takes effect, whatever the state before. */
  produces(op: O): { state: S } | undefined;
  /** The one state in which the (determinate) operation is illegal and otherwise harmless. */
  forbids(op: O): { state: S } | undefined;
  /** True when the effect depends on the prior state in a way the three above do not say. */
  opaque(op: O): boolean;
  /**
   * For models with opaque ops: may a sequence of opaque ops turn `from` into `to`?
   * Must over-approximate (answering true is always safe). Without it R5 is off for such keys.
   */
  canReach?(from: S, to: S, pending: ReadonlyMap<string, number>): boolean;
  /**
   * For opaque ops: a token naming the op's effect (for append, its value). The search hands
   * canReach the tokens of the opaque ops still unplaced, with counts (a count may be 0).
   */
  opaqueToken?(op: O): string | undefined;
}

export interface Model<S, O> {
  readonly init: S;
  /** The state after `op`, or ILLEGAL. An indeterminate op must be legal in every state. */
  step(state: S, op: O, indeterminate: boolean): S | Illegal;
  /** True if the op changes the state in no state at all (R1). */
  readOnly?(op: O): boolean;
  /** Indeterminate ops with equal keys are interchangeable (R3). */
  effectKey?(op: O): string;
  hints?: ValueHints<S, O>;
}

export interface SearchOp<O> {
  op: O;
  call: number;
  /** +Infinity when the outcome is unknown. */
  ret: number;
  indeterminate: boolean;
}

export interface SearchOptions {
  /** Default true. Off gives plain WGL + memoisation, for comparison in tests. */
  pruning?: boolean;
  /** The memo's bound (default MAX_CONFIGS); reaching it ends the search with `unknown`. */
  maxConfigs?: number;
  /** Polled now and then; returning true ends the search with `unknown`. */
  shouldStop?: () => boolean;
}

export interface Placement<S> {
  /** Index into the input array. */
  op: number;
  /** State after the operation. */
  state: S;
}

export type SearchResult<S> =
  | { kind: 'linearizable'; order: Placement<S>[]; configs: number }
  | {
    kind: 'not-linearizable';
    /** The longest sequence of operations found that linearizes. */
    prefix: Placement<S>[];
    /** The state after that prefix. */
    state: S;
    /** The unplaced operation that returned first: it had to be placed next. */
    stuck: number;
    /** The operations that could have been placed next, and were tried. */
    candidates: number[];
    /**
     * When the deepest configuration died because an operation needs a state that can no
     * longer arise (R5): that operation. It explains the failure better than `stuck`.
     */
    unsatisfiable?: number;
    /** With `unsatisfiable` from R8: the write that had to come before it and overwrote the value. */
    overwrittenBy?: number;
    /** With `unsatisfiable` from R9: the other successful CAS that used up the same value. */
    consumedBy?: number;
    /** Candidates that were legal but would have left `lost` needed and unreachable (R4a). */
    deadEnds: { op: number; lost: S }[];
    configs: number;
  }
  | {
    kind: 'unknown';
    /** `stopped`: the caller said stop (time limit); `memory`: the memo reached MAX_CONFIGS. */
    why: 'stopped' | 'memory';
    prefix: Placement<S>[];
    configs: number;
  };

const STOP_POLL = 1023;
const R5_LOOKAHEAD = 8;
/**
 * The most configurations the memo may hold before the search gives up with `unknown`. A
 * JavaScript Set holds at most 2^24 entries and throws beyond; long before that, memory runs
 * short (16.7 M configurations of a 20,000-op history took 5.9 GB).
 */
export const MAX_CONFIGS = 6_000_000;
/** How long the search goes on, once R8 has settled the verdict, to find a prefix to report. */
const R8_SLICES = 32;

/** Runs the search to the end, or until `shouldStop` says so. */
export function searchLinearization<S, O>(
  model: Model<S, O>, input: readonly SearchOp<O>[], options: SearchOptions = {},
): SearchResult<S> {
  const steps = searchSteps(model, input, options);
  for (;;) {
    const r = steps.next(false);
    if (r.done) return r.value;
    if (options.shouldStop?.()) return steps.next(true).value as SearchResult<S>;
  }
}

/**
 * The search as a generator: it yields every thousand or so steps, so a driver can share one
 * thread between several keys and stop them. Resume it with next(true) to stop: it then
 * returns an `unknown` result with the deepest prefix found.
 */
export function* searchSteps<S, O>(
  model: Model<S, O>, input: readonly SearchOp<O>[], options: Pick<SearchOptions, 'pruning' | 'maxConfigs'> = {},
): Generator<void, SearchResult<S>, boolean> {
  const pruning = options.pruning ?? true;
  const maxConfigs = options.maxConfigs ?? MAX_CONFIGS;
  const n = input.length;

  // Local numbering: determinate ops first, then indeterminate ones, each by call time.
  const order = input.map((_, i) => i).sort((a, b) => {
    const x = input[a]!, y = input[b]!;
    if (x.indeterminate !== y.indeterminate) return x.indeterminate ? 1 : -1;
    return x.call - y.call || a - b;
  });
  const ops = order.map(i => input[i]!);
  const D = ops.findIndex(o => o.indeterminate) < 0 ? n : ops.findIndex(o => o.indeterminate);
  const isInfo = (i: number) => i >= D;

  // States are interned so configurations compare as integers.
  const stateIds = new Map<S, number>();
  const states: S[] = [];
  const intern = (s: S): number => {
    let id = stateIds.get(s);
    if (id === undefined) {
      id = states.length;
      states.push(s);
      stateIds.set(s, id);
    }
    return id;
  };
  let sid = intern(model.init);

  // Entry list. Entry 2i is op i's call, 2i+1 its return; HEAD is the sentinel.
  const HEAD = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  {
    const entries = new Array<number>(2 * n);
    for (let i = 0; i < n; i++) { entries[2 * i] = 2 * i; entries[2 * i + 1] = 2 * i + 1; }
    const time = (e: number) => (e & 1 ? ops[e >> 1]!.ret : ops[e >> 1]!.call);
    // Returns of indeterminate ops are all +Infinity; compare without subtracting them.
    entries.sort((a, b) => {
      const ta = time(a), tb = time(b);
      return ta < tb ? -1 : ta > tb ? 1 : (a & 1) - (b & 1) || a - b;
    });
    let last = HEAD;
    for (const e of entries) { next[last] = e; prev[e] = last; last = e; }
    next[last] = HEAD; prev[HEAD] = last;
  }
  const lift = (i: number) => {
    const c = 2 * i, r = c + 1;
    next[prev[c]!] = next[c]!; prev[next[c]!] = prev[c]!;
    next[prev[r]!] = next[r]!; prev[next[r]!] = prev[r]!;
  };
  const unlift = (i: number) => {
    const c = 2 * i, r = c + 1;
    prev[next[r]!] = r; next[prev[r]!] = r;
    prev[next[c]!] = c; next[prev[c]!] = c;
  };

  const readOnly = new Uint8Array(n);
  if (pruning && model.readOnly) for (let i = 0; i < D; i++) readOnly[i] = model.readOnly(ops[i]!.op) ? 1 : 0;

  // R3: for each indeterminate op, the previous one with the same effect.
  const prevSame = new Int32Array(n).fill(-1);
  if (pruning && model.effectKey) {
    const lastOf = new Map<string, number>();
    for (let i = D; i < n; i++) {
      const k = model.effectKey(ops[i]!.op);
      const p = lastOf.get(k);
      if (p !== undefined) prevSame[i] = p;
      lastOf.set(k, i);
    }
  }

  // R4 counters, over unplaced ops, indexed by state id.
  const hints = pruning ? model.hints : undefined;
  const hasOpaque = hints !== undefined && ops.some(o => hints.opaque(o.op));
  const valueRules = hints !== undefined && !hasOpaque;
  const pendingTokens = new Map<string, number>();
  const reach = hasOpaque ? hints?.canReach?.bind(hints) : undefined;
  const canReach = reach && ((from: S, to: S) => reach(from, to, pendingTokens));
  const tokenOf: (string | undefined)[] = hasOpaque ? ops.map(o => hints!.opaqueToken?.(o.op)) : [];
  const reachRule = hints !== undefined && (!hasOpaque || canReach !== undefined); // R5
  const reqOf = new Int32Array(n).fill(-1);
  const prodOf = new Int32Array(n).fill(-1);
  const forbOf = new Int32Array(n).fill(-1);
  const needDet: number[] = [];
  const needAny: number[] = [];
  const producers: number[] = [];
  const forbidders: number[] = [];
  const bump = (arr: number[], s: number, d: number) => { arr[s] = (arr[s] ?? 0) + d; };
  if (reachRule) {
    for (let i = 0; i < n; i++) {
      const o = ops[i]!.op;
      const r = hints.requires(o), p = hints.produces(o), f = hints.forbids(o);
      if (r) reqOf[i] = intern(r.state);
      if (p) prodOf[i] = intern(p.state);
      if (f && !isInfo(i)) forbOf[i] = intern(f.state);
    }
  }
  const count = (i: number, d: number) => {
    if (reqOf[i]! >= 0) {
      bump(needAny, reqOf[i]!, d);
      if (!isInfo(i)) bump(needDet, reqOf[i]!, d);
    }
    if (prodOf[i]! >= 0) bump(producers, prodOf[i]!, d);
    if (forbOf[i]! >= 0) bump(forbidders, forbOf[i]!, d);
    const t = tokenOf[i];
    if (t !== undefined) pendingTokens.set(t, (pendingTokens.get(t) ?? 0) + d);
  };
  if (reachRule) for (let i = 0; i < n; i++) count(i, +1);
  // R5 looks at the first unplaced determinate ops that need an exact state.
  const needers: number[] = [];
  const neederFrom = new Int32Array(D + 1);
  for (let i = 0; i < D; i++) {
    neederFrom[i] = needers.length;
    if (reqOf[i]! >= 0) needers.push(i);
  }
  neederFrom[D] = needers.length;
  const producedStates = [...new Set(Array.from(prodOf).filter(p => p >= 0))];
  /** R5: can the state still become g from here? */
  const reachable = (g: number): boolean => {
    if (g === sid || (canReach && canReach(states[sid]!, states[g]!))) return true;
    if ((producers[g] ?? 0) > 0) return true;
    if (!canReach) return false;
    for (const p of producedStates) if ((producers[p] ?? 0) > 0 && canReach(states[p]!, states[g]!)) return true;
    return false;
  };

  // Placed sets, kept apart so memo keys stay short: determinate ops below pDet are all
  // placed, so only the window [pDet, hiDet] is encoded; indeterminate ones up to hiInfo.
  const detBits = new Uint32Array((D >> 5) + 1);
  const infoBits = new Uint32Array(((n - D) >> 5) + 1);
  const placed = (i: number) => (isInfo(i)
    ? (infoBits[(i - D) >> 5]! >>> ((i - D) & 31)) & 1
    : (detBits[i >> 5]! >>> (i & 31)) & 1) === 1;
  const setBit = (i: number, on: boolean) => {
    const [bits, j] = isInfo(i) ? [infoBits, i - D] : [detBits, i];
    if (on) bits[j >> 5]! |= 1 << (j & 31);
    else bits[j >> 5]! &= ~(1 << (j & 31));
  };
  let pDet = 0, hiDet = -1, hiInfo = -1;
  let remainingDet = D;
  const codes: number[] = [];
  /** The state and the determinate ops placed: exact, and short. */
  const detKey = (): string => {
    codes.length = 0;
    if (hiDet >= pDet) for (let w = pDet >> 5; w <= hiDet >> 5; w++) codes.push(detBits[w]! & 0xffff, detBits[w]! >>> 16);
    return `${sid},${pDet},${String.fromCharCode.apply(null, codes)}`;
  };
  const infoKey = (): string => {
    codes.length = 0;
    for (let w = 0; w <= hiInfo >> 5 && hiInfo >= 0; w++) codes.push(infoBits[w]! & 0xffff, infoBits[w]! >>> 16);
    return String.fromCharCode.apply(null, codes);
  };
  // Lowe's memo: every configuration entered, under an exact key. The info part comes first,
  // prefixed by its length, so the two variable-length parts cannot run into each other.
  const memoKey = (dk: string): string => {
    const ik = infoKey();
    return `${ik.length}|${ik}|${dk}`;
  };
  const seen = new Set<string>();
  seen.add(memoKey(detKey()));

  /*
   * R7 (fewer indeterminate operations placed is never worse). If (D, s, I0) failed — D the
   * determinate ops placed, s the state, I0 the indeterminate ones — then (D, s, I1) fails
   * for every I1 ⊇ I0. Proof: a linearization from (D, s, I1) is one from (D, s, I0) once the
   * operations of I1 \ I0 are appended at the end: they are legal anywhere (an indeterminate
   * op may take effect or not) and nothing has to follow them (they never returned). So the
   * failed configurations are also indexed by (D, s), with their sets of indeterminate ops,
   * and a new configuration whose set contains one of those is dead.
   */
  const failedInfoSets = new Map<string, Uint32Array[]>();
  const hasInfo = D < n;
  const infoWords = () => (hiInfo < 0 ? 0 : (hiInfo >> 5) + 1);
  const recordFailed = (dk: string) => {
    const copy = infoBits.slice(0, infoWords());
    const list = failedInfoSets.get(dk);
    if (list) list.push(copy); else failedInfoSets.set(dk, [copy]);
  };
  const dominated = (dk: string): boolean => {
    const list = failedInfoSets.get(dk);
    if (!list) return false;
    const words = infoWords();
    outer: for (const failed of list) {
      if (failed.length > words) {
        for (let w = words; w < failed.length; w++) if (failed[w] !== 0) continue outer;
      }
      for (let w = 0; w < failed.length && w < words; w++) if ((failed[w]! & ~infoBits[w]!) !== 0) continue outer;
      return true;
    }
    return false;
  };

  // The stack of placed ops, with what is needed to undo each placement.
  const stOp = new Int32Array(n), stPrev = new Int32Array(n), stPDet = new Int32Array(n);
  const stHiDet = new Int32Array(n), stHiInfo = new Int32Array(n);
  const stForced = new Uint8Array(n);
  let depth = 0;

  const place = (i: number, newSid: number, forced: boolean) => {
    stOp[depth] = i; stPrev[depth] = sid; stPDet[depth] = pDet; stHiDet[depth] = hiDet; stHiInfo[depth] = hiInfo;
    stForced[depth] = forced ? 1 : 0;
    depth++;
    lift(i);
    setBit(i, true);
    if (reachRule) count(i, -1);
    if (isInfo(i)) { if (i - D > hiInfo) hiInfo = i - D; } else {
      remainingDet--;
      if (i > hiDet) hiDet = i;
      while (pDet < D && placed(pDet)) pDet++;
    }
    sid = newSid;
  };
  const unplace = (): number => {
    depth--;
    const i = stOp[depth]!;
    sid = stPrev[depth]!; pDet = stPDet[depth]!; hiDet = stHiDet[depth]!; hiInfo = stHiInfo[depth]!;
    setBit(i, false);
    if (reachRule) count(i, +1);
    if (!isInfo(i)) remainingDet++;
    unlift(i);
    return i;
  };
  /** Places op i in state `to` unless the configuration was seen or R4(a) kills it. */
  const tryPlace = (i: number, to: number, forced: boolean): boolean => {
    const from = sid;
    place(i, to, forced);
    const dead = valueRules && to !== from && (needDet[from] ?? 0) > 0 && (producers[from] ?? 0) === 0;
    if (dead) { unplace(); return false; }
    const dk = detKey();
    const key = memoKey(dk);
    if (seen.has(key) || (hasInfo && pruning && dominated(dk))) { unplace(); return false; }
    seen.add(key);
    return true;
  };
  /** R6: does an op that may go now, other than i, need the state to become `to`? */
  const neededNow = (i: number, to: number): boolean => {
    for (let e = next[HEAD]!; e !== HEAD && !(e & 1); e = next[e]!) {
      const o = e >> 1;
      if (o === i) continue;
      if (reqOf[o] === to && (!isInfo(o) || prodOf[o] !== to)) return true;
      if (forbOf[o] === sid) return true;
    }
    return false;
  };
  const stepTo = (i: number): number => {
    const s = model.step(states[sid]!, ops[i]!.op, isInfo(i));
    return s === ILLEGAL ? -1 : intern(s);
  };

  // The deepest configuration reached, for explaining a failure.
  let best: number[] = [];
  let bestStates: number[] = [];
  let bestSid = sid, bestStuck = -1, bestCandidates: number[] = [], bestUnsatisfiable = -1;
  let bestDeadEnds: { op: number; lost: number }[] = [];
  let unsatisfiable = -1; // set while backtracking out of a configuration that R5 killed
  let bestDirty = true; // so that a failure at the root is explained too
  let lowWater = 0; // the stack below this depth has not changed since the last snapshot
  const snapshot = () => {
    best.length = Math.min(best.length, lowWater);
    bestStates.length = best.length;
    for (let d = best.length; d < depth; d++) {
      best.push(stOp[d]!);
      bestStates.push(d + 1 < depth ? stPrev[d + 1]! : sid);
    }
    lowWater = depth;
    bestSid = sid;
    bestCandidates = [];
    bestStuck = -1;
    for (let e = next[HEAD]!; e !== HEAD; e = next[e]!) {
      if (e & 1) { bestStuck = e >> 1; break; }
      bestCandidates.push(e >> 1);
    }
    bestUnsatisfiable = unsatisfiable;
    bestDeadEnds = [];
    if (valueRules) {
      // Which candidates R4(a) refused here: legal, but they strand the current value.
      const needed = needDet[sid] ?? 0, made = producers[sid] ?? 0;
      for (const i of bestCandidates) {
        const to = stepTo(i);
        const ownNeed = !isInfo(i) && reqOf[i] === sid ? 1 : 0;
        const ownMake = prodOf[i] === sid ? 1 : 0;
        if (to >= 0 && to !== sid && needed - ownNeed > 0 && made - ownMake === 0) bestDeadEnds.push({ op: i, lost: sid });
      }
    }
    bestDirty = false;
  };
  const placements = (idx: number[], sids: number[]): Placement<S>[] =>
    idx.map((i, k) => ({ op: order[i]!, state: states[sids[k]!]! }));

  /** Undoes placements until one that was a real choice; returns false if none is left. */
  let entry = next[HEAD]!;
  const backtrack = (): boolean => {
    if (bestDirty) snapshot();
    for (;;) {
      if (hasInfo && pruning) recordFailed(detKey()); // R7: the configuration being left failed
      if (depth === 0) return false;
      const forced = stForced[depth - 1] === 1;
      const i = unplace();
      if (depth < lowWater) lowWater = depth;
      if (!forced) { entry = next[2 * i]!; return true; }
    }
  };

  let fresh = true; // just arrived at a new configuration
  // Moves are tried in list order (by invocation). Trying determinate ops before
  // indeterminate ones would let R7 fire more often, but it sends the search deep along
  // determinate-only orders first: an 82-op history with 41 unknown outcomes took 570,000
  // configurations and 20 s that way, against 102 in list order (regression test in
  // test/checker.test.ts).

  // R8 and R9 (check-static.ts): violations that show without any search. When one fires,
  // the search still runs for a little while, to report a linearizable prefix; it cannot
  // succeed (that would contradict the proof, and is reported as a bug).
  const r8 = valueRules ? staticViolation(ops, D, prodOf, reqOf, readOnly) : undefined;
  let slices = 0;
  let polls = 0;
  for (;;) {
    // Success is checked before a stop request, so a finished search is never reported as unknown.
    if (remainingDet === 0 && (pruning || next[HEAD] === HEAD)) {
      if (r8) throw new Error('checker bug: rule R8 found a violation, yet the search found a linearization');
      // R2: what remains (if anything) is indeterminate and goes at the end, with no effect.
      const idx = Array.from(stOp.subarray(0, depth));
      const sids = idx.map((_, d) => (d + 1 < depth ? stPrev[d + 1]! : sid));
      return { kind: 'linearizable', order: placements(idx, sids), configs: seen.size };
    }
    if ((++polls & STOP_POLL) === 0) {
      slices++;
      const stop: boolean = yield;
      if (r8 && (stop || slices >= R8_SLICES)) {
        if (bestDirty) snapshot();
        return {
          kind: 'not-linearizable', prefix: placements(best, bestStates), state: states[bestSid]!,
          stuck: order[r8.needer]!, candidates: bestCandidates.map(i => order[i]!),
          unsatisfiable: order[r8.needer]!, deadEnds: [], configs: seen.size,
          ...(r8.kind === 'overwritten' ? { overwrittenBy: order[r8.writer]! } : { consumedBy: order[r8.writer]! }),
        };
      }
      if (stop || seen.size >= maxConfigs) {
        if (bestDirty) snapshot();
        return { kind: 'unknown', why: stop ? 'stopped' : 'memory', prefix: placements(best, bestStates), configs: seen.size };
      }
    }
    if (fresh) {
      fresh = false;
      if (depth > best.length) bestDirty = true;
      if (pruning) {
        // R1: a harmless determinate op that may go now goes now, without branching.
        let forcedOp = -1;
        for (let e = next[HEAD]!; e !== HEAD && !(e & 1); e = next[e]!) {
          const i = e >> 1;
          if (!isInfo(i) && readOnly[i] === 1 && stepTo(i) === sid) { forcedOp = i; break; }
        }
        if (forcedOp >= 0) {
          if (tryPlace(forcedOp, sid, true)) { fresh = true; entry = next[HEAD]!; continue; }
          if (!backtrack()) break;
          continue;
        }
        if (reachRule) {
          for (let k = neederFrom[pDet]!, checked = 0; k < needers.length && checked < R5_LOOKAHEAD; k++) {
            const i = needers[k]!;
            if (placed(i)) continue;
            checked++;
            if (reqOf[i] !== sid && !reachable(reqOf[i]!)) { unsatisfiable = i; break; }
          }
          if (unsatisfiable >= 0) {
            const more = backtrack();
            unsatisfiable = -1;
            if (!more) break;
            continue;
          }
        }
      }
      entry = next[HEAD]!;
    }
    if (entry === HEAD || entry & 1) {
      // Every op that may go next was tried from this configuration.
      if (!backtrack()) break;
      continue;
    }
    const i = entry >> 1;
    entry = next[entry]!;
    if (isInfo(i) && pruning) {
      if (prevSame[i]! >= 0 && !placed(prevSame[i]!)) continue; // R3
      const to = stepTo(i);
      if (to === sid) continue; // R2
      if (valueRules && (needAny[to] ?? 0) - (reqOf[i] === to ? 1 : 0) === 0 && (forbidders[sid] ?? 0) === 0) continue; // R4(b)
      if (valueRules && !neededNow(i, to)) continue; // R6
      if (tryPlace(i, to, false)) { fresh = true; entry = next[HEAD]!; }
      continue;
    }
    const to = stepTo(i);
    if (to < 0) continue;
    if (tryPlace(i, to, false)) { fresh = true; entry = next[HEAD]!; }
  }

  return {
    kind: 'not-linearizable',
    prefix: placements(best, bestStates),
    state: states[bestSid]!,
    stuck: bestStuck >= 0 ? order[bestStuck]! : -1,
    candidates: bestCandidates.map(i => order[i]!),
    ...(bestUnsatisfiable >= 0 ? { unsatisfiable: order[bestUnsatisfiable]! } : {}),
    deadEnds: bestDeadEnds.map(d => ({ op: order[d.op]!, lost: states[d.lost]! })),
    configs: seen.size,
  };
}
