/**
 * The client against real kvnodes (in this process, over TCP): a recorded workload while a node
 * stops and starts again must give a history the checker accepts.
 */
import { expect } from 'chai';
import { connect, type KvClient } from '../src/client/client.js';
import { fetchStatus } from '../src/client/admin.js';
import { runWorkload } from '../src/client/workload.js';
import { checkHistorySync } from '../src/history/check-history.js';
import { parseHistory } from '../src/history/reader.js';
import { HistoryWriter } from '../src/history/writer.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

describe('client against kvnode in process (3 nodes)', function () {
  this.timeout(120_000);
  let cluster: InProcessCluster;
  let client: KvClient | undefined;

  before(async () => {
    cluster = await InProcessCluster.create(3);
    await cluster.start();
    await cluster.waitForLeader();
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  it('typed results through any entry node', async () => {
    const addrs = [1, 2, 3].map(id => cluster.clientAddr(id));
    for (const prefer of addrs) {
      const c = connect(addrs, { prefer });
      try {
        const key = `typed-${prefer}`;
        expect(await c.get(key)).to.deep.equal({ status: 'ok', value: null });
        expect(await c.put(key, 'a')).to.deep.equal({ status: 'ok' });
        expect(await c.cas(key, 'b', 'c')).to.deep.equal({ status: 'mismatch', current: 'a' });
        expect(await c.cas(key, 'a', 'c')).to.deep.equal({ status: 'ok' });
        expect(await c.delete(key)).to.deep.equal({ status: 'ok', existed: true });
      } finally {
        c.close();
      }
    }
  });

  it('a workload across a node restart records a linearizable history', async () => {
    const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 0x7fff_ffff));
    console.log(`      seed ${seed}`);
    client = connect([1, 2, 3].map(id => cluster.clientAddr(id)), { attemptTimeoutMs: 500 });
    const lines: string[] = [];
    const history = new HistoryWriter(l => { lines.push(l); });
    const victim = (await fetchStatus(cluster.clientAddr(1))).electedBallot.pid || 1;
    const run = runWorkload(client, history, { clients: 5, keys: 3, ops: 400, seed });
    await new Promise(r => setTimeout(r, 200));
    history.nemesis('kill', { node: victim });
    await cluster.stop(victim);
    await new Promise(r => setTimeout(r, 300));
    history.nemesis('restart', { node: victim });
    await cluster.start(victim);
    const report = await run;
    console.log(`      ${JSON.stringify({ ...report, elapsedMs: Math.round(report.elapsedMs) })} client ${JSON.stringify(client.stats)}`);
    expect(report.invoked).to.equal(400);
    const check = checkHistorySync(parseHistory(lines.join('\n')));
    expect(check.verdict, `seed ${seed}`).to.equal('LINEARIZABLE');
    expect(report.ok).to.be.greaterThan(0);
  });
});
