/**
 * A scripted, synchronous, deterministic driver for `Replica`s (src/replica), for unit tests.
 *
 * The harness plays the driver of the step contract (src/replica/README.md) for every node, with
 * the drivers' own release order (`ReleaseQueue`, src/replica/release.ts): a step's `persist`
 * batch is applied (with `applyStorageOps`) to a separate durable copy, and only then are the
 * step's replies recorded and its messages put on the network — except a leader's AcceptDecide
 * and Decide, which leave at once unless an earlier message to the same peer still waits. A
 * batch whose step reported a `logMark` is followed, once durable, by a `persisted` step. A node
 * can be put on `hold`: its batches then queue up undurable, with their held messages and
 * replies, until `sync` makes them durable in order. A `crash` throws away the replica and
 * whatever was not durable (optionally the last batches too, with their held messages: those
 * were never sent; early ones left already); `restart` builds a new replica from the durable
 * copy alone.
 *
 * The network is a list of in-flight messages. Nothing moves unless the test says so: `deliver`
 * takes any one message (so the test chooses the order), `drop` and `duplicate` do what they
 * say, `deliverAll` delivers in FIFO order until nothing (matching) is left. Links can be cut,
 * one way or both, and `lose` loses a kind of message; a message released on a cut link, or
 * addressed to a crashed node, is lost.
 *
 * After every step the harness checks what any correct replica must keep (a broken one is
 * recorded in `violations`, and thrown at once unless `strict: false`):
 *  - decidedIdx ≤ log length, and decidedIdx never decreases within one incarnation (BUG-6);
 *  - every node's decided prefix agrees with every other node's (and with its own past);
 *  - no message to an id outside the configuration or to the sender itself (BUG-15);
 *  - the fsync matrix (reference §A.5) when a message leaves: a Promise(n) or Prepare(n) only
 *    with `promised ≥ n` durable, an Accepted(n, i) only with `acceptedRnd = n` and `i` entries
 *    durable (BUG-1); a decided index d (AcceptSync, AcceptDecide, Decide) only when a majority
 *    holds entry d − 1 durably (BUG-1: the leader counted its own undurable append);
 *  - a command (clientId, seq) is executed at most once on each node (BUG-13);
 *  - a client reply leaves only for a decided command that a majority holds durably (BUG-1, the
 *    leader's own vote included).
 */
import { ballotEq, ballotLt, formatBallot, majority, type NodeId } from '../../src/replica/ballot.js';
import { describeEntry, sameEntry, type Command, type Entry } from '../../src/replica/entry.js';
import type { PeerMessage } from '../../src/replica/messages.js';
import { Replica } from '../../src/replica/replica.js';
import { ReleaseQueue, type StepRelease } from '../../src/replica/release.js';
import { applyStorageOps, cloneState, emptyState, type PersistentState } from '../../src/replica/storage.js';
import type {
  ClientReply, PlantedBug, Ready, ReplicaConfig, ReplicaInput, ReplicaStatus,
} from '../../src/replica/types.js';

export interface HarnessOptions {
  readonly nodes: readonly NodeId[];
  /** Ticks per election round (default 5). */
  readonly electionTicks?: number;
  /** Ticks between resends (default 3). */
  readonly resendTicks?: number;
  readonly priorities?: Readonly<Record<NodeId, number>>;
  /** Durable state each node starts from (default: empty). */
  readonly states?: Readonly<Record<NodeId, PersistentState>>;
  /** A planted bug (src/replica/types.ts) on every node: tests that prove a check can fail. */
  readonly plantedBug?: PlantedBug;
  readonly maxBatch?: number;
  readonly sessionIdleEntries?: number;
  /** ReplicaConfig.reforwardTicks (default: the replica's, 3 election rounds). */
  readonly reforwardTicks?: number;
  /** Throw on the first violation (default true); otherwise only record it. */
  readonly strict?: boolean;
}

export interface InFlight {
  /** Unique over the harness's lifetime; a duplicate gets a new one. */
  readonly id: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: PeerMessage;
}

export interface StepRecord {
  /** Position in `trace`. */
  readonly index: number;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly inputs: readonly ReplicaInput[];
  readonly ready: Ready;
  readonly status: ReplicaStatus;
  /** Whether the batch became durable (and its messages and replies were released). */
  durable: boolean;
  /** Whether the batch was lost in a crash. */
  lost: boolean;
  /** Its place in the node's release order. */
  release: StepRelease | null;
}

export interface ReleasedReply extends ClientReply {
  readonly node: NodeId;
}

export type Match = (m: InFlight) => boolean;

/** A message filter: every given field must match. */
export function msgs(f: { from?: NodeId; to?: NodeId; kind?: PeerMessage['kind'] | readonly PeerMessage['kind'][] }): Match {
  return (m) => (f.from === undefined || m.from === f.from)
    && (f.to === undefined || m.to === f.to)
    && (f.kind === undefined || (typeof f.kind === 'string' ? m.msg.kind === f.kind : f.kind.includes(m.msg.kind)));
}

export const anyMessage: Match = () => true;
export const isHeartbeat: Match = (m) => m.msg.kind === 'heartbeat-request' || m.msg.kind === 'heartbeat-reply';

export class HarnessViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessViolation';
  }
}

interface NodeSlot {
  readonly config: ReplicaConfig;
  replica: Replica;
  durable: PersistentState;
  up: boolean;
  incarnation: number;
  held: boolean;
  /** Steps whose batch is not durable yet, oldest first. */
  readonly unsynced: StepRecord[];
  /** What this incarnation has not released yet. */
  releases: ReleaseQueue;
  lastDecided: number;
  executed: Set<string>;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}>${to}`;

export class ReplicaHarness {
  readonly ids: readonly NodeId[];
  readonly trace: StepRecord[] = [];
  readonly network: InFlight[] = [];
  readonly delivered: InFlight[] = [];
  readonly dropped: InFlight[] = [];
  readonly replies: ReleasedReply[] = [];
  readonly violations: string[] = [];
  /** The decided log as first learned by any node; every node's decided prefix must agree. */
  readonly chosen: Entry[] = [];
  private readonly slots = new Map<NodeId, NodeSlot>();
  private readonly cut = new Set<string>();
  private readonly losses: Match[] = [];
  private nextMsgId = 1;
  private readonly strict: boolean;

  constructor(readonly options: HarnessOptions) {
    this.ids = options.nodes;
    this.strict = options.strict ?? true;
    for (const id of options.nodes) {
      const config: ReplicaConfig = {
        id, nodes: options.nodes, priority: options.priorities?.[id],
        electionTicks: options.electionTicks ?? 5, resendTicks: options.resendTicks ?? 3,
        maxBatch: options.maxBatch, sessionIdleEntries: options.sessionIdleEntries,
        reforwardTicks: options.reforwardTicks, plantedBug: options.plantedBug,
      };
      const durable = cloneState(options.states?.[id] ?? emptyState());
      const slot: NodeSlot = {
        config, replica: new Replica(config, durable), durable, up: true, incarnation: 0, held: false,
        unsynced: [], releases: null as unknown as ReleaseQueue, lastDecided: durable.decidedIdx, executed: new Set(),
      };
      slot.releases = this.releaseQueue(slot);
      this.slots.set(id, slot);
    }
    // The first step starts the election and, for a node with a durable promise, recovery.
    for (const id of options.nodes) this.step(id);
  }

  // --- inspection ---

  replica(id: NodeId): Replica {
    return this.slot(id).replica;
  }

  status(id: NodeId): ReplicaStatus {
    return this.slot(id).replica.status();
  }

  /** A copy of what `id` has made durable. */
  durable(id: NodeId): PersistentState {
    return cloneState(this.slot(id).durable);
  }

  isUp(id: NodeId): boolean {
    return this.slot(id).up;
  }

  /** Live nodes (of `among`) in the leader role, Accept phase. */
  leaders(among: readonly NodeId[] = this.ids): NodeId[] {
    return among.filter((id) => this.isUp(id) && this.status(id).role === 'leader' && this.status(id).phase === 'accept');
  }

  /** The single leader (of `among`) in Accept phase; throws unless there is exactly one. */
  leader(among: readonly NodeId[] = this.ids): NodeId {
    const ls = this.leaders(among);
    if (ls.length !== 1) throw new Error(`expected one leader, got [${ls.join(', ')}]: ${this.describe()}`);
    return ls[0]!;
  }

  /** Messages in flight that match. */
  inFlight(match: Match = anyMessage): InFlight[] {
    return this.network.filter(match);
  }

  /** Steps (in order) that produced a message matching `match`, with the message. */
  stepsSending(match: Match): { step: StepRecord; out: InFlight }[] {
    const found: { step: StepRecord; out: InFlight }[] = [];
    for (const step of this.trace) {
      for (const o of step.ready.send) {
        const m: InFlight = { id: 0, from: step.node, to: o.to, msg: o.msg };
        if (match(m)) found.push({ step, out: m });
      }
    }
    return found;
  }

  /** Every message any step produced (released or not). */
  allSent(match: Match = anyMessage): InFlight[] {
    return this.stepsSending(match).map((s) => s.out);
  }

  repliesAt(node: NodeId): ReleasedReply[] {
    return this.replies.filter((r) => r.node === node);
  }

  describe(): string {
    return this.ids.map((id) => {
      const s = this.slot(id);
      if (!s.up) return `${id}: down`;
      const st = s.replica.status();
      return `${id}: ${st.role}/${st.phase} lead=${formatBallot(st.leaderBallot)} ble=${formatBallot(st.bleLeader)}`
        + ` prom=${formatBallot(st.promised)} acc=${formatBallot(st.acceptedRnd)} log=${st.logLength} dec=${st.decidedIdx}`;
    }).join('; ');
  }

  // --- stepping ---

  /** Steps `id` with `inputs` (none: just the start-up step). The node must be up. */
  step(id: NodeId, ...inputs: ReplicaInput[]): StepRecord {
    const s = this.slot(id);
    if (!s.up) throw new Error(`node ${id} is down`);
    const ready = s.replica.step(...inputs);
    const status = s.replica.status();
    const record: StepRecord = {
      index: this.trace.length, node: id, incarnation: s.incarnation, inputs, ready, status,
      durable: false, lost: false, release: null,
    };
    this.trace.push(record);
    this.checkStep(s, record);
    s.unsynced.push(record);
    // Early messages (a leader's AcceptDecide / Decide) leave here, before the batch is durable.
    record.release = s.releases.add(ready);
    if (!s.held) this.sync(id);
    return record;
  }

  tick(id: NodeId): StepRecord {
    return this.step(id, { kind: 'tick' });
  }

  request(id: NodeId, command: Command): StepRecord {
    return this.step(id, { kind: 'request', command });
  }

  /** Hands `from → to` a message that is not on the network (a forged or foreign one). */
  inject(to: NodeId, from: NodeId, msg: PeerMessage): StepRecord {
    return this.step(to, { kind: 'message', from, msg });
  }

  /** One tick on every live node (in id order), then, unless `deliver` is false, deliverAll. */
  run(ticks: number, opts: { deliver?: boolean | Match } = {}): void {
    for (let t = 0; t < ticks; t++) {
      for (const id of this.ids) if (this.isUp(id)) this.tick(id);
      const d = opts.deliver ?? true;
      if (d !== false) this.deliverAll(d === true ? anyMessage : d);
    }
  }

  /** `k` election rounds of ticks, delivering everything after each tick. */
  rounds(k: number, opts: { deliver?: boolean | Match } = {}): void {
    this.run(k * (this.options.electionTicks ?? 5), opts);
  }

  // --- the network ---

  /** Delivers the first in-flight message matching `match`; throws if there is none. */
  deliver(match: Match = anyMessage): InFlight {
    const i = this.network.findIndex(match);
    if (i < 0) throw new Error(`no message in flight matches; in flight: ${this.network.map(fmt).join(', ') || 'none'}`);
    const [m] = this.network.splice(i, 1);
    this.deliverNow(m!);
    return m!;
  }

  /** Delivers matching messages in FIFO order until none is left; returns how many. */
  deliverAll(match: Match = anyMessage, limit = 100_000): number {
    let n = 0;
    for (;;) {
      const i = this.network.findIndex(match);
      if (i < 0) return n;
      if (++n > limit) throw new Error(`deliverAll: more than ${limit} deliveries (a message storm?)`);
      const [m] = this.network.splice(i, 1);
      this.deliverNow(m!);
    }
  }

  /** Removes every in-flight message matching `match`; returns them. */
  drop(match: Match): InFlight[] {
    const gone: InFlight[] = [];
    for (let i = this.network.length - 1; i >= 0; i--) {
      if (match(this.network[i]!)) gone.unshift(...this.network.splice(i, 1));
    }
    this.dropped.push(...gone);
    return gone;
  }

  /** Takes matching messages off the network to deliver later (`putBack`), not as a loss. */
  takeOut(match: Match): InFlight[] {
    const out: InFlight[] = [];
    for (let i = this.network.length - 1; i >= 0; i--) {
      if (match(this.network[i]!)) out.unshift(...this.network.splice(i, 1));
    }
    return out;
  }

  /** Puts messages (taken out earlier, or copies of delivered ones) back at the end of the network. */
  putBack(...ms: InFlight[]): void {
    for (const m of ms) this.network.push({ ...m, id: this.nextMsgId++ });
  }

  /** Puts a copy of the first matching in-flight message at the end of the network. */
  duplicate(match: Match): InFlight {
    const m = this.network.find(match);
    if (!m) throw new Error('no message in flight to duplicate');
    const copy: InFlight = { ...m, id: this.nextMsgId++ };
    this.network.push(copy);
    return copy;
  }

  /** Cuts the link `from → to` (one way). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(linkKey(from, to));
  }

  /** Cuts both directions between `a` and `b`. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Cuts every link except those listed (both directions). */
  keepOnly(links: readonly (readonly [NodeId, NodeId])[]): void {
    const keep = new Set(links.flatMap(([a, b]) => [linkKey(a, b), linkKey(b, a)]));
    for (const a of this.ids) for (const b of this.ids) if (a !== b && !keep.has(linkKey(a, b))) this.cut.add(linkKey(a, b));
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cutLink(id, other);
  }

  /** Restores every link and forgets every `lose` rule. */
  healAll(): void {
    this.cut.clear();
    this.losses.length = 0;
  }

  linkUp(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(linkKey(from, to));
  }

  /** Loses every message matching `match` from now on (when it leaves or arrives) until `healAll`. */
  lose(match: Match): void {
    this.losses.push(match);
  }

  private passes(m: InFlight): boolean {
    return this.isUp(m.to) && this.linkUp(m.from, m.to) && !this.losses.some((l) => l(m));
  }

  // --- durability and crashes ---

  /** From now on `id`'s batches stay undurable (messages and replies held) until `sync`. */
  hold(id: NodeId): void {
    this.slot(id).held = true;
  }

  /** Makes all held batches durable and stops holding. */
  unhold(id: NodeId): void {
    this.slot(id).held = false;
    this.sync(id);
  }

  /** Number of `id`'s batches not yet durable. */
  undurable(id: NodeId): number {
    return this.slot(id).unsynced.length;
  }

  /**
   * Makes the oldest `count` undurable batches of `id` durable (all by default), in order, and
   * releases their messages and replies; a batch with a `logMark` is followed by a `persisted`
   * step (as the drivers do), whose own batch joins the queue behind the others.
   */
  sync(id: NodeId, count = Infinity): void {
    const s = this.slot(id);
    while (count-- > 0 && s.unsynced.length > 0) {
      const record = s.unsynced.shift()!;
      applyStorageOps(s.durable, record.ready.persist);
      record.durable = true;
      s.releases.durable(record.release!);
      const mark = record.ready.logMark;
      if (mark && s.up && record.incarnation === s.incarnation) this.step(id, { kind: 'persisted', mark });
    }
  }

  /**
   * Crashes `id`. Of its undurable batches the last `lose` are lost with their messages and
   * replies (never sent); the earlier ones reach the disk, but the crash comes before their
   * messages leave. Messages in flight to the node are lost. The node stays down until `restart`.
   */
  crash(id: NodeId, opts: { lose?: number } = {}): void {
    const s = this.slot(id);
    const lose = opts.lose ?? 0;
    if (lose > s.unsynced.length) {
      throw new Error(`node ${id} has ${s.unsynced.length} undurable batches, cannot lose ${lose}`);
    }
    const keep = s.unsynced.splice(0, s.unsynced.length - lose);
    for (const r of keep) {
      applyStorageOps(s.durable, r.ready.persist);
      r.durable = true;
    }
    for (const r of s.unsynced) r.lost = true;
    s.unsynced.length = 0;
    // Held messages and replies die with the process; early ones are on the network already.
    s.releases = this.releaseQueue(s);
    s.up = false;
    s.held = false;
    this.drop((m) => m.to === id);
  }

  /** Builds a new replica for `id` from its durable state and runs its start-up step. */
  restart(id: NodeId): StepRecord {
    const s = this.slot(id);
    if (s.up) throw new Error(`node ${id} is up`);
    s.replica = new Replica(s.config, cloneState(s.durable));
    s.up = true;
    s.incarnation++;
    s.lastDecided = s.durable.decidedIdx;
    s.executed = new Set();
    return this.step(id);
  }

  // --- internals ---

  private slot(id: NodeId): NodeSlot {
    const s = this.slots.get(id);
    if (!s) throw new Error(`no node ${id} in [${this.ids.join(', ')}]`);
    return s;
  }

  private deliverNow(m: InFlight): void {
    if (!this.passes(m)) {
      this.dropped.push(m);
      return;
    }
    this.delivered.push(m);
    this.step(m.to, { kind: 'message', from: m.from, msg: m.msg });
  }

  /** A node's release order; what it lets go is checked against the fsync matrix, then sent. */
  private releaseQueue(s: NodeSlot): ReleaseQueue {
    const from = s.config.id;
    return new ReleaseQueue({
      send: (to, msg) => {
        this.checkFsync(s, to, msg);
        const m: InFlight = { id: this.nextMsgId++, from, to, msg };
        if (!this.slots.has(to) || !this.passes(m)) this.dropped.push(m);
        else this.network.push(m);
      },
      reply: (r) => {
        this.checkReplyDurable(from, r);
        this.replies.push({ node: from, ...r });
      },
    });
  }

  /**
   * A decided index leaves a node only when a majority holds its last entry durably: every
   * decision rests on durable votes (the leader's own included), so no crash can undo one that
   * anybody heard of (BUG-1).
   */
  private checkDecidedDurable(where: string, kind: string, decidedIdx: number): void {
    if (decidedIdx <= 0) return;
    const idx = decidedIdx - 1;
    const chosen = this.chosen[idx];
    const holders = chosen === undefined ? [] : this.ids.filter((id) => {
      const e = this.slot(id).durable.log[idx];
      return e !== undefined && sameEntry(e, chosen);
    });
    if (holders.length < majority(this.ids.length)) {
      this.violation(`${where}: ${kind} with decided index ${decidedIdx} left while entry ${idx} is held durably only by [${holders.join(', ')}]`);
    }
  }

  /** A reply leaves only for a command that a majority holds durably at its decided position. */
  private checkReplyDurable(node: NodeId, r: ClientReply): void {
    const idx = this.chosen.findIndex((e) => e.kind === 'command' && e.command.clientId === r.clientId && e.command.seq === r.seq);
    if (idx < 0) {
      this.violation(`node ${node} answered ${r.clientId}#${r.seq}, which is not in the decided log`);
      return;
    }
    const holders = this.ids.filter((id) => {
      const e = this.slot(id).durable.log[idx];
      return e !== undefined && sameEntry(e, this.chosen[idx]!);
    });
    if (holders.length < majority(this.ids.length)) {
      this.violation(`node ${node} answered ${r.clientId}#${r.seq} (entry ${idx}) held durably only by [${holders.join(', ')}]`);
    }
  }

  private violation(text: string): void {
    this.violations.push(text);
    if (this.strict) throw new HarnessViolation(text);
  }

  private checkStep(s: NodeSlot, record: StepRecord): void {
    const id = s.config.id;
    const st = record.status;
    const where = `node ${id} (step ${record.index})`;
    for (const o of record.ready.send) {
      if (!this.slots.has(o.to)) this.violation(`${where} sent ${o.msg.kind} to ${o.to}, not in the configuration`);
      else if (o.to === id) this.violation(`${where} sent ${o.msg.kind} to itself`);
    }
    if (st.decidedIdx > st.logLength) this.violation(`${where}: decidedIdx ${st.decidedIdx} > log length ${st.logLength}`);
    if (st.decidedIdx < s.lastDecided) this.violation(`${where}: decidedIdx went back from ${s.lastDecided} to ${st.decidedIdx}`);
    s.lastDecided = Math.max(s.lastDecided, st.decidedIdx);
    const log = s.replica.log;
    for (let i = 0; i < Math.min(st.decidedIdx, log.length); i++) {
      if (i === this.chosen.length) this.chosen.push(log[i]!);
      else if (!sameEntry(this.chosen[i]!, log[i]!)) {
        this.violation(`${where}: decided entry ${i} is ${describeEntry(log[i]!)}, elsewhere ${describeEntry(this.chosen[i]!)}`);
        break;
      }
    }
    for (const a of record.ready.applied) {
      if (a.entry.kind !== 'command' || !a.executed) continue;
      const key = `${a.entry.command.clientId}#${a.entry.command.seq}`;
      if (s.executed.has(key)) this.violation(`${where}: executed ${key} a second time (log index ${a.idx})`);
      s.executed.add(key);
    }
  }

  /** The fsync matrix, checked against the durable state when a message leaves. */
  private checkFsync(s: NodeSlot, to: NodeId, msg: PeerMessage): void {
    const d = s.durable;
    const where = `node ${s.config.id} → ${to}`;
    switch (msg.kind) {
      case 'promise': case 'prepare':
        if (ballotLt(d.promised, msg.n)) {
          this.violation(`${where}: ${msg.kind} ${formatBallot(msg.n)} left with durable promise ${formatBallot(d.promised)}`);
        }
        break;
      case 'accepted':
        if (!ballotEq(d.acceptedRnd, msg.n) || d.log.length < msg.acceptedIdx) {
          this.violation(`${where}: accepted ${formatBallot(msg.n)}/${msg.acceptedIdx} left with durable`
            + ` acceptedRnd ${formatBallot(d.acceptedRnd)} and ${d.log.length} entries`);
        }
        break;
      case 'accept-sync': case 'accept-decide': case 'decide':
        this.checkDecidedDurable(where, msg.kind, msg.decidedIdx);
        break;
      default: break;
    }
  }
}

function fmt(m: InFlight): string {
  return `#${m.id} ${m.from}→${m.to} ${m.msg.kind}`;
}

// --- building blocks for tests ---

let autoSeq = 0;

export function command(clientId: string, seq: number, op: Command['op']): Command {
  return { clientId, seq, op };
}

export const put = (key: string, value: string): Command['op'] => ({ kind: 'put', key, value });
export const get = (key: string): Command['op'] => ({ kind: 'get', key });
export const cas = (key: string, expected: string | null, value: string): Command['op'] => ({ kind: 'cas', key, expected, value });
export const del = (key: string): Command['op'] => ({ kind: 'delete', key });

/** A log entry for a hand-made log: a put from a client of its own (unique per call). */
export function entry(key: string, value: string): Entry {
  return { kind: 'command', command: { clientId: `seed-${++autoSeq}`, seq: 1, op: put(key, value) } };
}
