/**
 * One node as its driver sees it — the replica (while up), its disk, pause and crash — and the
 * step contract of src/replica/README.md in one place: a step's `persist` goes to the disk as
 * one batch; the step's messages and replies ride on that batch (or, when it wrote nothing, on
 * the last pending one) and leave only when it is durable, after every earlier batch.
 *
 * The planted driver bug `ack-before-durable` (BUG-1) lets them leave at once, while the
 * writes stay pending and a crash still loses them.
 */
import type { NodeId } from '../replica/ballot.js';
import { mustBeDurableBeforeRelease } from '../replica/storage.js';
import type { ClientReply, Outgoing, Ready, ReplicaConfig, ReplicaInput } from '../replica/types.js';
import type { SimDisk } from './disk.js';
import type { TimeUs } from './event-queue.js';
import type { ReplicaFactory, ReplicaLike } from './replica-like.js';

/** A step's output, waiting for the disk. */
export interface Release {
  readonly send: readonly Outgoing[];
  readonly reply: readonly ClientReply[];
}

export interface DriverEnv {
  now(): TimeUs;
  /** Calls `node.diskDone(epoch)` at time `at`. */
  diskAt(at: TimeUs, node: NodeDriver, epoch: number): void;
  /** Hands released messages to the network and replies to the clients. */
  release(node: NodeDriver, r: Release): void;
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
  /** Outputs made durable while paused. */
  private held: Release[] = [];

  constructor(
    readonly id: NodeId,
    readonly config: ReplicaConfig,
    readonly disk: SimDisk<Release>,
    /** This node's tick period (clocks drift). */
    readonly tickUs: number,
    private readonly env: DriverEnv,
    private readonly ackBeforeDurable: boolean,
  ) {}

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
    const hasOutput = ready.send.length > 0 || ready.reply.length > 0;
    const out: Release = { send: ready.send, reply: ready.reply };
    const now = this.env.now();
    if (!mustBeDurableBeforeRelease(ready.persist)) {
      // Only the decided index: the outputs wait for the earlier batches, not for this one
      // (the same rule as kvnode's driver; src/replica/storage.ts says why it is safe).
      const before = this.disk.write([], hasOutput && !this.ackBeforeDurable ? out : undefined, now);
      if (hasOutput && (this.ackBeforeDurable || before.kind === 'durable')) this.env.release(this, out);
      const w = this.disk.write(ready.persist, undefined, now);
      if (w.kind === 'pending' && w.scheduleAt !== null) this.env.diskAt(w.scheduleAt, this, this.disk.epoch);
      return { kind: 'stepped', replica, ready };
    }
    const w = this.disk.write(ready.persist, hasOutput && !this.ackBeforeDurable ? out : undefined, now);
    if (w.kind === 'pending' && w.scheduleAt !== null) this.env.diskAt(w.scheduleAt, this, this.disk.epoch);
    if (hasOutput && (this.ackBeforeDurable || w.kind === 'durable')) this.env.release(this, out);
    return { kind: 'stepped', replica, ready };
  }

  /** The oldest pending batch became durable: its outputs leave (or wait for the end of a pause). */
  diskDone(epoch: number): void {
    if (epoch !== this.disk.epoch) return; // scheduled before a crash
    for (const r of this.disk.completeHead()) {
      if (this.paused) this.held.push(r);
      else this.env.release(this, r);
    }
  }

  /** Loses the replica, the pending writes and every output waiting for them. Returns the batches lost. */
  crash(): number {
    this.replica = null;
    this.incarnation++;
    this.paused = false;
    this.inbox = [];
    this.held = [];
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
    for (const r of held) this.env.release(this, r);
    return inbox;
  }
}
