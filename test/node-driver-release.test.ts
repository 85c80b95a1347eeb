/**
 * The step contract in kvnode's driver (src/node/replica-driver.ts): a step's messages and
 * replies leave only once its batch and every earlier one are durable — except a batch that
 * only raises the decided index, whose effects wait for the earlier batches only
 * (mustBeDurableBeforeRelease, src/replica/storage.ts).
 */
import { expect } from 'chai';
import { ReplicaDriver } from '../src/node/replica-driver.js';
import type { Replica } from '../src/replica/replica.js';
import { mustBeDurableBeforeRelease, type StorageOp } from '../src/replica/storage.js';
import type { ClientReply, Ready } from '../src/replica/types.js';
import type { Wal } from '../src/storage/wal.js';

const append: StorageOp = { kind: 'append', entries: [{ kind: 'expire-sessions', idleBefore: 0 }] };
const decided = (idx: number): StorageOp => ({ kind: 'set-decided-idx', idx });
const reply = (seq: number): ClientReply => ({ clientId: 'c', seq, result: { kind: 'ok' } });

/** A replica whose steps return the prepared Readys in order. */
function scriptedReplica(readys: Ready[]): Replica {
  return { step: () => readys.shift() ?? { persist: [], send: [], reply: [], applied: [] } } as unknown as Replica;
}

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
});
