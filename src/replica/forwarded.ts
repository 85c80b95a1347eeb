/**
 * The proposals a follower forwarded to a leader, remembered by command so that they can be
 * forwarded again if that leader is replaced before they are decided (follower.flush). A record
 * ends when its command is applied here (it cannot need forwarding any more — and a copy sent
 * after its session expired would be executed again), when it is older than `maxAgeTicks`, or
 * when more than `maxCount` are remembered (the client's own retry is the fallback, BUG-12).
 */
import { ballotEq, type Ballot, type LogIdx } from './ballot.js';
import { commandKey, type Entry } from './entry.js';

export interface ForwardRecord {
  readonly entry: Entry;
  /** The ballot we had promised (whose leader we forwarded to). */
  readonly ballot: Ballot;
  readonly tick: number;
  /** Our decided index when we forwarded: the command can only be in the log after it. */
  readonly decidedAt: LogIdx;
}

export class ForwardedProposals {
  /** By command key, in the order forwarded (a Map iterates in insertion order). */
  private readonly records = new Map<string, ForwardRecord>();

  constructor(private readonly maxAgeTicks: number, private readonly maxCount: number) {}

  get size(): number {
    return this.records.size;
  }

  get enabled(): boolean {
    return this.maxAgeTicks > 0 && this.maxCount > 0;
  }

  /** Commands just forwarded to the leader of `ballot` (other entries are not remembered). */
  add(entries: readonly Entry[], ballot: Ballot, tick: number, decidedAt: LogIdx): void {
    if (!this.enabled) return;
    for (const entry of entries) {
      const k = commandKey(entry);
      if (k === null) continue;
      this.records.delete(k); // forwarded again: it moves to the end
      this.records.set(k, { entry, ballot, tick, decidedAt });
    }
    for (const k of this.records.keys()) {
      if (this.records.size <= this.maxCount) break;
      this.records.delete(k);
    }
  }

  /** The command was applied here. */
  applied(entry: Entry): void {
    if (this.records.size === 0) return;
    const k = commandKey(entry);
    if (k !== null) this.records.delete(k);
  }

  /** Forgets records older than the age limit. */
  prune(tick: number): void {
    for (const [k, r] of this.records) {
      if (r.tick >= tick - this.maxAgeTicks) break;
      this.records.delete(k);
    }
  }

  /**
   * Whether some record went to another ballot's leader than `ballot`. Our promised ballot only
   * grows, so records are in ballot order and the oldest one tells.
   */
  hasOtherThan(ballot: Ballot): boolean {
    for (const r of this.records.values()) return !ballotEq(r.ballot, ballot);
    return false;
  }

  /** Removes and returns the records not sent to the leader of `keep` (all without it), oldest first. */
  take(keep?: Ballot): ForwardRecord[] {
    const out: ForwardRecord[] = [];
    for (const [k, r] of this.records) {
      if (keep !== undefined && ballotEq(r.ballot, keep)) continue;
      out.push(r);
      this.records.delete(k);
    }
    return out;
  }
}
