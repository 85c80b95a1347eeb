/**
 * The <Prompt> Ink component through ink-testing-library: the bytes a terminal sends go into
 * stdin and the rendered frame is checked. Covers typing, cursor motion, Backspace vs Delete,
 * kills, history with the draft, Tab (complete, common prefix, candidate list), paste, Enter,
 * Ctrl-C / Ctrl-D, and isActive.
 */
import React from 'react';
import { expect } from 'chai';
import { render, cleanup } from 'ink-testing-library';
import { LineHistory } from '../src/shell/line-history.js';
import type { CandidatesFor } from '../src/shell/completion.js';
import { Prompt, type PromptProps } from '../src/shell/ui/prompt.js';

const tick = () => new Promise(r => setTimeout(r, 20));
const UP = '\u001B[A';
const DOWN = '\u001B[B';
const RIGHT = '\u001B[C';
const LEFT = '\u001B[D';
const HOME = '\u001B[H';
const END = '\u001B[F';
const DELETE = '\u001B[3~';
const BACKSPACE = '\u007F';
const CTRL = (letter: string) => String.fromCharCode(letter.charCodeAt(0) - 96);

const COMMANDS = ['get', 'put', 'status', 'help', 'history', 'kill'];
const candidatesFor: CandidatesFor = (words, i) => {
  if (i === 0) return COMMANDS;
  if (words[0] === 'kill') return ['n1', 'n2', 'n3'];
  return Array.from({ length: 200 }, (_, k) => `key${String(k).padStart(3, '0')}`);
};

function setup(props: Partial<PromptProps> = {}) {
  const submitted: string[] = [];
  const calls: string[] = [];
  const history = props.history ?? new LineHistory(null);
  const r = render(
    <Prompt
      history={history}
      candidatesFor={candidatesFor}
      onSubmit={l => submitted.push(l)}
      onExit={() => calls.push('exit')}
      onInterrupt={() => calls.push('interrupt')}
      {...props}
    />,
  );
  /** Writes each chunk as its own read, the way keys arrive from a terminal. */
  const type = async (...chunks: string[]) => {
    for (const c of chunks) {
      r.stdin.write(c);
      await tick();
    }
  };
  /** The first line of the frame, trailing blanks (the cursor cell at the end) removed. */
  const line = () => (r.lastFrame() ?? '').split('\n')[0]!.trimEnd();
  return { ...r, submitted, calls, history, type, line };
}

describe('shell <Prompt> (Ink)', () => {
  afterEach(() => cleanup());

  it('shows the prompt and typed text', async () => {
    const p = setup();
    expect(p.line()).to.equal('kvsh>');
    await tick();
    await p.type('g', 'e', 't', ' ', 'a');
    expect(p.line()).to.equal('kvsh> get a');
  });

  it('uses a custom prompt', async () => {
    const p = setup({ prompt: 'n2> ' });
    await tick();
    await p.type('status');
    expect(p.line()).to.equal('n2> status');
  });

  it('inserts at the cursor after ← and →', async () => {
    const p = setup();
    await tick();
    await p.type('pt a', LEFT, LEFT, LEFT, 'u', RIGHT, RIGHT, RIGHT, 'b');
    expect(p.line()).to.equal('kvsh> put ab');
  });

  it('draws the line whole wherever the cursor is, an emoji included', async () => {
    const p = setup();
    await tick();
    await p.type('a\u{1F600}b');
    for (let i = 0; i < 4; i++) {
      expect(p.line(), `after ${i} lefts`).to.equal('kvsh> a\u{1F600}b');
      await p.type(LEFT);
    }
    await p.type(RIGHT, RIGHT, 'x'); // the emoji is one step
    expect(p.line()).to.equal('kvsh> a\u{1F600}xb');
  });

  it('Home/End and Ctrl-A/Ctrl-E move to the ends', async () => {
    const p = setup();
    await tick();
    await p.type('et', HOME, 'g', END, ' a', CTRL('a'), '#', CTRL('e'), '!');
    expect(p.line()).to.equal('kvsh> #get a!');
  });

  it('Backspace (0x7f) deletes before the cursor; Delete (ESC[3~) deletes under it', async () => {
    const p = setup();
    await tick();
    await p.type('abcd', LEFT, LEFT, BACKSPACE);
    expect(p.line()).to.equal('kvsh> acd');
    await p.type(DELETE);
    expect(p.line()).to.equal('kvsh> ad');
    await p.type('\b'); // Ctrl-H, what some terminals send for Backspace
    expect(p.line()).to.equal('kvsh> d');
  });

  it('Ctrl-U, Ctrl-K and Ctrl-W kill', async () => {
    const p = setup();
    await tick();
    await p.type('put key value', CTRL('w'), '|');
    expect(p.line()).to.equal('kvsh> put key |'); // like readline: the space before the word stays
    await p.type(BACKSPACE, LEFT, LEFT, LEFT, LEFT, CTRL('k'), '|');
    expect(p.line()).to.equal('kvsh> put |');
    await p.type(BACKSPACE, BACKSPACE);
    await p.type(' x', LEFT, CTRL('u'));
    expect(p.line()).to.equal('kvsh> x');
  });

  it('Enter submits, adds to the history and clears the line', async () => {
    const p = setup();
    await tick();
    await p.type('put a 1', LEFT, LEFT, '\r');
    expect(p.submitted).to.deep.equal(['put a 1']);
    expect(p.history.entries()).to.deep.equal(['put a 1']);
    expect(p.line()).to.equal('kvsh>');
  });

  it('↑/↓ walk the history and bring back the line being typed', async () => {
    const history = new LineHistory(null);
    history.add('put a 1');
    history.add('get a');
    const p = setup({ history });
    await tick();
    await p.type('sta', UP);
    expect(p.line()).to.equal('kvsh> get a');
    await p.type(UP);
    expect(p.line()).to.equal('kvsh> put a 1');
    await p.type(UP);
    expect(p.line()).to.equal('kvsh> put a 1');
    await p.type(DOWN, DOWN);
    expect(p.line()).to.equal('kvsh> sta');
    await p.type(UP, '\r');
    expect(p.submitted).to.deep.equal(['get a']);
    expect(history.entries()).to.deep.equal(['put a 1', 'get a']); // a repeat is not added twice
  });

  it('lines submitted in this session are reachable with ↑', async () => {
    const p = setup();
    await tick();
    await p.type('get x', '\r', UP);
    expect(p.line()).to.equal('kvsh> get x');
  });

  it('Tab completes a unique candidate and adds a space', async () => {
    const p = setup();
    await tick();
    await p.type('st', '\t');
    expect(p.line()).to.equal('kvsh> status');
    await p.type('x');
    expect(p.line()).to.equal('kvsh> status x');
  });

  it('Tab completes a command name again after `;`', async () => {
    const p = setup();
    await tick();
    await p.type('put a 1; g', '\t');
    expect(p.line()).to.equal('kvsh> put a 1; get');
  });

  it('Tab inserts the common prefix, then lists the candidates until the next key', async () => {
    const p = setup();
    await tick();
    await p.type('kill ', '\t');
    expect(p.line()).to.equal('kvsh> kill n');
    expect(p.lastFrame()).to.not.contain('n1');
    await p.type('\t');
    expect(p.lastFrame()).to.contain('n1  n2  n3');
    expect(p.line()).to.equal('kvsh> kill n');
    await p.type('2');
    expect(p.lastFrame()).to.not.contain('n1');
    expect(p.line()).to.equal('kvsh> kill n2');
  });

  it('a long candidate list is cut with "… and N more"', async () => {
    const p = setup();
    await tick();
    await p.type('get key', '\t');
    const frame = p.lastFrame() ?? '';
    const lines = frame.split('\n');
    expect(lines[0]!.trimEnd()).to.equal('kvsh> get key');
    expect(lines[1]).to.match(/^key000  key001/);
    expect(lines).to.have.length(4); // the prompt and three lines of candidates
    expect(lines[3]).to.match(/… and \d+ more$/);
    expect(frame).to.not.contain('key199');
  });

  it('maxCandidateLines bounds the rows the list takes', async () => {
    const p = setup({ maxCandidateLines: 1 });
    await tick();
    await p.type('get key', '\t');
    const lines = (p.lastFrame() ?? '').split('\n');
    expect(lines).to.have.length(2);
    expect(lines[1]).to.match(/^key000 .*… and \d+ more$/);
  });

  it('Tab with no candidate changes nothing', async () => {
    const p = setup();
    await tick();
    await p.type('zz', '\t');
    expect(p.line()).to.equal('kvsh> zz');
    expect((p.lastFrame() ?? '').split('\n').filter(l => l.trim() !== '')).to.have.length(1);
  });

  it('a pasted chunk with line breaks submits each line in order', async () => {
    const p = setup();
    await tick();
    await p.type('put a 1\rget a\nst');
    expect(p.submitted).to.deep.equal(['put a 1', 'get a']);
    expect(p.history.entries()).to.deep.equal(['put a 1', 'get a']);
    expect(p.line()).to.equal('kvsh> st');
  });

  it('Ctrl-C clears a non-empty line, and interrupts on an empty one', async () => {
    const p = setup();
    await tick();
    await p.type('get a', CTRL('c'));
    expect(p.line()).to.equal('kvsh>');
    expect(p.calls).to.deep.equal([]);
    await p.type(CTRL('c'));
    expect(p.calls).to.deep.equal(['interrupt']);
  });

  it('Ctrl-C on an empty line exits when there is no onInterrupt', async () => {
    const p = setup({ onInterrupt: undefined });
    await tick();
    await p.type(CTRL('c'));
    expect(p.calls).to.deep.equal(['exit']);
  });

  it('Ctrl-D exits on an empty line and deletes forward otherwise', async () => {
    const p = setup();
    await tick();
    await p.type('ab', LEFT, CTRL('d'));
    expect(p.line()).to.equal('kvsh> a');
    expect(p.calls).to.deep.equal([]);
    await p.type(CTRL('u'), CTRL('d'));
    expect(p.calls).to.deep.equal(['exit']);
  });

  it('ignores input while inactive', async () => {
    const p = setup({ isActive: false });
    await tick();
    await p.type('get a', '\r');
    expect(p.line()).to.equal('kvsh>');
    expect(p.submitted).to.deep.equal([]);
  });

  it('several keys arriving before a re-render all apply (no stale state)', async () => {
    const p = setup();
    await tick();
    p.stdin.write('ab');
    p.stdin.write(LEFT);
    p.stdin.write('X');
    p.stdin.write('\r');
    await tick();
    expect(p.submitted).to.deep.equal(['aXb']);
  });

  it('keys that arrive together in one read (tmux send-keys, a fast typist) each act as a key', async () => {
    const p = setup();
    await tick();
    // One chunk: "ki", Tab, then Ctrl-U, "get a", Backspace, "b", Enter.
    await p.type('ki\t');
    expect(p.line()).to.equal('kvsh> kill');
    await p.type(`${CTRL('u')}get a\u007fb\r`);
    expect(p.submitted).to.deep.equal(['get b']);
    expect(p.line()).to.equal('kvsh>');
  });
});
