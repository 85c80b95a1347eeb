/**
 * ShellSession against a real 3-node cluster in this process (fsync off): the commands an
 * operator types, what they print as text and as JSON, how failures are counted, and the
 * record → clients → check loop that ends in a linearizability verdict and an HTML report.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAddr } from '../src/client/addr.js';
import { parseHistory } from '../src/history/reader.js';
import type { History } from '../src/history/types.js';
import { BufferedOutput, type OutputEntry } from '../src/shell/output.js';
import { ShellSession } from '../src/shell/session.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

/**
 * The leader once it has kept its ballot for a few election rounds. Right after boot the first
 * elected leader is sometimes replaced one round later (seen in about 1 of 15 fresh clusters),
 * and these tests compare command output with the leader.
 */
async function stableLeader(c: InProcessCluster): Promise<number> {
  let id = await c.waitForLeader();
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const again = await c.waitForLeader();
    if (again === id) return id;
    id = again;
  }
}

describe('shell session on a 3-node in-process cluster', function () {
  this.timeout(120_000);
  let cluster: InProcessCluster;
  let leader: number;
  let dir: string;
  let out: BufferedOutput;
  let session: ShellSession;
  const open: ShellSession[] = [];

  function newSession(extra: { cwd?: string } = {}): { session: ShellSession; out: BufferedOutput } {
    const o = new BufferedOutput();
    const s = new ShellSession({
      nodes: [1, 2, 3].map((id) => ({ id, addr: parseAddr(cluster.clientAddr(id)) })),
      output: o,
      pollMs: 100,
      cwd: extra.cwd ?? dir,
    });
    open.push(s);
    return { session: s, out: o };
  }

  /** Runs `text` as if typed at the prompt and returns what it emitted. */
  async function run(text: string, s = session, o = out): Promise<OutputEntry[]> {
    const from = o.entries.length;
    await s.runScript(text, 'prompt');
    return o.entries.slice(from);
  }

  /** Runs one command that must emit exactly one result and nothing else. */
  async function result(text: string): Promise<OutputEntry> {
    const failures = session.failures;
    const es = await run(text);
    expect(es.map((e) => e.kind), `${text}: ${es.map((e) => e.text).join(' / ')}`).to.deep.equal(['result']);
    expect(session.failures, text).to.equal(failures);
    return es[0]!;
  }

  /** Runs one command that must fail with one error entry, counted in `failures`. */
  async function failure(text: string): Promise<OutputEntry> {
    const failures = session.failures;
    const es = await run(text);
    const errors = es.filter((e) => e.kind === 'error');
    expect(errors, `${text}: ${es.map((e) => e.text).join(' / ')}`).to.have.length(1);
    expect(session.failures, text).to.equal(failures + 1);
    return errors[0]!;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-session-'));
    cluster = await InProcessCluster.create(3, {}, false);
    await cluster.start();
    leader = await stableLeader(cluster);
  });

  beforeEach(() => {
    ({ session, out } = newSession());
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  after(async () => {
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('data commands', () => {
    it('put, get and delete print OK, the quoted value and (nil)', async () => {
      expect((await result('put a 1')).text).to.equal('OK');
      expect((await result('get a')).text).to.equal('"1"');
      expect((await result('put a "two words"')).text).to.equal('OK');
      expect((await result('get a')).text).to.equal('"two words"');
      expect((await result('delete a')).text).to.equal('OK (deleted)');
      expect((await result('get a')).text).to.equal('(nil)');
      expect((await result('delete a')).text).to.equal('OK (no such key)');
      expect((await result('put empty ""')).text).to.equal('OK');
      expect((await result('get empty')).text).to.equal('""');
    });

    it('results carry JSON for --json', async () => {
      const put = await result('put j v1');
      expect(put.json).to.include({ command: 'put', key: 'j', status: 'ok' });
      expect(put.tone).to.equal('ok');
      const get = await result('get j');
      expect(get.json).to.include({ command: 'get', key: 'j', status: 'ok', value: 'v1' });
      const absent = await result('get nosuchkey');
      expect(absent.json).to.include({ command: 'get', status: 'ok', value: null });
      const del = await result('delete j');
      expect(del.json).to.include({ command: 'delete', key: 'j', status: 'ok', existed: true });
      // Not recording, timing off: no "recorded" or "ms" in the JSON line.
      expect(JSON.parse(JSON.stringify(get.json))).to.not.have.any.keys('recorded', 'ms');
    });

    it('cas swaps on a match and shows the current value on a mismatch', async () => {
      await result('put c 1');
      const ok = await result('cas c 1 2');
      expect(ok.text).to.equal('OK');
      const miss = await result('cas c 1 3');
      expect(miss.text).to.equal('MISMATCH: current value is "2"');
      expect(miss.tone).to.equal('fail');
      expect(miss.json).to.include({ command: 'cas', status: 'mismatch', current: '2' });
      expect((await result('get c')).text).to.equal('"2"');
    });

    it('cas k nil v creates a key only if it is absent', async () => {
      expect((await result('cas lock nil me')).text).to.equal('OK');
      expect((await result('get lock')).text).to.equal('"me"');
      const again = await result('cas lock nil you');
      expect(again.text).to.equal('MISMATCH: current value is "me"');
      expect((await result('get lock')).text).to.equal('"me"');
      await result('delete lock');
      expect((await result('cas lock nil you')).text).to.equal('OK');
    });

    it('cas k "nil" v means the text nil, not absence', async () => {
      // Absent key: "nil" (the text) does not match.
      const absent = await result('cas n "nil" v');
      expect(absent.text).to.equal('MISMATCH: current value is (nil)');
      expect(absent.json).to.include({ status: 'mismatch', current: null });
      await result('put n nil'); // the value is the three letters
      expect((await result('get n')).text).to.equal('"nil"');
      // Unquoted nil means absent, so it no longer matches…
      expect((await result('cas n nil w')).text).to.equal('MISMATCH: current value is "nil"');
      // …while the quoted text does ('nil' in single quotes too).
      expect((await result(`cas n 'nil' w`)).text).to.equal('OK');
      expect((await result('get n')).text).to.equal('"w"');
    });

    it('timing on adds each operation\'s latency, timing off removes it', async () => {
      const on = await run('timing on');
      expect(on.map((e) => e.text)).to.deep.equal(['timing is on']);
      expect(session.timing).to.equal(true);
      const put = await result('put t 1');
      expect(put.text).to.match(/^OK {2}\(\d+(\.\d+)? ms\)$/);
      expect(put.json!.ms).to.be.a('number');
      const get = await result('get t');
      expect(get.text).to.match(/^"1" {2}\(\d+(\.\d+)? ms\)$/);
      await run('timing off');
      expect((await result('get t')).text).to.equal('"1"');
    });

    it('commands are case-insensitive and aliases work', async () => {
      expect((await result('SET up 1')).text).to.equal('OK');
      expect((await result('GET up')).text).to.equal('"1"');
      expect((await result('del up')).text).to.equal('OK (deleted)');
    });
  });

  describe('errors', () => {
    it('an unknown command is an error that points to help, counted in failures', async () => {
      expect(session.failures).to.equal(0);
      const e = await failure('frobnicate x');
      expect(e.text).to.contain('unknown command "frobnicate"');
      expect(e.text).to.contain('help');
      expect(e.json).to.include({ command: 'frobnicate x', where: 'prompt' });
      expect(session.failures).to.equal(1);
    });

    it('an unknown command close to known ones suggests them', async () => {
      const e = await failure('pu a 1');
      expect(e.text).to.match(/did you mean .*put/);
    });

    it('missing and extra arguments are usage errors that show the usage', async () => {
      const missing = await failure('put a');
      expect(missing.text).to.equal('put: an argument is missing (usage: put <key> <value>)');
      const none = await failure('cas k');
      expect(none.text).to.contain('2 arguments are missing');
      expect(none.text).to.contain('(usage: cas <key> <expected|nil> <new>)');
      const extra = await failure('get a b');
      expect(extra.text).to.contain('unexpected argument: b');
      expect(extra.text).to.contain('usage: get <key>');
      expect(session.failures).to.equal(3);
    });

    it('a failing command does not stop the rest of a line', async () => {
      const es = await run('put x1 1; nosuch; get x1');
      expect(es.map((e) => e.kind)).to.deep.equal(['result', 'error', 'result']);
      expect(es[2]!.text).to.equal('"1"');
      expect(session.failures).to.equal(1);
    });

    it('a syntax error is reported and counted, and nothing runs', async () => {
      const es = await run('put q 1; put r "oops');
      expect(es.map((e) => e.kind)).to.deep.equal(['error']);
      expect(es[0]!.text).to.contain('unterminated');
      expect(session.failures).to.equal(1);
      expect((await result('get q')).text).to.equal('(nil)');
    });

    it('fault commands without a local cluster fail and say why', async () => {
      for (const cmd of ['kill 1', 'pause leader', 'restart 2', 'stop 3', 'partition 1 | rest', 'delay 1 | 2 100ms', 'heal']) {
        const e = await failure(cmd);
        const name = cmd.split(' ')[0]!;
        expect(e.text, cmd).to.match(new RegExp(`^${name}: ${name} needs the local cluster kvsh started \\(kvsh --start\\)`));
      }
      expect(session.failures).to.equal(7);
      // Nothing was done to the cluster: it still serves.
      expect((await result('put still 1')).text).to.equal('OK');
    });

    it('errors from a script name the file and line', async () => {
      const es = await run('ok?');
      expect(es[0]!.text).to.match(/^ok\?: unknown command/);
      const from = out.entries.length;
      await session.runScript('get a\n\nnosuch', 'drill.kvsh');
      const err = out.entries.slice(from).find((e) => e.kind === 'error')!;
      expect(err.text).to.match(/^drill\.kvsh:3: nosuch: unknown command/);
    });
  });

  describe('cluster commands', () => {
    it('status shows every node up, the leader marked, and names the leader', async () => {
      const r = await result('status');
      const lines = r.text.split('\n');
      expect(lines[0]).to.match(/^node\s+address\s+state\s+role\s+phase\s+ballot\s+snapshot\s+decided\s+log\s+quorum\s+peers$/);
      const rows = lines.slice(1, 4);
      expect(rows.map((l) => l.split(/\s+/)[0])).to.deep.equal([1, 2, 3].map((id) => (id === leader ? `${id}*` : `${id}`)));
      for (const row of rows) {
        const cells = row.split(/\s+/);
        expect(cells[2], row).to.equal('up');
        expect(cells[3], row).to.equal(cells[0] === `${leader}*` ? 'leader' : 'follower');
        expect(cells[4], row).to.equal('accept');
        expect(Number(cells[6]), row).to.be.at.most(Number(cells[7]));
        expect(Number(cells[7]), row).to.be.at.most(Number(cells[8]));
        expect(cells[9], row).to.equal('yes');
        expect(cells[10], row).to.equal('2/2');
      }
      expect(lines[4]).to.match(new RegExp(`^leader: node ${leader}, ballot \\d+\\.\\d+\\.${leader}$`));
      const json = r.json as { leader: { node: number }; nodes: { node: number; state: string; role: string }[] };
      expect(json.leader.node).to.equal(leader);
      expect(json.nodes.map((n) => [n.node, n.state])).to.deep.equal([[1, 'up'], [2, 'up'], [3, 'up']]);
    });

    it('leader names the elected node and its ballot', async () => {
      const r = await result('leader');
      expect(r.text).to.match(new RegExp(`^node ${leader} \\(ballot \\d+\\.\\d+\\.${leader}\\)$`));
      expect(r.json).to.include({ command: 'leader', leader });
    });

    it('log shows the leader\'s log with decoded entries', async () => {
      await result('put logkey hello');
      await result('cas logkey hello bye');
      await result('delete logkey');
      const r = await result('log');
      const lines = r.text.split('\n');
      expect(lines[0]).to.match(new RegExp(`^log of node ${leader}: entries \\d+…\\d+ of \\d+, decided up to \\d+$`));
      const body = lines.slice(1).join('\n');
      expect(body).to.match(/decided {2}PUT logkey hello {3}\(\S+#\d+\)/);
      expect(body).to.contain('CAS logkey hello→bye');
      expect(body).to.contain('DELETE logkey');
      const json = r.json as { node: number; entries: { kind: string; decided: boolean; command?: { op: { kind: string; key: string } } }[] };
      expect(json.node).to.equal(leader);
      const ops = json.entries.filter((e) => e.kind === 'command' && e.command!.op.key === 'logkey').map((e) => e.command!.op.kind);
      expect(ops.slice(-3)).to.deep.equal(['put', 'cas', 'delete']);
    });

    it('log [from] [count] @node reads another node\'s log', async () => {
      await result('put lk 1');
      const follower = [1, 2, 3].find((id) => id !== leader)!;
      const r = await result(`log 0 2 @${follower}`);
      expect(r.text.split('\n')[0]).to.match(new RegExp(`^log of node ${follower}: entries 0…1 of \\d+`));
      expect(r.text.split('\n')).to.have.length(3);
    });
  });

  describe('histories', () => {
    function countLines(text: string, type: string): number {
      return text.split('\n').filter((l) => l.trim() !== '' && (JSON.parse(l) as { type: string }).type === type).length;
    }

    it('record + prompt ops + clients + wait + record stop writes every operation; check says LINEARIZABLE', async () => {
      const file = join(dir, 'runs', 'drill.jsonl');
      await run('put k0 left-over'); // a recording's workload must not see keys earlier runs wrote
      const started = await run('record start runs/drill.jsonl');
      expect(started.map((e) => e.text)).to.have.length(1);
      expect(started[0]!.text).to.match(new RegExp(`^recording to ${file.replace(/[.]/g, '\\.')} \\(client workloads use keys r[0-9a-z]{4}-k0…\\)$`));
      expect(session.recording.active).to.equal(true);
      const put = await result('put rk 1');
      expect(put.json).to.include({ recorded: 'ok' });
      await result('get rk');
      await result('cas rk 1 2');
      const clients = await run('clients 3 mixed for 1s keys 3');
      expect(clients.map((e) => e.text)).to.deep.equal(['clients #1 3×mixed on all nodes for 1.0s started (recording)']);
      const waited = await run('wait');
      // The run's summary prints before wait returns.
      expect(waited.map((e) => e.kind)).to.deep.equal(['result']);
      expect(waited[0]!.text).to.match(/^clients #1 3×mixed on all nodes for 1\.0s finished: \d+ ops in/);
      const stopped = await result('record stop');
      expect(stopped.text).to.match(new RegExp(`^recorded \\d+ events to ${file.replace(/[.]/g, '\\.')}$`));
      expect(stopped.json).to.include({ recording: false, closedAsInfo: 0, file });
      expect(session.recording.active).to.equal(false);

      const run1 = session.workloads[0]!;
      expect(run1.running).to.equal(false);
      expect(run1.counts.invoked).to.be.greaterThan(0);
      const text = readFileSync(file, 'utf8');
      const history: History = parseHistory(text);
      const promptOps = 3;
      expect(countLines(text, 'invoke')).to.equal(run1.counts.invoked + promptOps);
      expect(countLines(text, 'ok') + countLines(text, 'fail') + countLines(text, 'info')).to.equal(run1.counts.invoked + promptOps);
      expect(history.operations).to.have.length(run1.counts.invoked + promptOps);
      expect(history.operations.every((op) => op.completionLine !== undefined)).to.equal(true);
      expect(history.operations.filter((op) => op.status === 'ok')).to.have.length(run1.counts.ok + promptOps);
      expect(stopped.json!.events).to.equal(text.split('\n').filter((l) => l.trim() !== '').length);
      // The prompt's operations are there, in order, on one process.
      const mine = history.operations.filter((op) => op.key === 'rk');
      expect(mine.map((op) => `${op.f}:${op.status}`)).to.deep.equal(['put:ok', 'get:ok', 'cas:ok']);
      expect(mine[1]!.output).to.equal('1');
      expect(new Set(mine.map((op) => op.process)).size).to.equal(1);
      // The workload's processes are not the prompt's.
      const workloadProcs = new Set(history.operations.filter((op) => op.key !== 'rk').map((op) => op.process));
      expect(workloadProcs.has(mine[0]!.process)).to.equal(false);
      expect(workloadProcs.size).to.be.at.least(3);

      // check (no argument) checks the last recording.
      const failures = session.failures;
      const checked = await result('check');
      expect(checked.text.split('\n')[0]).to.equal('LINEARIZABLE');
      expect(checked.text).to.not.contain('NOT LINEARIZABLE');
      expect(checked.tone).to.equal('ok');
      const html = join(dir, 'runs', 'drill.html');
      expect(checked.text).to.contain(`report: ${html}`);
      expect(checked.json).to.include({ command: 'check', file, report: html, verdict: 'LINEARIZABLE' });
      expect(existsSync(html)).to.equal(true);
      expect(readFileSync(html, 'utf8')).to.match(/^<!doctype html>/i);
      expect(session.failures).to.equal(failures);

      // One ok read changed to a value nobody wrote: the checker must refuse it.
      const lines = text.split('\n');
      const read = mine[1]!;
      const at = read.completionLine! - 1;
      const ev = JSON.parse(lines[at]!) as { type: string; value: unknown };
      expect(ev).to.include({ type: 'ok', value: '1' });
      lines[at] = JSON.stringify({ ...ev, value: 'never-written' });
      writeFileSync(join(dir, 'tampered.jsonl'), lines.join('\n'));
      const bad = await run('check tampered.jsonl');
      expect(bad.map((e) => e.kind)).to.deep.equal(['result', 'error']);
      expect(bad[0]!.text.split('\n')[0]).to.equal('NOT LINEARIZABLE');
      expect(bad[0]!.tone).to.equal('fail');
      expect(bad[0]!.text).to.contain('key "rk" is not linearizable');
      expect(bad[1]!.text).to.contain('is NOT LINEARIZABLE');
      expect(session.failures).to.equal(failures + 1);
      expect(existsSync(join(dir, 'tampered.html'))).to.equal(true);
    });

    it('record start refuses while clients run unrecorded; a recording\'s clients use fresh keys', async () => {
      await run('clients 2 writes keys 2');
      const refused = await run('record start refused.jsonl');
      expect(refused.map((e) => e.kind)).to.deep.equal(['error']);
      expect(refused[0]!.text).to.contain('running unrecorded');
      expect(session.recording.active).to.equal(false);
      await run('clients stop');
      await run('record start fresh-keys.jsonl');
      const prefix = session.recording.keyPrefix;
      expect(prefix).to.match(/^r[0-9a-z]{4}-$/);
      await run('clients 2 mixed for 300ms keys 2; wait; record stop');
      const keys = new Set(parseHistory(readFileSync(join(dir, 'fresh-keys.jsonl'), 'utf8')).operations.map((o) => o.key));
      expect([...keys].sort()).to.deep.equal([`${prefix}k0`, `${prefix}k1`]);
      expect((await run('check'))[0]!.text).to.match(/^LINEARIZABLE/);
    });

    it('record stop while clients run waits for the operations in flight', async () => {
      await run('record start inflight.jsonl');
      await run('clients 3 mixed keys 2');
      const w = session.workloads[0]!;
      // Let the clients get going (each always has one operation in flight).
      const deadline = Date.now() + 20_000;
      while (w.counts.invoked < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(w.counts.invoked).to.be.at.least(30);
      const stopped = await result('record stop');
      expect(stopped.json).to.include({ closedAsInfo: 0 });
      expect(stopped.text).to.not.contain('unanswered');
      // The clients keep running after the recording stopped.
      expect(w.running).to.equal(true);
      const stopping = await run('clients stop');
      expect(stopping.map((e) => e.kind)).to.deep.equal(['result']);
      expect(w.running).to.equal(false);

      const text = readFileSync(join(dir, 'inflight.jsonl'), 'utf8');
      const history = parseHistory(text);
      expect(history.operations.length).to.be.greaterThan(0);
      expect(history.operations.length).to.be.at.most(w.counts.invoked);
      expect(history.operations.every((op) => op.completionLine !== undefined)).to.equal(true);
      // Had record stop not waited, the operations in flight would end the file as info.
      expect(countLines(text, 'info')).to.be.at.most(w.counts.info);
      expect(countLines(text, 'invoke')).to.equal(countLines(text, 'ok') + countLines(text, 'fail') + countLines(text, 'info'));
      const checked = await result('check inflight.jsonl');
      expect(checked.text.split('\n')[0]).to.equal('LINEARIZABLE');
    });

    it('record and check refuse what makes no sense', async () => {
      expect((await failure('record stop')).text).to.contain('not recording');
      expect((await failure('check')).text).to.contain('no history recorded in this session');
      expect((await failure('check missing.jsonl')).text).to.contain('no such file');
      writeFileSync(join(dir, 'garbage.jsonl'), '{"type":"invoke"}\n');
      expect((await failure('check garbage.jsonl')).text).to.match(/garbage\.jsonl: line 1/);
      await run('record start busy.jsonl');
      expect((await failure('record start other.jsonl')).text).to.contain('already recording');
      expect((await failure('check')).text).to.contain('record stop first');
      expect((await failure('record pause')).text).to.contain('"pause" is not start or stop');
      await run('record stop');
    });
  });

  describe('shell commands', () => {
    it('source runs a file\'s commands, reports failures by line, and goes on', async () => {
      const scriptDir = mkdtempSync(join(tmpdir(), 'kvsh-src-'));
      try {
        writeFileSync(join(scriptDir, 'drill.kvsh'), [
          '# a small drill',
          'put src 1; get src',
          'bogus command',
          'cas src 1 2',
          'get src   # done',
        ].join('\n'));
        const { session: s, out: o } = newSession({ cwd: scriptDir });
        const es = await run('source drill.kvsh', s, o);
        expect(es.map((e) => `${e.kind} ${e.text}`)).to.deep.equal([
          'result OK',
          'result "1"',
          'error drill.kvsh:3: bogus: unknown command "bogus" — type help for the list',
          'result OK',
          'result "2"',
          'info source drill.kvsh: some commands failed',
        ]);
        expect(s.failures).to.equal(1);
        const missing = await run('source nope.kvsh', s, o);
        expect(missing.map((e) => e.kind)).to.deep.equal(['error']);
        expect(missing[0]!.text).to.contain('no such file');
        expect(s.failures).to.equal(2);
      } finally {
        rmSync(scriptDir, { recursive: true, force: true });
      }
    });

    it('a file that sources itself stops at a depth limit', async () => {
      writeFileSync(join(dir, 'loop.kvsh'), 'source loop.kvsh\n');
      const es = await run('source loop.kvsh');
      expect(es.some((e) => e.kind === 'error' && /nested more than \d+ deep/.test(e.text))).to.equal(true);
      expect(session.failures).to.equal(1);
    });

    it('help lists the commands by group; help put explains put', async () => {
      const all = await result('help');
      for (const heading of ['Data:', 'Cluster:', 'Faults (local cluster only):', 'Client workloads:', 'Histories:', 'Shell:']) {
        expect(all.text.split('\n')).to.include(heading);
      }
      for (const cmd of ['get', 'put', 'cas', 'delete', 'status', 'kill', 'partition', 'clients', 'record', 'check', 'source', 'help']) {
        expect(all.text, cmd).to.match(new RegExp(`^  ${cmd} +\\S`, 'm'));
      }
      const put = await result('help put');
      const lines = put.text.split('\n');
      expect(lines[0]).to.equal('put <key> <value>');
      expect(lines[1]).to.equal('  write a key');
      expect(put.text).to.contain('also: set');
      expect(put.text).to.contain('examples:');
      expect(put.text).to.contain('    put a 1');
      expect((await result('help SET')).text.split('\n')[0]).to.equal('put <key> <value>');
      expect((await result('? cas')).text).to.contain('create a key only if it does not exist');
      expect((await failure('help nosuch')).text).to.contain('no command "nosuch"');
    });

    it('echo prints its words; quit asks the front end to leave and stops a script', async () => {
      expect((await result('echo hello "big world"')).text).to.equal('hello big world');
      let quit = 0;
      session.onQuit(() => quit++);
      const es = await run('quit; echo after');
      expect(es).to.deep.equal([]);
      expect(session.quitRequested).to.equal(true);
      expect(quit).to.equal(1);
    });

    it('wait with nothing running returns at once; wait leader names the leader', async () => {
      expect(await run('wait')).to.deep.equal([]);
      const r = await result('wait leader 5s');
      expect(r.text).to.match(new RegExp(`^leader: node ${leader} \\(ballot `));
      expect((await failure('wait new-leader')).text).to.contain('no fault command has run yet');
    });

    it('clients refuses a bad workload and lists runs', async () => {
      expect((await failure('clients 2 nosuch')).text).to.contain('no workload "nosuch"');
      expect((await failure('clients 0 mixed')).text).to.contain('between 1 and');
      expect((await result('clients')).text).to.equal('no client workloads yet');
    });
  });
});
