/**
 * Log compaction with real kvnode processes (issue 6): a follower is down while 50,000 writes
 * happen and the others compact their logs far past where the follower's log ends. Restarted,
 * it can only catch up by installing a snapshot; afterwards its state machine must equal the
 * others' (every key read through it has the last value written), and the others' data
 * directories stay small.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { connect, type KvClient } from '../src/client/index.js';

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((ok) => setTimeout(ok, 50));
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    total += st.isDirectory() ? dirBytes(join(dir, name)) : st.size;
  }
  return total;
}

/** Runs `count` tasks with at most `loops` in flight. */
async function inLoops(count: number, loops: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: loops }, async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  }));
}

describe('log compaction with real kvnode processes', function () {
  this.timeout(180_000);
  let dir: string;
  let cluster: LocalCluster | undefined;
  const clients: KvClient[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-compaction-'));
  });

  after(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a node down during 50,000 writes installs a snapshot on its return, and its state equals the others\'', async () => {
    const WRITES = 50_000;
    const KEYS = 5_000;
    const SNAPSHOT_ENTRIES = 5_000;
    const { file } = await writeTestConfig({ nodes: 3, dir, fsync: true, snapshotEntries: SNAPSHOT_ENTRIES });
    const c = await startCluster({ configFile: file, fsync: true });
    cluster = c;
    const { leaderId } = await c.waitForLeader();
    const follower = c.nodeIds.find((id) => id !== leaderId)!;
    const others = c.nodeIds.filter((id) => id !== follower);
    await c.kill(follower);

    const kv = connect(others.map((id) => c.addr(id)));
    clients.push(kv);
    const failures: string[] = [];
    const t0 = Date.now();
    // Key k gets the values v(k), v(k + KEYS), …; writes to one key are KEYS apart, far more
    // than the loops in flight, so the last one written is the last one issued.
    await inLoops(WRITES, 64, async (i) => {
      const r = await kv.put(`c-${i % KEYS}`, `v${i}`);
      if (r.status !== 'ok') failures.push(`put c-${i % KEYS} = v${i}: ${JSON.stringify(r)}`);
    });
    const writeMs = Date.now() - t0;
    expect(failures, failures.slice(0, 5).join('\n')).to.deep.equal([]);

    const before = await c.status(leaderId);
    expect(before.decidedIdx, 'decided').to.be.at.least(WRITES);
    // The others compacted far beyond anything the follower has (it was killed before the
    // first write). Each node compacts on its own, at its own indices.
    const othersCompacted = await Promise.all(others.map(async (id) => (await c.status(id)).compactedIdx));
    for (const x of othersCompacted) expect(x, 'compacted by the others').to.be.at.least(WRITES - 2 * SNAPSHOT_ENTRIES);
    const leaderDisk = dirBytes(c.nodeDataDir(leaderId));

    await c.start(follower);
    let status = await c.status(follower);
    await until(async () => {
      const [f, l] = await Promise.all([c.status(follower), c.status(leaderId)]).catch(() => [undefined, undefined]);
      if (!f || !l) return false;
      status = f;
      return f.decidedIdx === l.decidedIdx && f.decidedIdx >= WRITES;
    });
    // It could not have replayed entries nobody has any more: it installed one of their snapshots.
    expect(status.compactedIdx, 'follower compactedIdx').to.be.at.least(Math.min(...othersCompacted));

    // Its state machine answers every key with the last value written.
    const viaFollower = connect([c.addr(follower)]);
    clients.push(viaFollower);
    const wrong: string[] = [];
    await inLoops(KEYS, 32, async (k) => {
      const want = `v${WRITES - KEYS + k}`;
      const r = await viaFollower.get(`c-${k}`);
      if (r.status !== 'ok' || !('value' in r) || r.value !== want) wrong.push(`c-${k}: ${JSON.stringify(r)}, want ${want}`);
    });
    expect(wrong, wrong.slice(0, 5).join('\n')).to.deep.equal([]);

    console.log(
      `      node ${follower} down during ${WRITES} puts on ${KEYS} keys (${writeMs} ms); others compacted to ${othersCompacted.join(' and ')}, `
      + `data dir ${(leaderDisk / 1e6).toFixed(1)} MB; node ${follower} caught up to ${status.decidedIdx} with snapshot ${status.compactedIdx}; `
      + `${KEYS} gets through it ok`,
    );
  });
});
