/**
 * The driver contract, tested with a stub replica whose every step writes one entry and sends
 * it to a peer: a message may leave only once the write of its step is durable, and a crash
 * loses the pending writes together with the messages waiting for them — except a leader's
 * AcceptDecide (src/replica/release.ts), which leaves at once and survives the crash; a step's
 * log mark comes back as a `persisted` input once its write is durable.
 */
import { expect } from 'chai';
import type { Snapshot } from '../src/replica/snapshot.js';
import { BOTTOM, type NodeId } from '../src/replica/ballot.js';
import type { Entry } from '../src/replica/entry.js';
import type { PersistentState } from '../src/replica/storage.js';
import { defaultIncarnation, type Ready, type ReplicaConfig, type ReplicaInput, type ReplicaStatus } from '../src/replica/types.js';
import type { ReplicaFactory, ReplicaLike } from '../src/sim/replica-like.js';
import { Simulation } from '../src/sim/simulator.js';

class StubReplica implements ReplicaLike {
  readonly log: Entry[];
  readonly compactedIdx = 0;
  entryAt(idx: number): Entry | undefined { return this.log[idx]; }
  currentSnapshot(): null { return null; }
  stateSnapshot(): Snapshot {
    return { idx: 0, kv: [], sessions: [], members: this.config.nodes.map((id) => ({ id, incarnation: defaultIncarnation(id), voter: true })) };
  }
  constructor(readonly config: ReplicaConfig, durable: PersistentState, private readonly tag: string,
    private readonly onMessage: (to: NodeId, from: NodeId, entry: Entry, idx: number) => void,
    private readonly kind: 'proposal-forward' | 'accept-decide' = 'proposal-forward',
    private readonly onPersisted?: (id: NodeId, logLength: number) => void) {
    this.log = durable.log.slice();
  }

  step(...inputs: ReplicaInput[]): Ready {
    const ready: Ready = { persist: [], send: [], reply: [], applied: [] };
    for (const input of inputs) {
      if (input.kind === 'tick') {
        const entry: Entry = { kind: 'command', command: { clientId: this.tag, seq: this.log.length + 1, op: { kind: 'get', key: 'k' } } };
        ready.persist.push({ kind: 'append', entries: [entry] });
        this.log.push(entry);
        const peer = this.config.nodes.find(n => n !== this.config.id)!;
        ready.send.push({
          to: peer,
          msg: this.kind === 'proposal-forward'
            ? { kind: 'proposal-forward', entries: [entry] }
            : { kind: 'accept-decide', n: BOTTOM, seq: { session: 1, counter: this.log.length }, decidedIdx: 0, entries: [entry] },
        });
      } else if (input.kind === 'message' && (input.msg.kind === 'proposal-forward' || input.msg.kind === 'accept-decide')) {
        const e = input.msg.entries[0]!;
        if (e.kind === 'command') this.onMessage(this.config.id, input.from, e, e.command.seq - 1);
      } else if (input.kind === 'persisted') {
        this.onPersisted?.(this.config.id, input.mark.logLength);
      }
    }
    return this.onPersisted && ready.persist.length > 0 ? { ...ready, logMark: { acceptedRnd: BOTTOM, logLength: this.log.length } } : ready;
  }

  status(): ReplicaStatus {
    return {
      id: this.config.id, role: 'follower', phase: 'none', leaderBallot: BOTTOM, bleLeader: BOTTOM, quorumConnected: false,
      promised: BOTTOM, acceptedRnd: BOTTOM, logLength: this.log.length, decidedIdx: 0, appliedIdx: 0, compactedIdx: 0, incarnation: 'node-1', voter: true,
    };
  }

  kvEntries(): [string, string][] {
    return [];
  }
}

/** Runs two stub nodes with slow disks; returns how many messages arrived before their write was durable. */
function run(seed: number, bug: boolean, script?: (sim: Simulation) => void, kind?: 'proposal-forward' | 'accept-decide') {
  let incarnations = 0;
  let received = 0;
  let early = 0;
  /** `persisted` inputs, and those that came before the write they report was durable. */
  let marks = 0;
  let marksEarly = 0;
  const arrivals: { from: NodeId; idx: number }[] = [];
  let sim: Simulation | undefined;
  const factory: ReplicaFactory = (config, durable) => new StubReplica(config, durable, `n${config.id}i${incarnations++}`, (_to, from, entry, idx) => {
    received++;
    arrivals.push({ from, idx });
    const durableEntry = sim!.disk(from).durable.log[idx];
    if (JSON.stringify(durableEntry) !== JSON.stringify(entry)) early++;
  }, kind, (id, logLength) => {
    marks++;
    if (sim!.disk(id).durable.log.length < logLength) marksEarly++;
  });
  sim = new Simulation({
    seed, nodes: [3, 8], clients: 0, opsTotal: 0, stopWhenIdle: false, durationUs: 400_000, tickUs: 1000,
    network: { delayMinUs: 100, delayMaxUs: 1000, inFlightDrop: 0 },
    disk: { latencyMinUs: 500, latencyMaxUs: 8000, spikeChance: 0, spikeMinUs: 0, spikeMaxUs: 0 },
    ...(bug ? { plantedBug: 'ack-before-durable' as const } : {}),
  }, factory);
  script?.(sim);
  const out = sim.run();
  return { received, early, marks, marksEarly, arrivals, out, sim };
}

describe('sim: driver contract', () => {
  const seed = 42;
  before(() => console.log(`      seed ${seed}`));

  it('releases a step\'s messages only after its write (and every earlier one) is durable', () => {
    const r = run(seed, false);
    expect(r.received).to.be.greaterThan(500);
    expect(r.early).to.equal(0);
    expect(r.out.violations).to.deep.equal([]);
  });

  it('an AcceptDecide leaves before its write is durable; the log mark comes back only once it is', () => {
    const r = run(seed, false, undefined, 'accept-decide');
    expect(r.received).to.be.greaterThan(500);
    expect(r.early, 'AcceptDecides that arrived before the sender\'s write was durable').to.be.greaterThan(100);
    expect(r.marks).to.be.greaterThan(500);
    expect(r.marksEarly).to.equal(0);
    const held = run(seed, false);
    expect(held.marks).to.be.greaterThan(500);
    expect(held.marksEarly).to.equal(0);
  });

  it('a crash loses the pending writes, but AcceptDecides that left early still arrive', () => {
    let kept = -1;
    const r = run(seed, false, sim => {
      sim.at(100_000, () => {
        expect(sim.disk(3).pendingCount, 'writes pending at the crash').to.be.greaterThan(0);
        sim.crash(3); // and it stays down
        kept = sim.disk(3).durable.log.length;
      });
    }, 'accept-decide');
    expect(r.out.stats.batchesLost).to.be.greaterThan(0);
    const lostButArrived = r.arrivals.filter((a) => a.from === 3 && a.idx >= kept);
    expect(lostButArrived.length, 'entries node 3 lost that node 8 received anyway').to.be.greaterThan(0);
  });

  it('with the planted driver bug ack-before-durable, messages overtake their writes', () => {
    const r = run(seed, true);
    expect(r.early).to.be.greaterThan(0);
  });

  it('a crash loses pending writes and the messages waiting for them; the restart loads the durable state', () => {
    let logAtRestart = -1;
    let durableAtCrash = -1;
    const r = run(seed, false, sim => {
      sim.at(100_000, () => {
        durableAtCrash = sim.disk(3).durable.log.length;
        expect(sim.disk(3).pendingCount, 'writes pending at the crash').to.be.greaterThan(0);
        sim.crash(3);
        expect(sim.isUp(3)).to.equal(false);
      });
      sim.at(150_000, () => {
        sim.restart(3);
        logAtRestart = sim.replica(3)!.log.length;
      });
    });
    expect(logAtRestart).to.equal(durableAtCrash);
    expect(r.early, 'no message of a lost write was delivered').to.equal(0);
    expect(r.out.stats.crashes).to.equal(1);
    expect(r.out.stats.batchesLost).to.be.greaterThan(0);
    const nemesis = r.out.historyLines.map(l => JSON.parse(l)).filter(e => e.type === 'nemesis').map(e => `${e.f} ${e.node}`);
    expect(nemesis).to.deep.equal(['kill 3', 'restart 3']);
  });

  it('a paused node steps nothing until resumed, then catches up in order', () => {
    let during = -1;
    run(seed, false, sim => {
      sim.at(100_000, () => sim.pause(8));
      sim.at(100_001, () => { during = sim.replica(8)!.log.length; });
      sim.at(199_999, () => expect(sim.replica(8)!.log.length, 'no ticks while paused').to.equal(during));
      sim.at(200_000, () => sim.resume(8));
      sim.at(250_000, () => expect(sim.replica(8)!.log.length).to.be.greaterThan(during + 40));
    });
  });
});
