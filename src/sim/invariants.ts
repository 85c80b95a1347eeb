/**
 * Safety invariants, checked after every step of every replica and once more at the end.
 *
 * - Decided prefixes agree: the first replica to decide index i fixes the entry there; every
 *   replica that later decides i must hold the same entry, and keep it.
 * - A decided index never decreases within one incarnation, and never passes the log.
 * - At most one node leads a ballot in the accept phase.
 * - Leader completeness: an entry decided (so also every acknowledged command) while the
 *   highest ballot in accept phase was b is at its index in the log of every leader of a
 *   ballot above b when that leader reaches the accept phase. (A leader of a lower ballot may
 *   still reach accept phase late, with an older log; it is stale and cannot decide.)
 * - Entries are applied in order, each index once per incarnation, only when decided, and
 *   equal to the decided entry; a command (clientId, seq) is executed at one index only.
 * - At the end, each replica's map equals that of a reference state machine that applied the
 *   decided log up to the same index.
 * - Compaction: every snapshot a replica holds (taken itself or installed from a peer) equals
 *   the reference state machine's — map and sessions — after the decided prefix it covers.
 */
import { compareBallots, formatBallot, BOTTOM, type Ballot, type LogIdx, type NodeId } from '../replica/ballot.js';
import { describeEntry, sameEntry, type Command, type Entry } from '../replica/entry.js';
import { KvStateMachine } from '../replica/kv-state-machine.js';
import type { Member } from '../replica/membership.js';
import type { Snapshot } from '../replica/snapshot.js';
import type { Ready, ReplicaStatus } from '../replica/types.js';
import type { TimeUs } from './event-queue.js';
import type { ReplicaLike } from './replica-like.js';

export type ViolationKind =
  | 'replica-threw'
  | 'decided-mismatch'
  | 'decided-decreased'
  | 'decided-past-log'
  | 'two-leaders'
  | 'lost-decided'
  | 'lost-ack'
  | 'apply-order'
  | 'apply-undecided'
  | 'executed-twice'
  | 'state-mismatch'
  | 'bad-snapshot'
  | 'decided-gap'
  | 'bad-reply'
  | 'no-progress'
  | 'bad-destination'
  | 'not-linearizable'
  | 'history-invalid'
  | 'sim-error';

export interface Violation {
  readonly kind: ViolationKind;
  /** Virtual time, µs. */
  readonly time: TimeUs;
  readonly node: NodeId | null;
  readonly message: string;
}

interface Incarnation {
  lastDecided: LogIdx;
  /** Decided entries below this index were compared with the global decided log. */
  checked: LogIdx;
  nextApply: LogIdx;
  acceptLeader: boolean;
  /** The snapshot index last compared with the reference. */
  snapshotChecked: LogIdx;
  /** A peer's snapshot was installed beyond what was applied: applying must resume exactly here. */
  restoredTo: LogIdx | null;
}

interface Decided {
  readonly entry: Entry;
  /** The highest ballot in accept phase when the entry was first seen decided. */
  readonly bound: Ballot;
}

interface Acked {
  readonly idx: LogIdx;
  readonly command: Command;
  readonly bound: Ballot;
}

/** Stop recording after this many: a broken run repeats itself. */
const MAX_VIOLATIONS = 50;


const commandKey = (c: Command): string => `${c.clientId}#${c.seq}`;

export class InvariantChecker {
  readonly violations: Violation[] = [];
  private readonly nodes = new Map<NodeId, Incarnation>();
  private readonly decided: Decided[] = [];
  private readonly executedAt = new Map<string, LogIdx>();
  private readonly leaders = new Map<string, NodeId>();
  private readonly acked: Acked[] = [];
  private highestAccept: Ballot = BOTTOM;
  now: TimeUs = 0;

  get decidedLength(): number {
    return this.decided.length;
  }

  /** The highest ballot seen in accept phase so far. */
  get highestLeaderBallot(): Ballot {
    return this.highestAccept;
  }

  report(kind: ViolationKind, node: NodeId | null, message: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push({ kind, time: this.now, node, message });
  }

  /** A replica was (re)built: its checks start over, except the decided log, which is global. */
  started(node: NodeId, replica: ReplicaLike): void {
    const st = replica.status();
    this.nodes.set(node, { lastDecided: st.decidedIdx, checked: 0, nextApply: st.appliedIdx, acceptLeader: false, snapshotChecked: 0, restoredTo: null });
    this.checkDecided(node, replica, st);
    this.checkSnapshot(node, replica);
  }

  stopped(node: NodeId): void {
    this.nodes.delete(node);
  }

  /** Returns the replica's status, for the caller's own bookkeeping. */
  afterStep(node: NodeId, replica: ReplicaLike, ready: Ready): ReplicaStatus {
    const st = replica.status();
    // A leader that reaches accept phase and decides in one step: its ballot counts as the
    // bound of what it decided, so it is noted first.
    const leading = st.role === 'leader' && st.phase === 'accept';
    if (leading && compareBallots(st.leaderBallot, this.highestAccept) > 0) this.highestAccept = st.leaderBallot;
    this.checkDecided(node, replica, st, ready);
    this.checkApplied(node, st, ready);
    this.checkLeader(node, replica, st, leading);
    this.checkSnapshot(node, replica);
    return st;
  }

  /** A definite answer reached a client: the command must stay where it was executed. */
  answered(command: Command): void {
    const idx = this.executedAt.get(commandKey(command));
    if (idx === undefined) {
      this.report('lost-ack', null, `${commandKey(command)} was answered but no replica executed it`);
      return;
    }
    this.acked.push({ idx, command, bound: this.highestAccept });
  }

  /** End of the run: every decided prefix compared in full, and every map with the reference. */
  finish(replicas: ReadonlyMap<NodeId, ReplicaLike | null>): void {
    this.finishLogs(replicas);
    this.finishMaps(replicas);
  }

  /** A new snapshot must equal the reference state after the decided prefix it covers. */
  private checkSnapshot(node: NodeId, replica: ReplicaLike): void {
    const inc = this.nodes.get(node)!;
    const snap = replica.currentSnapshot();
    if (!snap || snap.idx <= inc.snapshotChecked) return;
    inc.snapshotChecked = snap.idx;
    if (snap.idx > this.decided.length) {
      this.report('bad-snapshot', node, `snapshot at ${snap.idx} covers entries nobody was seen deciding (${this.decided.length} decided)`);
      return;
    }
    const want = this.referenceSnapshot(snap.idx);
    const differs = describeSnapshotDifference(snap, want);
    if (differs) this.report('bad-snapshot', node, `snapshot at ${snap.idx}: ${differs}`);
  }

  /** The membership every replica starts from (set by the world before the run). */
  genesis: readonly Member[] = [];

  /** Reference state machine, advanced incrementally (snapshots only move forward mostly). */
  private reference: KvStateMachine | null = null;

  private referenceSnapshot(idx: LogIdx): Snapshot {
    if (!this.reference || this.reference.appliedIdx > idx) this.reference = new KvStateMachine({}, this.genesis);
    while (this.reference.appliedIdx < idx) this.reference.apply(this.decided[this.reference.appliedIdx]!.entry);
    return this.reference.snapshot();
  }

  private finishMaps(replicas: ReadonlyMap<NodeId, ReplicaLike | null>): void {
    const live = [...replicas].filter((r): r is [NodeId, ReplicaLike] => r[1] !== null)
      .map(([node, replica]) => ({ node, replica, applied: replica.status().appliedIdx }))
      .sort((a, b) => a.applied - b.applied);
    const reference = new KvStateMachine({}, this.genesis);
    for (const { node, replica, applied } of live) {
      while (reference.appliedIdx < Math.min(applied, this.decided.length)) reference.apply(this.decided[reference.appliedIdx]!.entry);
      if (reference.appliedIdx < applied) continue; // applied past the decided log: reported already
      // The whole state machine — map and sessions (a session table that diverged after a
      // snapshot install would apply a retry twice later, BUG-13).
      const differs = describeSnapshotDifference(replica.stateSnapshot(), reference.snapshot());
      if (differs) this.report('state-mismatch', node, `after applying ${applied} entries, ${differs}`);
    }
  }

  private finishLogs(replicas: ReadonlyMap<NodeId, ReplicaLike | null>): void {
    for (const [node, replica] of replicas) {
      if (!replica) continue;
      const st = replica.status();
      const limit = Math.min(st.decidedIdx, st.logLength, this.decided.length);
      // Entries before compactedIdx exist only in the snapshot, which checkSnapshot compared.
      for (let i = replica.compactedIdx; i < limit; i++) {
        const mine = replica.entryAt(i)!;
        if (!sameEntry(mine, this.decided[i]!.entry)) {
          this.report('decided-mismatch', node, `at the end, decided index ${i} holds ${describeEntry(mine)}, `
            + `but ${describeEntry(this.decided[i]!.entry)} was decided there`);
          break;
        }
      }
    }
  }

  private checkDecided(node: NodeId, replica: ReplicaLike, st: ReplicaStatus, ready?: Ready): void {
    const inc = this.nodes.get(node)!;
    if (st.decidedIdx < inc.lastDecided) {
      this.report('decided-decreased', node, `decidedIdx went from ${inc.lastDecided} down to ${st.decidedIdx}`);
      inc.checked = Math.min(inc.checked, st.decidedIdx);
    }
    inc.lastDecided = st.decidedIdx;
    if (st.decidedIdx > st.logLength) {
      this.report('decided-past-log', node, `decidedIdx ${st.decidedIdx} is past the log (length ${st.logLength})`);
      return;
    }
    // Entries decided and compacted in the same step are still in this step's applied list.
    const appliedNow = new Map((ready?.applied ?? []).map((a) => [a.idx, a.entry]));
    for (let i = inc.checked; i < st.decidedIdx; i++) {
      const mine = replica.entryAt(i) ?? appliedNow.get(i);
      // Covered by a snapshot installed from a peer: checkSnapshot compares the state instead.
      if (mine === undefined) continue;
      const known = this.decided[i];
      if (known === undefined) {
        if (i !== this.decided.length) {
          // Whoever decides an entry holds it (or applies it in the same step), so the global
          // decided log grows without holes; a hole means an entry was decided unseen.
          this.report('decided-gap', node, `decided index ${i} seen while the decided log is known only up to ${this.decided.length}`);
          break;
        }
        this.decided.push({ entry: mine, bound: this.highestAccept });
      } else if (!sameEntry(known.entry, mine)) {
        this.report('decided-mismatch', node,
          `decided index ${i} holds ${describeEntry(mine)}, but ${describeEntry(known.entry)} was decided there before`);
        break;
      }
    }
    inc.checked = Math.max(inc.checked, st.decidedIdx);
  }

  private checkApplied(node: NodeId, st: ReplicaStatus, ready: Ready): void {
    const inc = this.nodes.get(node)!;
    const installed = ready.persist.flatMap((op) => (op.kind === 'install-snapshot' ? [op.snapshot.idx] : []));
    this.checkAppliedEntries(node, st, ready, inc, installed);
    // A peer's snapshot beyond what was applied, with nothing applied after it yet (its own
    // compaction snapshots exactly what was applied): applying must resume at its index.
    for (const idx of installed) if (idx > inc.nextApply) inc.restoredTo = Math.max(inc.restoredTo ?? 0, idx);
  }

  private checkAppliedEntries(node: NodeId, st: ReplicaStatus, ready: Ready, inc: Incarnation, installed: readonly LogIdx[]): void {
    if (ready.applied.length === 0) return;
    for (const a of ready.applied) {
      // After installing a peer's snapshot, applying resumes exactly at its index.
      const restored = a.idx > inc.nextApply && (installed.includes(a.idx) || inc.restoredTo === a.idx);
      inc.restoredTo = null;
      if (a.idx !== inc.nextApply && !restored) {
        this.report('apply-order', node, `applied index ${a.idx}, expected ${inc.nextApply}`);
      }
      inc.nextApply = a.idx + 1;
      if (a.idx >= st.decidedIdx) {
        this.report('apply-undecided', node, `applied index ${a.idx} with decidedIdx ${st.decidedIdx}`);
      }
      const d = this.decided[a.idx];
      if (d !== undefined && !sameEntry(d.entry, a.entry)) {
        this.report('decided-mismatch', node, `applied ${describeEntry(a.entry)} at ${a.idx}, but ${describeEntry(d.entry)} was decided there`);
      }
      if (a.executed && a.entry.kind === 'command') {
        const key = commandKey(a.entry.command);
        const at = this.executedAt.get(key);
        if (at === undefined) this.executedAt.set(key, a.idx);
        else if (at !== a.idx) this.report('executed-twice', node, `${key} executed at index ${a.idx}, and before at index ${at}`);
      }
    }
  }

  private checkLeader(node: NodeId, replica: ReplicaLike, st: ReplicaStatus, leading: boolean): void {
    const inc = this.nodes.get(node)!;
    if (!leading) {
      inc.acceptLeader = false;
      return;
    }
    if (inc.acceptLeader) return;
    inc.acceptLeader = true;
    const b = st.leaderBallot;
    const key = formatBallot(b);
    const other = this.leaders.get(key);
    if (other !== undefined && other !== node) {
      this.report('two-leaders', node, `node ${node} leads ballot ${key} in accept phase, as node ${other} did`);
    }
    this.leaders.set(key, node);
    const compacted = replica.compactedIdx;
    for (let i = compacted; i < this.decided.length; i++) {
      const d = this.decided[i]!;
      if (compareBallots(b, d.bound) <= 0) continue;
      const mine = replica.entryAt(i);
      if (mine === undefined || !sameEntry(mine, d.entry)) {
        this.report('lost-decided', node, `leader of ${key} reached accept phase with ${mine ? describeEntry(mine) : 'nothing'} `
          + `at index ${i}, where ${describeEntry(d.entry)} was decided (under ballot ≤ ${formatBallot(d.bound)})`);
        break;
      }
    }
    for (const a of this.acked) {
      if (compareBallots(b, a.bound) <= 0 || a.idx < compacted) continue;
      const mine = replica.entryAt(a.idx);
      if (mine?.kind !== 'command' || mine.command.clientId !== a.command.clientId || mine.command.seq !== a.command.seq) {
        this.report('lost-ack', node, `leader of ${key} reached accept phase with ${mine ? describeEntry(mine) : 'nothing'} `
          + `at index ${a.idx}, where acknowledged ${commandKey(a.command)} was executed`);
        break;
      }
    }
  }
}

function describeSnapshotDifference(got: Snapshot, want: Snapshot): string | null {
  const a = new Map(got.kv);
  const b = new Map(want.kv);
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(k) !== b.get(k)) return `key ${k} is ${JSON.stringify(a.get(k) ?? null)}, the decided log gives ${JSON.stringify(b.get(k) ?? null)}`;
  }
  const sa = new Map(got.sessions.map((s) => [s.clientId, s]));
  const sb = new Map(want.sessions.map((s) => [s.clientId, s]));
  for (const id of new Set([...sa.keys(), ...sb.keys()])) {
    const x = sa.get(id);
    const y = sb.get(id);
    if (JSON.stringify(x) !== JSON.stringify(y)) {
      return `session ${id} is ${JSON.stringify(x ?? null)}, the decided log gives ${JSON.stringify(y ?? null)} (BUG-13)`;
    }
  }
  if (JSON.stringify(got.members) !== JSON.stringify(want.members)) {
    return `the membership is ${JSON.stringify(got.members)}, the decided log gives ${JSON.stringify(want.members)}`;
  }
  return null;
}
