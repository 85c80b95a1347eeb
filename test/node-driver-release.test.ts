/**
 * The step contract in kvnode's driver (src/node/replica-driver.ts): a step's messages and
 * replies leave only once its batch and every earlier one are durable — except a batch that
 * only raises the decided index, whose effects wait for the earlier batches only
 * (mustBeDurableBeforeRelease, src/replica/storage.ts), and a leader's AcceptDecide and Decide,
 * which leave at once unless an earlier message to the same peer still waits (release.ts); a
 * step's log mark comes back as a `persisted` input once its batch is durable.
 */
import { expect } from 'chai';
import { ReplicaDriver } from '../src/node/replica-driver.js';
import type { Ballot } from '../src/replica/ballot.js';
import type { PeerMessage } from '../src/replica/messages.js';
import type { Replica } from '../src/replica/replica.js';
import { mustBeDurableBeforeRelease, type StorageOp } from '../src/replica/storage.js';
import type { ClientReply, Ready, ReplicaInput } from '../src/replica/types.js';
import type { Wal } from '../src/storage/wal.js';

const append: StorageOp = { kind: 'append', entries: [{ kind: 'expire-sessions', idleBefore: 0 }] };
const decided = (idx: number): StorageOp => ({ kind: 'set-decided-idx', idx });
const reply = (seq: number): ClientReply => ({ clientId: 'c', seq, result: { kind: 'ok' } });

/** A replica whose steps return the prepared Readys in order (and record their inputs). */
function scriptedReplica(readys: Ready[], inputs: ReplicaInput[][] = []): Replica {
  return {
    step: (...i: ReplicaInput[]) => {
      inputs.push(i);
      return readys.shift() ?? { persist: [], send: [], reply: [], applied: [] };
    },
  } as unknown as Replica;
}

const n: Ballot = { n: 2, priority: 0, pid: 1 };
const seq = (counter: number) => ({ session: 1, counter });
const acceptSync: PeerMessage = { kind: 'accept-sync', n, seq: seq(1), decidedIdx: 0, sync: { syncIdx: 0, suffix: [], snapshot: null } };
const acceptDecide = (counter: number): PeerMessage => ({ kind: 'accept-decide', n, seq: seq(counter), decidedIdx: 0, entries: [] });
const decide = (counter: number): PeerMessage => ({ kind: 'decide', n, seq: seq(counter), decidedIdx: 1 });
const heartbeat: PeerMessage = { kind: 'heartbeat-request', round: 7 };
const label = (to: number, m: PeerMessage) => `${to}:${m.kind}${'seq' in m ? `#${m.seq.counter}` : ''}`;

/** A WAL whose writes become durable only when the test says so, in order. */
function manualWal() {
  const pending: (() => void)[] = [];
  const wal = { write: () => new Promise<void>((ok) => pending.push(ok)) } as unknown as Wal;
  return { wal, completeNext: () => pending.shift()!() };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('kvnode driver: when a step\'s effects are released', () => {
  it('mustBeDurableBeforeRelease: only a batch of nothing but decided-index changes may be released early', () => {
    expect(mustBeDurableBeforeRelease([decided(3)])).to.equal(false);
    expect(mustBeDurableBeforeRelease([decided(3), decided(4)])).to.equal(false);
    expect(mustBeDurableBeforeRelease([append, decided(3)])).to.equal(true);
    expect(mustBeDurableBeforeRelease([{ kind: 'set-promise', ballot: { n: 1, priority: 0, pid: 1 } }])).to.equal(true);
  });

  it('a decided-index-only step replies once the earlier batches are durable, without waiting for its own', async () => {
    const replies: number[] = [];
    const { wal, completeNext } = manualWal();
    const replica = scriptedReplica([
      { persist: [append], send: [], reply: [reply(1)], applied: [] },
      { persist: [decided(1)], send: [], reply: [reply(2)], applied: [] },
      { persist: [append], send: [], reply: [reply(3)], applied: [] },
    ]);
    const driver = new ReplicaDriver(replica, wal, { send: () => {}, reply: (r) => replies.push(r.seq), fatal: (e) => { throw e; } });
    for (let i = 0; i < 3; i++) {
      driver.push({ kind: 'tick' });
      await turn();
    }
    expect(replies, 'nothing is durable yet').to.deep.equal([]);
    completeNext(); // the first append
    await turn();
    expect(replies, 'step 2 follows step 1 at once; step 3 still waits for its append').to.deep.equal([1, 2]);
    completeNext(); // step 2's decided index
    await turn();
    expect(replies).to.deep.equal([1, 2]);
    completeNext(); // step 3's append
    await turn();
    expect(replies).to.deep.equal([1, 2, 3]);
  });

  it("a leader's AcceptDecide and Decide leave before the fsync; replies and other messages wait; each peer's messages keep their order", async () => {
    const sent: string[] = [];
    const replies: number[] = [];
    const inputs: ReplicaInput[][] = [];
    const { wal, completeNext } = manualWal();
    const mark = { acceptedRnd: n, logLength: 1 };
    const replica = scriptedReplica([
      // Step 1 (say, a late Promise answered and a tick): an AcceptSync to 3 and a heartbeat
      // to 2, both waiting for the disk.
      { persist: [append], send: [{ to: 3, msg: acceptSync }, { to: 2, msg: heartbeat }], reply: [reply(1)], applied: [] },
      // Step 2 (the leader appends): its AcceptDecides may leave early — but not ahead of the
      // messages still waiting for peers 2 and 3.
      {
        persist: [append], reply: [reply(2)], applied: [], logMark: mark,
        send: [{ to: 2, msg: acceptDecide(2) }, { to: 3, msg: acceptDecide(2) }, { to: 4, msg: acceptDecide(2) }],
      },
      // Step 3: a Decide to 4 leaves at once; a heartbeat to 4 waits for the disk.
      { persist: [append], send: [{ to: 4, msg: decide(3) }, { to: 4, msg: heartbeat }], reply: [], applied: [] },
    ], inputs);
    const driver = new ReplicaDriver(replica, wal, {
      send: (to, msg) => sent.push(label(to, msg)), reply: (r) => replies.push(r.seq), fatal: (e) => { throw e; },
    });
    for (let i = 0; i < 3; i++) {
      driver.push({ kind: 'tick' });
      await turn();
    }
    expect(sent, 'before any fsync: only the early messages to a peer with nothing waiting').to.deep.equal(['4:accept-decide#2', '4:decide#3']);
    expect(replies).to.deep.equal([]);
    completeNext(); // step 1's batch
    await turn();
    // Step 1's messages leave, and right behind them the AcceptDecides that waited for them —
    // before step 2's own batch is durable.
    expect(sent.slice(2)).to.have.members(['3:accept-sync#1', '2:heartbeat-request', '2:accept-decide#2', '3:accept-decide#2']);
    for (const peer of [2, 3]) {
      const mine = sent.filter((x) => x.startsWith(`${peer}:`));
      expect(mine[1], `peer ${peer}: FIFO`).to.equal(`${peer}:accept-decide#2`);
    }
    expect(replies).to.deep.equal([1]);
    expect(inputs.flat().some((i) => i.kind === 'persisted'), 'no mark before step 2 is durable').to.equal(false);
    completeNext(); // step 2's batch: its reply, and its mark back to the replica (next step)
    await turn();
    await turn();
    expect(replies).to.deep.equal([1, 2]);
    expect(sent).to.not.include('4:heartbeat-request');
    expect(inputs.flat().filter((i) => i.kind === 'persisted')).to.deep.equal([{ kind: 'persisted', mark }]);
    completeNext(); // step 3's batch
    await turn();
    expect(sent.at(-1)).to.equal('4:heartbeat-request');
  });
});
