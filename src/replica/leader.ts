/**
 * Sequence Paxos, the leader's handlers: becoming leader, collecting promises, synchronising
 * followers' logs, replicating batches and deciding (reference §A.4.1, §A.4.3, §A.4.5, §A.4.6).
 */
import { ballotEq, ballotGt, compareBallots, type Ballot, type LogIdx, type NodeId } from './ballot.js';
import { entryBytes } from './entry.js';
import { invariant } from './invariant.js';
import type { Accepted, NotAccepted, PrepareReq, Promise as PromiseMsg, SeqNum } from './messages.js';
import type { LogMark } from './types.js';
import { LeaderState, type MaxPromise, type SequencePaxos } from './sequence-paxos.js';

/** BLE elected ballot `n`. */
export function handleLeader(sp: SequencePaxos, n: Ballot): void {
  // Compare with the durable promise, not with what the election believes (BUG-10).
  if (!sp.isHigherThanPromise(n)) return;
  if (n.pid !== sp.id) {
    // Someone else leads now; its Prepare will make us its follower. Until then proposals wait.
    if (sp.role === 'leader') stepDown(sp);
    return;
  }
  if (sp.role === 'leader') stepDown(sp);
  // The promise must be durable before any Prepare leaves: the leader counts its own promise,
  // and a restarted leader must never issue this ballot again (BUG-1, BUG-9). The step
  // contract holds this step's Prepares until the write is durable.
  sp.persist([{ kind: 'set-promise', ballot: n }]);
  const own: MaxPromise = {
    from: sp.id, acceptedRnd: sp.state.acceptedRnd, acceptedIdx: sp.logLength,
    decidedIdx: sp.decidedIdx, sync: null, inc: sp.config.incarnation,
  };
  const lead = new LeaderState(n, own);
  lead.promises.set(sp.id, own);
  // Proposals that waited for a leader are ours to order now (the ones we had forwarded to the
  // leader we replace join them once we know the newest log: onMajority).
  for (const e of sp.waiting) lead.buffered.push(e);
  sp.waiting = [];
  sp.lead = lead;
  sp.role = 'leader';
  sp.phase = 'prepare';
  sp.expected = null;
  sp.early.clear();
  sp.cachedPromise = null;
  // BUG-15: iterate the real peer ids, which may be non-contiguous.
  for (const p of sp.config.peers) sendPrepare(sp, p);
  if (voterPromises(sp) >= sp.quorum) onMajority(sp);
}

/**
 * Promises that count: those of voters (membership.ts). A node whose data directory is new
 * promises too — that is how it gets synced and follows the log as a learner — but its promise
 * says nothing about what it voted for before it lost its disk, so it is not counted and its
 * log is never the one adopted.
 */
function voterPromises(sp: SequencePaxos): number {
  let n = 0;
  for (const [id, p] of sp.lead!.promises) if (sp.config.isVoter(id, p.inc)) n++;
  return n;
}

/** Leaves the leader role; proposals not yet in the log go to whoever leads next. */
export function stepDown(sp: SequencePaxos): void {
  if (sp.lead) for (const e of sp.lead.buffered) sp.waiting.push(e);
  for (const e of sp.batch) sp.waiting.push(e);
  sp.batch = [];
  sp.lead = null;
  sp.role = 'follower';
  sp.phase = 'none';
}

export function sendPrepare(sp: SequencePaxos, to: NodeId): void {
  const lead = sp.lead!;
  sp.send(to, {
    kind: 'prepare', n: lead.n, decidedIdx: sp.decidedIdx,
    acceptedRnd: sp.state.acceptedRnd, acceptedIdx: sp.logLength,
  });
}

export function forgetFollower(sp: SequencePaxos, f: NodeId): void {
  const lead = sp.lead!;
  lead.promises.delete(f);
  lead.streams.delete(f);
  lead.acc.delete(f);
}

export function onPromise(sp: SequencePaxos, from: NodeId, m: PromiseMsg): void {
  const lead = sp.lead;
  if (sp.role !== 'leader' || !lead || !ballotEq(m.n, lead.n)) return;
  const meta = { acceptedRnd: m.acceptedRnd, acceptedIdx: m.acceptedIdx, decidedIdx: m.decidedIdx, inc: m.inc };
  if (sp.phase === 'prepare') {
    lead.promises.set(from, meta);
    if (!sp.config.isVoter(from, m.inc)) return;
    if (isNewerLog(sp, meta, lead.maxPromise)) lead.maxPromise = { from, ...meta, sync: m.sync };
    if (voterPromises(sp) >= sp.quorum) onMajority(sp);
  } else if (sp.phase === 'accept') {
    // A late promise (slow or recovering follower): bring it into this ballot.
    lead.promises.set(from, meta);
    sendAcceptSync(sp, from);
  }
}

/**
 * The log to adopt is the one with the greatest (acceptedRnd, acceptedIdx), lexicographically
 * (BUG-3): the newest round first, the longest log of that round second. Any other order can
 * pick a log that lacks a decided entry.
 */
function isNewerLog(sp: SequencePaxos, a: { acceptedRnd: Ballot; acceptedIdx: LogIdx }, b: MaxPromise): boolean {
  const byRound = compareBallots(a.acceptedRnd, b.acceptedRnd);
  if (sp.config.plantedBug === 'sync-by-round-only') return byRound > 0;
  return byRound > 0 || (byRound === 0 && a.acceptedIdx > b.acceptedIdx);
}

/** A majority promised: adopt the newest log, persist it with our round, start accepting. */
function onMajority(sp: SequencePaxos): void {
  const lead = sp.lead!;
  let newDecided = sp.decidedIdx;
  // Only voters' decided indices: nothing a non-voter's disk says is trusted.
  for (const [id, p] of lead.promises) if (sp.config.isVoter(id, p.inc)) newDecided = Math.max(newDecided, p.decidedIdx);
  const max = lead.maxPromise;
  const ops: Parameters<SequencePaxos['persist']>[0] = [];
  if (max.from !== sp.id && max.sync) {
    // The sync starts at our decided index from the Prepare, or at the snapshot that replaces
    // entries its sender compacted; our own decided prefix is never rewritten (BUG-5).
    invariant(max.sync.snapshot !== null
      ? max.sync.snapshot.idx > sp.decidedIdx
      : max.sync.syncIdx >= sp.decidedIdx && max.sync.syncIdx <= sp.logLength,
      () => `leader ${sp.id}: sync from ${max.from} starts at ${max.sync!.syncIdx}, decided ${sp.decidedIdx}, log ${sp.logLength}`);
    ops.push(...sp.syncOps(max.sync, max.from));
  }
  // One atomic write: the adopted log, our round as acceptedRnd (BUG-2: a leader that forgets
  // its own acceptedRnd looks older than it is in the next election), and the decided index.
  ops.push({ kind: 'set-accepted-rnd', ballot: lead.n });
  sp.persist(ops);
  // Then, in the same batch, what we had forwarded to the leader we replace and is not in the
  // adopted log (follower.flush explains why), and the proposals that waited for us.
  const mine = [...sp.takeForwarded(), ...lead.buffered.splice(0)];
  if (mine.length > 0) sp.persist([{ kind: 'append', entries: mine }]);
  invariant(newDecided <= sp.logLength,
    () => `leader ${sp.id}: a promise's decided index ${newDecided} is beyond the adopted log (${sp.logLength})`);
  sp.raiseDecided(newDecided);
  sp.phase = 'accept';
  // The leader's own vote is NOT counted here: it counts once the write above is durable
  // (onPersisted; this step's Ready carries the mark). Its AcceptDecides may leave before its
  // own appends are durable (release.ts), so a vote counted now could decide an entry that a
  // crash of the leader then loses (BUG-1, reference §A.5).
  if (sp.config.plantedBug === 'leader-counts-before-durable') lead.acc.set(sp.id, sp.logLength);
  for (const f of lead.promises.keys()) if (f !== sp.id) sendAcceptSync(sp, f);
  tryDecide(sp);
}

/**
 * The driver made a batch durable that left our log as `mark` says. A mark of our own round is
 * a durable prefix of our log (within a round the leader's log only grows), so it is our vote
 * up to there; a mark of another round (a batch written before we led this ballot) is not.
 */
export function onPersisted(sp: SequencePaxos, mark: LogMark): void {
  const lead = sp.lead;
  if (sp.role !== 'leader' || !lead || sp.phase !== 'accept' || !ballotEq(mark.acceptedRnd, lead.n)) return;
  invariant(mark.logLength <= sp.logLength,
    () => `leader ${sp.id}: ${mark.logLength} entries durable in round ${lead.n.n}, but the log has ${sp.logLength}`);
  if (mark.logLength <= (lead.acc.get(sp.id) ?? 0)) return;
  lead.acc.set(sp.id, mark.logLength);
  tryDecide(sp);
}

/**
 * Sends follower `f` the part of our log it may lack. Within one round every follower's log is
 * a prefix of that round's leader log, so a follower that synced in our round, or in the round
 * of the log we adopted, shares a prefix with us; anyone else is trusted only up to its decided
 * prefix (BUG-7: a higher start would skip divergent entries).
 */
export function sendAcceptSync(sp: SequencePaxos, f: NodeId): void {
  const lead = sp.lead!;
  const p = lead.promises.get(f)!;
  const max = lead.maxPromise;
  let valid: LogIdx;
  if (ballotEq(p.acceptedRnd, lead.n)) valid = p.acceptedIdx;
  else if (ballotEq(p.acceptedRnd, max.acceptedRnd)) valid = Math.min(max.acceptedIdx, p.acceptedIdx);
  else valid = p.decidedIdx;
  invariant(valid <= sp.logLength,
    () => `leader ${sp.id}: follower ${f} is valid up to ${valid} but the log has ${sp.logLength}`);
  const seq: SeqNum = { session: lead.nextSession++, counter: 1 };
  lead.streams.set(f, seq);
  lead.promisedHigher.delete(f);
  // Entries the follower lacks that we compacted travel as our snapshot (reference §A.6).
  sp.send(f, { kind: 'accept-sync', n: lead.n, seq, decidedIdx: sp.decidedIdx, sync: sp.logSyncFrom(valid) });
}

export function onAccepted(sp: SequencePaxos, from: NodeId, m: Accepted): void {
  const lead = sp.lead;
  // Only acks of the current ballot count (BUG-4): they mean "my prefix equals your log".
  if (sp.role !== 'leader' || !lead || sp.phase !== 'accept' || !ballotEq(m.n, lead.n)) return;
  if (!lead.streams.has(from)) return;
  // Only the incarnation that promised (and was synced) speaks for `from` in this ballot.
  if (lead.promises.get(from)?.inc !== m.inc) return;
  invariant(m.acceptedIdx <= sp.logLength,
    () => `leader ${sp.id}: ${from} accepted ${m.acceptedIdx} entries of a ${sp.logLength}-entry log`);
  if (m.acceptedIdx > (lead.acc.get(from) ?? 0)) lead.acc.set(from, m.acceptedIdx);
  tryDecide(sp);
}

/** Decides the longest prefix a quorum of voters accepted in this ballot. */
function tryDecide(sp: SequencePaxos): void {
  const lead = sp.lead!;
  const accs: LogIdx[] = [];
  for (const [id, idx] of lead.acc) {
    const inc = id === sp.id ? sp.config.incarnation : lead.promises.get(id)?.inc;
    if (inc !== undefined && sp.config.isVoter(id, inc)) accs.push(idx);
  }
  accs.sort((a, b) => b - a);
  if (accs.length < sp.quorum) return;
  const chosen = accs[sp.quorum - 1]!;
  if (chosen > sp.decidedIdx) sp.raiseDecided(chosen);
}

export function onNotAccepted(sp: SequencePaxos, from: NodeId, m: NotAccepted): void {
  const lead = sp.lead;
  if (sp.role !== 'leader' || !lead || !ballotGt(m.n, lead.n)) return;
  // The follower moved on to a higher ballot; stop streaming to it. The election will replace
  // us if that ballot's leader is alive.
  lead.promisedHigher.add(from);
  forgetFollower(sp, from);
}

export function onPrepareReq(sp: SequencePaxos, from: NodeId, m: PrepareReq): void {
  const lead = sp.lead;
  if (sp.role !== 'leader' || !lead || ballotGt(m.n, lead.n)) return;
  forgetFollower(sp, from);
  sendPrepare(sp, from);
}

/** Appends the step's proposals and streams them; piggybacks the decided index. */
/** Byte budget of one AcceptDecide's entries (a single larger entry still goes alone). */
const MAX_BATCH_BYTES = 1024 * 1024;

export function flush(sp: SequencePaxos): void {
  const lead = sp.lead;
  if (!lead || sp.phase !== 'accept') return;
  const max = sp.config.maxBatch;
  while (sp.batch.length > 0) {
    // At most `maxBatch` entries and about MAX_BATCH_BYTES per AcceptDecide, so that a batch
    // of large values still fits in one frame (4 MiB).
    let count = 0;
    let bytes = 0;
    while (count < sp.batch.length && count < max) {
      bytes += entryBytes(sp.batch[count]!);
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count++;
    }
    const entries = sp.batch.splice(0, count);
    sp.persist([{ kind: 'append', entries }]);
    // Our own vote for these entries counts only once the append is durable (onPersisted):
    // the AcceptDecides below leave before it is (release.ts), and followers may make them
    // durable, answer and let us decide first — on their votes alone (BUG-1, §A.5).
    if (sp.config.plantedBug === 'leader-counts-before-durable') {
      lead.acc.set(sp.id, sp.logLength);
      tryDecide(sp);
    }
    for (const [f, seq] of lead.streams) {
      const next = { session: seq.session, counter: seq.counter + 1 };
      lead.streams.set(f, next);
      sp.send(f, { kind: 'accept-decide', n: lead.n, seq: next, decidedIdx: sp.decidedIdx, entries });
    }
    sp.decidedChanged = false;
  }
  if (sp.decidedChanged) sendToStreams(sp, 'decide');
}

function sendToStreams(sp: SequencePaxos, kind: 'decide' | 'keep-alive'): void {
  const lead = sp.lead!;
  for (const [f, seq] of lead.streams) {
    const next = { session: seq.session, counter: seq.counter + 1 };
    lead.streams.set(f, next);
    // A keep-alive is an empty AcceptDecide: it makes the follower answer with Accepted (a lost
    // Accepted is repaired) and reveals a lost AcceptDecide as a gap in the stream (BUG-8).
    sp.send(f, kind === 'decide'
      ? { kind: 'decide', n: lead.n, seq: next, decidedIdx: sp.decidedIdx }
      : { kind: 'accept-decide', n: lead.n, seq: next, decidedIdx: sp.decidedIdx, entries: [] });
  }
}

export function onResendTimer(sp: SequencePaxos): void {
  const lead = sp.lead;
  if (!lead) return;
  // Peers that never promised (lost Prepare or Promise, or they were down) are asked again.
  for (const p of sp.config.peers) {
    if (!lead.promises.has(p) && !lead.promisedHigher.has(p)) sendPrepare(sp, p);
  }
  if (sp.phase === 'accept') sendToStreams(sp, 'keep-alive');
}

