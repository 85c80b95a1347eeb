/**
 * Sequence Paxos, the follower's handlers: promising, synchronising to the leader's log,
 * accepting its stream, learning the decided index, forwarding proposals, and recovering when
 * the stream shows a gap (reference §A.4.2, §A.4.4, §A.4.5, §A.4.7, §A.4.9).
 */
import { ballotEq, ballotGt, ballotLt, type NodeId } from './ballot.js';
import { invariant } from './invariant.js';
import type { AcceptDecide, AcceptSync, Decide, Prepare, SeqNum } from './messages.js';
import { stepDown } from './leader.js';
import type { SequencePaxos } from './sequence-paxos.js';

export function onPrepare(sp: SequencePaxos, from: NodeId, p: Prepare): void {
  const higher = ballotGt(p.n, sp.promised);
  // An equal ballot is promised again: the leader forgot us (it got our PrepareReq, or its
  // Promise was lost) and will re-sync us. Promising a ballot twice adds no constraint; the
  // fresh Promise describes our log as it is now. Ignoring it could leave the leader waiting
  // for a promise we think we already gave.
  const again = ballotEq(p.n, sp.promised) && sp.role === 'follower';
  if (!higher && !again) {
    if (ballotLt(p.n, sp.promised)) sp.send(from, { kind: 'not-accepted', n: sp.promised });
    return;
  }
  if (sp.role === 'leader') stepDown(sp);
  // The promise is durable before the Promise leaves (step contract): a node that forgot it
  // after a crash could promise a lower ballot and let two leaders both win (BUG-1).
  if (higher) sp.persist([{ kind: 'set-promise', ballot: p.n }]);
  sp.role = 'follower';
  sp.phase = 'prepare';
  sp.expected = null;
  sp.early.clear();
  const st = sp.state;
  const len = sp.logLength;
  let sync = null;
  if (ballotGt(st.acceptedRnd, p.acceptedRnd)) {
    // Our log comes from a newer round than the leader's: everything after its decided prefix
    // (our snapshot instead of the entries we compacted).
    invariant(p.decidedIdx <= len,
      () => `follower ${sp.id}: leader ${from}'s decided ${p.decidedIdx} is beyond our newer-round log (${len})`);
    sync = sp.logSyncFrom(p.decidedIdx);
  } else if (ballotEq(st.acceptedRnd, p.acceptedRnd) && len > p.acceptedIdx) {
    // Same round, longer log: the leader's log is a prefix of ours.
    sync = sp.logSyncFrom(p.acceptedIdx);
  }
  const msg = {
    kind: 'promise' as const, n: p.n, acceptedRnd: st.acceptedRnd,
    decidedIdx: sp.decidedIdx, acceptedIdx: len, sync, inc: sp.config.incarnation,
  };
  sp.cachedPromise = msg;
  sp.send(from, msg);
}

export function onAcceptSync(sp: SequencePaxos, from: NodeId, m: AcceptSync): void {
  if (!ballotEq(m.n, sp.promised)) {
    if (ballotLt(m.n, sp.promised)) sp.send(from, { kind: 'not-accepted', n: sp.promised });
    return;
  }
  if (sp.role !== 'follower') return;
  // In Prepare phase this is the answer to our Promise. In Accept phase a newer session of the
  // same ballot means the leader re-synced us (it got a duplicate Promise): accept it too.
  const resync = sp.phase === 'accept' && sp.expected !== null && m.seq.session > sp.expected.session;
  if (sp.phase !== 'prepare' && !resync) return;
  const { syncIdx, suffix, snapshot } = m.sync;
  if (ballotEq(sp.state.acceptedRnd, m.n) && syncIdx + suffix.length < sp.logLength) {
    // Within one ballot the leader's log only grows, so a sync shorter than our log is a stale
    // copy (reordered or duplicated) of an earlier AcceptSync. Applying it would drop entries
    // we may already have acknowledged in this ballot, and the leader counted those votes.
    return;
  }
  if (syncIdx > sp.logLength && !snapshot) {
    // We cannot hold a log with a hole; ask to be prepared again.
    sp.phase = 'recover';
    sp.send(from, { kind: 'prepare-req', n: sp.promised });
    return;
  }
  // One atomic write: the synced log — the leader's snapshot first if we lack what it covers —
  // and the round it belongs to (BUG-2). Never truncates our decided prefix (BUG-5).
  sp.persist([...sp.syncOps(m.sync, from), { kind: 'set-accepted-rnd', ballot: m.n }]);
  sp.raiseDecided(m.decidedIdx);
  sp.phase = 'accept';
  sp.expected = m.seq;
  sp.cachedPromise = null;
  sp.send(from, { kind: 'accepted', n: m.n, acceptedIdx: sp.logLength, inc: sp.config.incarnation });
  // Stream messages of this session that overtook the AcceptSync.
  drainEarly(sp, from);
}

type StreamCheck = 'next' | 'old' | 'gap';

function checkSeq(expected: SeqNum | null, got: SeqNum): StreamCheck {
  if (!expected) return 'gap';
  if (got.session < expected.session) return 'old';
  if (got.session > expected.session) return 'gap';
  if (got.counter <= expected.counter) return 'old';
  return got.counter === expected.counter + 1 ? 'next' : 'gap';
}

/** Most stream messages a follower holds while it waits for a missing one. */
export const MAX_EARLY_MESSAGES = 1024;

/**
 * AcceptDecide and Decide form one ordered stream per (ballot, session). A message that arrives
 * ahead of its turn waits in `early` until the gap fills: the network reordered it, or it
 * overtook the AcceptSync that opens its session (they often leave in the same step). A gap that
 * stays open for a whole resend period means something was lost, and the follower asks to be
 * prepared again (BUG-8: applying later messages would leave a hole; waiting forever stalls).
 */
function onStreamMessage(sp: SequencePaxos, from: NodeId, m: AcceptDecide | Decide): void {
  if (!ballotEq(m.n, sp.promised)) {
    if (ballotLt(m.n, sp.promised)) sp.send(from, { kind: 'not-accepted', n: sp.promised });
    // A higher ballot streaming to us: we missed its Prepare.
    else sp.send(from, { kind: 'prepare-req', n: sp.promised });
    return;
  }
  // Only a follower synced in this ballot applies stream messages (BUG-4); one waiting for its
  // AcceptSync may hold them.
  if (sp.role !== 'follower' || (sp.phase !== 'accept' && sp.phase !== 'prepare')) return;
  const current = sp.phase === 'accept' ? sp.expected : null;
  if (current && m.seq.session === current.session) {
    const check = checkSeq(current, m.seq);
    if (check === 'old') return;
    if (check === 'gap') {
      holdEarly(sp, m);
      return;
    }
    applyStreamMessage(sp, from, m);
    drainEarly(sp, from);
    return;
  }
  // A session we have not been synced to yet: its AcceptSync should be on its way.
  if (!current || m.seq.session > current.session) holdEarly(sp, m);
}

/** Keeps a message of one session (the newest seen) until its turn comes. */
function holdEarly(sp: SequencePaxos, m: AcceptDecide | Decide): void {
  if (sp.early.size > 0 && m.seq.session !== sp.earlySession) {
    if (m.seq.session < sp.earlySession) return;
    sp.early.clear();
  }
  if (sp.early.size >= MAX_EARLY_MESSAGES) return;
  sp.earlySession = m.seq.session;
  sp.early.set(m.seq.counter, m);
}

/** Applies the held messages that are next in the stream, in order. */
export function drainEarly(sp: SequencePaxos, from: NodeId): void {
  const e = sp.expected;
  if (!e || sp.early.size === 0) return;
  if (sp.earlySession !== e.session) {
    if (sp.earlySession < e.session) sp.early.clear();
    return;
  }
  for (let next = sp.early.get(sp.expected!.counter + 1); next; next = sp.early.get(sp.expected!.counter + 1)) {
    sp.early.delete(next.seq.counter);
    applyStreamMessage(sp, from, next);
  }
  for (const c of sp.early.keys()) if (c <= sp.expected!.counter) sp.early.delete(c);
}

function applyStreamMessage(sp: SequencePaxos, from: NodeId, m: AcceptDecide | Decide): void {
  sp.expected = m.seq;
  if (m.kind === 'decide') {
    sp.raiseDecided(m.decidedIdx);
    return;
  }
  // Accepted is a vote: the step contract sends it only after these entries are durable (BUG-1).
  if (m.entries.length > 0) sp.persist([{ kind: 'append', entries: m.entries }]);
  sp.raiseDecided(m.decidedIdx);
  sp.send(from, { kind: 'accepted', n: m.n, acceptedIdx: sp.logLength, inc: sp.config.incarnation });
}

function enterRecover(sp: SequencePaxos): void {
  sp.phase = 'recover';
  sp.early.clear();
  sp.send(sp.promised.pid, { kind: 'prepare-req', n: sp.promised });
}

export function onAcceptDecide(sp: SequencePaxos, from: NodeId, m: AcceptDecide): void {
  onStreamMessage(sp, from, m);
}

export function onDecide(sp: SequencePaxos, from: NodeId, m: Decide): void {
  onStreamMessage(sp, from, m);
}

/**
 * Forwards waiting proposals to the leader we promised, if we know one.
 *
 * A proposal forwarded to a leader that then dies is lost with it (BUG-12); its client would
 * wait out its attempt timeout before retrying. So a follower remembers what it forwarded for
 * `reforwardTicks` ticks, and once it follows another leader it forwards those proposals again,
 * ahead of newer ones — once it has synced with the new leader, and only those not in its log
 * (the new leader adopted the rest and decides them in its round). A copy of a command that is
 * in the log anyway (compacted out of sight, say) is a duplicate (clientId, seq), which the state
 * machine applies once and answers with the first copy's result — the same path as a client's
 * own retry.
 */
export function flush(sp: SequencePaxos): void {
  const leaderId = sp.promised.pid;
  if (leaderId === 0 || leaderId === sp.id) return;
  // Only once synced with the new leader (accept phase): our log is then its log, and what it
  // already holds is not sent again.
  if (sp.phase === 'accept' && sp.forwarded.hasOtherThan(sp.promised)) sp.waiting = sp.takeForwarded(sp.promised).concat(sp.waiting);
  if (sp.waiting.length === 0) return;
  const entries = sp.waiting.splice(0);
  sp.send(leaderId, { kind: 'proposal-forward', entries });
  sp.forwarded.add(entries, sp.promised, sp.ticks, sp.decidedIdx);
}

export function onResendTimer(sp: SequencePaxos): void {
  const leaderId = sp.promised.pid;
  const e = sp.expected;
  if (sp.phase === 'accept' && e && sp.early.size > 0) {
    // The same gap was already open at the previous resend tick: the missing message (in our
    // session, or the AcceptSync of a newer one) is lost.
    const mark = `${e.session}:${e.counter}:${sp.earlySession}`;
    if (sp.gapAtLastResend === mark) enterRecover(sp);
    else sp.gapAtLastResend = mark;
  } else {
    sp.gapAtLastResend = null;
  }
  if (sp.phase === 'prepare' && sp.cachedPromise && leaderId !== 0) sp.send(leaderId, sp.cachedPromise);
  else if (sp.phase === 'recover') {
    for (const p of sp.config.peers) sp.send(p, { kind: 'prepare-req', n: sp.promised });
  }
}
