/**
 * Tab completion as pure functions: how the line before the cursor is split (whitespace, `;`,
 * quotes), what the candidate source is asked, prefix filtering, the common prefix, and writing a
 * completed word back with quotes.
 */
import { expect } from 'chai';
import {
  completeLine, longestCommonPrefix, renderWord, scanCommand, type CandidatesFor,
} from '../src/shell/completion.js';

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
      expect(scanCommand('put  a\t1 x')).to.deep.equal({ words: ['put', 'a', '1'], partial: { value: 'x', start: 9 }, quote: null });
    });
    it('an empty partial word after trailing whitespace starts at the end', () => {
      expect(scanCommand('get ')).to.deep.equal({ words: ['get'], partial: { value: '', start: 4 }, quote: null });
      expect(scanCommand('')).to.deep.equal({ words: [], partial: { value: '', start: 0 }, quote: null });
    });
    it('`;` starts a new command, with or without spaces around it', () => {
      expect(scanCommand('put a 1; g').words).to.deep.equal([]);
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
      expect(scanCommand('get "my k')).to.deep.equal({ words: ['get'], partial: { value: 'my k', start: 4 }, quote: '"' });
      expect(scanCommand("get 'it\"s")).to.deep.equal({ words: ['get'], partial: { value: 'it"s', start: 4 }, quote: "'" });
      expect(scanCommand('get "a; b').words).to.deep.equal(['get']); // the ; is quoted
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
      expect(renderWord('', null, false)).to.equal('');
      expect(renderWord('', null, true)).to.equal('""');
    });
    it('quotes words with whitespace, `;` or quotes, choosing a quote that fits', () => {
      expect(renderWord('my key', null, true)).to.equal('"my key"');
      expect(renderWord('a;b', null, true)).to.equal('"a;b"');
      expect(renderWord('say "hi"', null, true)).to.equal('\'say "hi"\'');
      expect(renderWord("it's", null, true)).to.equal('"it\'s"');
    });
    it('keeps the quote the user opened and can leave it open', () => {
      expect(renderWord('my k', '"', false)).to.equal('"my k');
      expect(renderWord('apple', "'", true)).to.equal("'apple'");
    });
    it('round-trips through scanCommand, including both kinds of quote', () => {
      for (const v of ['plain', 'my key', 'a"b', "a'b", 'a"b\'c d;e', '', ' ']) {
        const w = renderWord(v, null, true);
        expect(scanCommand(`get ${w} `).words, `${v} as ${w}`).to.deep.equal(['get', v]);
      }
    });
  });
});
