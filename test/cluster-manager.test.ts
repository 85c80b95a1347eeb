/**
 * The local cluster manager (src/cluster) against real processes: a fake node script for the
 * process machinery (test/support/cluster-fake-node.ts), and the real cli/kvnode.ts for one
 * election / failover / restart round. Every test stops every process it starts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { loadClusterConfig } from '../src/node/config.js';
import {
  EFFECTIVE_CONFIG_FILE, findLeader, freePorts, removeNodeData, scriptCommand, startCluster, writeTestConfig,
  type ClusterEvent, type LocalCluster, type NodePoll, type StartClusterOptions,
} from '../src/cluster/index.js';
import type { StatusResponse } from '../src/wire/messages.js';
import { formatEvent } from '../src/cluster/format.js';
import { LineRing } from '../src/cluster/line-ring.js';
import { projectRoot } from './support/paths.js';

const fakeNode = scriptCommand(resolve(projectRoot, 'test', 'support', 'cluster-fake-node.ts'));

/** True once `pid` is no process, or a zombie nobody has reaped yet (it runs no code). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return procState(pid) === 'Z';
}

/** The state letter in /proc/<pid>/stat (R, S, T for stopped, Z for zombie…). */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

/**
 * Re-checks a condition every 20 ms until it holds. Only for what no event tells us (another
 * process's pid disappearing, the kernel stopping a process); the test's timeout bounds it.
 */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((ok) => setTimeout(ok, 20));
}

function nextEvent(c: LocalCluster, pred: (e: ClusterEvent) => boolean): Promise<ClusterEvent> {
  return new Promise((ok) => {
    const off = c.subscribe((e) => {
      if (pred(e)) {
        off();
        ok(e);
      }
    });
  });
}

describe('cluster manager', function () {
  let dir: string;
  let cluster: LocalCluster | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-cluster-'));
  });

  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function fakeCluster(nodes: number, more: Partial<StartClusterOptions> = {}): Promise<LocalCluster> {
    const { file } = await writeTestConfig({ nodes, dir });
    cluster = await startCluster({ configFile: file, nodeCommand: fakeNode, ...more });
    return cluster;
  }

  describe('ports and test configs', () => {
    it('freePorts gives distinct ports', async () => {
      const ports = await freePorts(10);
      expect(new Set(ports).size).to.equal(10);
      for (const p of ports) expect(p).to.be.within(1, 65535);
    });

    it('writeTestConfig writes a valid config with fresh ports and an absolute data directory', async () => {
      const { file, config } = await writeTestConfig({ nodes: 5, dir, timing: { tickMs: 10 } });
      expect(loadClusterConfig(file)).to.deep.equal(config);
      expect(config.nodes.map((n) => n.id)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(config.dataDir).to.equal(join(dir, 'data'));
      expect(config.timing.tickMs).to.equal(10);
      expect(config.bootThreshold).to.equal(3);
      const ports = config.nodes.flatMap((n) => [n.peerPort, n.clientPort]);
      expect(new Set(ports).size).to.equal(10);
      expect(ports).to.not.include(7101);
      expect(config.snapshotEntries, 'absent: the node default').to.equal(undefined);
    });

    it('writeTestConfig passes snapshotEntries (log compaction) through to the config', async () => {
      const { file, config } = await writeTestConfig({ nodes: 3, dir, snapshotEntries: 50 });
      expect(config.snapshotEntries).to.equal(50);
      expect(loadClusterConfig(file).snapshotEntries).to.equal(50);
      await writeTestConfig({ nodes: 3, dir, snapshotEntries: -1 }).then(
        () => expect.fail('a negative snapshotEntries was accepted'),
        (e: Error) => expect(e.message).to.match(/snapshotEntries/),
      );
    });
  });

  describe('output lines', () => {
    it('the ring keeps the last lines, oldest first', () => {
      const r = new LineRing<number>(3);
      expect(r.toArray()).to.deep.equal([]);
      for (let i = 1; i <= 5; i++) r.push(i);
      expect(r.toArray()).to.deep.equal([3, 4, 5]);
      expect(r.size).to.equal(3);
    });

    it('a kvnode record becomes one readable line; an unexpected exit says so', () => {
      const line = '{"time":"2026-01-01T10:00:00.000Z","node":2,"level":"warn","event":"peer-down","peer":3,"reason":"closed by the other side"}';
      const text = formatEvent({ type: 'output', nodeId: 2, stream: 'stdout', line, time: 0, record: JSON.parse(line) });
      expect(text).to.equal('10:00:00.000 node 2 WARN peer-down peer=3 reason="closed by the other side"');
      const exit = formatEvent({ type: 'exit', nodeId: 1, pid: 42, exit: { code: 1, signal: null }, expected: false, forced: false });
      expect(exit).to.match(/node 1 manager: EXITED UNEXPECTEDLY \(1, pid 42\)$/);
    });
  });

  describe('findLeader', () => {
    const b = (n: number, pid: number) => ({ n, priority: 0, pid });
    const bottom = b(0, 0);
    function st(nodeId: number, over: Partial<StatusResponse>): NodePoll {
      return {
        kind: 'status',
        status: {
          kind: 'status-response', requestId: 0, nodeId, role: 'follower', phase: 'accept', leaderBallot: bottom,
          electedBallot: bottom, quorumConnected: true, promised: bottom, acceptedRnd: bottom, logLength: 0,
          decidedIdx: 0, appliedIdx: 0, compactedIdx: 0, incarnation: '0123456789abcdef', voter: true, fsync: true, peers: [], ...over,
        },
      };
    }
    const leader = (id: number, ballot = b(1, id)) => st(id, { role: 'leader', leaderBallot: ballot, electedBallot: ballot });

    it('needs a leader in the accept phase backed by a majority of the whole cluster', () => {
      const polls = new Map<number, NodePoll>([
        [1, leader(1)], [2, st(2, { electedBallot: b(1, 1) })], [3, st(3, { electedBallot: b(1, 1) })],
        [4, { kind: 'error', message: 'refused' }], [5, { kind: 'skipped', reason: 'killed' }],
      ]);
      expect(findLeader(polls, 5)).to.deep.equal({ leaderId: 1, ballot: b(1, 1) });
      // Two backers (the leader included) of five is not a majority, even if only they answered.
      polls.set(3, { kind: 'error', message: 'timeout' });
      expect(findLeader(polls, 5)).to.equal(undefined);
      expect(findLeader(polls, 3)).to.deep.equal({ leaderId: 1, ballot: b(1, 1) });
    });

    it('ignores a leader still in the prepare phase, and ballots not above `after`', () => {
      const polls = new Map<number, NodePoll>([
        [1, st(1, { role: 'leader', phase: 'prepare', leaderBallot: b(2, 1), electedBallot: b(2, 1) })],
        [2, st(2, { electedBallot: b(2, 1) })], [3, st(3, { electedBallot: b(2, 1) })],
      ]);
      expect(findLeader(polls, 3)).to.equal(undefined);
      polls.set(1, leader(1, b(2, 1)));
      expect(findLeader(polls, 3)?.leaderId).to.equal(1);
      expect(findLeader(polls, 3, b(2, 1))).to.equal(undefined);
      expect(findLeader(polls, 3, b(1, 3))?.leaderId).to.equal(1);
    });

    it('does not count followers that elected another ballot', () => {
      const polls = new Map<number, NodePoll>([
        [1, leader(1)], [2, st(2, { electedBallot: b(2, 3) })], [3, st(3, { electedBallot: b(2, 3) })],
      ]);
      expect(findLeader(polls, 3)).to.equal(undefined);
    });
  });

  describe('with fake nodes', () => {
    it('starts, finds the leader, and stopAll leaves no process behind (twice is fine)', async () => {
      const events: ClusterEvent[] = [];
      const c = await fakeCluster(3, { onEvent: (e) => events.push(e) });
      expect(c.nodeIds).to.deep.equal([1, 2, 3]);
      const pids = c.nodeIds.map((id) => c.pid(id)!);
      for (const id of c.nodeIds) expect(c.state(id)).to.equal('running');
      for (const pid of pids) expect(pid).to.be.a('number').and.satisfy((p: number) => !gone(p));

      expect(await c.waitForLeader()).to.deep.equal({ leaderId: 1, ballot: { n: 1, priority: 0, pid: 1 } });
      expect((await c.status(2)).nodeId).to.equal(2);
      expect(c.output(1).some((l) => l.record?.event === 'listening')).to.equal(true);

      await c.stopAll();
      for (const id of c.nodeIds) expect(c.state(id)).to.equal('stopped');
      for (const pid of pids) expect(gone(pid), `pid ${pid}`).to.equal(true);
      for (const id of c.nodeIds) expect(c.info(id).lastExit).to.deep.equal({ code: 0, signal: null });
      const exits = events.filter((e) => e.type === 'exit');
      expect(exits).to.have.length(3);
      expect(exits.every((e) => e.type === 'exit' && e.expected && !e.forced)).to.equal(true);
      await c.stopAll();
    });

    it('kill, pause, resume and restart change the state of one node', async () => {
      const c = await fakeCluster(3);
      const pid2 = c.pid(2)!;
      await c.kill(2);
      expect(c.state(2)).to.equal('killed');
      expect(c.info(2).lastExit).to.deep.equal({ code: null, signal: 'SIGKILL' });
      expect(c.pid(2)).to.equal(undefined);
      expect(gone(pid2)).to.equal(true);
      await c.kill(2); // no process: nothing to do

      const pid3 = c.pid(3)!;
      c.pause(3);
      expect(c.state(3)).to.equal('paused');
      await until(() => procState(pid3) === 'T');
      // A stopped process answers nothing; the client's own timeout ends the request.
      let err: Error | undefined;
      await c.status(3, { timeoutMs: 200 }).catch((e: Error) => { err = e; });
      expect(err?.message).to.match(/no answer|timeout/);
      c.resume(3);
      expect(c.state(3)).to.equal('running');
      expect((await c.status(3)).nodeId).to.equal(3);
      expect(c.pid(3)).to.equal(pid3);

      await c.restart(2);
      expect(c.state(2)).to.equal('running');
      expect(c.pid(2)).to.not.equal(pid2);
      const pid1 = c.pid(1)!;
      await c.restart(1); // a running node: killed first
      expect(c.pid(1)).to.not.equal(pid1);
      expect(gone(pid1)).to.equal(true);
      expect((await c.waitForLeader()).leaderId).to.equal(1);

      await c.stop(3);
      expect(c.state(3)).to.equal('stopped');
      await c.start(3);
      expect(c.state(3)).to.equal('running');
      await c.start(3).then(() => expect.fail('started twice'), (e: Error) => expect(e.message).to.match(/already running/));
      expect(() => c.resume(2)).to.not.throw(); // running already: no-op
      await c.kill(2);
      expect(() => c.pause(2)).to.throw(/killed/);
      expect(() => c.state(9)).to.throw(/not in the cluster/);
    });

    it('stopAll continues paused nodes so they exit cleanly', async () => {
      const c = await fakeCluster(3);
      const pids = c.nodeIds.map((id) => c.pid(id)!);
      c.pause(1);
      c.pause(2);
      await until(() => procState(pids[0]!) === 'T' && procState(pids[1]!) === 'T');
      await c.stopAll();
      for (const id of c.nodeIds) {
        expect(c.state(id)).to.equal('stopped');
        expect(c.info(id).lastExit).to.deep.equal({ code: 0, signal: null });
      }
      for (const pid of pids) expect(gone(pid)).to.equal(true);
    });

    it('reports an exit nobody asked for', async () => {
      const c = await fakeCluster(3);
      const pid = c.pid(2)!;
      const exit = nextEvent(c, (e) => e.type === 'exit');
      process.kill(pid, 'SIGKILL');
      const e = await exit;
      expect(e).to.include({ type: 'exit', nodeId: 2, pid, expected: false });
      expect(c.state(2)).to.equal('exited(SIGKILL)');
    });

    it('falls back to SIGKILL when a node ignores SIGTERM', async () => {
      const c = await fakeCluster(1, { env: { FAKE_NODE_IGNORE_SIGTERM: '1' }, stopGraceMs: 200 });
      const exit = nextEvent(c, (e) => e.type === 'exit');
      await c.stopAll();
      expect(await exit).to.deep.include({ expected: true, forced: true, exit: { code: null, signal: 'SIGKILL' } });
      expect(c.state(1)).to.equal('stopped');
    });

    it('rejects when a node exits before listening, with its stderr, and leaves nothing running', async () => {
      const { file } = await writeTestConfig({ nodes: 3, dir });
      const pids: number[] = [];
      let err: Error | undefined;
      await startCluster({
        configFile: file, nodeCommand: fakeNode, env: { FAKE_NODE_FAIL: '1' },
        onEvent: (e) => { if (e.type === 'state' && e.state === 'starting' && e.pid) pids.push(e.pid); },
      }).catch((e: Error) => { err = e; });
      expect(err?.message).to.match(/node 1 exited \(2\) before listening/);
      expect(err?.message).to.include('refusing to start (FAKE_NODE_FAIL)');
      expect(pids).to.have.length(3);
      for (const pid of pids) expect(gone(pid)).to.equal(true);
    });

    it('waitForLeader gives up with every node\'s last answer', async () => {
      const c = await fakeCluster(3, { env: { FAKE_NODE_NO_LEADER: '1' } });
      await c.kill(3);
      let err: Error | undefined;
      await c.waitForLeader({ timeoutMs: 300 }).catch((e: Error) => { err = e; });
      expect(err?.message).to.match(/^no leader elected within 300 ms/);
      expect(err?.message).to.match(/node 1: follower phase=none/);
      expect(err?.message).to.match(/node 3: not asked \(killed\)/);
    });

    it('starts only the nodes asked for; a data directory override gets an effective config', async () => {
      const { file } = await writeTestConfig({ nodes: 3, dir });
      const data = join(dir, 'elsewhere');
      cluster = await startCluster({ configFile: file, dataDir: data, nodes: [1, 3], nodeCommand: fakeNode, logFiles: true });
      expect(cluster.state(2)).to.equal('stopped');
      expect(cluster.state(1)).to.equal('running');
      expect(cluster.configFile).to.equal(join(data, EFFECTIVE_CONFIG_FILE));
      expect(loadClusterConfig(cluster.configFile).dataDir).to.equal(data);
      await cluster.stopAll();
      expect(readFileSync(join(data, 'node-1.log'), 'utf8')).to.match(/"event":"listening"/);
      expect(existsSync(join(data, 'node-2.log'))).to.equal(false);
    });

    it('fresh deletes the node directories and log files, nothing else', async () => {
      const { file, config } = await writeTestConfig({ nodes: 3, dir });
      mkdirSync(join(config.dataDir, 'node-2'), { recursive: true });
      writeFileSync(join(config.dataDir, 'node-2', 'wal'), 'x');
      writeFileSync(join(config.dataDir, 'node-3.log'), 'x');
      writeFileSync(join(config.dataDir, 'keep.txt'), 'x');
      cluster = await startCluster({ configFile: file, nodeCommand: fakeNode, fresh: true });
      expect(existsSync(join(config.dataDir, 'node-2'))).to.equal(false);
      expect(existsSync(join(config.dataDir, 'node-3.log'))).to.equal(false);
      expect(existsSync(join(config.dataDir, 'keep.txt'))).to.equal(true);
      removeNodeData(config.dataDir, [7]); // nothing there: fine
    });

    it('nodes exit when their manager is killed with SIGKILL', async () => {
      const { file } = await writeTestConfig({ nodes: 3, dir });
      const parent = spawn(process.execPath, ['--import', 'tsx', resolve(projectRoot, 'test', 'support', 'cluster-parent.ts'), file], {
        cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((ok) => parent.once('exit', ok));
      try {
        const first = await new Promise<string>((ok, fail) => {
          createInterface({ input: parent.stdout! }).once('line', ok);
          parent.once('exit', (code) => fail(new Error(`the parent exited (${code}) before starting its cluster`)));
        });
        const { pids } = JSON.parse(first) as { pids: number[] };
        expect(pids).to.have.length(3);
        for (const pid of pids) expect(gone(pid)).to.equal(false);
        parent.kill('SIGKILL');
        await exited;
        await until(() => pids.every(gone));
      } finally {
        parent.kill('SIGKILL');
        await exited;
      }
    });
  });

  describe('with the real kvnode', () => {
    it('elects a leader, elects another after kill -9 of the leader, takes the old one back after a restart', async () => {
      const { file } = await writeTestConfig({ nodes: 3, dir });
      cluster = await startCluster({ configFile: file, logFiles: true });
      const c = cluster;
      const first = await c.waitForLeader();
      const oldPid = c.pid(first.leaderId)!;

      await c.kill(first.leaderId);
      expect(c.state(first.leaderId)).to.equal('killed');
      expect(gone(oldPid)).to.equal(true);
      const second = await c.waitForLeader({ after: first.ballot });
      expect(second.leaderId).to.not.equal(first.leaderId);

      await c.restart(first.leaderId);
      expect(c.state(first.leaderId)).to.equal('running');
      // Back from its WAL, it rejoins: it names an elected leader again.
      await until(async () => (await c.status(first.leaderId).catch(() => undefined))?.electedBallot.pid !== 0 || false);
      const third = await c.waitForLeader();
      expect(c.nodeIds).to.include(third.leaderId);

      const pids = c.nodeIds.map((id) => c.pid(id)!);
      await c.stopAll();
      for (const id of c.nodeIds) expect(c.info(id).lastExit).to.deep.equal({ code: 0, signal: null });
      for (const pid of pids) expect(gone(pid)).to.equal(true);
    });
  });
});
