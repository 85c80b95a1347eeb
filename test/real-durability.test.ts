/**
 * Durability against real kvnode processes (cli/kvnode.ts via src/cluster), fsync on:
 *
 *  1. kill -9 of every node at once in the middle of concurrent writes, then a restart of all:
 *     every acknowledged write survives, and nothing that was never sent appears.
 *  2. a follower down during 10,000 writes catches up after its restart, and its decided log is
 *     the same as the others', entry for entry.
 *
 * Each test runs its own fresh 3-node cluster in its own temporary directory; afterEach stops
 * every process and removes the directory, whether the test passed or not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { connect, fetchLog, type KvClient, type NodeAddr, type OpResult } from '../src/client/index.js';
import type { Entry } from '../src/replica/entry.js';
import { Rng } from '../src/history/synthetic.js';

/** Re-checks a condition every 20 ms until it holds; the mocha timeout bounds it. */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((ok) => setTimeout(ok, 20));
}

/** The node's whole log, page by page (at most 1,000 entries per log-response). */
async function fetchWholeLog(addr: NodeAddr): Promise<{ entries: Entry[]; decidedIdx: number; logLength: number }> {
  const entries: Entry[] = [];
  let decidedIdx = 0;
  let logLength = 0;
  for (;;) {
    const r = await fetchLog(addr, entries.length, 1000, { timeoutMs: 10_000 });
    // No compaction in kvnode: the node starts where we asked.
    expect(r.from, 'log-response from').to.equal(entries.length);
    // Decided entries never change: what the first page called decided stays decided while we read on.
    if (entries.length === 0) decidedIdx = r.decidedIdx;
    logLength = r.logLength;
    if (r.entries.length === 0) break;
    entries.push(...r.entries);
  }
  expect(entries.length, 'entries fetched = logLength').to.equal(logLength);
  return { entries, decidedIdx, logLength };
}


describe('durability with real kvnode processes (fsync on)', function () {
  this.timeout(120_000);

  let dir: string;
  let cluster: LocalCluster | undefined;
  const clients: KvClient[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-durability-'));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster?.stopAll();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function freshCluster(): Promise<LocalCluster> {
    // No compaction: the catch-up test compares whole logs from index 0 (real-compaction.test.ts covers compaction).
    const { file } = await writeTestConfig({ nodes: 3, dir, fsync: true, snapshotEntries: 0 });
    cluster = await startCluster({ configFile: file, fsync: true, logFiles: true });
    return cluster;
  }

  function client(addrs: readonly NodeAddr[], opts: Parameters<typeof connect>[1] = {}): KvClient {
    const c = connect(addrs, opts);
    clients.push(c);
    return c;
  }

  it('kill -9 every node in the middle of writes, restart all: every acknowledged write is there', async () => {
    const c = await freshCluster();
    await c.waitForLeader();
    const addrs = c.nodeIds.map((id) => c.addr(id));

    const WRITERS = 8;
    const KEYS_PER_WRITER = 4;
    const KILL_AFTER_ACKS = 400;

    interface KeyState { key: string; lastAcked: number; lastAttempted: number }
    const keys: KeyState[] = [];
    let acked = 0;
    let stopping = false;
    let killAt: (() => void) | undefined;
    const enoughAcks = new Promise<void>((ok) => { killAt = ok; });
    const outcomes: Record<OpResult['status'], number> = { ok: 0, indeterminate: 0, rejected: 0, mismatch: 0 };
    const notOk: string[] = [];

    // Writer w owns keys w<w>-k<j>; it puts "1", "2", "3"… into each in turn, one op at a time,
    // through its own client (round robin over all three nodes). It stops at the first answer
    // that is not ok (after the kill every op ends indeterminate), or when told to.
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const kv = client(addrs);
      const mine = Array.from({ length: KEYS_PER_WRITER }, (_, j) => {
        const k: KeyState = { key: `w${w}-k${j}`, lastAcked: 0, lastAttempted: 0 };
        keys.push(k);
        return k;
      });
      for (let round = 1; !stopping; round++) {
        for (const k of mine) {
          if (stopping) return;
          k.lastAttempted = round;
          const r = await kv.put(k.key, String(round));
          outcomes[r.status]++;
          if (r.status !== 'ok') {
            notOk.push(`${k.key}←${round}: ${r.status}${'reason' in r ? ` (${r.reason})` : ''}`);
            return;
          }
          k.lastAcked = round;
          if (++acked === KILL_AFTER_ACKS) killAt!();
        }
      }
    });

    // If every writer stopped before the kill (a node refused or lost writes), say why now.
    await Promise.race([enoughAcks, Promise.all(writers).then(() => {
      throw new Error(`the writers stopped after ${acked} acks, before the kill: ${notOk.join('; ')}`);
    })]);
    // Every node gets its SIGKILL in the same synchronous loop: no node outlives another by more
    // than a few microseconds, so none can save or answer anything after the others died.
    stopping = true;
    const ackedBeforeKill = acked;
    c.killAllNow();
    await Promise.all(c.nodeIds.map((id) => c.kill(id))); // waits until each is gone
    for (const id of c.nodeIds) expect(c.state(id), `node ${id}`).to.equal('killed');

    // The writers' in-flight ops run out of nodes to try and end indeterminate.
    await Promise.all(writers);
    for (const kv of clients.splice(0)) kv.close();
    expect(outcomes.rejected, `rejected ops: ${notOk.join('; ')}`).to.equal(0);
    for (const line of notOk) expect(line).to.match(/: indeterminate/);

    await c.startAll();
    const leader = await c.waitForLeader();

    const reader = client(addrs);
    let survivedIndeterminate = 0;
    let lostIndeterminate = 0;
    for (const k of keys) {
      const r = await reader.get(k.key);
      expect(r.status, `get ${k.key}: ${JSON.stringify(r)}`).to.equal('ok');
      if (r.status !== 'ok') continue;
      const v = r.value === null ? 0 : Number(r.value);
      expect(Number.isInteger(v) && (r.value === null || String(v) === r.value), `${k.key} = ${JSON.stringify(r.value)}`).to.equal(true);
      expect(v, `${k.key}: read ${r.value}, last acknowledged ${k.lastAcked}`).to.be.at.least(k.lastAcked);
      expect(v, `${k.key}: read ${r.value}, last attempted ${k.lastAttempted}`).to.be.at.most(k.lastAttempted);
      if (k.lastAttempted > k.lastAcked) {
        if (v === k.lastAttempted) survivedIndeterminate++;
        else lostIndeterminate++;
      }
    }
    console.log(
      `      kill -9 of all 3 nodes after ${ackedBeforeKill} acks: ${outcomes.ok} writes acknowledged ` +
      `(${outcomes.ok - ackedBeforeKill} of them answered just before the kill but read after it), ` +
      `${outcomes.indeterminate} indeterminate (${survivedIndeterminate} of them took effect, ${lostIndeterminate} did not); ` +
      `after the restart node ${leader.leaderId} leads; ${keys.length} keys read back, none lost`,
    );
    expect(outcomes.ok).to.be.at.least(KILL_AFTER_ACKS);
  });

  it("a follower down during 10,000 writes catches up and its log equals the others'", async () => {
    const seed = Number(process.env.KVSH_SEED ?? Date.now() % 0x7fffffff);
    console.log(`      seed ${seed} (KVSH_SEED=${seed} to replay the sample of reads)`);
    const rng = new Rng(seed);
    const random = (): number => rng.next();

    const c = await freshCluster();
    const { leaderId } = await c.waitForLeader();
    const follower = c.nodeIds.find((id) => id !== leaderId)!;
    const others = c.nodeIds.filter((id) => id !== follower);
    await c.kill(follower);

    // 64 closed loops share one client connected to the two nodes that are up.
    const WRITES = 10_000;
    const LOOPS = 64;
    const kv = client(others.map((id) => c.addr(id)));
    let next = 0;
    const failures: string[] = [];
    const t0 = Date.now();
    await Promise.all(Array.from({ length: LOOPS }, async () => {
      for (let i = next++; i < WRITES; i = next++) {
        const r = await kv.put(`f-${i}`, `v${i}`);
        if (r.status !== 'ok') failures.push(`put f-${i}: ${JSON.stringify(r)}`);
      }
    }));
    const writeMs = Date.now() - t0;
    expect(failures, failures.slice(0, 5).join('\n')).to.deep.equal([]);

    await c.restart(follower);
    let polls = 0;
    let target = 0;
    await until(async () => {
      polls++;
      const [f, l] = await Promise.all([c.status(follower), c.status(leaderId)]).catch(() => [undefined, undefined]);
      if (!f || !l) return false;
      target = l.decidedIdx;
      return l.decidedIdx >= WRITES && f.decidedIdx === l.decidedIdx;
    });

    const logs = await Promise.all(c.nodeIds.map(async (id) => ({ id, ...(await fetchWholeLog(c.addr(id))) })));
    const common = Math.min(...logs.map((l) => l.decidedIdx));
    expect(common, 'common decided prefix').to.be.at.least(WRITES);
    for (const l of logs) expect(l.logLength, `node ${l.id} logLength`).to.be.at.least(WRITES);
    const reference = logs.find((l) => l.id === leaderId)!.entries.slice(0, common);
    for (const l of logs) {
      expect(l.entries.slice(0, common), `node ${l.id}'s decided prefix vs the leader's`).to.deep.equal(reference);
    }
    // Every acknowledged put is in that prefix, as one command. The log may hold a copy of a
    // command (a proposal forwarded again after a leader change, or a client's retry): a copy
    // has the same clientId and seq, and the state machine applies it once. A second write of
    // the same key would have another seq.
    const puts = reference.flatMap((e) => (e.kind === 'command' && e.command.op.kind === 'put' ? [e.command] : []));
    const byKey = new Map<string, string>();
    let copies = 0;
    for (const cmd of puts) {
      if (cmd.op.kind !== 'put') continue;
      const id = `${cmd.clientId}#${cmd.seq}`;
      const first = byKey.get(cmd.op.key);
      if (first === undefined) byKey.set(cmd.op.key, id);
      else {
        expect(id, `${cmd.op.key} written twice`).to.equal(first);
        copies++;
      }
    }
    expect(byKey.size, 'distinct keys put').to.equal(WRITES);
    if (copies > 0) console.log(`      (${copies} copies of commands in the log, applied once)`);

    // The restarted follower's own map has the writes: gets entered through it are answered
    // from its state machine.
    const viaFollower = client([c.addr(follower)]);
    const SAMPLE = 200;
    for (let n = 0; n < SAMPLE; n++) {
      const i = Math.floor(random() * WRITES);
      const r = await viaFollower.get(`f-${i}`);
      expect(r, `get f-${i} through node ${follower}`).to.deep.equal({ status: 'ok', value: `v${i}` });
    }
    console.log(
      `      node ${follower} down during ${WRITES} puts (${LOOPS} loops, ${writeMs} ms, all ok); caught up to ` +
      `decidedIdx ${target} after ${polls} status polls; logs ${logs.map((l) => `${l.id}:${l.logLength}/${l.decidedIdx}`).join(' ')} ` +
      `(length/decided) equal over ${common} decided entries; ${SAMPLE} sampled gets through node ${follower} ok`,
    );
  });
});
