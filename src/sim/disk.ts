/**
 * One node's simulated disk: the durable state, and a FIFO of batches on their way to it.
 *
 * A batch (one step's `persist`, written atomically) becomes durable after a random latency,
 * never before an earlier batch (durability is FIFO, like an fsync'ed append-only log). A
 * crash drops every batch still pending — the writes a real kill -9 loses. Each batch carries
 * payloads the driver wants back when it is durable (the step's messages and replies); a step
 * that writes nothing but follows a pending batch rides on that batch, because its messages
 * may depend on the earlier writes too.
 */
import { applyStorageOps, cloneState, emptyState, type PersistentState, type StorageOp } from '../replica/storage.js';
import type { TimeUs } from './event-queue.js';
import type { Rng } from './rng.js';

export interface DiskOptions {
  /** Normal latency of one batch, µs. */
  readonly latencyMinUs: number;
  readonly latencyMaxUs: number;
  /** Probability that a batch is slow (an fsync stall), and how slow. */
  readonly spikeChance: number;
  readonly spikeMinUs: number;
  readonly spikeMaxUs: number;
}

export const DEFAULT_DISK: DiskOptions = {
  latencyMinUs: 50, latencyMaxUs: 1000, spikeChance: 0, spikeMinUs: 5_000, spikeMaxUs: 30_000,
};

/** What the driver does with a step's output after `write`. */
export type WriteOutcome =
  /** Nothing is pending: release the payload now. */
  | { readonly kind: 'durable' }
  /** The payload waits; when `scheduleAt` is a time, the driver calls `completeHead` then. */
  | { readonly kind: 'pending'; readonly scheduleAt: TimeUs | null };

interface Batch<T> {
  readonly ops: readonly StorageOp[];
  readonly durableAt: TimeUs;
  readonly payloads: T[];
}

export class SimDisk<T> {
  private state: PersistentState;
  private pending: Batch<T>[] = [];
  private head = 0;
  /** Bumped by every crash: completion events scheduled before it must be ignored. */
  epoch = 0;
  /** Until this time every batch takes a latency from `slowRange` (a slow-disk fault). */
  slowUntil: TimeUs = 0;
  slowRange: readonly [number, number] = [2_000, 20_000];
  batchesWritten = 0;
  batchesLost = 0;

  constructor(private readonly rng: Rng, readonly options: DiskOptions = DEFAULT_DISK, initial: PersistentState = emptyState()) {
    this.state = cloneState(initial);
  }

  /** The durable state (read-only view; use `load` for a copy to build a replica from). */
  get durable(): Readonly<PersistentState> {
    return this.state;
  }

  get pendingCount(): number {
    return this.pending.length - this.head;
  }

  /**
   * Queues one atomic batch (possibly empty) with a payload to hand back once it and every
   * earlier batch are durable. `payload` undefined: nothing to hand back.
   */
  write(ops: readonly StorageOp[], payload: T | undefined, now: TimeUs): WriteOutcome {
    if (ops.length === 0) {
      if (this.pendingCount === 0) return { kind: 'durable' };
      if (payload !== undefined) this.pending[this.pending.length - 1]!.payloads.push(payload);
      return { kind: 'pending', scheduleAt: null };
    }
    const last = this.pendingCount > 0 ? this.pending[this.pending.length - 1]!.durableAt : 0;
    const durableAt = Math.max(last, now + this.latency(now));
    // The replica may keep and later change the arrays it hands out; the batch is what the
    // step described, so it keeps its own copies.
    const copy = ops.map(op => (op.kind === 'append' || op.kind === 'append-on-prefix') ? { ...op, entries: op.entries.slice() } : op);
    this.pending.push({ ops: copy, durableAt, payloads: payload === undefined ? [] : [payload] });
    this.batchesWritten++;
    return { kind: 'pending', scheduleAt: durableAt };
  }

  /** Makes the oldest pending batch durable and returns its payloads. */
  completeHead(): T[] {
    const batch = this.pending[this.head];
    if (batch === undefined) throw new Error('disk: no pending batch to complete');
    this.pending[this.head++] = undefined as unknown as Batch<T>;
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    }
    applyStorageOps(this.state, batch.ops);
    return batch.payloads;
  }

  /** Loses every pending batch. Returns how many were lost. */
  crash(): number {
    const lost = this.pendingCount;
    this.pending = [];
    this.head = 0;
    this.epoch++;
    this.batchesLost += lost;
    return lost;
  }

  /** The disk is gone (amnesia): pending batches are lost and the durable state is empty. */
  wipe(): void {
    this.crash();
    this.state = emptyState();
  }

  /** A copy of the durable state, to restart a replica from. */
  load(): PersistentState {
    return cloneState(this.state);
  }

  private latency(now: TimeUs): number {
    const rng = this.rng;
    if (now < this.slowUntil) return rng.int(this.slowRange[0], this.slowRange[1]);
    const o = this.options;
    if (o.spikeChance > 0 && rng.chance(o.spikeChance)) return rng.int(o.spikeMinUs, o.spikeMaxUs);
    return o.latencyMaxUs <= o.latencyMinUs ? o.latencyMinUs : rng.int(o.latencyMinUs, o.latencyMaxUs);
  }
}
