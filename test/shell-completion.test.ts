/**
 * Tab completion as pure functions: how the line before the cursor is split (whitespace, `;`,
 * quotes, escapes, comments — the shell's own syntax, checked against `parseScript`), what the
 * candidate source is asked, prefix filtering, the common prefix, and writing a completed word
 * back with quotes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  completeLine, longestCommonPrefix, renderWord, scanCommand, type CandidatesFor,
} from '../src/shell/completion.js';
import { parseScript } from '../src/shell/script.js';

const COMMANDS = ['get', 'put', 'cas', 'status', 'help', 'history', 'kill', 'restart'];
const NODES = ['n1', 'n2', 'n3'];
const KEYS = ['apple', 'apricot', 'banana', 'my key', 'my kite'];

/** A shell-like source: commands first, node ids after kill/restart, keys after get/put/cas. */
const shellish: CandidatesFor = (words, wordIndex) => {
  if (wordIndex === 0) return COMMANDS;
  const cmd = words[0];
  if ((cmd === 'kill' || cmd === 'restart') && wordIndex === 1) return NODES;
  if ((cmd === 'get' || cmd === 'put' || cmd === 'cas') && wordIndex === 1) return KEYS;
  return [];
};

/** Records what the source was asked. */
function recorder() {
  const calls: { words: string[]; wordIndex: number; commandSoFar: string[] }[] = [];
  const fn: CandidatesFor = (words, wordIndex, commandSoFar) => {
    calls.push({ words, wordIndex, commandSoFar });
    return [];
  };
  return { calls, fn };
}

describe('shell completion', () => {
  describe('scanCommand', () => {
    it('splits on whitespace and reports the partial word with its start', () => {
      expect(scanCommand('put  a\t1 x')).to.deep.equal({ words: ['put', 'a', '1'], partial: { value: 'x', start: 9 }, quote: null, inComment: false });
    });
    it('an empty partial word after trailing whitespace starts at the end', () => {
      expect(scanCommand('get ')).to.deep.equal({ words: ['get'], partial: { value: '', start: 4 }, quote: null, inComment: false });
      expect(scanCommand('')).to.deep.equal({ words: [], partial: { value: '', start: 0 }, quote: null, inComment: false });
    });
    it('`;` starts a new command, with or without spaces around it', () => {
      expect(scanCommand('put a 1; g').words).to.deep.equal([]);
      expect(scanCommand('put a 1\nge').words).to.deep.equal([]);
      expect(scanCommand('put a 1; g').partial).to.deep.equal({ value: 'g', start: 9 });
      expect(scanCommand('put a 1;g').partial).to.deep.equal({ value: 'g', start: 8 });
      expect(scanCommand('put a 1;').partial).to.deep.equal({ value: '', start: 8 });
      expect(scanCommand('get a; kill n').words).to.deep.equal(['kill']);
    });
    it('quotes group whitespace and `;`, and are removed from the words', () => {
      expect(scanCommand('put "a b;c" \'x y\' z').words).to.deep.equal(['put', 'a b;c', 'x y']);
      expect(scanCommand('put a"b c"d e').words).to.deep.equal(['put', 'ab cd']);
      expect(scanCommand('put "" x').words).to.deep.equal(['put', '']);
    });
    it('an unterminated quote leaves the partial word inside it', () => {
      expect(scanCommand('get "my k')).to.deep.equal({ words: ['get'], partial: { value: 'my k', start: 4 }, quote: '"', inComment: false });
      expect(scanCommand("get 'it\"s")).to.deep.equal({ words: ['get'], partial: { value: 'it"s', start: 4 }, quote: "'", inComment: false });
      expect(scanCommand('get "a; b').words).to.deep.equal(['get']); // the ; is quoted
    });
    it('backslash escapes outside quotes and inside "…", not inside \'…\'', () => {
      expect(scanCommand('put a\\ b\\;c x').words).to.deep.equal(['put', 'a b;c']);
      expect(scanCommand('put "q\\"\\\\\\n\\z" x').words).to.deep.equal(['put', 'q"\\\n\\z']);
      expect(scanCommand("put 'a\\' x").words).to.deep.equal(['put', 'a\\']);
    });
    it('a backslash right before the cursor adds nothing yet', () => {
      expect(scanCommand('get ab\\').partial).to.deep.equal({ value: 'ab', start: 4 });
      expect(scanCommand('get "ab\\').partial).to.deep.equal({ value: 'ab', start: 4 });
    });
    it('splits complete commands exactly as parseScript does (property)', () => {
      const piece = fc.constantFrom('a', 'b', ' ', '\t', ';', '\n', '"', "'", '\\', '#', 'n', 'x y');
      fc.assert(fc.property(fc.array(piece, { maxLength: 14 }), parts => {
        const text = parts.join('') + ' ';
        let parsed;
        try {
          parsed = parseScript(text, 't');
        } catch {
          return; // unterminated quote or trailing backslash: parseScript refuses, the scanner is mid-word
        }
        const scanned = scanCommand(text);
        if (scanned.quote !== null || scanned.inComment) return;
        // A word still open at the end (after an escaped space) is the scanner's partial word.
        const words = scanned.partial.start < text.length ? [...scanned.words, scanned.partial.value] : scanned.words;
        if (words.length === 0) return; // parseScript drops empty commands
        expect(words).to.deep.equal(parsed[parsed.length - 1]!.words);
      }), { seed: 20261116, numRuns: 5000 });
    });
    it('# at the start of a word starts a comment; inside a word it is a character', () => {
      expect(scanCommand('get a # kill n').inComment).to.equal(true);
      expect(scanCommand('get a#b').partial.value).to.equal('a#b');
      expect(scanCommand('# note\nget k')).to.deep.include({ words: ['get'], inComment: false });
    });
  });

  describe('completeLine', () => {
    it('asks the source with the current command words, the index and the words before', () => {
      const r = recorder();
      completeLine('put a 1; kill n', 15, r.fn);
      expect(r.calls).to.deep.equal([{ words: ['kill', 'n'], wordIndex: 1, commandSoFar: ['kill'] }]);
    });

    it('completes a command name at the start and after `;`', () => {
      expect(completeLine('g', 1, shellish)).to.include({ from: 0, to: 1, common: 'get' });
      const c = completeLine('put a 1; g', 10, shellish);
      expect(c.candidates).to.deep.equal(['get']);
      expect(c.from).to.equal(9);
      expect(c.to).to.equal(10);
    });

    it('filters by prefix, sorts, dedupes and gives the longest common prefix', () => {
      const c = completeLine('h', 1, () => ['history', 'help', 'get', 'help']);
      expect(c.candidates).to.deep.equal(['help', 'history']);
      expect(c.common).to.equal('h');
      expect(completeLine('get ', 4, () => ['', 'a']).candidates).to.deep.equal(['a']); // '' completes nothing
      const d = completeLine('get ap', 6, shellish);
      expect(d.candidates).to.deep.equal(['apple', 'apricot']);
      expect(d.common).to.equal('ap');
      expect(d.word).to.equal('ap');
      expect(d).to.include({ from: 4, to: 6 });
    });

    it('nothing is completed inside a comment', () => {
      const r = recorder();
      expect(completeLine('get a # ki', 10, r.fn).candidates).to.deep.equal([]);
      expect(r.calls).to.deep.equal([]);
    });

    it('never offers candidates the syntax cannot express (control characters other than tab and newline)', () => {
      expect(completeLine('get ', 4, () => ['a\u0007', 'b\r', 'c\n', 'd\t', 'e']).candidates).to.deep.equal(['c\n', 'd\t', 'e']);
    });

    it('filtering is case-sensitive', () => {
      expect(completeLine('G', 1, shellish).candidates).to.deep.equal([]);
    });

    it('an empty word offers everything', () => {
      const c = completeLine('kill ', 5, shellish);
      expect(c.candidates).to.deep.equal(NODES);
      expect(c.common).to.equal('n');
      expect(c).to.include({ from: 5, to: 5, word: '' });
    });

    it('no candidates gives an empty list and an empty common prefix', () => {
      const c = completeLine('status x', 8, shellish);
      expect(c.candidates).to.deep.equal([]);
      expect(c.common).to.equal('');
    });

    it('only the part before the cursor counts', () => {
      const r = recorder();
      const c = completeLine('kill n3 restart', 6, r.fn);
      expect(r.calls[0]!.words).to.deep.equal(['kill', 'n']);
      expect(c).to.include({ from: 5, to: 6 });
    });

    it('a cursor past the end is clamped', () => {
      expect(completeLine('ki', 99, shellish)).to.include({ from: 0, to: 2, common: 'kill' });
    });

    it('inside a quote the word is the unquoted text and `from` includes the quote', () => {
      const c = completeLine('get "my k', 9, shellish);
      expect(c.candidates).to.deep.equal(['my key', 'my kite']);
      expect(c).to.include({ from: 4, to: 9, word: 'my k', quote: '"', common: 'my k' });
    });
  });

  describe('longestCommonPrefix', () => {
    it('handles none, one and several strings', () => {
      expect(longestCommonPrefix([])).to.equal('');
      expect(longestCommonPrefix(['abc'])).to.equal('abc');
      expect(longestCommonPrefix(['abc', 'abd', 'ab'])).to.equal('ab');
      expect(longestCommonPrefix(['x', 'y'])).to.equal('');
    });
    it('does not split a surrogate pair', () => {
      // U+1F600 and U+1F601 share their high surrogate
      expect(longestCommonPrefix(['k\u{1F600}', 'k\u{1F601}'])).to.equal('k');
    });
  });

  describe('renderWord', () => {
    it('leaves plain words alone', () => {
      expect(renderWord('apple', null, true)).to.equal('apple');
      expect(renderWord('n1', null, true)).to.equal('n1');
      expect(renderWord('', null, false)).to.equal('');
      expect(renderWord('', null, true)).to.equal('""');
    });
    it('quotes words with whitespace, `;`, quotes, backslashes or a leading #, in "…" with escapes', () => {
      expect(renderWord('my key', null, true)).to.equal('"my key"');
      expect(renderWord('a;b', null, true)).to.equal('"a;b"');
      expect(renderWord('say "hi"', null, true)).to.equal('"say \\"hi\\""');
      expect(renderWord("it's", null, true)).to.equal('"it\'s"');
      expect(renderWord('a\\b', null, true)).to.equal('"a\\\\b"');
      expect(renderWord('#tag', null, true)).to.equal('"#tag"');
      expect(renderWord('a#b', null, true)).to.equal('a#b');
    });
    it('keeps the quote the user opened and can leave it open', () => {
      expect(renderWord('my k', '"', false)).to.equal('"my k');
      expect(renderWord('apple', "'", true)).to.equal("'apple'");
      expect(renderWord("it's", "'", true)).to.equal("'it'\\''s'");
    });
    const values = ['plain', 'my key', 'a"b', "a'b", 'a"b\'c d;e', '', ' ', 'back\\slash', '#x', 'tab\there', 'two\nlines', '\u{1F600} k'];
    it('what it writes reads back as the same word through the shell\'s parser (parseScript)', () => {
      for (const v of values) {
        for (const q of [null, '"', "'"] as const) {
          const w = renderWord(v, q, true);
          const parsed = parseScript(`get ${w} x`, 'test');
          expect(parsed.map(c => c.words), `${JSON.stringify(v)} as ${w}`).to.deep.equal([['get', v, 'x']]);
        }
      }
    });
    it('and through scanCommand, also when left open', () => {
      for (const v of values) {
        for (const q of [null, '"', "'"] as const) {
          expect(scanCommand(`get ${renderWord(v, q, true)} `).words, `${JSON.stringify(v)} closed`).to.deep.equal(['get', v]);
          const open = scanCommand(`get ${renderWord(v, q, false)}`);
          expect(open.partial.value, `${JSON.stringify(v)} open`).to.equal(v);
        }
      }
    });
  });
});
