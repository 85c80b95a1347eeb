/**
 * Runs a replica over the write-ahead log, keeping the step contract (src/replica/README.md):
 *
 *   inputs of one event-loop turn → one `step` → `wal.write(ready.persist)` → once that batch
 *   and every earlier one are durable: deliver `ready.reply` and send the rest of `ready.send`.
 *
 * A leader's AcceptDecide and Decide leave at once, before the batch is durable, so that the
 * leader's fsync and its followers' overlap (src/replica/release.ts says why that is safe, and
 * keeps each peer's messages in order). In exchange the leader counts its own vote only when we
 * tell it the write is durable: a step whose Ready carries a `logMark` gets it back as a
 * `persisted` input once its batch is durable.
 *
 * Batching inputs per turn is what makes group commit pay: every message and request that
 * arrived in one turn is answered by one step, one WAL record and (with the other steps of the
 * turn) one fsync.
 *
 * Releases happen strictly in step order. The WAL already resolves batches in order; the
 * release queue makes this driver correct even if it did not, because a later step's
 * messages may depend on an earlier step's writes (a Promise after the promise it reports).
 */
import type { PeerMessage } from '../replica/messages.js';
import { ReleaseQueue } from '../replica/release.js';
import type { Replica } from '../replica/replica.js';
import { mustBeDurableBeforeRelease } from '../replica/storage.js';
import type { ClientReply, Ready, ReplicaInput, ReplicaStatus } from '../replica/types.js';
import type { Wal } from '../storage/wal.js';
import type { NodeId } from '../replica/ballot.js';

export interface ReplicaDriverHooks {
  send(to: NodeId, msg: PeerMessage): void;
  reply(reply: ClientReply): void;
  /** After each released step (for logging leader changes and the like). */
  released?(ready: Ready): void;
  /** The replica threw (an invariant broke) or the WAL failed: the node must stop. */
  fatal(err: unknown): void;
}

export class ReplicaDriver {
  private inputs: ReplicaInput[] = [];
  private scheduled = false;
  private readonly releaseQueue: ReleaseQueue;
  private ticker: NodeJS.Timeout | null = null;
  private failed = false;
  private stopped = false;
  /** Steps taken, for status and tests. */
  steps = 0;

  constructor(
    private readonly replica: Replica,
    private readonly wal: Wal,
    private readonly hooks: ReplicaDriverHooks,
  ) {
    this.releaseQueue = new ReleaseQueue({
      send: (to, msg) => { if (!this.failed) hooks.send(to, msg); },
      reply: (r) => { if (!this.failed) hooks.reply(r); },
      released: (ready) => { if (!this.failed) hooks.released?.(ready); },
    });
  }

  /** Starts the clock: one `tick` every `tickMs`, and the first step at once. */
  start(tickMs: number): void {
    this.ticker = setInterval(() => this.push({ kind: 'tick' }), tickMs);
    this.push({ kind: 'tick' });
  }

  /** Stops taking steps; batches already written still release when durable. */
  stop(): void {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
  }

  push(input: ReplicaInput): void {
    if (this.stopped || this.failed) return;
    this.inputs.push(input);
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after this turn's I/O callbacks: everything that arrived together
    // goes into one step.
    setImmediate(() => this.runStep());
  }

  status(): ReplicaStatus {
    return this.replica.status();
  }

  /** The log from `compactedIdx` on: `log[0]` is entry `compactedIdx`. */
  get log(): Replica['log'] {
    return this.replica.log;
  }

  /** Entries before this index exist only as the replica's snapshot. */
  get compactedIdx(): number {
    return this.replica.compactedIdx;
  }

  private runStep(): void {
    this.scheduled = false;
    if (this.stopped || this.failed || this.inputs.length === 0) return;
    const inputs = this.inputs;
    this.inputs = [];
    let ready: Ready;
    try {
      ready = this.replica.step(...inputs);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.steps++;
    // A batch that only raises the decided index releases its effects as soon as every
    // earlier batch is durable, without waiting for its own fsync (mustBeDurableBeforeRelease).
    const waits = mustBeDurableBeforeRelease(ready.persist);
    const mark = ready.logMark;
    // This sends the step's early messages (a leader's AcceptDecide / Decide) now, while the
    // write below is still on its way to the disk (release.ts).
    const step = this.guard(() => this.releaseQueue.add(ready, !waits));
    if (step === undefined) return;
    this.wal.write(ready.persist).then(
      () => {
        if (waits) this.guard(() => this.releaseQueue.durable(step));
        // Only now, with this batch durable, may the leader count its own vote up to the mark
        // (BUG-1); it decides in the next step.
        if (mark) this.push({ kind: 'persisted', mark });
      },
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Runs a release. It may run in a promise callback, where anything thrown would be an
   * unhandled rejection that kills the process without a word: route it through `fatal`.
   */
  private guard<T>(fn: () => T): T | undefined {
    if (this.failed) return undefined;
    try {
      return fn();
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.stop();
    this.hooks.fatal(err);
  }
}
