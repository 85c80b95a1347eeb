/**
 * A replica: ballot leader election + Sequence Paxos + the KV state machine, behind one pure
 * `step` function. See README.md in this folder for the contract a driver must keep.
 */
import type { LogIdx, NodeId } from './ballot.js';
import { BallotLeaderElection } from './ballot-leader-election.js';
import type { Command, Entry } from './entry.js';
import { KvStateMachine } from './kv-state-machine.js';
import { NO_INCARNATION, type Member } from './membership.js';
import { isBleMessage, type PeerMessage } from './messages.js';
import { SequencePaxos } from './sequence-paxos.js';
import type { Snapshot } from './snapshot.js';
import { cloneState, entryAt, type PersistentState } from './storage.js';
import {
  defaultIncarnation,
  type AppliedEntry, type ClientReply, type LogMark, type Notice, type Outgoing, type Ready, type ReplicaConfig,
  type ReplicaInput, type ReplicaStatus,
} from './types.js';

export const DEFAULT_MAX_BATCH = 256;
export const DEFAULT_SESSION_IDLE_ENTRIES = 100_000;
export const DEFAULT_SNAPSHOT_ENTRIES = 10_000;

export class Replica {
  readonly id: NodeId;
  private readonly ble: BallotLeaderElection;
  private readonly sp: SequencePaxos;
  private readonly kv: KvStateMachine;
  private readonly nodes: ReadonlySet<NodeId>;
  /** Requests received here and not yet answered: clientId → seq. */
  private readonly pending = new Map<string, number>();
  private readonly sessionIdleEntries: number;
  private readonly snapshotEntries: number;
  private lastExpiryProposed: LogIdx = -1;
  private started = false;
  readonly incarnation: string;
  /** Ticks until we may ask to join again (maybeJoin). */
  private joinTicks = 0;
  /** What we last reported about our own standing, and the votes we refused (each once). */
  private ownStanding = '';
  private readonly refusedReported = new Set<string>();
  private notices: Notice[] = [];
  /** Where this step's messages go; `out` is built once (a closure per step costs time). */
  private sendBuffer: Outgoing[] = [];
  private readonly out = (to: NodeId, msg: PeerMessage): void => { this.sendBuffer.push({ to, msg }); };

  /** @param durable the state loaded from storage (`emptyState()` for a new node); copied. */
  constructor(readonly config: ReplicaConfig, durable: PersistentState) {
    this.id = config.id;
    if (!config.nodes.includes(config.id)) throw new Error(`node ${config.id} is not in its own node list`);
    if (new Set(config.nodes).size !== config.nodes.length) throw new Error('duplicate node ids');
    if (config.nodes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('node ids must be integers ≥ 1');
    this.nodes = new Set(config.nodes);
    const peers = config.nodes.filter((n) => n !== config.id);
    const state = cloneState(durable);
    this.incarnation = config.incarnation ?? defaultIncarnation(config.id);
    const genesis: readonly Member[] = config.genesis
      ?? config.nodes.map((id) => ({ id, incarnation: defaultIncarnation(id), voter: true }));
    this.kv = new KvStateMachine({
      skipDeduplication: config.plantedBug === 'skip-dedup',
      snapshotWithoutSessions: config.plantedBug === 'snapshot-without-sessions',
    }, genesis);
    const isVoter = config.plantedBug === 'amnesia-guard-off'
      ? () => true
      : (id: NodeId, inc: string) => this.kv.membership.isVoter(id, inc);
    // A vote refused is reported once per (node, incarnation): the operator must hear of it.
    const guardedIsVoter = (id: NodeId, inc: string): boolean => {
      if (isVoter(id, inc)) return true;
      if (id !== this.id) this.refused(id, inc);
      return false;
    };
    this.sp = new SequencePaxos({
      incarnation: this.incarnation, isVoter: guardedIsVoter,
      id: config.id, peers, clusterSize: config.nodes.length, resendTicks: config.resendTicks,
      maxBatch: config.maxBatch ?? DEFAULT_MAX_BATCH, plantedBug: config.plantedBug,
      // Three election rounds: a dead leader is noticed and replaced within about two.
      reforwardTicks: config.reforwardTicks ?? 3 * config.electionTicks,
    }, state);
    this.ble = new BallotLeaderElection({
      id: config.id, peers, clusterSize: config.nodes.length,
      priority: config.priority ?? 0, electionTicks: config.electionTicks,
      incarnation: this.incarnation, isVoter,
    }, state.promised);
    this.sessionIdleEntries = config.sessionIdleEntries ?? DEFAULT_SESSION_IDLE_ENTRIES;
    this.snapshotEntries = config.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES;
    // Rebuild the state machine: the snapshot, then the decided entries after it.
    if (state.snapshot) this.kv.restore(state.snapshot);
    for (let i = this.kv.appliedIdx; i < state.decidedIdx; i++) this.kv.apply(entryAt(state, i)!);
  }

  /**
   * The replica's log from `compactedIdx` on (`log[0]` is entry `compactedIdx`), including
   * entries not yet durable or decided. Read-only.
   */
  get log(): readonly Entry[] {
    return this.sp.state.log;
  }

  /** Entries before this index exist only as the snapshot. */
  get compactedIdx(): LogIdx {
    return this.sp.compactedIdx;
  }

  /** The snapshot that replaces the log prefix `[0, compactedIdx)`, if any. */
  currentSnapshot(): Snapshot | null {
    return this.sp.state.snapshot;
  }

  /** Entry `idx` of the log, or undefined when compacted away or beyond the log. */
  entryAt(idx: LogIdx): Entry | undefined {
    return entryAt(this.sp.state, idx);
  }

  kvEntries(): [string, string][] {
    return this.kv.entries();
  }

  /** The state machine now (map and sessions), as a snapshot at the applied index. */
  stateSnapshot(): Snapshot {
    return this.kv.snapshot();
  }

  step(...inputs: ReplicaInput[]): Ready {
    const persist: Ready['persist'] = [];
    const send: Outgoing[] = [];
    const reply: ClientReply[] = [];
    const applied: AppliedEntry[] = [];
    this.sendBuffer = send;
    const out = this.out;
    this.sp.begin(persist, out);
    if (!this.started) {
      this.started = true;
      this.ble.start(out);
      this.sp.recoverOnStart();
    }
    for (const input of inputs) {
      switch (input.kind) {
        case 'tick': this.tick(out); break;
        case 'message':
          // Messages from outside the configuration are ignored, never trusted.
          if (!this.nodes.has(input.from) || input.from === this.id) break;
          this.receive(input.from, input.msg, out);
          break;
        case 'request': this.request(input.command, reply); break;
        case 'reconnected':
          if (this.nodes.has(input.peer) && input.peer !== this.id) {
            this.ble.onReconnected(input.peer, out);
            this.sp.reconnected(input.peer);
          }
          break;
        case 'persisted': this.sp.persisted(input.mark); break;
      }
    }
    this.applyDecided(applied, reply);
    this.maybePromote();
    this.sp.flush();
    // What flush decided is applied in this step too (a leader alone, say).
    this.applyDecided(applied, reply);
    this.noteStanding();
    this.maybeCompact();
    const logMark = this.leaderLogMark(persist);
    const ready: Ready = logMark ? { persist, send, reply, applied, logMark } : { persist, send, reply, applied };
    if (this.notices.length === 0) return ready;
    const notices = this.notices;
    this.notices = [];
    return { ...ready, notices };
  }

  private refused(id: NodeId, inc: string): void {
    const key = `${id}:${inc}`;
    if (this.refusedReported.has(key)) return;
    this.refusedReported.add(key);
    this.notices.push({ kind: 'vote-refused', id, incarnation: inc, known: this.kv.membership.incarnationOf(id) ?? NO_INCARNATION });
  }

  /** Reports changes of our own standing: refused, joined as a learner, promoted to voter. */
  private noteStanding(): void {
    const known = this.kv.membership.incarnationOf(this.id) ?? NO_INCARNATION;
    const voter = this.kv.membership.isVoter(this.id, this.incarnation);
    const standing = voter ? 'voter' : known === this.incarnation ? 'learner' : `other:${known}`;
    if (standing === this.ownStanding) return;
    this.ownStanding = standing;
    if (voter) this.notices.push({ kind: 'voter', incarnation: this.incarnation });
    else if (known === this.incarnation) this.notices.push({ kind: 'learner', incarnation: this.incarnation });
    else if (known !== NO_INCARNATION) this.notices.push({ kind: 'not-a-voter', incarnation: this.incarnation, known });
    else this.notices.push({ kind: 'joining', incarnation: this.incarnation });
  }

  /**
   * A data directory the membership does not record for our id asks to join: at once when the
   * id has never joined (a node that was not there at the first boot), or when the operator
   * said it replaces the old one (`replace`). Asked again every few election rounds until the
   * join is applied here (the proposal may be lost with a leader).
   */
  private maybeJoin(): void {
    if (--this.joinTicks > 0) return;
    this.joinTicks = 3 * this.config.electionTicks;
    const known = this.kv.membership.incarnationOf(this.id);
    if (known === undefined || known === this.incarnation) return;
    if (known !== NO_INCARNATION && !this.config.replace) return;
    this.sp.propose([{ kind: 'join', id: this.id, incarnation: this.incarnation, replace: this.config.replace === true }]);
  }

  /**
   * A leader promotes a learner once it has accepted, in this ballot, our whole log as it was
   * when we first saw the learner registered: that covers every entry its predecessor could
   * have voted for (older ballots' decided entries are in the log we adopted; in this ballot
   * the predecessor's votes stopped counting when we applied the join). Promotion is an entry:
   * every replica makes the learner a voter at the same index.
   */
  private maybePromote(): void {
    const lead = this.sp.lead;
    if (this.sp.role !== 'leader' || this.sp.phase !== 'accept' || !lead) return;
    for (const m of this.kv.membership.learners()) {
      const key = `${m.id}:${m.incarnation}`;
      if (lead.promoting.has(key)) continue;
      let mark = lead.promotionMark.get(key);
      if (mark === undefined) {
        mark = this.sp.logLength;
        lead.promotionMark.set(key, mark);
      }
      const caughtUp = m.id === this.id
        ? false // a learner does not lead (BLE), and never promotes itself
        : lead.promises.get(m.id)?.inc === m.incarnation && (lead.acc.get(m.id) ?? -1) >= mark;
      if (!caughtUp) continue;
      lead.promoting.add(key);
      this.sp.propose([{ kind: 'promote', id: m.id, incarnation: m.incarnation }]);
    }
  }

  /**
   * A leader in the accept phase that wrote to its log (or its round) in this step asks to hear
   * when the write is durable: only then does its own vote count (leader.onPersisted). The mark
   * is the state after the whole step, which is what the batch makes durable.
   */
  private leaderLogMark(persist: Ready['persist']): LogMark | undefined {
    if (this.sp.role !== 'leader' || this.sp.phase !== 'accept') return undefined;
    const wroteLog = persist.some((op) => op.kind === 'append' || op.kind === 'append-on-prefix' || op.kind === 'set-accepted-rnd');
    return wroteLog ? { acceptedRnd: this.sp.state.acceptedRnd, logLength: this.sp.logLength } : undefined;
  }

  status(): ReplicaStatus {
    return {
      id: this.id, role: this.sp.role, phase: this.sp.phase, leaderBallot: this.sp.leading,
      bleLeader: this.ble.currentLeader, quorumConnected: this.ble.quorumConnected,
      promised: this.sp.promised, acceptedRnd: this.sp.state.acceptedRnd,
      logLength: this.sp.logLength, decidedIdx: this.sp.decidedIdx, appliedIdx: this.kv.appliedIdx,
      compactedIdx: this.sp.compactedIdx, incarnation: this.incarnation,
      voter: this.kv.membership.isVoter(this.id, this.incarnation),
    };
  }

  /** The membership as this replica has applied it. */
  members(): Member[] {
    return this.kv.membership.list();
  }

  private tick(out: (to: NodeId, msg: PeerMessage) => void): void {
    const elected = this.ble.tick({ promised: this.sp.promised, leading: this.sp.leading }, out);
    if (elected) this.sp.handleLeader(elected);
    this.sp.tick();
    this.maybeExpireSessions();
    this.maybeJoin();
  }

  private receive(from: NodeId, msg: PeerMessage, out: (to: NodeId, msg: PeerMessage) => void): void {
    if (isBleMessage(msg)) {
      if (msg.kind === 'heartbeat-request') this.ble.onRequest(from, msg, out);
      else this.ble.onReply(from, msg);
    } else {
      this.sp.handle(from, msg);
    }
  }

  private request(command: Command, reply: ClientReply[]): void {
    const cached = this.kv.cachedResult(command.clientId, command.seq);
    // A retry of a command this replica already applied: its effect happened once, after the
    // first attempt was invoked; answer with the remembered result.
    if (cached === 'older') return;
    if (cached) {
      reply.push({ clientId: command.clientId, seq: command.seq, result: cached });
      return;
    }
    this.pending.set(command.clientId, command.seq);
    this.sp.propose([{ kind: 'command', command }]);
  }

  private applyDecided(applied: AppliedEntry[], reply: ClientReply[]): void {
    const state = this.sp.state;
    if (state.snapshot && this.kv.appliedIdx < state.snapshot.idx) {
      // We installed a snapshot from a peer that reaches beyond what we applied: its state
      // replaces ours. Requests waiting here that it covers are answered from the sessions it
      // carries (released with this step, after the install is durable); a request whose
      // session has moved on gets no answer — its client has too.
      this.kv.restore(state.snapshot);
      for (const [clientId, seq] of this.pending) {
        const cached = this.kv.cachedResult(clientId, seq);
        if (cached === null) continue;
        this.pending.delete(clientId);
        if (cached !== 'older') reply.push({ clientId, seq, result: cached });
      }
    }
    while (this.kv.appliedIdx < this.sp.decidedIdx) {
      const idx = this.kv.appliedIdx;
      const entry = entryAt(state, idx)!;
      const outcome = this.kv.apply(entry);
      // Applied here: never to be forwarded again (a copy after its session expired would run twice).
      this.sp.forwarded.applied(entry);
      const executed = outcome !== null && !outcome.duplicate && outcome.result?.kind !== 'session-expired';
      applied.push({ idx, entry, executed });
      if (!outcome || !outcome.result) continue;
      const { clientId, seq } = outcome.command;
      if (this.pending.get(clientId) === seq) {
        this.pending.delete(clientId);
        reply.push({ clientId, seq, result: outcome.result });
      }
    }
  }

  /**
   * Log compaction (reference §A.6): once `snapshotEntries` applied entries lie beyond the last
   * snapshot, snapshot the state machine (map and sessions, BUG-13) and drop the prefix it
   * covers, in one atomic write. Only applied (so decided) entries are compacted. A peer that
   * still needs them gets the snapshot instead (logSyncFrom), so no node is left without a way
   * to catch up (BUG-14) — whichever node compacts, leader or follower.
   */
  private maybeCompact(): void {
    if (this.snapshotEntries <= 0) return;
    // At least `snapshotEntries` entries, and at least a quarter as many as the state has keys
    // and sessions: a snapshot costs time and disk in proportion to the state, so this keeps its
    // cost per applied entry bounded however large the state grows (the log between two
    // snapshots is at most about a quarter of the state in entries).
    const every = Math.max(this.snapshotEntries, Math.floor((this.kv.size + this.kv.sessionCount) / 4));
    if (this.kv.appliedIdx - this.sp.compactedIdx < every) return;
    this.sp.persist([{ kind: 'install-snapshot', snapshot: this.kv.snapshot() }]);
  }

  /** The leader proposes dropping idle sessions; the log makes every replica drop the same. */
  private maybeExpireSessions(): void {
    if (this.sp.role !== 'leader' || this.sp.phase !== 'accept') return;
    const oldest = this.kv.oldestSessionIdx();
    const idleBefore = this.kv.appliedIdx - this.sessionIdleEntries;
    if (oldest === null || oldest >= idleBefore || idleBefore <= this.lastExpiryProposed) return;
    this.lastExpiryProposed = idleBefore + Math.floor(this.sessionIdleEntries / 2);
    this.sp.propose([{ kind: 'expire-sessions', idleBefore }]);
  }
}
