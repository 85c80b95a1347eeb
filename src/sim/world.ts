/**
 * The simulated world: N replicas, simulated clients, a network and a disk per node, all
 * driven by one event queue in virtual time and one seeded generator. This file routes
 * events and watches every step (invariants, leader changes, observers); each node's step
 * contract lives in node-driver.ts, and the control surface (faults, scripting) in
 * simulator.ts.
 *
 * A crash drops the replica object, the disk's pending batches and every output not yet
 * released; a restart builds a new replica from the durable state.
 */
import { formatBallot, compareBallots, BOTTOM, type Ballot, type NodeId } from '../replica/ballot.js';
import type { Command } from '../replica/entry.js';
import type { PeerMessage } from '../replica/messages.js';
import { defaultIncarnation, type ClientReply, type ReplicaConfig, type ReplicaInput, type ReplicaStatus } from '../replica/types.js';
import { HistoryWriter } from '../history/writer.js';
import { ClientPool, type ClientStats } from './clients.js';
import { SimDisk } from './disk.js';
import { EventQueue, type TimeUs } from './event-queue.js';
import { InvariantChecker, type Violation } from './invariants.js';
import { Network, type Link } from './network.js';
import { NodeDriver, type DiskPayload, type DriverEnv, type Release } from './node-driver.js';
import { defaultSnapshotEntries, nodeIds, resolveOptions, type SimOptions, type SimOptionsInput } from './options.js';
import type { ReplicaFactory, ReplicaLike } from './replica-like.js';
import { Rng } from './rng.js';
import { describeCommand, describeMessage, describeReply, formatTime } from './trace.js';

type SimEvent =
  | { readonly kind: 'tick'; readonly node: NodeDriver; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly from: NodeId; readonly to: NodeDriver; readonly msg: PeerMessage; readonly epoch: number }
  | { readonly kind: 'disk'; readonly node: NodeDriver; readonly epoch: number }
  | { readonly kind: 'request'; readonly node: NodeDriver; readonly command: Command }
  | { readonly kind: 'reply'; readonly reply: ClientReply }
  | { readonly kind: 'client'; readonly client: number; readonly token: number }
  | { readonly kind: 'call'; readonly fn: () => void };

export interface SimStats {
  opsOk: number;
  opsFail: number;
  opsInfo: number;
  /** Peer messages handed to the network (duplicates not counted twice). */
  messages: number;
  delivered: number;
  dropped: number;
  /** Length of the decided log. */
  decided: number;
  /** Times a higher ballot reached accept phase. */
  leaderChanges: number;
  crashes: number;
  batchesLost: number;
  steps: number;
  virtualMs: number;
  clients: ClientStats;
}

export interface SimOutcome {
  readonly violations: readonly Violation[];
  readonly stats: SimStats;
  readonly historyLines: readonly string[];
  readonly trace: readonly string[] | undefined;
}

/** Called after every replica step, for scenario tests that measure progress. */
export type StepObserver = (node: NodeId, status: ReplicaStatus, now: TimeUs) => void;

export const MS = 1000;

export class SimWorld {
  readonly options: SimOptions;
  readonly nodes: readonly NodeId[];
  readonly rng: Rng;
  readonly network: Network;
  readonly invariants = new InvariantChecker();
  readonly history: HistoryWriter;
  readonly historyLines: string[] = [];
  readonly traceLines: string[] | undefined;
  private readonly queue = new EventQueue<SimEvent>();
  protected readonly byId = new Map<NodeId, NodeDriver>();
  private readonly clients: ClientPool;
  private readonly factory: ReplicaFactory;
  protected readonly faultEndUs: TimeUs;
  private readonly observers: StepObserver[] = [];
  protected time: TimeUs = 0;
  protected leaderBallot: Ballot = BOTTOM;
  private started = false;
  private readonly counters = { messages: 0, delivered: 0, dropped: 0, leaderChanges: 0, crashes: 0, steps: 0 };

  constructor(input: SimOptionsInput, factory?: ReplicaFactory) {
    const o = resolveOptions(input);
    this.options = o;
    const f = factory ?? o.replicaFactory;
    if (!f) throw new Error('simulation: no replica factory (use runSeed, or pass one)');
    this.factory = f;
    this.nodes = nodeIds(o.nodes);
    this.rng = new Rng(o.seed);
    this.network = new Network(this.nodes, this.rng, o.network);
    this.traceLines = o.trace ? [] : undefined;
    this.history = new HistoryWriter(line => { this.historyLines.push(line); }, () => this.time * 1000);
    const env: DriverEnv = {
      now: () => this.time,
      diskAt: (at, node, epoch) => this.queue.push(at, { kind: 'disk', node, epoch }),
      release: (node, r) => this.release(node, r),
      input: (node, input) => this.step(node, input),
    };
    const replicaBug = o.plantedBug === 'ack-before-durable' ? undefined : o.plantedBug;
    // Every replica's default genesis: each node a voter with its default incarnation.
    this.invariants.genesis = this.nodes.map((id) => ({ id, incarnation: defaultIncarnation(id), voter: true }));
    for (const id of this.nodes) {
      const config: ReplicaConfig = {
        id, nodes: this.nodes, electionTicks: o.electionTicks, resendTicks: o.resendTicks,
        ...(o.priorities?.[id] !== undefined ? { priority: o.priorities[id] } : {}),
        ...(o.maxBatch !== undefined ? { maxBatch: o.maxBatch } : {}),
        ...(o.sessionIdleEntries !== undefined ? { sessionIdleEntries: o.sessionIdleEntries } : {}),
        snapshotEntries: o.snapshotEntries ?? defaultSnapshotEntries(o.seed),
        ...(replicaBug !== undefined ? { plantedBug: replicaBug } : {}),
      };
      const drift = o.tickDrift > 0 ? (this.rng.next() * 2 - 1) * o.tickDrift : 0;
      const tickUs = Math.max(1, Math.round(o.tickUs * (1 + drift)));
      this.byId.set(id, new NodeDriver(id, config, new SimDisk<DiskPayload>(this.rng, o.disk), tickUs, env, o.plantedBug === 'ack-before-durable'));
    }
    this.faultEndUs = o.faults.length === 0 ? 0 : o.faultEndUs ?? Math.max(0, o.durationUs - 1200 * MS);
    this.clients = new ClientPool({
      rng: this.rng,
      nodes: this.nodes,
      history: this.history,
      now: () => this.time,
      timer: (at, client, token) => this.queue.push(at, { kind: 'client', client, token }),
      send: (node, _client, command) => this.sendRequest(node, command),
      answered: command => this.invariants.answered(command),
      badReply: message => this.invariants.report('bad-reply', null, message),
      noProgress: message => this.invariants.report('no-progress', null, message),
    }, {
      clients: o.clients, keys: o.keys, opsTotal: o.opsTotal, timeoutUs: o.clientTimeoutUs, maxAttempts: o.clientAttempts,
      thinkMinUs: o.thinkMinUs, thinkMaxUs: o.thinkMaxUs,
      stopIssuingAtUs: o.stopIssuingAtUs ?? Math.max(0, o.durationUs - 800 * MS),
      ...(o.clientTargets ? { targets: o.clientTargets } : {}),
      ...(o.progressGraceUs === null ? {} : { progressFromUs: this.faultEndUs + (o.progressGraceUs ?? 300 * MS) }),
    });
  }

  // --- running ---------------------------------------------------------------------------

  now(): TimeUs {
    return this.time;
  }

  /** Runs `fn` at virtual time `time` (scenario scripts, the nemesis). */
  at(time: TimeUs, fn: () => void): void {
    this.queue.push(Math.max(time, this.time), { kind: 'call', fn });
  }

  observe(fn: StepObserver): void {
    this.observers.push(fn);
  }

  run(): SimOutcome {
    if (this.started) throw new Error('simulation: run() may be called once');
    this.started = true;
    const o = this.options;
    for (const node of this.byId.values()) this.boot(node);
    this.startFaults();
    this.clients.start();
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > o.durationUs) break;
      const { time, event } = this.queue.pop()!;
      this.time = time;
      this.invariants.now = time;
      this.dispatch(event);
      if (o.stopWhenIdle && time >= this.faultEndUs && this.clients.idle) break;
    }
    this.clients.closePending();
    const replicas = new Map([...this.byId.values()].map(n => [n.id, n.replica] as const));
    this.invariants.finish(replicas);
    return { violations: this.invariants.violations, stats: this.stats(), historyLines: this.historyLines, trace: this.traceLines };
  }

  /** Schedules the run's faults (the nemesis); called once, after the nodes boot. */
  protected startFaults(): void {}

  private dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const node = ev.node;
        if (ev.incarnation !== node.incarnation || !node.replica) return;
        this.queue.push(this.time + node.tickUs, ev);
        if (!node.paused) this.step(node, TICK);
        return;
      }
      case 'deliver': {
        const to = ev.to;
        if (!this.network.arrives(ev.from, to.id, ev.epoch)) {
          this.counters.dropped++;
          if (this.traceLines) this.trace(`${ev.from}→${to.id} drop (link cut in flight) ${describeMessage(ev.msg)}`);
          return;
        }
        if (!to.replica) {
          this.counters.dropped++;
          if (this.traceLines) this.trace(`${ev.from}→${to.id} drop (node down) ${describeMessage(ev.msg)}`);
          return;
        }
        this.counters.delivered++;
        if (this.traceLines) this.trace(`${ev.from}→${to.id} recv ${describeMessage(ev.msg)}`);
        this.step(to, { kind: 'message', from: ev.from, msg: ev.msg });
        return;
      }
      case 'disk':
        ev.node.diskDone(ev.epoch);
        return;
      case 'request':
        if (!ev.node.replica) {
          if (this.traceLines) this.trace(`client→${ev.node.id} drop (node down) ${describeCommand(ev.command)}`);
          return;
        }
        if (this.traceLines) this.trace(`client→${ev.node.id} request ${describeCommand(ev.command)}`);
        this.step(ev.node, { kind: 'request', command: ev.command });
        return;
      case 'reply':
        this.clients.onReply(ev.reply);
        return;
      case 'client':
        this.clients.onTimer(ev.client, ev.token);
        return;
      case 'call':
        ev.fn();
        return;
    }
  }

  /** Steps the node (or queues the input while it is paused) and watches the step. */
  protected step(node: NodeDriver, input: ReplicaInput): void {
    const out = node.step(input);
    if (out.kind === 'queued') return;
    if (out.kind === 'threw') {
      // The replica asserts its own invariants: it stopped loudly, so it crashes and restarts.
      this.invariants.report('replica-threw', node.id, `step(${input.kind}) threw: ${out.error.message}`);
      this.crashNode(node, 'crash');
      this.at(this.time + 50 * MS, () => this.restartNode(node));
      return;
    }
    this.counters.steps++;
    const st = this.invariants.afterStep(node.id, out.replica, out.ready);
    if (st.role === 'leader' && st.phase === 'accept' && compareBallots(st.leaderBallot, this.leaderBallot) > 0) {
      this.leaderBallot = st.leaderBallot;
      this.counters.leaderChanges++;
      this.history.leader(node.id, formatBallot(st.leaderBallot));
      if (this.traceLines) this.trace(`node ${node.id} leads ${formatBallot(st.leaderBallot)} (accept phase)`);
    }
    for (const obs of this.observers) obs(node.id, st, this.time);
  }

  private release(node: NodeDriver, r: Release): void {
    for (const o of r.send) this.transmit(node.id, o.to, o.msg);
    for (const reply of r.reply) {
      if (this.network.loss > 0 && this.rng.chance(this.network.loss)) {
        if (this.traceLines) this.trace(`${node.id}→client drop (loss) ${describeReply(reply)}`);
        continue;
      }
      if (this.traceLines) this.trace(`${node.id}→client reply ${describeReply(reply)}`);
      this.queue.push(this.time + this.network.delay(), { kind: 'reply', reply });
    }
  }

  private transmit(from: NodeId, to: NodeId, msg: PeerMessage): void {
    const target = this.byId.get(to);
    if (!target || to === from) {
      this.invariants.report('bad-destination', from, `sent ${msg.kind} to ${to === from ? 'itself' : `unknown node ${to}`}`);
      return;
    }
    this.counters.messages++;
    const tx = this.network.transmit(from, to, this.time);
    if (tx.kind === 'dropped') {
      this.counters.dropped++;
      if (this.traceLines) this.trace(`${from}→${to} drop (${tx.why}) ${describeMessage(msg)}`);
      return;
    }
    if (this.traceLines) this.trace(`${from}→${to} send ${describeMessage(msg)}${tx.arrivals.length > 1 ? ' (duplicated)' : ''}`);
    for (const at of tx.arrivals) this.queue.push(at, { kind: 'deliver', from, to: target, msg, epoch: tx.epoch });
  }

  private sendRequest(node: NodeId, command: Command): void {
    const target = this.byId.get(node)!;
    if (this.network.loss > 0 && this.rng.chance(this.network.loss)) {
      if (this.traceLines) this.trace(`client→${node} drop (loss) ${describeCommand(command)}`);
      return;
    }
    this.queue.push(this.time + this.network.delay(), { kind: 'request', node: target, command });
    if (this.network.dup > 0 && this.rng.chance(this.network.dup)) {
      this.queue.push(this.time + this.network.delay(), { kind: 'request', node: target, command });
    }
  }

  // --- nodes ---------------------------------------------------------------------------------

  /** Builds the node's replica from its durable state and starts its ticks at a random phase. */
  private boot(node: NodeDriver): boolean {
    let replica: ReplicaLike;
    try {
      replica = node.boot(this.factory);
    } catch (e) {
      this.invariants.report('replica-threw', node.id, `restart threw: ${(e as Error).message}`);
      return false;
    }
    this.invariants.started(node.id, replica);
    this.queue.push(this.time + this.rng.int(0, node.tickUs - 1), { kind: 'tick', node, incarnation: node.incarnation });
    return true;
  }

  protected crashNode(node: NodeDriver, f: 'kill' | 'crash'): void {
    if (!node.up) return;
    const lost = node.crash();
    this.counters.crashes++;
    this.invariants.stopped(node.id);
    this.history.nemesis(f, { node: node.id });
    if (this.traceLines) this.trace(`node ${node.id} ${f === 'kill' ? 'killed' : 'crashed'} (${lost} pending batch${lost === 1 ? '' : 'es'} lost)`);
  }

  protected restartNode(node: NodeDriver): void {
    if (node.replica) return;
    if (this.traceLines) this.trace(`node ${node.id} restarts (log ${node.disk.durable.log.length}, decided ${node.disk.durable.decidedIdx}, promised ${formatBallot(node.disk.durable.promised)})`);
    this.history.nemesis('restart', { node: node.id });
    if (!this.boot(node)) return;
    // New connections to every peer it can reach: both ends hear of it.
    for (const peer of this.byId.values()) {
      if (peer === node || !peer.replica) continue;
      if (!this.network.isUp(node.id, peer.id) || !this.network.isUp(peer.id, node.id)) continue;
      this.step(peer, { kind: 'reconnected', peer: node.id });
      if (node.replica) this.step(node, { kind: 'reconnected', peer: peer.id });
    }
  }

  /** Links came back: each end of each restored link hears that it reconnected. */
  protected reconnect(links: readonly Link[]): void {
    const seen = new Set<string>();
    for (const [a, b] of links) {
      const key = a < b ? `${a}-${b}` : `${b}-${a}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const na = this.byId.get(a)!;
      const nb = this.byId.get(b)!;
      if (na.replica && nb.replica) {
        this.step(na, { kind: 'reconnected', peer: b });
        if (nb.replica) this.step(nb, { kind: 'reconnected', peer: a });
      }
    }
  }

  // --- reporting ----------------------------------------------------------------------------

  protected node(id: NodeId): NodeDriver {
    const n = this.byId.get(id);
    if (!n) throw new Error(`simulation: no node ${id}`);
    return n;
  }

  protected trace(text: string): void {
    this.traceLines!.push(`${formatTime(this.time)} ${text}`);
  }

  private stats(): SimStats {
    const c = this.clients.stats;
    let batchesLost = 0;
    for (const n of this.byId.values()) batchesLost += n.disk.batchesLost;
    return {
      opsOk: c.ok, opsFail: c.fail, opsInfo: c.info,
      messages: this.counters.messages, delivered: this.counters.delivered, dropped: this.counters.dropped,
      decided: this.invariants.decidedLength,
      leaderChanges: this.counters.leaderChanges,
      crashes: this.counters.crashes,
      batchesLost,
      steps: this.counters.steps,
      virtualMs: this.time / MS,
      clients: { ...c },
    };
  }
}

const TICK: ReplicaInput = Object.freeze({ kind: 'tick' });
