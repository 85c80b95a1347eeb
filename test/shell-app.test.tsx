/**
 * The interactive kvsh through ink-testing-library: the status pane drawn from a made-up
 * cluster view, then the whole App (status pane, output pane, prompt) driving a real
 * ShellSession on a 3-node in-process cluster, and the output pane's clipping to the rows it has.
 */
import React from 'react';
import { expect } from 'chai';
import { Box } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { parseAddr } from '../src/client/addr.js';
import type { StatusResponse } from '../src/wire/messages.js';
import type { Ballot } from '../src/replica/ballot.js';
import { LineHistory } from '../src/shell/line-history.js';
import { ShellSession } from '../src/shell/session.js';
import type { ClusterView, NodeView } from '../src/shell/status-poller.js';
import { App } from '../src/shell/ui/app.js';
import { OutputStore } from '../src/shell/ui/output-store.js';
import { StatusPane } from '../src/shell/ui/status-pane.js';
import { WorkloadRun, type WorkloadSpec } from '../src/shell/workloads.js';
import { LatencyRecorder } from '../src/shell/latency.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
const BOTTOM: Ballot = { n: 0, priority: 0, pid: 0 };
/** The status pane's title once a poll found an elected leader. */
const LEADER = /leader \d \(ballot \d+\.\d+\.\d\)/;

/** Polls `lastFrame()` until `pred` holds; fails with the last frame after `timeoutMs`. */
async function frameUntil(lastFrame: () => string | undefined, pred: (frame: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = lastFrame() ?? '';
    if (pred(f)) return f;
    if (Date.now() > deadline) expect.fail(`no frame with ${what} within ${timeoutMs} ms; last frame:\n${f}`);
    await tick(25);
  }
}

/** Frame lines with trailing blanks removed. */
const linesOf = (frame: string): string[] => frame.split('\n').map((l) => l.trimEnd());

function status(over: Partial<StatusResponse> & Pick<StatusResponse, 'nodeId'>): StatusResponse {
  return {
    kind: 'status-response', requestId: 1, role: 'follower', phase: 'accept',
    leaderBallot: BOTTOM, electedBallot: BOTTOM, quorumConnected: true, promised: BOTTOM, acceptedRnd: BOTTOM,
    logLength: 0, decidedIdx: 0, appliedIdx: 0, compactedIdx: 0, incarnation: '0123456789abcdef', voter: true, fsync: false, peers: [], ...over,
  };
}

/** A WorkloadRun as the pane sees one, without clients behind it. */
function fakeRun(id: number, spec: WorkloadSpec, counts: WorkloadRun['counts'], startedAt: number, finishedAt?: number): WorkloadRun {
  const run = Object.create(WorkloadRun.prototype) as WorkloadRun;
  return Object.assign(run, { id, spec, counts, startedAt, finishedAt, latency: new LatencyRecorder(), recent: [] as number[] });
}

describe('shell Ink app', function () {
  this.timeout(60_000);
  afterEach(() => cleanup());

  describe('StatusPane with a made-up cluster view', () => {
    const ballot: Ballot = { n: 7, priority: 0, pid: 2 };
    const addr = (port: number) => ({ host: '127.0.0.1', port });
    const now = 1_000_000;
    const nodes: NodeView[] = [
      // Given out of order: the pane sorts by id.
      {
        id: 3, addr: addr(7003), process: 'killed', poll: { kind: 'skipped', reason: 'killed' },
      },
      {
        id: 1, addr: addr(7001), process: 'running',
        poll: { kind: 'status', status: status({ nodeId: 1, electedBallot: ballot, promised: ballot, decidedIdx: 40, logLength: 41 }) },
      },
      {
        id: 2, addr: addr(7002), process: 'running',
        poll: { kind: 'status', status: status({ nodeId: 2, role: 'leader', leaderBallot: ballot, electedBallot: ballot, promised: ballot, decidedIdx: 42, logLength: 43, compactedIdx: 20 }) },
      },
      {
        id: 4, addr: addr(7004), process: 'paused', poll: { kind: 'error', message: 'status-request failed: timed out after 300 ms' },
      },
      {
        id: 5, addr: addr(7005), process: 'running',
        poll: { kind: 'status', status: status({ nodeId: 5, phase: 'recover', electedBallot: ballot, quorumConnected: false, decidedIdx: 12, logLength: 30 }) },
      },
    ];
    const view: ClusterView = { time: now, nodes, leader: { leaderId: 2, ballot }, polls: 9 };
    const spec: WorkloadSpec = { clients: 4, workload: 'mixed', durationMs: 30_000, nodes: [addr(7001)], nodeLabel: 'all nodes', keys: 5, keyPrefix: '', seed: 1 };
    const running = fakeRun(1, spec, { ok: 120, fail: 7, info: 2, rejected: 0, invoked: 129 }, now - 2500);

    function pane(over: Partial<React.ComponentProps<typeof StatusPane>> = {}) {
      const { lastFrame } = render(
        <StatusPane view={view} label="local cluster (5 nodes)" workloads={[running]} recording={null} timing={false} now={now} {...over} />,
      );
      return linesOf(lastFrame() ?? '');
    }

    /** The pane's row for node `id` (inside the border). */
    const row = (lines: string[], id: string) => {
      const r = lines.find((l) => new RegExp(`^│ ${id.replace('*', '\\*')} `).test(l));
      expect(r, `row of node ${id} in\n${lines.join('\n')}`).to.be.a('string');
      return r!.replace(/^│ /, '').replace(/ *│$/, '');
    };

    it('names the leader and its ballot in the title line', () => {
      const lines = pane();
      expect(lines[1]).to.match(/kvsh · local cluster \(5 nodes\) · leader 2 \(ballot 7\.0\.2\)/);
    });

    it('shows every node\'s state, role, phase, ballot, snapshot index, decided index and log length, sorted, leader marked', () => {
      const lines = pane();
      const ids = lines.map((l) => /^│ (\d\*?) /.exec(l)?.[1]).filter((x) => x !== undefined);
      expect(ids).to.deep.equal(['1', '2*', '3', '4', '5']);
      expect(row(lines, '1').split(/\s+/)).to.deep.equal(['1', 'up', 'follower', 'accept', '7.0.2', '0', '40', '41', 'yes']);
      expect(row(lines, '2*').split(/\s+/)).to.deep.equal(['2*', 'up', 'leader', 'accept', '7.0.2', '20', '42', '43', 'yes']);
      expect(row(lines, '5').split(/\s+/)).to.deep.equal(['5', 'up', 'follower', 'recover', '7.0.2', '0', '12', '30', 'no']);
    });

    it('shows a killed node as down (with why) and a paused node as paused', () => {
      const lines = pane();
      expect(row(lines, '3').split(/\s+/)).to.deep.equal(['3', 'down', 'killed']);
      expect(row(lines, '4').split(/\s+/)).to.deep.equal(['4', 'paused', 'no', 'answer']);
    });

    it('has a header over the columns', () => {
      const lines = pane();
      expect(lines[2]).to.match(/^│ node\s+state\s+role\s+phase\s+ballot\s+snapshot\s+decided\s+log\s+quorum/);
    });

    it('shows a running workload with its counters', () => {
      const lines = pane();
      const w = lines.find((l) => l.includes('clients #1'));
      expect(w, lines.join('\n')).to.be.a('string');
      expect(w).to.contain('clients #1 4×mixed on all nodes for 30.0s');
      expect(w).to.match(/ok 120\s+fail 7\s+\? 2\s+0 ops\/s\s+2\.5s\/30s/);
      expect(w).to.not.contain('finished');
    });

    it('keeps a finished workload for a while, marked finished, then drops it', () => {
      const done = fakeRun(2, { ...spec, clients: 2, durationMs: undefined }, { ok: 5, fail: 0, info: 0, rejected: 0, invoked: 5 }, now - 9000, now - 4000);
      const lines = pane({ workloads: [done] });
      const w = lines.find((l) => l.includes('clients #2'));
      expect(w).to.contain('finished');
      expect(w).to.match(/ok 5\s+fail 0\s+\? 0\s+5\.0s/);
      expect(pane({ workloads: [done], now: now + 10_000 }).join('\n')).to.not.contain('clients #2');
    });

    it('says when there is no leader, and before the first poll', () => {
      expect(pane({ view: { ...view, leader: undefined } })[1]).to.contain('no leader');
      expect(pane({ view: { time: 0, nodes: [], leader: undefined, polls: 0 } })[1]).to.contain('polling…');
    });

    it('shows the recording and timing', () => {
      const title = pane({ label: 'lc', recording: { file: '/r/a.jsonl', events: 12 }, timing: true })[1]!;
      expect(title).to.match(/^│ kvsh · lc · leader 2 \(ballot 7\.0\.2\) · ● recording \/r\/a\.jsonl \(12 events\) · timing on +│$/);
    });

    it('keeps one row per line however narrow: the app budgets its height by line count', () => {
      const long = { file: `/tmp/${'very-long-directory-name/'.repeat(4)}drill.jsonl`, events: 123_456 };
      for (const width of [100, 60, 40]) {
        const { lastFrame } = render(
          <Box width={width}>
            <StatusPane view={view} label="local cluster (5 nodes)" workloads={[running]} recording={long} timing now={now} />
          </Box>,
        );
        const lines = linesOf(lastFrame() ?? '');
        // Border, title, header, 5 nodes, 1 workload, border.
        expect(lines, `width ${width}:\n${lines.join('\n')}`).to.have.length(5 + 1 + 4);
        expect(lines[1]).to.match(/^│ kvsh · local cluster/);
        expect(lines.every((l) => l.length <= width), `width ${width}`).to.equal(true);
      }
    });
  });

  describe('App with a session on a 3-node in-process cluster', () => {
    let cluster: InProcessCluster;
    const sessions: ShellSession[] = [];

    before(async () => {
      cluster = await InProcessCluster.create(3, {}, false);
      await cluster.start();
      await cluster.waitForLeader();
    });
    afterEach(async () => {
      cleanup();
      await Promise.all(sessions.splice(0).map((s) => s.close()));
    });
    after(async () => {
      await cluster?.destroy();
    });

    function app(rows = 40, columns = 100, startPolling = true) {
      const store = new OutputStore();
      const session = new ShellSession({
        nodes: [1, 2, 3].map((id) => ({ id, addr: parseAddr(cluster.clientAddr(id)) })), output: store, pollMs: 100,
      });
      sessions.push(session);
      if (startPolling) session.start();
      const r = render(
        <App session={session} store={store} history={new LineHistory(null)} label="3 nodes" rows={rows} columns={columns} tickMs={100} />,
      );
      const type = async (text: string) => {
        await tick();
        r.stdin.write(text);
        await tick();
        r.stdin.write('\r');
        await tick();
      };
      return { ...r, store, session, type };
    }

    /** Output-pane lines: the frame between the status pane's bottom border and the prompt. */
    function outputLines(frame: string): string[] {
      const lines = linesOf(frame);
      const bottom = lines.findIndex((l) => l.startsWith('╰'));
      return lines.slice(bottom + 1, lines.length - 2);
    }

    it('shows the leader in the status pane once polled', async () => {
      const { lastFrame } = app();
      // Once every node votes: the node that was not there at the boot is a learner until its join is decided.
      const frame = await frameUntil(lastFrame, (f) => LEADER.test(f) && !/\blearner\b/.test(f), 'a leader, every node a voter');
      const lines = linesOf(frame);
      const [, id, pid] = /kvsh · 3 nodes · leader (\d) \(ballot \d+\.\d+\.(\d)\)/.exec(lines[1]!) ?? [];
      expect(id, lines[1]).to.be.a('string');
      // A ballot names the node that leads it.
      expect(pid).to.equal(id);
      // The same poll marks that node's row, and only that one, as the leader.
      for (const n of ['1', '2', '3']) {
        const role = n === id ? 'leader' : 'follower';
        expect(frame).to.match(new RegExp(`^│ ${n}${n === id ? '\\*' : ' '}\\s+up\\s+${role}\\s+accept\\s+\\d+\\.\\d+\\.${id}\\s+\\d+\\s+\\d+\\s+\\d+ yes`, 'm'));
      }
      expect(lines.at(-1)).to.match(/^kvsh>/);
      expect(lines.length).to.be.at.most(40);
    });

    it('runs typed commands: put shows OK, get shows the value, an unknown command an error', async () => {
      const { lastFrame, type } = app();
      await frameUntil(lastFrame, (f) => LEADER.test(f), 'a leader');
      await type('put a 1');
      let frame = await frameUntil(lastFrame, (f) => outputLines(f).includes('OK'), 'OK');
      expect(outputLines(frame)).to.include('kvsh> put a 1');
      await type('get a');
      frame = await frameUntil(lastFrame, (f) => outputLines(f).includes('"1"'), '"1"');
      const out = outputLines(frame);
      expect(out.indexOf('kvsh> get a')).to.be.greaterThan(out.indexOf('OK'));
      expect(out.indexOf('"1"')).to.be.greaterThan(out.indexOf('kvsh> get a'));
      await type('frob 1');
      frame = await frameUntil(lastFrame, (f) => f.includes('unknown command "frob"'), 'the unknown-command error');
      expect(outputLines(frame).filter((l) => l !== '').at(-1)).to.match(/^frob: unknown command "frob"/);
      // The prompt is empty again after each Enter.
      expect(linesOf(frame).at(-1)).to.equal('kvsh>');
    });

    it('shows a client workload\'s counters in the status pane', async () => {
      const { lastFrame, type, session } = app();
      await frameUntil(lastFrame, (f) => LEADER.test(f), 'a leader');
      await type('clients 2 mixed for 1s');
      const live = await frameUntil(
        lastFrame, (f) => /clients #1 2×mixed on all nodes for 1\.0s\s+ok [1-9]\d*\s+fail \d+\s+\? \d+/.test(f), 'the workload counters',
      );
      expect(live).to.contain('clients #1 2×mixed on all nodes for 1.0s started');
      const done = await frameUntil(lastFrame, (f) => /clients #1 .* finished\s+ok \d+/.test(f), 'the finished workload');
      const w = session.workloads[0]!;
      expect(w.running).to.equal(false);
      const paneLine = linesOf(done).find((l) => l.includes('clients #1') && l.includes('finished  ok'))!;
      expect(paneLine).to.contain(`ok ${w.counts.ok}`);
      expect(paneLine).to.contain(`fail ${w.counts.fail}`);
      expect(linesOf(done).length).to.be.at.most(40);
      // The summary lands in the output pane.
      expect(done).to.match(/clients #1 2×mixed on all nodes for 1\.0s finished: \d+ ops in/);
    });

    it('the output pane keeps the newest lines that fit the rows it has', async () => {
      const rows = 20;
      // Not polling: the status pane has no node rows, so its height is fixed (4 rows).
      const { lastFrame, store } = app(rows, 80, false);
      for (let i = 0; i < 50; i++) store.emit({ kind: 'result', text: `line ${i}` });
      store.emit({ kind: 'result', text: 'multi a\nmulti b' });
      await tick(50);
      const frame = lastFrame() ?? '';
      const lines = linesOf(frame);
      expect(lines.length).to.be.at.most(rows);
      const shown = outputLines(frame);
      // 20 rows − 4 (status pane) − 1 (running line) − 1 (prompt) − 1 spare = 13.
      expect(shown).to.deep.equal([...Array.from({ length: 11 }, (_, i) => `line ${39 + i}`), 'multi a', 'multi b']);
      expect(frame).to.not.contain('line 38');
      expect(lines.at(-1)).to.equal('kvsh>');
    });

    it('a longer terminal shows more of the output', async () => {
      const { lastFrame, store } = app(30, 80, false);
      for (let i = 0; i < 50; i++) store.emit({ kind: 'info', text: `entry ${i}` });
      await tick(50);
      const shown = outputLines(lastFrame() ?? '');
      expect(shown).to.have.length(23);
      expect(shown.at(-1)).to.equal('entry 49');
      expect(shown[0]).to.equal('entry 27');
    });

    it('PageUp scrolls back and PageDown returns to the newest lines', async () => {
      const { lastFrame, store, stdin } = app(20, 80, false);
      for (let i = 0; i < 50; i++) store.emit({ kind: 'result', text: `row ${i}` });
      await tick(50);
      stdin.write('\u001B[5~'); // PageUp
      await tick(50);
      let frame = lastFrame() ?? '';
      expect(outputLines(frame).at(-1)).to.equal('row 39');
      expect(frame).to.contain('scrolled up 10 lines');
      stdin.write('\u001B[6~'); // PageDown
      await tick(50);
      frame = lastFrame() ?? '';
      expect(outputLines(frame).at(-1)).to.equal('row 49');
      expect(frame).to.not.contain('scrolled up');
    });
  });
});
