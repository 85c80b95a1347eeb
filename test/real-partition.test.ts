/**
 * Network partitions of a real 5-node cluster: every directed peer link goes through a relay in
 * the test process (startCluster with `relays`), and `cluster.network` cuts, heals and delays
 * them. One cluster for the file (starting five processes is the slow part); each case starts
 * from a healed network with an elected leader and heals it again afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { connect, type KvClient } from '../src/client/client.js';
import { formatAddr } from '../src/client/addr.js';
import { startCluster, writeTestConfig, type ElectedLeader, type LocalCluster, type NetworkFaults } from '../src/cluster/index.js';

describe('real processes: network partitions through relays (5 nodes)', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: LocalCluster;
  let network: NetworkFaults;
  const clients: KvClient[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-partition-'));
    const { file } = await writeTestConfig({ nodes: 5, dir, fsync: false });
    cluster = await startCluster({ configFile: file, relays: true });
    network = cluster.network!;
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) c.close();
    if (this.currentTest?.state === 'failed') {
      console.log(`      network: ${network.describe()}`);
      for (const id of cluster.nodeIds) {
        console.log(`      --- node ${id} (${cluster.state(id)}), last lines:`);
        for (const l of cluster.output(id).slice(-15)) console.log(`        ${l.line}`);
      }
    }
    network.heal();
  });
  after(async () => {
    await cluster?.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A client that knows only these nodes. */
  const clientOf = (ids: readonly number[]): KvClient => {
    const c = connect(ids.map((id) => formatAddr(cluster.addr(id))), { attemptTimeoutMs: 1000 });
    clients.push(c);
    return c;
  };

  /** Resolves once every node reports the same decidedIdx, at least `atLeast`. */
  const converged = async (atLeast: number, timeoutMs = 20_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    for (;;) {
      const polls = await cluster.pollStatuses();
      const decided = cluster.nodeIds.map((id) => {
        const p = polls.get(id)!;
        return p.kind === 'status' ? p.status.decidedIdx : -1;
      });
      seen = decided.join(', ');
      if (decided.every((d) => d === decided[0] && d >= atLeast)) return decided[0]!;
      if (Date.now() > deadline) throw new Error(`decidedIdx did not converge to ≥ ${atLeast}: ${seen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const decidedOf = async (id: number): Promise<number> => (await cluster.status(id)).decidedIdx;

  /** Writes through the majority side and reads it back; returns the leader's decidedIdx after. */
  const writeThrough = async (majority: readonly number[], leader: ElectedLeader, key: string): Promise<number> => {
    const client = clientOf(majority);
    expect(await client.put(key, 'v1')).to.deep.equal({ status: 'ok' });
    expect(await client.put(key, 'v2')).to.deep.equal({ status: 'ok' });
    expect(await client.get(key)).to.deep.equal({ status: 'ok', value: 'v2' });
    return decidedOf(leader.leaderId);
  };

  it('an isolated leader is replaced by the majority, which serves clients; after heal all five agree', async () => {
    const first = await cluster.waitForLeader({ timeoutMs: 20_000 });
    const others = cluster.nodeIds.filter((id) => id !== first.leaderId);
    network.partition([[first.leaderId], others]);
    console.log(`      leader ${first.leaderId} isolated: ${network.describe()}`);
    const second = await cluster.waitForLeader({ after: first.ballot, timeoutMs: 20_000 });
    expect(others).to.include(second.leaderId);
    const decided = await writeThrough(others, second, 'isolated');
    // The old leader heard nothing of it.
    expect(await decidedOf(first.leaderId)).to.be.lessThan(decided);
    network.heal();
    const at = await converged(decided);
    console.log(`      new leader ${second.leaderId}; after heal all nodes decided ${at}`);
  });

  it('a one-way cut from the leader to every follower: the followers elect a new leader', async () => {
    const first = await cluster.waitForLeader({ timeoutMs: 20_000 });
    const others = cluster.nodeIds.filter((id) => id !== first.leaderId);
    network.cutOneWay([first.leaderId], others);
    console.log(`      ${network.describe()}`);
    // The leader still hears the followers (their links to it pass), but they no longer hear it.
    for (const id of others) {
      expect(network.linkFault(first.leaderId, id).kind).to.equal('cut');
      expect(network.linkFault(id, first.leaderId).kind).to.equal('pass');
    }
    const second = await cluster.waitForLeader({ after: first.ballot, timeoutMs: 20_000 });
    expect(others).to.include(second.leaderId);
    const decided = await writeThrough(others, second, 'one-way');
    network.heal();
    const at = await converged(decided);
    console.log(`      new leader ${second.leaderId}; after heal all nodes decided ${at}`);
  });

  it('a node restarted during a partition is still cut off (the relays outlive it) until heal', async () => {
    const leader = await cluster.waitForLeader({ timeoutMs: 20_000 });
    const follower = cluster.nodeIds.find((id) => id !== leader.leaderId)!;
    const others = cluster.nodeIds.filter((id) => id !== follower);
    network.partition([[follower], others]);
    await cluster.restart(follower);
    const decided = await writeThrough(others, leader, 'restarted');
    expect(await decidedOf(follower)).to.be.lessThan(decided);
    network.heal();
    const at = await converged(decided);
    console.log(`      node ${follower} restarted while cut off; after heal all nodes decided ${at}`);
  });
});
