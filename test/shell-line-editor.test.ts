/**
 * The prompt's editing logic without Ink: the line reducer (insert, motion, deletion, kills,
 * history with a draft), Tab (applyCompletion), the candidate list text, the mapping of Ink key
 * events to commands (including Backspace vs Delete), and `step` with its effects.
 */
import { expect } from 'chai';
import { completeLine, type CandidatesFor } from '../src/shell/completion.js';
import {
  EMPTY_LINE, applyCompletion, formatCandidates, keyToCommand, lineReducer, step,
  type KeyCommand, type LineAction, type LineState, type StepContext,
} from '../src/shell/ui/line-editor.js';

const at = (text: string, cursor = text.length): LineState => ({ text, cursor, historyIndex: null, draft: '' });
const run = (s: LineState, ...actions: LineAction[]) => actions.reduce(lineReducer, s);
/** The line with a `|` at the cursor, for compact assertions. */
const show = (s: LineState) => s.text.slice(0, s.cursor) + '|' + s.text.slice(s.cursor);

const source: CandidatesFor = (words, wordIndex) =>
  wordIndex === 0 ? ['get', 'put', 'status', 'help', 'history'] : words[0] === 'kill' ? ['n1', 'n2', 'n3'] : ['my key', 'my kite', 'solo'];
const ctx = (history: readonly string[] = []): StepContext =>
  ({ history, complete: (text, cursor) => completeLine(text, cursor, source) });

describe('shell line editor', () => {
  describe('lineReducer', () => {
    it('inserts at the cursor, including multi-character chunks', () => {
      expect(show(run(EMPTY_LINE, { type: 'insert', text: 'get' }))).to.equal('get|');
      expect(show(run(at('gt', 1), { type: 'insert', text: 'e' }))).to.equal('ge|t');
      expect(show(run(at('put  1', 4), { type: 'insert', text: 'key' }))).to.equal('put key| 1');
    });

    it('turns tabs into spaces and drops control characters and line breaks', () => {
      expect(show(run(EMPTY_LINE, { type: 'insert', text: 'a\tb\u0007c\u001bd\u007f\r\n' }))).to.equal('a bcd|');
      const s = at('x');
      expect(run(s, { type: 'insert', text: '\u0001' })).to.equal(s); // nothing left: same state
    });

    it('moves left/right/home/end within bounds', () => {
      const s = at('abc');
      expect(show(run(s, { type: 'left' }))).to.equal('ab|c');
      expect(show(run(s, { type: 'right' }))).to.equal('abc|');
      expect(show(run(s, { type: 'home' }))).to.equal('|abc');
      expect(show(run(s, { type: 'home' }, { type: 'left' }))).to.equal('|abc');
      expect(show(run(s, { type: 'home' }, { type: 'end' }))).to.equal('abc|');
    });

    it('steps over a surrogate pair as one character', () => {
      const s = at('a\u{1F600}b');
      expect(show(run(s, { type: 'left' }, { type: 'left' }))).to.equal('a|\u{1F600}b');
      expect(show(run(s, { type: 'left' }, { type: 'backspace' }))).to.equal('a|b');
      expect(show(run(s, { type: 'home' }, { type: 'right' }, { type: 'delete' }))).to.equal('a|b');
    });

    it('backspace deletes before the cursor, delete under it', () => {
      expect(show(run(at('abc', 2), { type: 'backspace' }))).to.equal('a|c');
      expect(show(run(at('abc', 2), { type: 'delete' }))).to.equal('ab|');
      expect(show(run(at('abc', 0), { type: 'backspace' }))).to.equal('|abc');
      expect(show(run(at('abc'), { type: 'delete' }))).to.equal('abc|');
    });

    it('kills to the start and to the end', () => {
      expect(show(run(at('put a 1', 4), { type: 'killToStart' }))).to.equal('|a 1');
      expect(show(run(at('put a 1', 4), { type: 'killToEnd' }))).to.equal('put |');
    });

    it('Ctrl-W deletes the previous whitespace-separated word and the spaces after it', () => {
      expect(show(run(at('put key:1 val  '), { type: 'deleteWordBack' }))).to.equal('put key:1 |');
      expect(show(run(at('put key:1 val', 9), { type: 'deleteWordBack' }))).to.equal('put | val');
      expect(show(run(at('get'), { type: 'deleteWordBack' }, { type: 'deleteWordBack' }))).to.equal('|');
    });

    it('word motions stop at word boundaries', () => {
      expect(show(run(at('put a 12'), { type: 'wordLeft' }))).to.equal('put a |12');
      expect(show(run(at('put a 12'), { type: 'wordLeft' }, { type: 'wordLeft' }))).to.equal('put |a 12');
      expect(show(run(at('put a 12', 0), { type: 'wordRight' }))).to.equal('put| a 12');
      expect(show(run(at('put a 12', 3), { type: 'wordRight' }))).to.equal('put a| 12');
    });

    describe('history', () => {
      const entries = ['one', 'two', 'three'];
      const prev = { type: 'historyPrev', entries } as const;
      const next = { type: 'historyNext', entries } as const;

      it('↑ walks back to the oldest entry and stops there, cursor at the end', () => {
        const s1 = run(at('dra', 1), prev);
        expect(s1).to.deep.equal({ text: 'three', cursor: 5, historyIndex: 2, draft: 'dra' });
        const s3 = run(s1, prev, prev);
        expect(s3.text).to.equal('one');
        expect(run(s3, prev)).to.deep.equal(s3);
      });

      it('↓ walks forward and restores the draft at the bottom', () => {
        const s = run(at('draft'), prev, prev, next);
        expect(s.text).to.equal('three');
        const bottom = run(s, next);
        expect(bottom).to.deep.equal({ text: 'draft', cursor: 5, historyIndex: null, draft: '' });
        expect(run(bottom, next)).to.deep.equal(bottom); // already at the bottom
      });

      it('an edited recalled line can be walked away from; the draft is unaffected', () => {
        const s = run(at('mine'), prev, { type: 'insert', text: '!' }, prev, next, next);
        expect(s.text).to.equal('mine');
      });

      it('does nothing with no entries', () => {
        const s = at('x');
        expect(run(s, { type: 'historyPrev', entries: [] })).to.deep.equal(s);
      });

      it('copes with entries trimmed since the index was taken', () => {
        const s = run(at(''), prev); // index 2
        const shorter = ['b'];
        expect(run(s, { type: 'historyPrev', entries: shorter }).text).to.equal('b');
        expect(run(s, { type: 'historyNext', entries: shorter }).historyIndex).to.equal(null);
      });
    });

    it('replace clamps its range and places the cursor', () => {
      expect(show(run(at('get ap x', 6), { type: 'replace', from: 4, to: 6, text: 'apple' }))).to.equal('get apple| x');
      expect(show(run(at('ab'), { type: 'replace', from: 1, to: 99, text: 'z', cursor: 0 }))).to.equal('|az');
    });

    it('clear empties everything', () => {
      expect(run({ text: 'x', cursor: 1, historyIndex: 0, draft: 'd' }, { type: 'clear' })).to.deep.equal(EMPTY_LINE);
    });
  });

  describe('applyCompletion', () => {
    const tab = (s: LineState) => applyCompletion(s, completeLine(s.text, s.cursor, source));

    it('one candidate: completes and adds a space', () => {
      const r = tab(at('st'));
      expect(show(r.line)).to.equal('status |');
      expect(r.candidates).to.equal(null);
    });

    it('one candidate with a space already after the cursor: steps over it', () => {
      expect(show(tab(at('st x', 2)).line)).to.equal('status |x');
    });

    it('several: inserts the common prefix first, then shows the candidates', () => {
      const first = tab(at('h'));
      expect(show(first.line)).to.equal('h|');
      expect(first.candidates).to.deep.equal(['help', 'history']);
      const r = tab(at('kill '));
      expect(show(r.line)).to.equal('kill n|');
      expect(r.candidates).to.equal(null);
      const again = tab(r.line);
      expect(show(again.line)).to.equal('kill n|');
      expect(again.candidates).to.deep.equal(['n1', 'n2', 'n3']);
    });

    it('none: nothing changes', () => {
      const s = at('zzz');
      expect(tab(s)).to.deep.equal({ line: s, candidates: null });
    });

    it('quotes candidates with spaces and closes the quote on a unique match', () => {
      expect(show(tab(at('get my')).line)).to.equal('get "my k|');
      expect(show(tab(at('get "my ki')).line)).to.equal('get "my kite" |');
      expect(show(tab(at('get so')).line)).to.equal('get solo |');
    });

    it('completes mid-line, after a `;`', () => {
      expect(show(tab(at('put a 1; st; get a', 11)).line)).to.equal('put a 1; status |; get a');
    });
  });

  describe('formatCandidates', () => {
    it('lists sorted candidates separated by two spaces', () => {
      expect(formatCandidates(['n3', 'n1', 'n2'], 80)).to.deep.equal(['n1  n2  n3']);
    });
    it('wraps at the width, between candidates', () => {
      expect(formatCandidates(['aaaa', 'bbbb', 'cccc', 'dddd'], 10)).to.deep.equal(['aaaa  bbbb', 'cccc  dddd']);
    });
    it('cuts to maxLines with "… and N more" and accounts for every candidate', () => {
      const many = Array.from({ length: 50 }, (_, i) => `key${String(i).padStart(2, '0')}`);
      const lines = formatCandidates(many, 30, 3);
      expect(lines).to.have.length(3);
      for (const l of lines) expect(l.length).to.be.at.most(30);
      expect(lines[0]!.startsWith('key00  key01')).to.equal(true);
      const words = lines.join('  ').split('  ');
      const m = /^… and (\d+) more$/.exec(words[words.length - 1]!);
      expect(m).to.not.equal(null);
      expect(words.length - 1 + Number(m![1])).to.equal(50);
      expect(words.length - 1).to.equal(10); // 4 + 4 per line, then 2 and the note
    });
    it('always shows at least one candidate', () => {
      expect(formatCandidates(['a-very-long-candidate', 'b'], 5, 1)).to.deep.equal(['a-very-long-candidate', '… and 1 more']);
    });
  });

  describe('keyToCommand (Ink 6 key events)', () => {
    const cmd = (input: string, key: Parameters<typeof keyToCommand>[1] = {}, raw?: string) => keyToCommand(input, key, raw);

    it('printable input and pasted chunks insert', () => {
      expect(cmd('a')).to.deep.equal({ type: 'insert', text: 'a' });
      expect(cmd('A', { shift: true })).to.deep.equal({ type: 'insert', text: 'A' });
      expect(cmd('put a 1')).to.deep.equal({ type: 'insert', text: 'put a 1' });
    });

    it('Enter is \\r with key.return; a lone \\n (Ctrl-J) arrives without it', () => {
      expect(cmd('\r', { return: true })).to.deep.equal({ type: 'submit' });
      expect(cmd('\n')).to.deep.equal({ type: 'submit' });
    });

    it('a chunk with line breaks is a paste', () => {
      expect(cmd('get a\rget b')).to.deep.equal({ type: 'paste', text: 'get a\rget b' });
      expect(cmd('x\n')).to.deep.equal({ type: 'paste', text: 'x\n' });
    });

    it('Backspace (0x7f) and Delete (ESC[3~) both arrive as key.delete: the raw sequence decides', () => {
      expect(cmd('', { delete: true }, '\u007f')).to.deep.equal({ type: 'backspace' });
      expect(cmd('', { delete: true }, '\u001b[3~')).to.deep.equal({ type: 'delete' });
      expect(cmd('', { delete: true }, '\u001b[3;5~')).to.deep.equal({ type: 'delete' });
      expect(cmd('', { delete: true })).to.deep.equal({ type: 'backspace' }); // unknown raw: the common case
      expect(cmd('', { backspace: true }, '\b')).to.deep.equal({ type: 'backspace' });
      expect(cmd('', { delete: true, meta: true }, '\u001b\u007f')).to.deep.equal({ type: 'deleteWordBack' });
    });

    it('arrows, Home/End and word motions', () => {
      expect(cmd('', { upArrow: true })).to.deep.equal({ type: 'historyPrev' });
      expect(cmd('', { downArrow: true })).to.deep.equal({ type: 'historyNext' });
      expect(cmd('', { leftArrow: true })).to.deep.equal({ type: 'left' });
      expect(cmd('', { rightArrow: true })).to.deep.equal({ type: 'right' });
      expect(cmd('', { leftArrow: true, ctrl: true })).to.deep.equal({ type: 'wordLeft' });
      expect(cmd('', { rightArrow: true, meta: true })).to.deep.equal({ type: 'wordRight' });
      expect(cmd('', { home: true })).to.deep.equal({ type: 'home' });
      expect(cmd('', { end: true })).to.deep.equal({ type: 'end' });
      expect(cmd('b', { meta: true })).to.deep.equal({ type: 'wordLeft' });
      expect(cmd('f', { meta: true })).to.deep.equal({ type: 'wordRight' });
    });

    it('Ctrl keys arrive as the letter with key.ctrl', () => {
      const table: [string, KeyCommand['type']][] = [
        ['a', 'home'], ['e', 'end'], ['b', 'left'], ['f', 'right'], ['u', 'killToStart'], ['k', 'killToEnd'],
        ['w', 'deleteWordBack'], ['p', 'historyPrev'], ['n', 'historyNext'], ['c', 'interrupt'], ['d', 'eof'],
        ['z', 'ignore'],
      ];
      for (const [letter, type] of table) expect(cmd(letter, { ctrl: true }).type, `Ctrl-${letter}`).to.equal(type);
    });

    it('Tab completes; Shift-Tab, Escape, other Alt keys and key releases are ignored', () => {
      expect(cmd('', { tab: true })).to.deep.equal({ type: 'complete' });
      expect(cmd('', { tab: true, shift: true })).to.deep.equal({ type: 'ignore' });
      expect(cmd('', { escape: true, meta: true })).to.deep.equal({ type: 'ignore' });
      expect(cmd('x', { meta: true })).to.deep.equal({ type: 'ignore' });
      expect(cmd('a', { eventType: 'release' })).to.deep.equal({ type: 'ignore' });
      expect(cmd('', { pageUp: true })).to.deep.equal({ type: 'ignore' });
    });
  });

  describe('step', () => {
    it('Enter submits the whole line (cursor anywhere) and clears it', () => {
      const r = step(at('get a', 2), { type: 'submit' }, ctx());
      expect(r.effects).to.deep.equal([{ type: 'submit', line: 'get a' }]);
      expect(r.line).to.deep.equal(EMPTY_LINE);
    });

    it('an empty Enter still submits (the shell draws a fresh prompt)', () => {
      expect(step(EMPTY_LINE, { type: 'submit' }, ctx()).effects).to.deep.equal([{ type: 'submit', line: '' }]);
    });

    it('a paste submits each complete line in order and keeps the rest', () => {
      const r = step(at('pu'), { type: 'paste', text: 't a 1\r\nget a\rget b\nsta' }, ctx());
      expect(r.effects).to.deep.equal([
        { type: 'submit', line: 'put a 1' }, { type: 'submit', line: 'get a' }, { type: 'submit', line: 'get b' },
      ]);
      expect(show(r.line)).to.equal('sta|');
    });

    it('Ctrl-C clears a non-empty line, interrupts on an empty one', () => {
      const r = step(at('get a'), { type: 'interrupt' }, ctx());
      expect(r.line).to.deep.equal(EMPTY_LINE);
      expect(r.effects).to.deep.equal([]);
      expect(step(EMPTY_LINE, { type: 'interrupt' }, ctx()).effects).to.deep.equal([{ type: 'interrupt' }]);
    });

    it('Ctrl-D exits on an empty line and deletes forward otherwise', () => {
      expect(step(EMPTY_LINE, { type: 'eof' }, ctx()).effects).to.deep.equal([{ type: 'exit' }]);
      const r = step(at('abc', 1), { type: 'eof' }, ctx());
      expect(show(r.line)).to.equal('a|c');
      expect(r.effects).to.deep.equal([]);
    });

    it('history commands use the context entries', () => {
      expect(step(at('x'), { type: 'historyPrev' }, ctx(['a', 'b'])).line.text).to.equal('b');
    });

    it('Tab returns candidates to show; any other key returns none', () => {
      const r = step(at('h'), { type: 'complete' }, ctx());
      expect(r.candidates).to.deep.equal(['help', 'history']);
      expect(step(r.line, { type: 'insert', text: 'i' }, ctx()).candidates).to.equal(null);
      expect(step(at('x'), { type: 'complete' }, { history: [], complete: () => null }).line.text).to.equal('x');
    });
  });
});
