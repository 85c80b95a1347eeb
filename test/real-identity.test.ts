/**
 * Issue 9's field report, with real kvnode processes: five nodes behind relays, a write
 * acknowledged by a quorum that includes node y; y's data directory is deleted and y restarted;
 * then y and the two nodes that missed the write form a majority. The wiped node must be refused
 * as a voter (nothing decided without it, the write not lost), every replica's decided log must
 * be the same after healing, the history linearizable; and the documented recovery — restart it
 * with --replace — must make it a voter again once it has caught up.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { fetchLog } from '../src/client/admin.js';
import { formatAddr } from '../src/client/addr.js';
import { connect, type KvClient } from '../src/client/client.js';
import { HistoryRecorder } from '../src/client/recorder.js';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { checkHistorySync } from '../src/history/check-history.js';
import { parseHistory } from '../src/history/reader.js';
import { HistoryWriter } from '../src/history/writer.js';
import { describeEntry } from '../src/replica/entry.js';

describe('real processes: a node whose data directory was deleted (issue 9)', function () {
  this.timeout(180_000);
  let dir: string;
  let cluster: LocalCluster;
  const clients: KvClient[] = [];
  const lines: string[] = [];
  const history = new HistoryWriter((l) => { lines.push(l); });
  let processes = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-identity-'));
    const { file } = await writeTestConfig({ nodes: 5, dir, fsync: true });
    cluster = await startCluster({ configFile: file, relays: true });
  });
  afterEach(function () {
    cluster.network!.heal();
    if (this.currentTest?.state !== 'failed') return;
    console.log(`      network: ${cluster.network!.describe()}`);
    for (const id of cluster.nodeIds) {
      console.log(`      --- node ${id} (${cluster.state(id)}), last lines:`);
      for (const l of cluster.output(id).slice(-12)) console.log(`        ${l.line}`);
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster?.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A recorded client that knows only these nodes. */
  const clientOf = (ids: readonly number[], attemptTimeoutMs = 1000) => {
    const c = connect(ids.map((id) => formatAddr(cluster.addr(id))), { attemptTimeoutMs, maxAttempts: 3 });
    clients.push(c);
    const first = processes;
    processes += 100;
    return new HistoryRecorder(c, history, first).process();
  };

  /** Resolves once node `id`'s output has a line with `event` (the JSON log's "event"). */
  const logged = async (id: number, event: string, timeoutMs = 30_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = cluster.output(id).map((l) => l.line).find((l) => l.includes(`"event":"${event}"`));
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`node ${id} did not log ${event} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Resolves once some node's output has a line containing `text`. */
  const loggedByAny = async (text: string, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!cluster.nodeIds.some((id) => cluster.output(id).some((l) => l.line.includes(text)))) {
      if (Date.now() > deadline) throw new Error(`no node logged ${text} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Resolves once every node says it is a voter (status `voter`): those that were not at boot have joined. */
  const allVoters = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const polls = await cluster.pollStatuses();
      const voters = cluster.nodeIds.map((id) => { const p = polls.get(id)!; return p.kind === 'status' && p.status.voter; });
      if (voters.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`not every node became a voter: ${voters.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** Every node's decided log, decoded, once all report the same decided index. */
  const decidedLogs = async (timeoutMs = 30_000): Promise<Map<number, string[]>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const polls = await cluster.pollStatuses();
      const decided = cluster.nodeIds.map((id) => { const p = polls.get(id)!; return p.kind === 'status' ? p.status.decidedIdx : -1; });
      if (decided.every((d) => d === decided[0] && d > 0)) {
        const logs = new Map<number, string[]>();
        for (const id of cluster.nodeIds) {
          const r = await fetchLog(cluster.addr(id), 0, decided[0]!);
          logs.set(id, r.entries.slice(0, decided[0]! - r.from).map(describeEntry));
        }
        return logs;
      }
      if (Date.now() > deadline) throw new Error(`decided indices did not converge: ${decided.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('is refused as a voter; the majority that counts it decides nothing; the acknowledged write survives; logs agree', async () => {
    const net = cluster.network!;
    const { leaderId: leader } = await cluster.waitForLeader({ timeoutMs: 30_000 });
    await allVoters();
    const [a, b, x, y] = cluster.nodeIds.filter((id) => id !== leader) as [number, number, number, number];
    console.log(`      leader ${leader}; cut off ${a},${b}; node ${y} will lose its data directory`);

    net.partition([[a, b], [leader, x, y]]);
    const majority = clientOf([leader, x, y], 2000);
    expect(await majority.put('amnesia', 'acked-1')).to.deep.equal({ status: 'ok' });

    await cluster.kill(y);
    rmSync(cluster.nodeDataDir(y), { recursive: true, force: true });
    net.heal();
    net.partition([[leader, x], [y, a, b]]);
    await cluster.start(y);
    expect((await cluster.status(y)).voter, 'the wiped node votes').to.equal(false);

    // {y, a, b} is a majority of the nodes, but only a and b vote: nothing can be decided there.
    const minority = clientOf([y, a, b], 1000);
    const read = await minority.get('amnesia');
    expect(read.status, `a read in {${y},${a},${b}} must not be answered (it got ${JSON.stringify(read)})`).to.equal('indeterminate');
    const write = await minority.put('amnesia', 'lost-if-decided');
    expect(write.status).to.equal('indeterminate');

    net.heal();
    // Synced by the leader, y learns which incarnation the cluster records for it, and says so.
    const refusal = await logged(y, 'not-a-voter');
    expect(refusal).to.match(/data directory is new .* restart it with --replace/);
    // Whichever node leads after the heal refuses y's votes, and says so.
    await loggedByAny(`"event":"vote-refused","peer":${y},`);
    const all = clientOf(cluster.nodeIds, 2000);
    const after = await all.get('amnesia');
    expect(after.status).to.equal('ok');
    // The put in {y, a, b} may take effect after the heal (its outcome was unknown), never the loss of acked-1.
    expect(['acked-1', 'lost-if-decided']).to.include((after as { value: string }).value);

    const logs = await decidedLogs();
    const reference = logs.get(leader)!;
    for (const [id, log] of logs) expect(log, `node ${id}'s decided log`).to.deep.equal(reference);
    console.log(`      every node's decided log is the same ${reference.length} entries`);
  });

  it('restarted with --replace, it joins as a learner, is promoted, and votes again', async () => {
    const { leaderId: leader } = await cluster.waitForLeader({ timeoutMs: 30_000 });
    const y = cluster.nodeIds.find((id) => id !== leader && cluster.output(id).some((l) => l.line.includes('"event":"not-a-voter"')))!;
    expect(y, 'the node refused in the test before').to.not.equal(undefined);
    await cluster.kill(y);
    rmSync(cluster.nodeDataDir(y), { recursive: true, force: true });
    cluster.setReplace(y, true);
    await cluster.start(y);
    cluster.setReplace(y, false);
    await logged(y, 'learner');
    await allVoters();
    await logged(y, 'voter');

    // Now y counts: with two other nodes cut off, y completes a quorum.
    const net = cluster.network!;
    const others = cluster.nodeIds.filter((id) => id !== leader && id !== y);
    net.partition([[others[0]!, others[1]!], [leader, y, others[2]!]]);
    const c = clientOf([leader, y, others[2]!], 2000);
    expect(await c.put('after-replace', 'v')).to.deep.equal({ status: 'ok' });
    expect(await c.get('amnesia')).to.have.property('status', 'ok');
    net.heal();

    const logs = await decidedLogs();
    const reference = logs.get(leader)!;
    for (const [id, log] of logs) expect(log, `node ${id}'s decided log`).to.deep.equal(reference);
    expect(reference.some((e) => e.startsWith(`join node ${y} `) && e.endsWith('(replace)'))).to.equal(true);
    expect(reference.some((e) => e.startsWith(`promote node ${y} `))).to.equal(true);

    const report = checkHistorySync(parseHistory(lines.join('\n')));
    if (report.verdict !== 'LINEARIZABLE') {
      const file = join(tmpdir(), `kvsh-identity-${Date.now()}.jsonl`);
      writeFileSync(file, lines.join('\n') + '\n');
      expect.fail(`${report.verdict}; history in ${file}`);
    }
    console.log(`      ${lines.length} history events, LINEARIZABLE`);
  });

  it('the bootstrap server itself, wiped and restarted with --replace, joins the cluster that exists instead of booting a new one', async () => {
    const bootstrap = 1;
    const waited = (): number => cluster.output(bootstrap).filter((l) => l.line.includes('"event":"bootstrap-waiting"')).length;
    const waitedBefore = waited();
    await cluster.kill(bootstrap);
    rmSync(cluster.nodeDataDir(bootstrap), { recursive: true, force: true });
    cluster.setReplace(bootstrap, true);
    await cluster.start(bootstrap);
    cluster.setReplace(bootstrap, false);
    await logged(bootstrap, 'learner');
    await allVoters();
    expect(waited(), 'it did not wait as a bootstrap server again').to.be.at.most(waitedBefore);
    const logs = await decidedLogs();
    const reference = [...logs.values()][0]!;
    for (const [id, log] of logs) expect(log, `node ${id}'s decided log`).to.deep.equal(reference);
    expect(reference.filter((e) => e.startsWith(`join node ${bootstrap} `))).to.have.length.greaterThan(0);
  });
});
