import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKvcheck } from '../src/history/kvcheck.js';
import { FAULTS } from '../src/sim/options.js';
import { runSim, type SimArgs } from '../src/sim/sim-command.js';
import { projectRoot } from './support/paths.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: { stdout: (s: string) => { out += s; }, stderr: (s: string) => { err += s; }, stderrIsTTY: false },
    out: () => out,
    err: () => err,
  };
}

const base: SimArgs = { seeds: 3, from: 1, nodes: 3, faults: [...FAULTS], trace: false, failFast: false };

describe('sim command', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'sim-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a batch prints the range, progress and runs/s, and exits 0 without violations', async () => {
    const c = capture();
    expect(await runSim(base, c.io)).to.equal(0);
    expect(c.out()).to.match(/^simulating seeds 1…3: 3 nodes, faults all\n/);
    expect(c.out()).to.match(/3 runs in [\d.]+ s \([\d.]+ runs\/s\): 0 with violations, 0 history verdicts UNKNOWN/);
    expect(c.err()).to.match(/3\/3 runs, [\d.]+ runs\/s, 0 failing/);
  });

  it('a failing seed prints its first violation and the command that replays it; exit 1', async () => {
    const c = capture();
    const args: SimArgs = { ...base, seeds: 1, bug: 'skip-dedup', nodes: [1, 2, 4] };
    expect(await runSim(args, c.io)).to.equal(1);
    expect(c.out()).to.match(/FAIL seed 1: \[[a-z-]+\] at [\d.]+ ms/);
    expect(c.out()).to.include('replay: npm run sim -- --seed 1 --nodes 1,2,4 --faults all --bug skip-dedup');
  });

  it('one seed prints its trace and summary, and writes a history kvcheck accepts', async () => {
    const c = capture();
    const history = join(dir, 'h.jsonl');
    expect(await runSim({ ...base, seed: 9, trace: true, history }, c.io)).to.equal(0);
    const out = c.out();
    expect(out).to.match(/^ +[\d.]+ \d→\d send heartbeat-request/m);
    expect(out).to.match(/ recv accept-decide /);
    expect(out).to.match(/^seed 9: ok, history LINEARIZABLE$/m);
    expect(out).to.include(`history written to ${history}`);
    const lines = readFileSync(history, 'utf8').trim().split('\n');
    expect(lines.length).to.be.greaterThan(100);
    const k = capture();
    expect(await runKvcheck({ path: history, json: false }, k.io)).to.equal(0);
  });

  it('runs from the command line (npm run sim)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli', 'sim.ts'), '--seeds', '2', '--from', '5', '--nodes', '5', '--faults', 'crash,partition'], {
      cwd: projectRoot, encoding: 'utf8', timeout: 60_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/simulating seeds 5…6: 5 nodes, faults crash,partition/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'cli', 'sim.ts'), '--faults', 'meteor'], {
      cwd: projectRoot, encoding: 'utf8', timeout: 60_000,
    });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/unknown fault "meteor"/);
  });
});
