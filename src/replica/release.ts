/**
 * When a step's outputs may leave: the release half of the step contract (README.md), shared by
 * kvnode's driver (src/node/replica-driver.ts), the simulator's (src/sim/node-driver.ts) and the
 * unit-test harness, so that all three release exactly alike.
 *
 * The rule:
 *  1. A step's client replies, and its messages other than those `mayLeaveBeforeDurable` allows,
 *     leave once the step's batch and every earlier batch are durable — in step order.
 *  2. A leader's AcceptDecide and Decide may leave at once, before the step's batch (the
 *     leader's own append of the entries it carries) is durable: the leader writes to its disk
 *     in parallel with its followers (Raft thesis §10.2.1, reference §A.5). That is safe because
 *     the leader counts itself toward a quorum only from a `persisted` input, i.e. after its
 *     append is durable (leader.ts, onPersisted), so every decided index such a message carries
 *     is backed by a quorum of durable acceptances; its entries are votes of nobody until a
 *     follower makes them durable and answers.
 *  3. FIFO per peer: no message overtakes an earlier message to the same peer. An early message
 *     behind a held one (an AcceptSync or a heartbeat still waiting for the disk) waits for it,
 *     and leaves as soon as everything before it to that peer has left. Followers rely on the
 *     AcceptSync that opens a session arriving before the stream that follows it, and TCP keeps
 *     the order we hand it.
 */
import type { NodeId } from './ballot.js';
import type { PeerMessage } from './messages.js';
import type { ClientReply, Ready } from './types.js';

/**
 * The messages that may leave before their step's batch is durable (rule 2). Only the leader's
 * stream: everything else is a promise, a vote or a sync that reports durable state (a Promise
 * reports a durable promise, an Accepted durable entries, a Prepare or AcceptSync the leader's
 * durable promise and round) or is election gossip that must not run ahead of the durable
 * promise (BUG-1, BUG-9). A Decide or an AcceptDecide reveals only a decided index, which the
 * leader raises only on durable votes, its own included.
 */
export function mayLeaveBeforeDurable(msg: PeerMessage): boolean {
  return msg.kind === 'accept-decide' || msg.kind === 'decide';
}

export interface ReleaseSink {
  send(to: NodeId, msg: PeerMessage): void;
  reply(reply: ClientReply): void;
  /** After a step's replies are delivered (its held messages may still wait for their peer's turn). */
  released?(ready: Ready): void;
}

/** One step's place in the release order. */
export class StepRelease {
  /** This step's batch and the earlier ones are durable (set through `ReleaseQueue.durable`). */
  durable = false;
  /** Its replies were delivered and its held messages may leave in their turn. */
  released = false;
  constructor(readonly ready: Ready) {}
}

interface Waiting {
  readonly to: NodeId;
  readonly msg: PeerMessage;
  readonly step: StepRelease;
  readonly early: boolean;
}

export class ReleaseQueue {
  /** Steps not released yet, oldest first. */
  private readonly steps: StepRelease[] = [];
  private stepHead = 0;
  /** Per peer: messages not sent yet, in the order they were produced. */
  private readonly waiting = new Map<NodeId, Waiting[]>();

  /** @param early false: every message waits for the disk (the rule before pipelining). */
  constructor(private readonly sink: ReleaseSink, private readonly early = true) {}

  /** Steps whose outputs have not all left yet. */
  get pendingSteps(): number {
    return this.steps.length - this.stepHead;
  }

  /**
   * A step's output, in step order. Early messages whose peer has nothing waiting leave now;
   * `durable`: nothing of this step's own needs to reach the disk first (it still waits for the
   * earlier steps). Returns the handle to pass to `durable` when its batch is.
   */
  add(ready: Ready, durable = false): StepRelease {
    const step = new StepRelease(ready);
    step.durable = durable;
    this.steps.push(step);
    for (const o of ready.send) {
      const early = this.early && mayLeaveBeforeDurable(o.msg);
      const queue = this.waiting.get(o.to);
      if (early && (queue === undefined || queue.length === 0)) {
        this.sink.send(o.to, o.msg);
        continue;
      }
      const w: Waiting = { to: o.to, msg: o.msg, step, early };
      if (queue) queue.push(w);
      else this.waiting.set(o.to, [w]);
    }
    if (durable) this.drain();
    return step;
  }

  /** `step`'s batch (and so every earlier one) is durable. */
  durable(step: StepRelease): void {
    step.durable = true;
    this.drain();
  }

  private drain(): void {
    const steps = this.steps;
    let any = false;
    while (this.stepHead < steps.length && steps[this.stepHead]!.durable) {
      const step = steps[this.stepHead++]!;
      step.released = true;
      any = true;
      for (const r of step.ready.reply) this.sink.reply(r);
      this.sink.released?.(step.ready);
    }
    if (this.stepHead === steps.length) {
      steps.length = 0;
      this.stepHead = 0;
    }
    if (!any) return;
    for (const queue of this.waiting.values()) {
      let sent = 0;
      while (sent < queue.length && (queue[sent]!.early || queue[sent]!.step.released)) {
        const w = queue[sent++]!;
        this.sink.send(w.to, w.msg);
      }
      if (sent > 0) queue.splice(0, sent);
    }
  }
}
