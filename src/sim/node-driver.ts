/**
 * One node as its driver sees it — the replica (while up), its disk, pause and crash — and the
 * step contract of src/replica/README.md in one place, released exactly as kvnode's driver does
 * (the same `ReleaseQueue`, src/replica/release.ts): a step's `persist` goes to the disk as one
 * batch; its replies and most of its messages ride on that batch (or, when it wrote nothing, on
 * the last pending one) and leave only when it is durable, after every earlier batch. A leader's
 * AcceptDecide and Decide leave at once, in per-peer order; a crash loses the pending batches
 * but not what already left. A step whose Ready carries a `logMark` gets it back as a
 * `persisted` input when its own batch is durable.
 *
 * The planted driver bug `ack-before-durable` (BUG-1) lets everything leave at once, while the
 * writes stay pending and a crash still loses them.
 */
import type { NodeId } from '../replica/ballot.js';
import type { PeerMessage } from '../replica/messages.js';
import { ReleaseQueue, type StepRelease } from '../replica/release.js';
import { mustBeDurableBeforeRelease } from '../replica/storage.js';
import { defaultIncarnation, type ClientReply, type LogMark, type Outgoing, type Ready, type ReplicaConfig, type ReplicaInput } from '../replica/types.js';
import type { SimDisk } from './disk.js';
import type { TimeUs } from './event-queue.js';
import type { ReplicaFactory, ReplicaLike } from './replica-like.js';

/** Outputs leaving a node together. */
export interface Release {
  readonly send: readonly Outgoing[];
  readonly reply: readonly ClientReply[];
}

/** What rides on a disk batch: a step to release, and/or a mark to hand back, once it is durable. */
export interface DiskPayload {
  readonly step: StepRelease | null;
  readonly mark: LogMark | null;
}

export interface DriverEnv {
  now(): TimeUs;
  /** Calls `node.diskDone(epoch)` at time `at`. */
  diskAt(at: TimeUs, node: NodeDriver, epoch: number): void;
  /** Hands released messages to the network and replies to the clients. */
  release(node: NodeDriver, r: Release): void;
  /** Steps the node with `input` (a `persisted` mark), watched like any other step. */
  input(node: NodeDriver, input: ReplicaInput): void;
}

export type StepOutcome =
  | { readonly kind: 'stepped'; readonly replica: ReplicaLike; readonly ready: Ready }
  /** The node is paused: the input waits for `resume`. */
  | { readonly kind: 'queued' }
  | { readonly kind: 'threw'; readonly error: Error };

export class NodeDriver {
  replica: ReplicaLike | null = null;
  /** Bumped by every crash: ticks of an earlier incarnation stop. */
  incarnation = 0;
  paused = false;
  /** Inputs that arrived while paused. */
  private inbox: ReplicaInput[] = [];
  /** Steps made durable while paused: released at `resume`. */
  private held: StepRelease[] = [];
  private releases: ReleaseQueue;
  /** Outputs the release queue let go during one call, handed to the network together. */
  private outSend: Outgoing[] = [];
  private outReply: ClientReply[] = [];

  /** Data directories this node has lost so far (amnesia): its incarnation is renewed each time. */
  private wipes = 0;

  constructor(
    readonly id: NodeId,
    public config: ReplicaConfig,
    readonly disk: SimDisk<DiskPayload>,
    /** This node's tick period (clocks drift). */
    readonly tickUs: number,
    private readonly env: DriverEnv,
    private readonly ackBeforeDurable: boolean,
  ) {
    this.releases = this.newReleaseQueue();
  }

  /** The whole disk is gone (the node must be down): it restarts empty, as a new incarnation. */
  loseDisk(): void {
    if (this.replica) throw new Error(`node ${this.id}: lose the disk of a running node`);
    this.disk.wipe();
    this.wipes++;
    this.config = { ...this.config, incarnation: `${defaultIncarnation(this.id)}~${this.wipes}`, replace: false };
  }

  /** Restarts from now on carry `replace` (the operator's `kvnode --replace`). */
  setReplace(): void {
    this.config = { ...this.config, replace: true };
  }

  get up(): boolean {
    return this.replica !== null;
  }

  /** What a pause has queued up, for the trace. */
  get waiting(): { inputs: number; outputs: number } {
    return { inputs: this.inbox.length, outputs: this.held.length };
  }

  /** Builds the replica from the durable state only. Throws whatever the replica throws. */
  boot(factory: ReplicaFactory): ReplicaLike {
    this.replica = factory(this.config, this.disk.load());
    return this.replica;
  }

  step(input: ReplicaInput): StepOutcome {
    const replica = this.replica;
    if (!replica) throw new Error(`node ${this.id}: step while down`);
    if (this.paused) {
      this.inbox.push(input);
      return { kind: 'queued' };
    }
    let ready: Ready;
    try {
      ready = replica.step(input);
    } catch (e) {
      return { kind: 'threw', error: e instanceof Error ? e : new Error(String(e)) };
    }
    const now = this.env.now();
    const mark = ready.logMark ?? null;
    // A mark always comes with a log write (Replica.leaderLogMark), so it rides on a batch.
    if (mark && ready.persist.length === 0) throw new Error(`node ${this.id}: a log mark without a write`);
    // The bug releases everything at once, as if every batch were already durable.
    const step = this.releases.add(ready, this.ackBeforeDurable);
    const waits = mustBeDurableBeforeRelease(ready.persist);
    if (!waits) {
      // Only the decided index: the outputs wait for the earlier batches, not for this one
      // (the same rule as kvnode's driver; src/replica/storage.ts says why it is safe).
      const before = this.disk.write([], { step, mark: null }, now);
      if (before.kind === 'durable') this.releases.durable(step);
      const w = this.disk.write(ready.persist, mark ? { step: null, mark } : undefined, now);
      if (w.kind === 'pending' && w.scheduleAt !== null) this.env.diskAt(w.scheduleAt, this, this.disk.epoch);
    } else {
      const w = this.disk.write(ready.persist, { step, mark }, now);
      if (w.kind === 'pending' && w.scheduleAt !== null) this.env.diskAt(w.scheduleAt, this, this.disk.epoch);
      if (w.kind === 'durable') this.releases.durable(step);
    }
    this.flushOut();
    return { kind: 'stepped', replica, ready };
  }

  /** The oldest pending batch became durable: its outputs leave (or wait for the end of a pause). */
  diskDone(epoch: number): void {
    if (epoch !== this.disk.epoch) return; // scheduled before a crash
    const marks: LogMark[] = [];
    for (const p of this.disk.completeHead()) {
      if (p.step) {
        if (this.paused) this.held.push(p.step);
        else this.releases.durable(p.step);
      }
      if (p.mark) marks.push(p.mark);
    }
    this.flushOut();
    // After the outputs, as kvnode's driver does: the leader may count its own vote up to here.
    // (While paused, the input waits in the inbox like any other.)
    for (const mark of marks) if (this.replica) this.env.input(this, { kind: 'persisted', mark });
  }

  /** Loses the replica, the pending writes and every output waiting for them. Returns the batches lost. */
  crash(): number {
    this.replica = null;
    this.incarnation++;
    this.paused = false;
    this.inbox = [];
    this.held = [];
    // Messages that left early are on the network already; the rest is lost with the process.
    this.releases = this.newReleaseQueue();
    this.outSend = [];
    this.outReply = [];
    return this.disk.crash();
  }

  pause(): void {
    this.paused = true;
  }

  /** Ends a pause: releases what became durable meanwhile, and returns the inputs that waited. */
  resume(): ReplicaInput[] {
    this.paused = false;
    const held = this.held;
    const inbox = this.inbox;
    this.held = [];
    this.inbox = [];
    for (const step of held) this.releases.durable(step);
    this.flushOut();
    return inbox;
  }

  private newReleaseQueue(): ReleaseQueue {
    return new ReleaseQueue({
      send: (to: NodeId, msg: PeerMessage) => { this.outSend.push({ to, msg }); },
      reply: (r: ClientReply) => { this.outReply.push(r); },
    });
  }

  private flushOut(): void {
    if (this.outSend.length === 0 && this.outReply.length === 0) return;
    const r: Release = { send: this.outSend, reply: this.outReply };
    this.outSend = [];
    this.outReply = [];
    this.env.release(this, r);
  }
}
