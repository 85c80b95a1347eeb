/**
 * Violations that show without any search: checked once, before it, on operations with value
 * hints (see check-search.ts) and no opaque operations. Pure.
 *
 * R8 (a read cannot go back past a completed operation that saw another value; checked
 * once, up front, with value hints and no opaque ops). Let r be a determinate op that
 * needs state g (a read of g, a successful CAS from g) and w a determinate op after which
 * the state is known to be some value ≠ g (a write of it that took effect, or a read of
 * it) and that returned before r was invoked. In any linearization w precedes r, so the
 * last producer of g before r comes after w: some producer p ≠ r with p.call ≤ r.ret (it
 * may precede r) and p.ret ≥ w.call (it need not precede w). If there is none, the
 * history is not linearizable. Only the w with the latest invocation needs checking (it
 * leaves the fewest candidates p). This catches stale reads and read inversions.
 *
 * R9 (a value is used up by a successful CAS; checked with R8). Two determinate CASes x, y
 * that both succeed from g to a value ≠ g: whichever goes first leaves the state ≠ g, so a
 * producer p of g must fall between them. For x first: p.ret ≥ x.call and p.call ≤ y.ret
 * (and x must be allowed before y: not y.ret < x.call); likewise for y first. If neither
 * order has such a producer, the history is not linearizable: a lost update.
 */

/** An operation as the static checks see it: its interval, in the search's numbering. */
export interface TimedOp {
  call: number;
  ret: number;
}

export interface StaticViolation {
  /** The op that cannot see the value it needs. */
  needer: number;
  /** R8: the completed op that left another value; R9: the other CAS that used it up. */
  writer: number;
  kind: 'overwritten' | 'consumed';
}

/**
 * Ops 0..D-1 are determinate, D..n-1 indeterminate. prodOf / reqOf give, per op, the state id
 * it produces / requires (-1: none); readOnly marks determinate reads.
 */
export function staticViolation(
  ops: readonly TimedOp[], D: number, prodOf: Int32Array, reqOf: Int32Array, readOnly: Uint8Array,
): StaticViolation | undefined {
  const n = ops.length;
  const isInfo = (i: number) => i >= D;
  // Determinate ops after which the state is known: writes that took effect, and reads.
  const post = new Int32Array(n).fill(-1);
  const writers: number[] = [];
  const needing: number[] = [];
  const producersOf = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const p = prodOf[i]!;
    if (!isInfo(i)) {
      post[i] = p >= 0 ? p : readOnly[i] === 1 ? reqOf[i]! : -1;
      if (post[i]! >= 0) writers.push(i);
    }
    if (p >= 0) {
      let list = producersOf.get(p);
      if (!list) producersOf.set(p, (list = []));
      list.push(i);
    }
    if (!isInfo(i) && reqOf[i]! >= 0 && prodOf[i] !== reqOf[i]) needing.push(i);
  }
  writers.sort((a, b) => ops[a]!.ret - ops[b]!.ret);
  needing.sort((a, b) => ops[a]!.call - ops[b]!.call);
  // Per value: producers by call time, with the running maximum of their return times.
  const byCall = new Map<number, { calls: number[]; maxRet: number[] }>();
  for (const [v, list] of producersOf) {
    list.sort((a, b) => ops[a]!.call - ops[b]!.call);
    let m = -Infinity;
    byCall.set(v, { calls: list.map(i => ops[i]!.call), maxRet: list.map(i => (m = Math.max(m, ops[i]!.ret))) });
  }
  // The two latest-invoked writers so far with different values: enough to answer "the
  // latest-invoked writer whose value is not g" for any g.
  let first = -1, second = -1;
  let w = 0;
  for (const r of needing) {
    const rop = ops[r]!;
    for (; w < writers.length && ops[writers[w]!]!.ret < rop.call; w++) {
      const x = writers[w]!;
      if (first < 0 || ops[x]!.call > ops[first]!.call) {
        if (first >= 0 && post[first] !== post[x]) second = first;
        first = x;
      } else if (post[x] !== post[first] && (second < 0 || ops[x]!.call > ops[second]!.call)) {
        second = x;
      }
    }
    const g = reqOf[r]!;
    const over = first >= 0 && post[first] !== g ? first : second;
    if (over < 0) continue;
    if (!producedBetween(g, ops[over]!.call, rop.ret)) return { needer: r, writer: over, kind: 'overwritten' };
  }

  // R9: two successful CASes from g to something else each use up a g, so a producer of g
  // must fall between them, in whichever order they go. Checked for each consumer against
  // the ones invoked before it returned, and the next one after.
  const consumers = needing.filter(i => prodOf[i]! >= 0 && prodOf[i] !== reqOf[i]);
  const byValue = new Map<number, number[]>();
  for (const c of consumers) {
    let list = byValue.get(reqOf[c]!);
    if (!list) byValue.set(reqOf[c]!, (list = []));
    list.push(c); // already in call order
  }
  for (const [g, list] of byValue) {
    for (let a = 0; a < list.length; a++) {
      const x = ops[list[a]!]!;
      for (let b = a + 1; b < list.length; b++) {
        const y = ops[list[b]!]!;
        if (b > a + 1 && y.call > x.ret) break;
        const xFirst = !(y.ret < x.call) && producedBetween(g, x.call, y.ret);
        const yFirst = !(x.ret < y.call) && producedBetween(g, y.call, x.ret);
        if (!xFirst && !yFirst) return { needer: list[b]!, writer: list[a]!, kind: 'consumed' };
      }
    }
  }
  return undefined;

  /** Is there a producer of g that may follow an op invoked at `after` and precede one returning at `before`? */
  function producedBetween(g: number, after: number, before: number): boolean {
    const src = byCall.get(g);
    if (!src) return false;
    // The producers invoked no later than `before`, and the latest return among them.
    let lo = 0, hi = src.calls.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (src.calls[mid]! <= before) lo = mid + 1; else hi = mid; }
    return lo > 0 && src.maxRet[lo - 1]! >= after;
  }
}
