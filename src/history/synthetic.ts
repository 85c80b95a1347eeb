/**
 * Synthetic histories for testing and benchmarking the checker. Pure and deterministic: the
 * same options and seed give the same events, so a failing seed is a bug report.
 *
 * The generators simulate an atomic store: every operation that takes effect does so at one
 * linearization point inside its interval (for an indeterminate one: at any time after its
 * invocation), and the points are applied to a real map in order. Whatever the seed, such a
 * history is linearizable; `perturb` and `hardRegisterHistory` break that on purpose.
 */
import { HistoryBuilder } from './reader.js';
import type {
  CompletionEvent, History, HistoryEvent, InvokeEvent, KeyValue, OpFunction, TimeNs,
} from './types.js';

/** mulberry32: a small seeded generator, good enough for test data (not for anything else). */
export class Rng {
  private state: number;
  constructor(seed: number) { this.state = (seed | 0) >>> 0; }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
}

export interface AtomicHistoryOptions {
  seed: number;
  ops: number;
  clients: number;
  /** Keys `k0`… (default 1). */
  keys?: number;
  /** Values `v0`… written by put / cas / append (default 3). */
  values?: number;
  /** Probability that an operation's outcome is unknown: `info`, or never completed (default 0). */
  pInfo?: number;
  /** The operations to draw from, uniformly (default get, put, cas, delete). */
  fs?: readonly OpFunction[];
  /** Largest pause between a client's operations, in ns (default 10). Small values give ties. */
  maxGap?: number;
  /** Largest duration of an operation, in ns (default 10; 0 makes every op one instant). */
  maxDuration?: number;
}

/** What a client asks for; the simulation decides the outcome. */
interface Request {
  f: OpFunction;
  key: string;
  value?: string;
  expected?: KeyValue;
  /** False keeps the outcome known (the stale-read construction relies on it). */
  mayBeIndeterminate: boolean;
  /** True makes the outcome unknown whatever pInfo says. */
  indeterminate?: boolean;
}

interface SimOp extends Request {
  id: number;
  process: number;
  invoke: TimeNs;
  complete: TimeNs;
  /** The linearization point, if the operation takes effect at all. */
  point?: number;
  ending: 'known' | 'info' | 'missing';
  output?: KeyValue;
  swapped?: boolean;
}

interface SimParams {
  ops: number; clients: number; pInfo: number; maxGap: number; maxDuration: number;
}

/**
 * Runs the clients: each has one operation outstanding at a time, and one whose outcome is
 * unknown moves on under a fresh process number, as Jepsen's do. Then applies the operations
 * that take effect to a map, in linearization-point order.
 */
function simulate(rng: Rng, p: SimParams, request: (n: number) => Request): SimOp[] {
  const readyAt = Array.from({ length: p.clients }, () => rng.int(0, p.maxGap));
  const process = Array.from({ length: p.clients }, (_, c) => c);
  let nextProcess = p.clients;
  const ops: SimOp[] = [];
  for (let n = 0; n < p.ops; n++) {
    let c = 0;
    for (let k = 1; k < p.clients; k++) if (readyAt[k]! < readyAt[c]!) c = k;
    const req = request(n);
    const invoke = readyAt[c]!;
    const complete = invoke + rng.int(0, p.maxDuration);
    const unknown = req.indeterminate === true || (req.mayBeIndeterminate && rng.chance(p.pInfo));
    const op: SimOp = { ...req, id: n, process: process[c]!, invoke, complete, ending: 'known' };
    if (!unknown) {
      op.point = rng.int(invoke, complete);
    } else {
      op.ending = rng.chance(0.7) ? 'info' : 'missing';
      // It may take effect long after the client gave up on it, or never.
      if (rng.chance(0.5)) op.point = invoke + rng.int(0, 4 * p.maxDuration + 1);
      process[c] = nextProcess++;
    }
    readyAt[c] = complete + 1 + rng.int(0, p.maxGap);
    ops.push(op);
  }
  // Equal points belong to overlapping operations, so any order among them is a valid one.
  const effective = ops.filter(o => o.point !== undefined).sort((a, b) => a.point! - b.point! || a.id - b.id);
  const store = new Map<string, string>();
  for (const o of effective) {
    const cur = store.get(o.key) ?? null;
    switch (o.f) {
      case 'get': o.output = cur; break;
      case 'put': store.set(o.key, o.value!); break;
      case 'delete': store.delete(o.key); break;
      case 'append': store.set(o.key, (cur ?? '') + o.value!); break;
      case 'cas':
        o.swapped = cur === o.expected;
        if (o.swapped) store.set(o.key, o.value!);
        break;
    }
  }
  return ops;
}

/** Invocation and completion lines of the simulated operations, in time order. */
function toEvents(ops: readonly SimOp[]): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const o of ops) {
    const inv: InvokeEvent = { type: 'invoke', process: o.process, id: o.id, f: o.f, key: o.key, time: o.invoke };
    if (o.f === 'cas') inv.expected = o.expected ?? null;
    if (o.value !== undefined) inv.value = o.value;
    events.push(inv);
    const base = { process: o.process, id: o.id, time: o.complete };
    if (o.ending === 'info') events.push({ type: 'info', ...base });
    else if (o.ending === 'known') {
      if (o.f === 'get') events.push({ type: 'ok', ...base, value: o.output ?? null });
      else events.push({ type: o.f === 'cas' && !o.swapped ? 'fail' : 'ok', ...base });
    }
  }
  return sortEvents(events);
}

/** Time order; at equal times invocations first (so an instant op's lines stay in order). */
function sortEvents(events: readonly HistoryEvent[]): HistoryEvent[] {
  const rank = (e: HistoryEvent) => (e.type === 'invoke' ? 0 : 1);
  return events.map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.time - b.e.time || rank(a.e) - rank(b.e) || a.i - b.i)
    .map(x => x.e);
}

const DEFAULT_FS: readonly OpFunction[] = ['get', 'put', 'cas', 'delete'];

/** A history of an atomic store: always linearizable. */
export function atomicHistory(o: AtomicHistoryOptions): HistoryEvent[] {
  const rng = new Rng(o.seed);
  const keys = Array.from({ length: Math.max(1, o.keys ?? 1) }, (_, i) => `k${i}`);
  const values = Array.from({ length: Math.max(1, o.values ?? 3) }, (_, i) => `v${i}`);
  const fs = o.fs && o.fs.length > 0 ? o.fs : DEFAULT_FS;
  const request = (): Request => {
    const f = rng.pick(fs), key = rng.pick(keys);
    const req: Request = { f, key, mayBeIndeterminate: true };
    if (f === 'put' || f === 'append' || f === 'cas') req.value = rng.pick(values);
    if (f === 'cas') req.expected = rng.chance(0.2) ? null : rng.pick(values);
    return req;
  };
  return toEvents(simulate(rng, {
    ops: o.ops, clients: Math.max(1, o.clients), pInfo: o.pInfo ?? 0,
    maxGap: o.maxGap ?? 10, maxDuration: o.maxDuration ?? 10,
  }, request));
}

export type PerturbationKind = 'read-value' | 'cas-outcome' | 'swap-times' | 'write-value';
export interface Perturbation { events: HistoryEvent[]; kind: PerturbationKind | 'none'; change: string }

/**
 * A copy with one random change that usually breaks linearizability: a read returns another
 * value, a cas flips between ok and fail, two completed operations swap their intervals, or
 * a write writes another value. `kind: 'none'` only when the history offers nothing to change.
 */
export function perturbDescribed(events: readonly HistoryEvent[], seed: number): Perturbation {
  const rng = new Rng(seed);
  const copy = events.map(e => ({ ...e })) as HistoryEvent[];
  const invokes = new Map<number, InvokeEvent>();
  const done: CompletionEvent[] = [];
  const pool = new Set<KeyValue>([null]);
  for (const e of copy) {
    if (e.type === 'invoke') invokes.set(e.id, e);
    else if (e.type === 'ok' || e.type === 'fail' || e.type === 'info') done.push(e);
    else continue;
    for (const v of [e.value, (e as InvokeEvent).expected]) if (v !== undefined) pool.add(v);
  }
  const other = (v: KeyValue | undefined): KeyValue => {
    const xs = [...pool].filter(x => x !== v);
    return xs.length > 0 ? rng.pick(xs) : `${v ?? ''}'`;
  };
  const f = (c: CompletionEvent) => invokes.get(c.id)!.f;
  const candidates: Record<PerturbationKind, readonly unknown[]> = {
    'read-value': done.filter(c => c.type === 'ok' && f(c) === 'get'),
    'cas-outcome': done.filter(c => c.type !== 'info' && f(c) === 'cas'),
    'swap-times': done.length > 1 ? done : [],
    'write-value': [...invokes.values()].filter(i => i.value !== undefined),
  };
  const kinds = (Object.keys(candidates) as PerturbationKind[]).filter(k => candidates[k].length > 0);
  if (kinds.length === 0) return { events: copy, kind: 'none', change: 'nothing to change' };
  const kind = rng.pick(kinds);
  const target = rng.pick(candidates[kind]);
  let change: string;
  if (kind === 'read-value') {
    const c = target as CompletionEvent, was = c.value;
    c.value = other(was);
    change = `get id ${c.id} now reads ${JSON.stringify(c.value)} (read ${JSON.stringify(was)})`;
  } else if (kind === 'cas-outcome') {
    const c = target as CompletionEvent;
    c.type = c.type === 'ok' ? 'fail' : 'ok';
    change = `cas id ${c.id} now ${c.type}`;
  } else if (kind === 'swap-times') {
    const a = target as CompletionEvent;
    const b = rng.pick(done.filter(c => c !== a));
    const ia = invokes.get(a.id)!, ib = invokes.get(b.id)!;
    [ia.time, ib.time, a.time, b.time] = [ib.time, ia.time, b.time, a.time];
    return { events: sortEvents(copy), kind, change: `ids ${a.id} and ${b.id} swap intervals` };
  } else {
    const i = target as InvokeEvent, was = i.value;
    // A write needs a string: when the history holds no other one, make one up.
    i.value = other(was) ?? `${was}'`;
    change = `${i.f} id ${i.id} now writes ${JSON.stringify(i.value)} (wrote ${JSON.stringify(was)})`;
  }
  return { events: copy, kind, change };
}

export function perturb(events: readonly HistoryEvent[], seed: number): HistoryEvent[] {
  return perturbDescribed(events, seed).events;
}

export type Violation = 'stale-read' | 'read-inversion' | 'lost-update';

export interface HardRegisterOptions {
  seed: number;
  ops: number;
  /** 5–20 gives the shape that makes searches explode. */
  clients: number;
  /** Probability of an unknown outcome, for any operation except writes of the stale value. */
  pInfo: number;
  linearizable: boolean;
  /** The violation injected when not linearizable (default 'stale-read'); see below. */
  violation?: Violation;
  /** Values `0`… (default 5). */
  values?: number;
}

export interface HardRegisterHistory {
  events: HistoryEvent[];
  /** When not linearizable: the operation changed, and the one that proves the violation. */
  injected?: { kind: Violation; id: number; evidence: number; change: string };
}

/**
 * One register `x`, many clients, a small value domain, reads / writes / CAS and some unknown
 * outcomes. When not linearizable, one operation near the end is changed so that it needs the
 * value `0` where no write of `0` can be placed. For that, writes of `0` always have a known
 * outcome, and none are invoked for a stretch near the end (`quiet`). The linearizable twin
 * (same options) differs only in that operation.
 *  - 'stale-read': a read r returns `0`, but a write of another value e completed before r
 *    began, and every write of `0` that could come before r returned before e began.
 *  - 'read-inversion': the same, but e is a read of another value, and no completed write
 *    gives the overwrite away (in the stretch, begun by a write of `0` and mostly reads,
 *    every write has an unknown outcome). Only the order of reads proves the violation.
 *  - 'lost-update': an operation c2 becomes a successful CAS from `0`, overlapping a real one
 *    e (which it does not follow in real time); whichever goes first leaves a value ≠ `0`,
 *    and every write of `0` that could come between returned before either began. No single
 *    completed operation proves the value gone before c2 began: only the search finds this.
 */
export function hardRegisterHistory(o: HardRegisterOptions): HardRegisterHistory {
  const rng = new Rng(o.seed);
  const values = Array.from({ length: Math.max(2, o.values ?? 5) }, (_, i) => `${i}`);
  const stale = values[0]!;
  const kind = o.violation ?? 'stale-read';
  const late = kind !== 'stale-read';
  const quietFrom = Math.floor(o.ops * (late ? 0.9 : 0.85));
  const quietTo = late ? quietFrom + 20 + 6 * o.clients : Math.floor(o.ops * 0.95);
  const request = (n: number): Request => {
    if (late && n === quietFrom) return { f: 'put', key: 'x', value: stale, mayBeIndeterminate: false };
    const quiet = n >= quietFrom && n < quietTo;
    // lost-update: only reads while the write of `0` settles, then CAS from `0` race.
    const settling = kind === 'lost-update' && quiet && n <= quietFrom + 2 * o.clients;
    const roll = rng.next();
    const reads = settling ? 1 : kind === 'read-inversion' && quiet ? 0.8 : 0.45;
    const f: OpFunction = roll < reads ? 'get' : roll < (1 + reads) / 2 ? 'put' : 'cas';
    if (f === 'get') return { f, key: 'x', mayBeIndeterminate: true };
    const value = rng.pick(quiet ? values.slice(1) : values);
    const req: Request = { f, key: 'x', value, mayBeIndeterminate: value !== stale, indeterminate: kind === 'read-inversion' && quiet };
    if (f === 'cas') req.expected = kind === 'lost-update' && quiet && rng.chance(0.5) ? stale : rng.chance(0.05) ? null : rng.pick(values);
    return req;
  };
  // A history without a place for the violation is regenerated from the next seed: the
  // twins stay twins.
  for (let attempt = 0; attempt < 20; attempt++) {
    const ops = simulate(rng, { ops: o.ops, clients: o.clients, pInfo: o.pInfo, maxGap: 20, maxDuration: 60 }, request);
    const inject = findViolation(ops, kind, stale, { from: quietFrom, to: quietTo });
    if (!inject) continue;
    if (o.linearizable) return { events: toEvents(ops) };
    const { target: t, evidence } = inject;
    const was = t.f === 'get' ? `get → ${JSON.stringify(t.output ?? null)}` : t.f;
    const change = kind === 'lost-update'
      ? `id ${t.id} (${was}) is now cas "${stale}"→"${values[1]}" ok, as is id ${evidence.id}`
      : `get id ${t.id} now reads "${stale}" (read ${JSON.stringify(t.output ?? null)}; evidence id ${evidence.id})`;
    if (kind === 'lost-update') Object.assign(t, { f: 'cas', expected: stale, value: values[1]!, swapped: true, output: undefined });
    else t.output = stale;
    return { events: toEvents(ops), injected: { kind, id: t.id, evidence: evidence.id, change } };
  }
  throw new Error(`hardRegisterHistory: no place for a ${kind} (seed ${o.seed}, ${o.ops} ops)`);
}

/** The operation to change and the one that proves the violation, if the history has them. */
function findViolation(ops: SimOp[], kind: Violation, stale: string, quiet: { from: number; to: number }): { target: SimOp; evidence: SimOp } | undefined {
  const known = (w: SimOp) => w.ending === 'known';
  const wrote = (w: SimOp) => w.f !== 'get' && !(known(w) && w.f === 'cas' && !w.swapped);
  const staleWrites = ops.filter(w => wrote(w) && w.value === stale);
  const overwrites = ops.filter(w => known(w) && wrote(w) && w.value !== stale);
  const inQuiet = (x: SimOp) => kind === 'stale-read' || (x.id > quiet.from && x.id < quiet.to);
  /** Every write of `stale` invoked by `until` is known and returned before `since`. */
  const noStaleWrite = (since: number, until: number) =>
    staleWrites.every(w => w.invoke > until || (known(w) && w.complete < since));
  if (kind === 'lost-update') {
    const real = ops.filter(c => inQuiet(c) && known(c) && c.f === 'cas' && c.swapped && c.expected === stale);
    for (const e of real) {
      const t = ops.find(c => c !== e && inQuiet(c) && known(c) && c.invoke <= e.point! && e.point! <= c.complete
        && noStaleWrite(Math.min(c.invoke, e.invoke), Math.max(c.complete, e.complete)));
      if (t) return { target: t, evidence: e };
    }
    return undefined;
  }
  const reads = ops.filter(r => r.f === 'get' && known(r));
  const others = kind === 'read-inversion' ? reads.filter(r => r.output !== stale) : overwrites;
  for (const r of reads.filter(inQuiet).sort((a, b) => b.invoke - a.invoke)) {
    const settled = Math.max(-1, ...staleWrites.filter(w => w.invoke <= r.complete).map(w => w.complete));
    if (!noStaleWrite(settled + 1, r.complete)) continue;
    const shows = (e: SimOp) => e.invoke > settled && e.complete < r.invoke;
    const evidence = others.find(shows);
    if (evidence && !(kind === 'read-inversion' && overwrites.some(shows))) return { target: r, evidence };
  }
  return undefined;
}

/** Pairs events into a History, as the reader would (line numbers are 1-based indexes). */
export function toHistory(events: readonly HistoryEvent[]): History {
  const builder = new HistoryBuilder();
  events.forEach((e, i) => builder.add(e, i + 1));
  return builder.finish();
}
