import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKvcheck } from '../src/history/kvcheck.js';
import { projectRoot } from './support/paths.js';

function kvcheck(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli', 'kvcheck.ts'), ...args], {
    cwd: projectRoot, encoding: 'utf8', input, timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ok = [
  '{"type":"invoke","process":1,"id":1,"f":"put","key":"a","value":"1","time":1000}',
  '{"type":"ok","process":1,"id":1,"time":2000}',
  '{"type":"invoke","process":2,"id":2,"f":"get","key":"a","time":3000}',
  '{"type":"ok","process":2,"id":2,"value":"1","time":4000}',
].join('\n');
const stale = ok.replace('"value":"1","time":4000', '"value":null,"time":4000');

/** Twenty writes of distinct values, all concurrent, then a read of a value nobody wrote:
 *  trivial with pruning, about 2^20 configurations without. */
function slowWithoutPruning(): string {
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) lines.push(`{"type":"invoke","process":${i},"id":${i},"f":"put","key":"k","value":"v${i}","time":${i}}`);
  for (let i = 0; i < 20; i++) lines.push(`{"type":"ok","process":${i},"id":${i},"time":${100 + i}}`);
  lines.push('{"type":"invoke","process":99,"id":99,"f":"get","key":"k","time":200}');
  lines.push('{"type":"ok","process":99,"id":99,"value":"nobody","time":201}');
  return lines.join('\n');
}

describe('kvcheck command', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'kvcheck-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

  it('exits 0 and says LINEARIZABLE, with per-key detail', () => {
    const r = kvcheck([file('ok.jsonl', ok)]);
    expect(r.status).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.equal('LINEARIZABLE');
    expect(r.stdout).to.match(/2 operations on 1 key \(0 indeterminate\)/);
    expect(r.stdout).to.match(/"a"\s+2\s+0\s+\d+\s+[\d.]+\s+linearizable/);
  });

  it('exits 1 on a violation and explains it', () => {
    const r = kvcheck([file('stale.jsonl', stale)]);
    expect(r.status).to.equal(1);
    expect(r.stdout.split('\n')[0]).to.equal('NOT LINEARIZABLE');
    expect(r.stdout).to.include('key "a" is not linearizable.');
    expect(r.stdout).to.include('Longest linearizable prefix: 1 of 2 operations');
    expect(r.stdout).to.include('Value after the prefix: "1"');
    expect(r.stdout).to.match(/Could not place: id 2, process 2: get a → absent/);
    expect(r.stdout).to.include('because it read absent, but the value was "1".');
  });

  it('reads standard input given -', () => {
    const r = kvcheck(['-'], stale);
    expect(r.status).to.equal(1);
  });

  it('exits 2 with the line and the problem for unusable input', () => {
    const r = kvcheck([file('bad.jsonl', `${ok}\n{"type":"ok","process":7,"id":70,"time":5000}`)]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/bad\.jsonl: line 5: ok for id 70, which was never invoked/);
    expect(r.stdout).to.equal('');
  });

  it('exits 2 for a missing file and for bad flags', () => {
    expect(kvcheck([join(dir, 'nope.jsonl')])).to.include({ status: 2 });
    expect(kvcheck([join(dir, 'nope.jsonl')]).stderr).to.match(/cannot read .*nope\.jsonl: no such file/);
    const bad = kvcheck([file('ok2.jsonl', ok), '--timeout', 'soon']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/--timeout must be a positive number, got "soon"/);
    expect(kvcheck([]).status).to.equal(2);
  });

  it('exits 3 with UNKNOWN when the time limit is reached', () => {
    const r = kvcheck([file('slow.jsonl', slowWithoutPruning()), '--no-pruning', '--timeout', '0.3']);
    expect(r.status).to.equal(3);
    expect(r.stdout.split('\n')[0]).to.equal('UNKNOWN');
    expect(r.stdout).to.match(/unknown \(time limit\)/);
    // The same history with pruning is settled at once.
    expect(kvcheck([join(dir, 'slow.jsonl')]).status).to.equal(1);
  });

  it('prints one JSON document with --json', () => {
    const r = kvcheck([file('stale2.jsonl', stale), '--json']);
    expect(r.status).to.equal(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.verdict).to.equal('NOT LINEARIZABLE');
    expect(doc.keys[0].failure.stuck).to.include({ id: 2, f: 'get', output: null, status: 'ok' });
    expect(doc.keys[0].failure.reason).to.equal('it read absent, but the value was "1"');
    expect(doc.keys[0].failure.prefix).to.deep.equal([{ id: 1, before: null, after: '1' }]);
  });

  it('writes an HTML report with --html', () => {
    const out = join(dir, 'report.html');
    const r = kvcheck([file('stale3.jsonl', stale), '--html', out]);
    expect(r.status).to.equal(1);
    expect(r.stdout).to.include(`report: ${out}`);
    const html = readFileSync(out, 'utf8');
    expect(html).to.match(/^<!DOCTYPE html>/i);
    expect(html).to.include('NOT LINEARIZABLE');
  });

  it('shows progress on a terminal once a check passes a second', async () => {
    const errs: string[] = [];
    const code = await runKvcheck(
      { path: file('slow2.jsonl', slowWithoutPruning()), json: true, pruning: false, timeoutMs: 1500 },
      { stdout: () => {}, stderr: s => errs.push(s), stderrIsTTY: true },
    );
    expect(code).to.equal(3);
    expect(errs.join('')).to.match(/checking .*slow2\.jsonl: 0\/1 keys, 1\.\d s/);
  });
});
