/**
 * Sequence Paxos through the Replica API, driven by the scripted harness: client requests,
 * retries, the step contract (persist before send), lost and duplicated messages, crashes,
 * non-contiguous node ids and messages from strangers.
 */
import { expect } from 'chai';
import { ballotEq, type Ballot, type NodeId } from '../src/replica/ballot.js';
import { MAX_COMMAND_BYTES, type Entry, type KvResult } from '../src/replica/entry.js';
import { encodeMessage, MAX_FRAME_BYTES } from '../src/wire/codec.js';
import type { PeerMessage } from '../src/replica/messages.js';
import type { StorageOp } from '../src/replica/storage.js';
import {
  ReplicaHarness, cas, command, del, get, isHeartbeat, msgs, put, type HarnessOptions, type StepRecord,
} from './support/replica-harness.js';

const RESEND = 3;

/** A cluster past its first election: the highest id leads (unless priorities say otherwise). */
function cluster(nodes: readonly NodeId[] = [1, 2, 3], opts: Partial<HarnessOptions> = {}): ReplicaHarness {
  const h = new ReplicaHarness({ nodes, resendTicks: RESEND, ...opts });
  h.rounds(1);
  if (!opts.priorities) expect(h.leader()).to.equal(Math.max(...nodes));
  return h;
}

const results = (h: ReplicaHarness, node: NodeId): KvResult[] => h.repliesAt(node).map((r) => r.result);
const sentKinds = (s: StepRecord): string[] => s.ready.send.map((o) => o.msg.kind);
const opKinds = (ops: readonly StorageOp[]): string[] => ops.map((op) => op.kind);

function logOf(h: ReplicaHarness, id: NodeId): string[] {
  return h.replica(id).log.map((e) => (e.kind === 'command' ? `${e.command.clientId}#${e.command.seq}` : e.kind));
}

describe('replica: Sequence Paxos', () => {
  describe('client requests', () => {
    it('put, get, cas and delete through a follower are forwarded and answered at that follower', () => {
      const h = cluster();
      const ops = [
        put('x', '1'), get('x'), cas('x', '1', '2'), cas('x', '1', '3'), cas('y', null, 'new'), del('x'), get('x'), del('x'),
      ];
      ops.forEach((op, i) => {
        const s = h.request(1, command('c', i + 1, op));
        expect(sentKinds(s), `request ${i + 1}`).to.deep.equal(['proposal-forward']);
        expect(s.ready.send[0]!.to).to.equal(3);
        h.deliverAll();
      });
      expect(results(h, 1)).to.deep.equal([
        { kind: 'ok' }, { kind: 'value', value: '1' }, { kind: 'ok' }, { kind: 'mismatch', current: '2' }, { kind: 'ok' },
        { kind: 'deleted', existed: true }, { kind: 'not-found' }, { kind: 'deleted', existed: false },
      ]);
      expect(h.repliesAt(1).map((r) => r.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      // Only the node the client talked to answers; every node applied everything.
      expect(h.repliesAt(2)).to.deep.equal([]);
      expect(h.repliesAt(3)).to.deep.equal([]);
      for (const id of [1, 2, 3]) {
        expect(h.replica(id).kvEntries(), `node ${id}`).to.deep.equal([['y', 'new']]);
        expect(h.status(id), `node ${id}`).to.deep.include({ decidedIdx: 8, appliedIdx: 8, logLength: 8 });
      }
    });

    it('a request at the leader is answered at the leader once decided', () => {
      const h = cluster();
      const s = h.request(3, command('c', 1, put('x', '1')));
      expect(s.ready.reply).to.deep.equal([]);
      expect(sentKinds(s)).to.deep.equal(['accept-decide', 'accept-decide']);
      h.deliverAll();
      expect(h.repliesAt(3)).to.deep.equal([{ node: 3, clientId: 'c', seq: 1, result: { kind: 'ok' } }]);
    });

    it('several requests in one step go out as one batch', () => {
      const h = cluster();
      const s = h.step(3,
        { kind: 'request', command: command('a', 1, put('x', '1')) },
        { kind: 'request', command: command('b', 1, put('y', '1')) });
      const ad = s.ready.send.filter((o) => o.msg.kind === 'accept-decide');
      expect(ad.length).to.equal(2);
      expect(ad[0]!.msg.kind === 'accept-decide' && ad[0]!.msg.entries.length).to.equal(2);
      h.deliverAll();
      expect(h.repliesAt(3).map((r) => r.clientId)).to.deep.equal(['a', 'b']);
    });

    it('a large step is split into AcceptDecides of at most maxBatch entries, in order', () => {
      const h = cluster([1, 2, 3], { maxBatch: 2 });
      const s = h.step(3, ...[1, 2, 3, 4, 5].map((i) => ({ kind: 'request' as const, command: command(`c${i}`, 1, put('k', String(i))) })));
      const toOne = s.ready.send.filter((o) => o.to === 1 && o.msg.kind === 'accept-decide');
      expect(toOne.map((o) => (o.msg.kind === 'accept-decide' ? o.msg.entries.length : -1))).to.deep.equal([2, 2, 1]);
      h.deliverAll();
      expect(logOf(h, 1)).to.deep.equal(['c1#1', 'c2#1', 'c3#1', 'c4#1', 'c5#1']);
      expect(h.replica(1).kvEntries()).to.deep.equal([['k', '5']]);
      expect(h.repliesAt(3).length).to.equal(5);
    });

    it('a step of large values is split into AcceptDecides of about 1 MiB each, so each fits a frame', () => {
      const h = cluster();
      const big = 'v'.repeat(MAX_COMMAND_BYTES - 100);
      const s = h.step(3, ...[1, 2, 3, 4, 5, 6].map((i) => ({ kind: 'request' as const, command: command(`c${i}`, 1, put(`k${i}`, big)) })));
      const toOne = s.ready.send.filter((o) => o.to === 1 && o.msg.kind === 'accept-decide');
      // Six ~1 MiB entries (one would not fit in a 4 MiB frame together): one per AcceptDecide.
      expect(toOne.map((o) => (o.msg.kind === 'accept-decide' ? o.msg.entries.length : -1))).to.deep.equal([1, 1, 1, 1, 1, 1]);
      for (const o of toOne) expect(encodeMessage(o.msg).length).to.be.below(MAX_FRAME_BYTES);
      h.deliverAll();
      expect(h.repliesAt(3).length).to.equal(6);
    });

    it('a request that arrives before any leader is known waits and is answered after the election', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3] });
      const s = h.request(1, command('c', 1, put('x', '1')));
      expect(s.ready.send.filter((o) => o.msg.kind === 'proposal-forward')).to.deep.equal([]);
      h.rounds(1);
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }]);
    });

    it('a retried request sent to another node before the first is decided is applied once', () => {
      const h = cluster();
      const c = command('c', 1, cas('x', null, 'once'));
      h.request(1, c);
      h.request(2, c); // the client gave up on node 1 and retried at node 2
      h.deliverAll();
      expect(logOf(h, 3)).to.deep.equal(['c#1', 'c#1']);
      // Executed twice, the CAS would have answered mismatch the second time.
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }]);
      expect(results(h, 2)).to.deep.equal([{ kind: 'ok' }]);
      for (const id of [1, 2, 3]) {
        const applied = h.trace.filter((s) => s.node === id).flatMap((s) => s.ready.applied);
        expect(applied.map((a) => a.executed), `node ${id}`).to.deep.equal([true, false]);
        expect(h.replica(id).kvEntries()).to.deep.equal([['x', 'once']]);
      }
    });

    it('a retry of a request already applied is answered from the session table, without a new entry', () => {
      const h = cluster();
      const c = command('c', 1, cas('x', null, 'once'));
      h.request(1, c);
      h.deliverAll();
      const s = h.request(2, c);
      expect(s.ready.reply).to.deep.equal([{ clientId: 'c', seq: 1, result: { kind: 'ok' } }]);
      expect(s.ready.send).to.deep.equal([]);
      h.deliverAll();
      expect(h.status(3).logLength).to.equal(1);
      // An older seq than the session's last gets no answer at all: its client moved on.
      h.request(1, command('c', 2, put('x', 'two')));
      h.deliverAll();
      const old = h.request(2, c);
      expect(old.ready.reply).to.deep.equal([]);
      expect(old.ready.send).to.deep.equal([]);
    });

    /**
     * Client c's PUT reaches node 1, whose forward is delayed; c retries at node 2, which gets it
     * decided; then client d overwrites the key; then node 1's old forward arrives and puts a
     * second copy of c#1 in the log, after d's write.
     */
    function delayedDuplicate(plantedBug?: 'skip-dedup'): ReplicaHarness {
      const h = cluster([1, 2, 3], { plantedBug, strict: false });
      const c = command('c', 1, put('x', 'c'));
      h.request(1, c);
      const delayed = h.takeOut(msgs({ from: 1, kind: 'proposal-forward' }));
      h.request(2, c);
      h.deliverAll();
      h.request(2, command('d', 1, put('x', 'd')));
      h.deliverAll();
      h.putBack(...delayed);
      h.deliverAll();
      expect(logOf(h, 3)).to.deep.equal(['c#1', 'd#1', 'c#1']);
      return h;
    }

    it('a late copy of a retried PUT does not overwrite a later write', () => {
      const h = delayedDuplicate();
      for (const id of [1, 2, 3]) expect(h.replica(id).kvEntries(), `node ${id}`).to.deep.equal([['x', 'd']]);
      // Node 1 answers its client with the result of the copy that was applied.
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }]);
      expect(h.violations).to.deep.equal([]);
    });

    it('with the planted bug skip-dedup the late copy executes again (the test above can fail)', () => {
      const h = delayedDuplicate('skip-dedup');
      for (const id of [1, 2, 3]) expect(h.replica(id).kvEntries(), `node ${id}`).to.deep.equal([['x', 'c']]);
      expect(h.violations.some((v) => /executed c#1 a second time/.test(v))).to.equal(true);
    });

    it('idle sessions are expired through the log, the same on every replica', () => {
      const h = cluster([1, 2, 3], { sessionIdleEntries: 4 });
      h.request(1, command('idle', 1, put('x', '1')));
      h.deliverAll();
      for (let i = 1; i <= 6; i++) {
        h.request(2, command('busy', i, put('y', String(i))));
        h.deliverAll();
        h.run(1);
      }
      h.run(RESEND * 2);
      for (const id of [1, 2, 3]) {
        expect(h.replica(id).log.some((e: Entry) => e.kind === 'expire-sessions'), `node ${id}`).to.equal(true);
      }
      h.request(1, command('idle', 2, put('x', '2')));
      h.deliverAll();
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }, { kind: 'session-expired' }]);
      for (const id of [1, 2, 3]) expect(h.replica(id).kvEntries(), `node ${id}`).to.deep.include(['x', '1']);
      // The busy client's session survived.
      h.request(2, command('busy', 7, put('y', '7')));
      h.deliverAll();
      expect(results(h, 2).at(-1)).to.deep.equal({ kind: 'ok' });
    });

    // For a retry, session-expired is indeterminate: the first copy may have been applied (it
    // was, here). The cluster must not apply it again; the client records the outcome unknown.
    it('a request applied before its session expired, whose reply was lost, is not applied again on retry', () => {
      const h = cluster([1, 2, 3], { sessionIdleEntries: 4 });
      h.request(1, command('slow', 1, put('x', '1')));
      h.deliverAll();
      // slow#2 is decided everywhere, but node 1 crashes before its reply leaves.
      h.request(1, command('slow', 2, put('x', '2')));
      h.deliverAll((m) => !(m.to === 1 && (m.msg.kind === 'decide' || m.msg.kind === 'accept-decide')));
      h.hold(1);
      h.deliverAll();
      h.crash(1, { lose: h.undurable(1) });
      expect(h.repliesAt(1).map((r) => r.seq)).to.deep.equal([1]);
      // Other clients keep the log moving; the slow client's session is expired through the log.
      for (let i = 1; i <= 6; i++) {
        h.request(2, command('busy', i, put('y', String(i))));
        h.deliverAll();
        h.run(1);
      }
      expect(h.replica(2).log.some((e) => e.kind === 'expire-sessions')).to.equal(true);
      // The client retries slow#2 at node 2.
      h.request(2, command('slow', 2, put('x', '2')));
      h.deliverAll();
      expect(h.replica(2).kvEntries()).to.deep.include(['x', '2']); // slow#2 took effect
      const answer = h.repliesAt(2).find((r) => r.clientId === 'slow')!;
      expect(answer.result).to.deep.equal({ kind: 'session-expired' });
      const applied = h.replica(2).log.filter((e) => e.kind === 'command' && e.command.clientId === 'slow' && e.command.seq === 2);
      expect(applied.length, 'the retry reached the log').to.equal(2);
      expect(h.replica(2).kvEntries()).to.deep.include(['x', '2']);
    });
  });

  describe('the step contract', () => {
    /** The promise a node held just before `step` (from its previous step in the same incarnation). */
    function promisedBefore(h: ReplicaHarness, step: StepRecord): Ballot | undefined {
      for (let i = step.index - 1; i >= 0; i--) {
        const s = h.trace[i]!;
        if (s.node === step.node && s.incarnation === step.incarnation) return s.status.promised;
      }
      return undefined;
    }

    it("a Promise leaves in the step whose batch persists its promise; an Accepted in the step that persists what it acknowledges", () => {
      const h = cluster([1, 2, 3, 4, 5]);
      for (let i = 1; i <= 3; i++) h.request(1 + (i % 4), command(`c${i}`, 1, put('k', String(i))));
      h.deliverAll();
      h.crash(5);
      h.rounds(3); // a new leader: new Prepares, Promises and AcceptSyncs
      h.request(2, command('c9', 1, put('k', '9')));
      h.deliverAll();
      let promises = 0;
      let acceptedAfterSync = 0;
      let acceptedAfterEntries = 0;
      for (const s of h.trace) {
        for (const o of s.ready.send) {
          if (o.msg.kind === 'promise' || o.msg.kind === 'prepare') {
            const n = o.msg.n;
            const fresh = !ballotEq(promisedBefore(h, s) ?? { n: -1, priority: 0, pid: 0 }, n);
            if (fresh) {
              expect(s.ready.persist, `step ${s.index}: ${o.msg.kind}`).to.deep.include({ kind: 'set-promise', ballot: n });
              if (o.msg.kind === 'promise') promises++;
            }
          }
          if (o.msg.kind !== 'accepted') continue;
          const input = s.inputs[0];
          const m: PeerMessage | undefined = input?.kind === 'message' ? input.msg : undefined;
          if (m?.kind === 'accept-sync') {
            acceptedAfterSync++;
            expect(opKinds(s.ready.persist), `step ${s.index}`).to.include.members(['append-on-prefix', 'set-accepted-rnd']);
          } else if (m?.kind === 'accept-decide' && m.entries.length > 0) {
            acceptedAfterEntries++;
            expect(s.ready.persist, `step ${s.index}`).to.deep.include({ kind: 'append', entries: m.entries });
          }
        }
      }
      expect(promises).to.be.at.least(7); // 4 in the first election, 3 in the second
      expect(acceptedAfterSync).to.be.at.least(7);
      expect(acceptedAfterEntries).to.be.at.least(4 * 3 + 3);
    });

    it('a follower that crashes before its Promise is durable never sent it, and comes back without the promise', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: 1000 });
      h.rounds(1, { deliver: isHeartbeat });
      expect(h.status(3)).to.deep.include({ role: 'leader', phase: 'prepare' });
      h.hold(2);
      const s = h.deliver(msgs({ from: 3, to: 2, kind: 'prepare' })) && h.trace.at(-1)!;
      expect(sentKinds(s)).to.deep.equal(['promise']);
      expect(h.inFlight(msgs({ from: 2, kind: 'promise' }))).to.deep.equal([]);
      h.crash(2, { lose: 1 });
      expect(h.durable(2).promised.pid).to.equal(0);
      h.restart(2);
      expect(h.status(2).promised.pid).to.equal(0);
      expect(h.status(3).phase).to.equal('prepare');
      // With node 1's promise the leader goes on.
      h.deliver(msgs({ from: 3, to: 1, kind: 'prepare' }));
      h.deliver(msgs({ from: 1, to: 3, kind: 'promise' }));
      expect(h.status(3).phase).to.equal('accept');
    });

    it('a follower that crashes before its entries are durable never acknowledged them; nothing is decided', () => {
      const h = cluster();
      h.crash(1);
      h.hold(2);
      h.request(3, command('c', 1, put('x', '1')));
      h.deliver(msgs({ to: 2, kind: 'accept-decide' }));
      expect(h.undurable(2)).to.equal(1);
      expect(h.inFlight(msgs({ from: 2, kind: 'accepted' }))).to.deep.equal([]);
      h.crash(2, { lose: 1 });
      h.deliverAll();
      expect(h.status(3).decidedIdx).to.equal(0);
      expect(h.replies).to.deep.equal([]);
      h.restart(2);
      expect(h.status(2).logLength).to.equal(0);
      // Node 2 recovers: it asks to be prepared again, is synced, and the entry is decided.
      h.run(RESEND);
      expect(h.status(3).decidedIdx).to.equal(1);
      expect(h.repliesAt(3).map((r) => r.result)).to.deep.equal([{ kind: 'ok' }]);
      expect(h.status(2)).to.deep.include({ phase: 'accept', logLength: 1, decidedIdx: 1 });
    });

    it("a leader that crashes before its own append is durable, its AcceptDecides lost, loses the entry, and nobody ever answers for it", () => {
      const h = cluster();
      h.hold(3);
      // The AcceptDecides leave before the append is durable (pipelining); here they are lost,
      // so the entry exists only in the leader's undurable batch.
      h.lose(msgs({ from: 3, kind: 'accept-decide' }));
      h.request(3, command('c', 1, put('x', 'lost')));
      h.crash(3, { lose: 1 });
      h.healAll();
      h.rounds(3);
      const leader = h.leader();
      expect(leader).to.equal(2);
      for (const id of [1, 2]) expect(h.status(id).logLength).to.equal(0);
      h.restart(3);
      h.rounds(2);
      expect(h.replies).to.deep.equal([]);
      for (const id of [1, 2, 3]) expect(logOf(h, id), `node ${id}`).to.deep.equal([]);
    });

    it("a leader's AcceptDecides leave before its append is durable; if it crashes then, the entry survives on the followers and no vote of the leader counted", () => {
      const h = cluster();
      h.hold(3);
      h.request(3, command('c', 1, put('x', 'kept')));
      expect(h.undurable(3)).to.equal(1);
      expect(h.inFlight(msgs({ from: 3, kind: 'accept-decide' })).map((m) => m.to)).to.deep.equal([1, 2]);
      // One follower's durable vote: the leader's own is not durable, so nothing is decided.
      h.deliver(msgs({ to: 1, kind: 'accept-decide' }));
      h.deliver(msgs({ from: 1, to: 3, kind: 'accepted' }));
      expect(h.status(3).decidedIdx).to.equal(0);
      expect(h.inFlight(msgs({ from: 3, kind: 'decide' }))).to.deep.equal([]);
      h.crash(3, { lose: h.undurable(3) });
      expect(h.durable(3).log).to.deep.equal([]);
      h.rounds(3);
      expect(h.leader()).to.equal(2);
      // The next leader adopts the entry from the followers and decides it; the client that sent
      // it to node 3 gets no answer from there (its request died with the process) and retries.
      h.restart(3);
      h.rounds(2);
      for (const id of [1, 2, 3]) expect(logOf(h, id), `node ${id}`).to.deep.equal(['c#1']);
      for (const id of [1, 2, 3]) expect(h.status(id).decidedIdx, `node ${id}`).to.equal(1);
      expect(h.replies).to.deep.equal([]);
      expect(h.violations).to.deep.equal([]);
    });

    it("the leader counts its own vote only once its append is durable (a persisted step), and decides then", () => {
      const h = cluster();
      h.crash(1);
      h.hold(3);
      h.request(3, command('c', 1, put('x', '1')));
      h.deliver(msgs({ to: 2, kind: 'accept-decide' }));
      h.deliver(msgs({ from: 2, to: 3, kind: 'accepted' }));
      expect(h.status(3).decidedIdx, 'node 2 alone is no quorum').to.equal(0);
      const before = h.trace.length;
      h.sync(3, 1); // the append is durable: a persisted step follows
      const persisted = h.trace.slice(before).filter((s) => s.node === 3 && s.inputs.some((i) => i.kind === 'persisted'));
      expect(persisted).to.have.length(1);
      expect(h.status(3).decidedIdx).to.equal(1);
      // The Decide leaves at once; the reply waits for the persisted step's batch.
      expect(h.inFlight(msgs({ from: 3, to: 2, kind: 'decide' }))).to.have.length(1);
      expect(h.repliesAt(3)).to.deep.equal([]);
      h.unhold(3);
      expect(results(h, 3)).to.deep.equal([{ kind: 'ok' }]);
    });

    it('the harness releases batches in order, and a step with an empty batch waits for earlier ones', () => {
      const h = cluster();
      h.hold(2);
      h.request(3, command('c', 1, put('x', '1')));
      h.deliver(msgs({ to: 2, kind: 'accept-decide' })); // batch: append; sends Accepted
      h.inject(2, 1, { kind: 'heartbeat-request', round: 99 }); // empty batch; sends a reply
      expect(h.undurable(2)).to.equal(2);
      expect(h.inFlight(msgs({ from: 2 }))).to.deep.equal([]);
      h.sync(2, 1);
      expect(h.inFlight(msgs({ from: 2 })).map((m) => m.msg.kind)).to.deep.equal(['accepted']);
      expect(h.durable(2).log.length).to.equal(1);
      h.unhold(2);
      expect(h.inFlight(msgs({ from: 2, to: 1 })).map((m) => m.msg.kind)).to.deep.equal(['heartbeat-reply']);
    });
  });

  describe('lost, duplicated and reordered messages', () => {
    it('a dropped AcceptDecide is detected as a gap: the follower recovers, asks to be prepared, and catches up', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.deliverAll();
      h.request(3, command('c', 2, put('x', '2')));
      expect(h.drop(msgs({ to: 1, kind: 'accept-decide' })).length).to.equal(1);
      h.deliver(msgs({ to: 2, kind: 'accept-decide' }));
      h.deliver(msgs({ from: 2, kind: 'accepted' }));
      expect(h.status(3).decidedIdx).to.equal(2);
      // The Decide that follows on node 1's stream is one past what it expects: not applied.
      const gapAt = h.trace.length;
      h.deliver(msgs({ to: 1, kind: 'decide' }));
      expect(h.status(1)).to.deep.include({ logLength: 1, decidedIdx: 1 });
      // Within a couple of resend periods it goes to Recover and asks the leader to prepare it.
      h.deliverAll();
      h.run(RESEND * 3);
      const after = h.trace.slice(gapAt).filter((s) => s.node === 1);
      expect(after.some((s) => s.status.phase === 'recover'), 'went to Recover').to.equal(true);
      expect(after.some((s) => s.ready.send.some((o) => o.to === 3 && o.msg.kind === 'prepare-req')), 'sent PrepareReq').to.equal(true);
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 2, decidedIdx: 2 });
      expect(h.replica(1).kvEntries()).to.deep.equal([['x', '2']]);
    });

    it('a dropped AcceptDecide with no traffic after it is found by the keep-alive', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.drop(msgs({ to: 1, kind: 'accept-decide' }));
      h.deliverAll((m) => m.to !== 1); // node 2 accepts, the leader decides; node 1 hears nothing
      h.drop(msgs({ to: 1 }));
      expect(h.status(1).logLength).to.equal(0);
      h.run(RESEND * 3);
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 1, decidedIdx: 1 });
    });

    it('a lost Prepare is resent on the resend timer', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: RESEND });
      h.rounds(1, { deliver: isHeartbeat });
      h.drop(msgs({ from: 3, to: 1, kind: 'prepare' }));
      h.deliverAll((m) => !isHeartbeat(m));
      expect(h.status(3).phase).to.equal('accept');
      expect(h.status(1).phase).to.equal('none');
      const before = h.trace.length;
      h.run(RESEND);
      const resent = h.trace.slice(before).filter((s) => s.node === 3 && s.inputs[0]?.kind === 'tick'
        && s.ready.send.some((o) => o.to === 1 && o.msg.kind === 'prepare'));
      expect(resent.length).to.equal(1);
      expect(h.status(1)).to.deep.include({ phase: 'accept', promised: h.status(3).leaderBallot });
    });

    it("a lost Promise is resent by the follower's resend timer", () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: RESEND });
      h.rounds(1, { deliver: isHeartbeat });
      h.deliverAll(msgs({ kind: 'prepare' }));
      expect(h.drop(msgs({ kind: 'promise' })).length).to.equal(2);
      expect(h.status(3).phase).to.equal('prepare');
      // Cut leader → followers so that only the followers' own resends can help.
      h.cutOneWay(3, 1);
      h.cutOneWay(3, 2);
      const before = h.trace.length;
      h.run(RESEND, { deliver: msgs({ kind: ['promise', 'heartbeat-request', 'heartbeat-reply'] }) });
      const resent = h.trace.slice(before).filter((s) => s.node !== 3 && s.inputs[0]?.kind === 'tick'
        && s.ready.send.some((o) => o.to === 3 && o.msg.kind === 'promise'));
      expect(resent.map((s) => s.node).sort()).to.deep.equal([1, 2]);
      expect(h.status(3).phase).to.equal('accept');
      // The AcceptSyncs were lost on the cut links too; the Promise resends repair that as well.
      h.healAll();
      h.run(RESEND);
      for (const id of [1, 2]) expect(h.status(id).phase).to.equal('accept');
    });

    it('a duplicated, delayed Promise re-syncs a follower without truncating its decided prefix', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: 1000 });
      h.rounds(1, { deliver: isHeartbeat });
      h.deliverAll(msgs({ kind: 'prepare' }));
      const copy = h.duplicate(msgs({ from: 1, kind: 'promise' }));
      const [stale] = h.takeOut((m) => m.id === copy.id);
      h.deliverAll();
      for (let i = 1; i <= 3; i++) {
        h.request(1, command('c', i, put('x', String(i))));
        h.deliverAll();
      }
      expect(h.status(1)).to.deep.include({ phase: 'accept', decidedIdx: 3 });
      const logBefore = h.replica(1).log.slice();
      // The stale Promise (decidedIdx 0, empty log) reaches the leader in Accept phase.
      h.putBack(stale!);
      h.deliver(msgs({ from: 1, kind: 'promise' }));
      const sync = h.deliver(msgs({ to: 1, kind: 'accept-sync' }));
      expect(sync.msg.kind === 'accept-sync' && sync.msg.sync.syncIdx).to.equal(0);
      const step = h.trace.at(-1)!;
      for (const op of step.ready.persist) {
        if (op.kind === 'append-on-prefix') expect(op.fromIdx, 'truncation point').to.be.at.least(3);
      }
      expect(h.replica(1).log).to.deep.equal(logBefore);
      expect(h.status(1)).to.deep.include({ phase: 'accept', decidedIdx: 3 });
      h.request(2, command('d', 1, put('y', '1')));
      h.deliverAll();
      expect(h.status(1)).to.deep.include({ logLength: 4, decidedIdx: 4 });
    });

    it('a lost PrepareReq is resent on the resend timer', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.drop(msgs({ to: 1, kind: 'accept-decide' }));
      h.lose(msgs({ from: 1, kind: 'prepare-req' }));
      for (let t = 0; t < RESEND * 3 && h.status(1).phase !== 'recover'; t++) h.run(1);
      expect(h.status(1).phase).to.equal('recover');
      expect(h.dropped.filter(msgs({ from: 1, kind: 'prepare-req' })).length).to.be.at.least(1);
      h.healAll();
      const before = h.trace.length;
      h.run(RESEND);
      const resent = h.trace.slice(before).filter((s) => s.node === 1 && s.inputs[0]?.kind === 'tick'
        && s.ready.send.some((o) => o.to === 3 && o.msg.kind === 'prepare-req'));
      expect(resent.length).to.equal(1);
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 1, decidedIdx: 1 });
    });

    it('a stale copy of an AcceptSync never rolls back entries the follower accepted in the ballot', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: 1000 });
      h.rounds(1, { deliver: isHeartbeat });
      const prepareCopy = h.duplicate(msgs({ to: 1, kind: 'prepare' }));
      const [stalePrepare] = h.takeOut((m) => m.id === prepareCopy.id);
      h.deliverAll(msgs({ kind: ['prepare', 'promise'] }));
      const syncCopy = h.duplicate(msgs({ to: 1, kind: 'accept-sync' }));
      const [staleSync] = h.takeOut((m) => m.id === syncCopy.id);
      h.deliverAll();
      h.request(3, command('c', 1, put('x', '1')));
      h.deliver(msgs({ to: 1, kind: 'accept-decide' }));
      h.deliver(msgs({ from: 1, kind: 'accepted' })); // the leader counts node 1's vote: decided
      expect(h.status(3).decidedIdx).to.equal(1);
      expect(h.status(1)).to.deep.include({ logLength: 1, decidedIdx: 0 });
      // The old AcceptSync (empty log) arrives in Accept phase...
      h.putBack(staleSync!);
      h.deliver(msgs({ to: 1, kind: 'accept-sync' }));
      expect(h.status(1).logLength).to.equal(1);
      // ...and after a duplicated Prepare made node 1 promise again (Prepare phase).
      h.putBack(stalePrepare!);
      h.deliver(msgs({ to: 1, kind: 'prepare' }));
      h.putBack(staleSync!);
      h.deliver((m) => m.to === 1 && m.msg.kind === 'accept-sync');
      expect(h.status(1).logLength, 'entries accepted in this ballot').to.equal(1);
      expect(h.durable(1).log.length).to.equal(1);
      h.deliverAll();
      h.run(RESEND);
      for (const id of [1, 2, 3]) expect(h.status(id), `node ${id}`).to.deep.include({ logLength: 1, decidedIdx: 1 });
    });

    it("an Accepted of the leader's older ballot does not count toward its new decisions (BUG-4)", () => {
      // Node 3 leads ballot b1 and sends entry y only to node 1, whose Accepted(b1, 2) is delayed.
      const h = cluster([1, 2, 3, 4, 5], { priorities: { 3: 10 } });
      expect(h.leader()).to.equal(3);
      const b1 = h.status(3).leaderBallot;
      h.request(3, command('c', 1, put('x', '1')));
      h.deliverAll();
      h.request(3, command('c', 2, put('y', 'old')));
      h.deliver(msgs({ to: 1, kind: 'accept-decide' }));
      h.drop(msgs({ from: 3, kind: 'accept-decide' }));
      const [stale] = h.takeOut(msgs({ from: 1, kind: 'accepted' }));
      expect(stale!.msg).to.deep.include({ kind: 'accepted', n: b1, acceptedIdx: 2 });
      // With 3 and 1 cut off, 5 leads b2 from {2, 4, 5}, whose logs lack y; 3 comes back and is
      // synced to 5's log. Then 5 dies and 3 (top priority) leads again, in b3.
      h.isolate(3);
      h.isolate(1);
      h.rounds(3);
      expect(h.leader([2, 4, 5])).to.equal(5);
      h.healAll();
      h.isolate(1);
      h.rounds(2);
      expect(logOf(h, 3)).to.deep.equal(['c#1']);
      h.crash(5);
      h.rounds(3);
      expect(h.leader([2, 3, 4])).to.equal(3);
      expect(logOf(h, 3)).to.deep.equal(['c#1']);
      h.healAll();
      h.run(RESEND);
      expect(logOf(h, 1)).to.deep.equal(['c#1']);
      // Entry z goes to node 2 only: with the leader's own vote, 2 of 5.
      h.request(3, command('d', 1, put('z', 'new')));
      h.drop((m) => m.msg.kind === 'accept-decide' && m.to !== 2);
      h.deliverAll((m) => !isHeartbeat(m));
      expect(h.status(3)).to.deep.include({ logLength: 2, decidedIdx: 1 });
      // The stale Accepted(b1, 2) says node 1 holds two entries; in this ballot it holds one.
      h.putBack(stale!);
      h.deliver(msgs({ from: 1, to: 3, kind: 'accepted' }));
      const zReplies = () => h.repliesAt(3).filter((r) => r.clientId === 'd').map((r) => r.result);
      expect(h.status(3).decidedIdx).to.equal(1);
      expect(zReplies()).to.deep.equal([]);
      h.run(RESEND * 3);
      expect(zReplies()).to.deep.equal([{ kind: 'ok' }]);
    });

    it('duplicated stream messages are ignored', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.duplicate(msgs({ to: 1, kind: 'accept-decide' }));
      h.deliverAll();
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 1, decidedIdx: 1 });
      expect(h.replica(1).log.length).to.equal(1);
    });

    it('stream messages delivered out of order are never applied out of order', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.request(3, command('c', 2, put('x', '2')));
      const [first, second] = h.takeOut(msgs({ to: 1, kind: 'accept-decide' }));
      h.putBack(second!, first!);
      h.deliver(msgs({ to: 1, kind: 'accept-decide' }));
      expect(h.trace.at(-1)!.ready.persist, 'nothing appended ahead of its turn').to.deep.equal([]);
      expect(h.status(1).logLength).to.equal(0);
      h.deliverAll();
      h.run(RESEND * 3);
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 2, decidedIdx: 2 });
      expect(logOf(h, 1)).to.deep.equal(['c#1', 'c#2']);
      expect(h.replica(1).kvEntries()).to.deep.equal([['x', '2']]);
    });

    it('a reordered stream is put back in order without a recovery', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.request(3, command('c', 2, put('x', '2')));
      h.request(3, command('c', 3, put('x', '3')));
      const ads = h.takeOut(msgs({ to: 1, kind: 'accept-decide' }));
      const from = h.trace.length;
      h.putBack(ads[2]!, ads[1]!, ads[0]!);
      h.deliverAll(msgs({ to: 1, kind: 'accept-decide' }));
      // The last one to arrive was the first in the stream: everything applies, in order, at once.
      expect(logOf(h, 1)).to.deep.equal(['c#1', 'c#2', 'c#3']);
      h.deliverAll();
      h.run(RESEND * 3);
      const steps = h.trace.slice(from).filter((s) => s.node === 1);
      expect(steps.some((s) => s.status.phase !== 'accept'), 'left Accept phase').to.equal(false);
      expect(steps.some((s) => s.ready.send.some((o) => o.msg.kind === 'prepare-req')), 'asked to be prepared').to.equal(false);
      expect(h.status(1)).to.deep.include({ logLength: 3, decidedIdx: 3 });
    });

    it('in Recover a follower takes no stream messages until it is synced again (BUG-4)', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      const [missing] = h.takeOut(msgs({ to: 1, kind: 'accept-decide' }));
      h.deliverAll((m) => (m.to !== 1 && m.from !== 1) || m.msg.kind === 'decide');
      // Keep node 1 from being re-synced while it waits in Recover.
      h.lose(msgs({ from: 1, kind: 'prepare-req' }));
      for (let t = 0; t < RESEND * 3 && h.status(1).phase !== 'recover'; t++) h.run(1);
      expect(h.status(1)).to.deep.include({ phase: 'recover', logLength: 0 });
      // The missing message turns up now: too late, it is ignored.
      h.putBack(missing!);
      const step = h.deliver(msgs({ to: 1, kind: 'accept-decide' })) && h.trace.at(-1)!;
      expect(step.ready.persist).to.deep.equal([]);
      expect(step.ready.send.filter((o) => o.msg.kind === 'accepted')).to.deep.equal([]);
      expect(h.status(1)).to.deep.include({ phase: 'recover', logLength: 0 });
      h.healAll();
      h.run(RESEND * 2);
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 1, decidedIdx: 1 });
    });
  });

  describe('crash and restart', () => {
    it('a follower restarted from its durable state rebuilds the map and catches up on what it missed', () => {
      const h = cluster();
      h.request(1, command('c', 1, put('x', '1')));
      h.deliverAll();
      h.crash(1);
      h.request(2, command('c', 2, put('x', '2')));
      h.deliverAll();
      h.restart(1);
      expect(h.status(1)).to.deep.include({ phase: 'recover', decidedIdx: 1, appliedIdx: 1 });
      expect(h.replica(1).kvEntries()).to.deep.equal([['x', '1']]);
      h.deliverAll();
      expect(h.status(1)).to.deep.include({ phase: 'accept', decidedIdx: 2, appliedIdx: 2 });
      expect(h.replica(1).kvEntries()).to.deep.equal([['x', '2']]);
    });

    it('a leader that reconnects to a follower prepares it again, and the follower is re-synced', () => {
      const h = cluster();
      h.request(1, command('c', 1, put('x', '1')));
      h.deliverAll();
      const s = h.step(3, { kind: 'reconnected', peer: 1 });
      // The election asks the peer at once (its reply counts this round); Paxos prepares it again.
      expect(s.ready.send.map((o) => [o.to, o.msg.kind])).to.deep.equal([[1, 'heartbeat-request'], [1, 'prepare']]);
      h.deliverAll();
      expect(h.status(1)).to.deep.include({ phase: 'accept', logLength: 1, decidedIdx: 1 });
      h.request(1, command('c', 2, put('x', '2')));
      h.deliverAll();
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }, { kind: 'ok' }]);
    });

    it('a reconnected link makes the follower ask to be prepared again', () => {
      const h = cluster();
      const s = h.step(1, { kind: 'reconnected', peer: 3 });
      expect(s.ready.send.map((o) => [o.to, o.msg.kind])).to.deep.equal([[3, 'heartbeat-request'], [3, 'prepare-req']]);
      expect(h.status(1).phase).to.equal('recover');
      h.deliverAll();
      expect(h.status(1).phase).to.equal('accept');
      h.request(1, command('c', 1, put('x', '1')));
      h.deliverAll();
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }]);
    });
  });

  describe('leader change', () => {
    it('a leader that steps down hands its buffered proposals to the next leader', () => {
      const h = new ReplicaHarness({ nodes: [1, 2, 3], resendTicks: 1000 });
      h.rounds(1, { deliver: isHeartbeat });
      expect(h.status(3)).to.deep.include({ role: 'leader', phase: 'prepare' });
      const c = command('c', 1, put('x', '1'));
      h.request(3, c); // buffered until the Prepare phase ends
      const higher: Ballot = { n: 5, priority: 0, pid: 2 };
      const s = h.inject(3, 2, { kind: 'prepare', n: higher, decidedIdx: 0, acceptedRnd: { n: 0, priority: 0, pid: 0 }, acceptedIdx: 0 });
      expect(h.status(3)).to.deep.include({ role: 'follower', promised: higher });
      expect(s.ready.send).to.deep.include({ to: 2, msg: { kind: 'proposal-forward', entries: [{ kind: 'command', command: c }] } });
    });

    it('a decide beyond the follower\'s log raises its decided index only to the end of its log (BUG-6)', () => {
      const h = cluster();
      h.request(3, command('c', 1, put('x', '1')));
      h.deliverAll();
      const last = h.allSent(msgs({ from: 3, to: 1, kind: ['accept-sync', 'accept-decide', 'decide'] })).at(-1)!;
      const seq = 'seq' in last.msg ? last.msg.seq : { session: 0, counter: 0 };
      h.inject(1, 3, { kind: 'decide', n: h.status(3).leaderBallot, seq: { ...seq, counter: seq.counter + 1 }, decidedIdx: 99 });
      expect(h.status(1)).to.deep.include({ logLength: 1, decidedIdx: 1 });
    });
  });

  describe('configuration', () => {
    it('a proposal forwarded to a leader that dies with it is forwarded again to the next leader, once', () => {
      for (const reforwardTicks of [undefined, 0]) {
        const h = cluster([1, 2, 3], { reforwardTicks });
        // Node 1 forwards to leader 3, which crashes before the forward arrives.
        h.request(1, command('c', 1, put('x', '1')));
        h.crash(3);
        h.rounds(3);
        expect(h.leader()).to.equal(2);
        h.deliverAll();
        h.rounds(1);
        if (reforwardTicks === 0) {
          // Without it the command is lost until its client retries.
          expect(results(h, 1), 'reforwarding off').to.deep.equal([]);
          continue;
        }
        // No client retry: node 1 forwarded it again to node 2, and it is decided once.
        expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }]);
        expect(logOf(h, 2).filter((e) => e === 'c#1')).to.have.length(1);
      }
    });

    it('a forwarded proposal the next leader adopted in its log is not forwarded again (no duplicate in the log)', () => {
      const h = cluster([1, 2, 3]);
      // Leader 3 appends node 1's forward and streams it; both followers accept it, but nobody
      // hears that it was decided before 3 crashes.
      h.request(1, command('c', 1, put('x', '1')));
      h.deliverAll((m) => m.msg.kind === 'proposal-forward' || m.msg.kind === 'accept-decide');
      expect(logOf(h, 1)).to.include('c#1');
      h.crash(3);
      h.rounds(3);
      expect(h.leader()).to.equal(2);
      h.deliverAll();
      h.rounds(1);
      expect(results(h, 1)).to.deep.equal([{ kind: 'ok' }]);
      expect(logOf(h, 2).filter((e) => e === 'c#1')).to.have.length(1);
      expect(logOf(h, 1).filter((e) => e === 'c#1')).to.have.length(1);
    });

    it('a new leader orders the proposals it had forwarded to the leader it replaces; decided ones are not proposed again', () => {
      const h = cluster([1, 2, 3]);
      // c#1 is forwarded by node 2 and decided; c#2 is forwarded by node 2 and lost with leader 3.
      h.request(2, command('c', 1, put('x', '1')));
      h.deliverAll();
      h.request(2, command('c', 2, put('x', '2')));
      h.crash(3);
      h.rounds(3);
      expect(h.leader()).to.equal(2);
      h.deliverAll();
      h.rounds(1);
      expect(results(h, 2)).to.deep.equal([{ kind: 'ok' }, { kind: 'ok' }]);
      expect(logOf(h, 2).filter((e) => e.startsWith('c#'))).to.deep.equal(['c#1', 'c#2']);
    });

    it('non-contiguous node ids work, and nothing is ever sent outside the configuration (BUG-15)', () => {
      const ids = [2, 5, 9];
      const h = cluster(ids);
      h.request(2, command('c', 1, put('x', '1')));
      h.deliverAll();
      h.crash(9);
      h.rounds(3);
      expect(h.leader()).to.equal(5);
      h.request(2, command('c', 2, put('x', '2')));
      h.deliverAll();
      h.restart(9);
      h.rounds(2);
      expect(results(h, 2)).to.deep.equal([{ kind: 'ok' }, { kind: 'ok' }]);
      expect(h.status(9)).to.deep.include({ decidedIdx: 2, phase: 'accept' });
      const targets = new Set(h.allSent().map((m) => m.to));
      expect([...targets].sort((x, y) => x - y)).to.deep.equal(ids);
      expect(h.allSent().filter((m) => m.to === m.from)).to.deep.equal([]);
      expect(h.violations).to.deep.equal([]);
    });

    it('messages from node ids outside the configuration, or from itself, are ignored', () => {
      const h = cluster();
      const before = h.status(1);
      const huge: Ballot = { n: 99, priority: 99, pid: 7 };
      const forged: PeerMessage[] = [
        { kind: 'prepare', n: huge, decidedIdx: 0, acceptedRnd: huge, acceptedIdx: 0 },
        { kind: 'accept-sync', n: huge, seq: { session: 1, counter: 1 }, decidedIdx: 0, sync: { syncIdx: 0, suffix: [], snapshot: null } },
        { kind: 'heartbeat-request', round: 1 },
        { kind: 'proposal-forward', entries: [{ kind: 'command', command: command('evil', 1, put('x', 'evil')) }] },
        { kind: 'prepare-req', n: huge },
      ];
      for (const from of [7, 0, -1, 1]) {
        for (const msg of forged) {
          const s = h.inject(1, from, msg);
          expect(s.ready.persist, `${msg.kind} from ${from}`).to.deep.equal([]);
          expect(s.ready.send, `${msg.kind} from ${from}`).to.deep.equal([]);
        }
      }
      const r = h.step(1, { kind: 'reconnected', peer: 7 });
      expect(r.ready.send).to.deep.equal([]);
      expect(h.status(1)).to.deep.equal(before);
      // The leader ignores a stranger's proposal too.
      h.inject(3, 7, forged[3]!);
      h.deliverAll();
      expect(h.status(3).logLength).to.equal(0);
    });

    it('rejects a configuration that does not contain the node or has duplicate or invalid ids', () => {
      expect(() => new ReplicaHarness({ nodes: [1, 2, 2] })).to.throw(/duplicate/);
      expect(() => new ReplicaHarness({ nodes: [0, 1, 2] })).to.throw(/≥ 1/);
    });
  });
});
