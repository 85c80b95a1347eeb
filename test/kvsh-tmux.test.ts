/**
 * kvsh in a real terminal: tmux (Debian's package; .ci/run installs it) runs `kvsh --start` on
 * a fresh 5-node cluster; the test types into the pane and reads it back. It checks what only a
 * terminal shows: the status pane with a leader, a PUT then GET round trip through the Ink
 * prompt, history on ↑, and that quitting stops the cluster kvsh started.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { writeTestConfig } from '../src/cluster/index.js';
import { KVSH, TSX } from './support/kvsh-process.js';

const SOCKET = `kvsh-test-${process.pid}`;
const SESSION = 'kvsh';

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function pane(): string {
  return tmux('capture-pane', '-p', '-t', SESSION);
}

function sessionAlive(): boolean {
  return spawnSync('tmux', ['-L', SOCKET, 'has-session', '-t', SESSION]).status === 0;
}

/** Polls the pane until `test` holds; fails with the last screen. */
async function waitForPane(what: string, test: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  for (;;) {
    screen = pane();
    if (test(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; the screen:\n${screen}\n${stderrOfKvsh()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let stderrFile: string | undefined;

/** What kvsh wrote to stderr (its start-up progress and errors; the pane shows only stdout). */
function stderrOfKvsh(): string {
  if (stderrFile === undefined) return '';
  try {
    return `kvsh's stderr:\n${readFileSync(stderrFile, 'utf8')}`;
  } catch (e) {
    return `kvsh's stderr: ${(e as Error).message}`;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); done(true); });
    s.once('error', () => done(false));
  });
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe('kvsh in a real terminal (tmux)', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    if (spawnSync('tmux', ['-V']).status !== 0) {
      console.log('    (tmux is not installed: apt-get install tmux to run this test; .ci/run installs it)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'kvsh-tmux-'));
  });

  after(() => {
    if (dir === undefined) return;
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the leader in the status pane, round-trips a PUT and a GET, recalls history, and stops the cluster on quit', async () => {
    const cfg = await writeTestConfig({ nodes: 5, dir });
    const history = join(dir, 'history');
    stderrFile = join(dir, 'stderr.txt');
    const command = [
      // CI=true as CI machines set it: Ink would then draw only the final frame (a blank
      // screen all session) unless kvsh loads it for a terminal.
      `cd ${shQuote(dir)} &&`, `KVSH_HISTFILE=${shQuote(history)}`, 'CI=true',
      shQuote(process.execPath), '--import', shQuote(TSX), shQuote(KVSH), '--start', shQuote(cfg.file), '--fresh',
      `2> ${shQuote(stderrFile)}`,
    ].join(' ');
    tmux('new-session', '-d', '-s', SESSION, '-x', '120', '-y', '40', command);

    const first = await waitForPane('a leader in the status pane', (s) => /leader \d+ \(ballot \d+\.\d+\.\d+\)/.test(s), 60_000);
    const leader = Number(/leader (\d+) \(ballot/.exec(first)![1]);
    // The leader's row carries the * marker, and every node is up.
    expect(first).to.match(new RegExp(`│ ${leader}\\*\\s+up\\s+leader`));
    for (const id of [1, 2, 3, 4, 5]) expect(first).to.match(new RegExp(`│ ${id}\\*?\\s+up\\s`));

    tmux('send-keys', '-t', SESSION, 'put tmux-key "hello terminal"', 'Enter');
    await waitForPane('the PUT answer', (s) => /kvsh> put tmux-key "hello terminal"\n.*OK/.test(s));
    tmux('send-keys', '-t', SESSION, 'get tmux-key', 'Enter');
    await waitForPane('the GET answer', (s) => s.includes('kvsh> get tmux-key\n"hello terminal"'));

    // ↑ recalls the last line into the prompt; Ctrl-U clears it again.
    tmux('send-keys', '-t', SESSION, 'Up');
    await waitForPane('the recalled line', (s) => /kvsh> get tmux-key\s*$/.test(s.trimEnd()));
    tmux('send-keys', '-t', SESSION, 'C-u');
    await waitForPane('a cleared prompt', (s) => /kvsh>\s*$/.test(s.trimEnd()));

    tmux('send-keys', '-t', SESSION, 'quit', 'Enter');
    const deadline = Date.now() + 30_000;
    while (sessionAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(sessionAlive(), 'kvsh exited').to.equal(false);
    for (const n of cfg.config.nodes) expect(await portOpen(n.clientPort), `node ${n.id} stopped`).to.equal(false);
    expect(readFileSync(history, 'utf8').trim().split('\n')).to.deep.equal(['put tmux-key "hello terminal"', 'get tmux-key', 'quit']);
  });
});
