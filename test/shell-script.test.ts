/**
 * kvsh's command syntax (parseScript / quoteWord), its durations (parseDuration / formatDuration)
 * and the latency histogram behind `timing on` summaries (LatencyRecorder quantiles).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { formatDuration, formatLatency, parseDuration } from '../src/shell/duration.js';
import { LatencyRecorder } from '../src/shell/latency.js';
import { parseScript, quoteWord, ScriptSyntaxError, type CommandLine } from '../src/shell/script.js';

/** Just the words of each command. */
const words = (text: string, source = 't'): string[][] => parseScript(text, source).map((c) => [...c.words]);

function syntaxError(text: string, source = 't'): ScriptSyntaxError {
  try {
    parseScript(text, source);
  } catch (e) {
    expect(e).to.be.instanceOf(ScriptSyntaxError);
    return e as ScriptSyntaxError;
  }
  expect.fail(`parseScript accepted ${JSON.stringify(text)}`);
}

describe('shell command syntax (parseScript)', () => {
  describe('words and commands', () => {
    it('splits words on spaces and tabs, ignoring extra blanks', () => {
      expect(words('  put   key\tvalue  ')).to.deep.equal([['put', 'key', 'value']]);
    });

    it('separates commands with ; and with newlines, dropping empty ones', () => {
      expect(words('put a 1; get a\ndelete a;;\n\n; status')).to.deep.equal([
        ['put', 'a', '1'], ['get', 'a'], ['delete', 'a'], ['status'],
      ]);
    });

    it('a ; glued to a word still ends the command', () => {
      expect(words('get a;get b')).to.deep.equal([['get', 'a'], ['get', 'b']]);
    });

    it('treats a carriage return as a blank (CRLF files)', () => {
      expect(words('get a\r\nget b\r\n')).to.deep.equal([['get', 'a'], ['get', 'b']]);
    });

    it('gives nothing for blank input and for comment-only input', () => {
      expect(parseScript('', 't')).to.deep.equal([]);
      expect(parseScript('   \n\t\n', 't')).to.deep.equal([]);
      expect(parseScript('# only a comment\n   # another', 't')).to.deep.equal([]);
    });

    it('keeps each command\'s own text, trimmed', () => {
      const cs = parseScript('  put a "x y"  ;  get a # read it\n', 't');
      expect(cs.map((c) => c.text)).to.deep.equal(['put a "x y"', 'get a # read it']);
    });
  });

  describe('quotes and escapes', () => {
    it('single quotes are literal: no escapes, ; and # and blanks kept', () => {
      expect(words(`put k 'a b;c #d \\n "e"'`)).to.deep.equal([['put', 'k', 'a b;c #d \\n "e"']]);
    });

    it('double quotes understand \\" \\\\ \\n \\t and keep other backslashes', () => {
      expect(words('put k "say \\"hi\\"\\\\ \\n\\t \\q"')).to.deep.equal([['put', 'k', 'say "hi"\\ \n\t \\q']]);
    });

    it('double quotes keep ; # and single quotes', () => {
      expect(words(`put k "a;b #c 'd'"`)).to.deep.equal([['put', 'k', "a;b #c 'd'"]]);
    });

    it('quoted and unquoted parts glue into one word', () => {
      expect(words(`put k ab'c d'"e f"g`)).to.deep.equal([['put', 'k', 'abc de fg']]);
    });

    it('a backslash outside quotes escapes the next character', () => {
      expect(words('put k a\\ b\\;c\\#d\\\\e\\"')).to.deep.equal([['put', 'k', 'a b;c#d\\e"']]);
    });

    it('a backslash at the end of a line continues the command on the next line', () => {
      const cs = parseScript('put k \\\n  v\nget k', 'f');
      expect(cs.map((c) => [...c.words])).to.deep.equal([['put', 'k', 'v'], ['get', 'k']]);
      expect(cs.map((c) => c.where)).to.deep.equal(['f:1', 'f:3']);
    });

    it('an empty quoted word is a word ("" and \'\')', () => {
      const [c] = parseScript(`put k ""; put j ''`, 't');
      expect(c!.words).to.deep.equal(['put', 'k', '']);
      expect(parseScript(`put j ''`, 't')[0]!.words).to.deep.equal(['put', 'j', '']);
    });

    it('flags the words that had a quoted part', () => {
      const [c] = parseScript(`cas k nil "nil" 'x' a"b" \\c plain`, 't');
      expect(c!.words).to.deep.equal(['cas', 'k', 'nil', 'nil', 'x', 'ab', 'c', 'plain']);
      expect(c!.quoted).to.deep.equal([false, false, false, true, true, true, false, false]);
    });
  });

  describe('comments', () => {
    it('# at the start of a word comments out the rest of the line only', () => {
      expect(words('put a 1 # set a\nget a #read\n#whole line\nget b')).to.deep.equal([
        ['put', 'a', '1'], ['get', 'a'], ['get', 'b'],
      ]);
    });

    it('# inside a word is part of it', () => {
      expect(words('put a#b c#')).to.deep.equal([['put', 'a#b', 'c#']]);
    });

    it('a ; inside a comment does not start a command', () => {
      expect(words('get a # x; put a 2')).to.deep.equal([['get', 'a']]);
    });
  });

  describe('where', () => {
    it('is the source alone for one-line input', () => {
      const cs = parseScript('put a 1; get a', '-e');
      expect(cs.map((c) => c.where)).to.deep.equal(['-e', '-e']);
    });

    it('adds the line number of each command\'s first word in multi-line input', () => {
      const text = [
        '# drill',          // 1
        'put a 1; get a',   // 2
        '',                 // 3
        "put b 'two",       // 4
        "lines'; get b",    // 5
        '  # note',         // 6
        'put c "x\\',       // 7: escaped newline inside double quotes
        'y"',               // 8
        'status',           // 9
      ].join('\n');
      const cs = parseScript(text, 'drill.kvsh');
      expect(cs.map((c) => `${c.words[0]} ${c.where}`)).to.deep.equal([
        'put drill.kvsh:2', 'get drill.kvsh:2', 'put drill.kvsh:4', 'get drill.kvsh:5', 'put drill.kvsh:7', 'status drill.kvsh:9',
      ]);
    });

    it('starts counting at firstLine when given (even for one line)', () => {
      expect(parseScript('get a', 'stdin', 12)[0]!.where).to.equal('stdin:12');
      expect(parseScript('get a\nget b', 'stdin', 12).map((c) => c.where)).to.deep.equal(['stdin:12', 'stdin:13']);
    });
  });

  describe('syntax errors', () => {
    it('an unterminated single quote names the line it opened on', () => {
      const e = syntaxError("get a\nput k 'oops\nmore\n", 'f.kvsh');
      expect(e.where).to.equal('f.kvsh:2');
      expect(e.message).to.equal("f.kvsh:2: unterminated ' quote");
    });

    it('an unterminated double quote names the line it opened on', () => {
      const e = syntaxError('get a\n\nput k "oops\nmore\n', 'f.kvsh');
      expect(e.where).to.equal('f.kvsh:3');
      expect(e.message).to.match(/^f\.kvsh:3: unterminated " quote$/);
    });

    it('one-line input names only the source', () => {
      expect(syntaxError('put k "x', '-e').message).to.equal('-e: unterminated " quote');
    });

    it('a backslash at the very end is an error', () => {
      expect(syntaxError('get a\\', '-e').message).to.contain('backslash');
    });
  });

  describe('quoteWord', () => {
    it('leaves plain words alone and quotes the rest', () => {
      expect(quoteWord('k1')).to.equal('k1');
      expect(quoteWord('127.0.0.1:7001')).to.equal('127.0.0.1:7001');
      expect(quoteWord('')).to.equal('""');
      expect(quoteWord('two words')).to.equal('"two words"');
      expect(quoteWord('#x')).to.not.equal('#x');
      expect(quoteWord('a;b')).to.not.equal('a;b');
    });

    it('quoted words read back as text ("nil" stays quoted)', () => {
      const [c] = parseScript(`cas k ${quoteWord('a "b"\\c')} ${quoteWord('')}`, 't');
      expect(c!.words).to.deep.equal(['cas', 'k', 'a "b"\\c', '']);
      expect(c!.quoted).to.deep.equal([false, false, true, true]);
    });

    it('round-trips any list of words through parseScript (property)', () => {
      const word = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.string({ unit: fc.constantFrom('a', ' ', '"', "'", '\\', '#', ';', '\n', '\t', '\r', 'n', 'é'), maxLength: 8 }),
      );
      fc.assert(fc.property(fc.array(word, { maxLength: 6 }), (ws) => {
        const cs: CommandLine[] = parseScript(ws.map(quoteWord).join(' '), 't');
        if (ws.length === 0) {
          expect(cs).to.deep.equal([]);
          return;
        }
        expect(cs).to.have.length(1);
        expect(cs[0]!.words).to.deep.equal(ws);
      }), { numRuns: 500 });
    });

    it('round-trips several commands joined by ; and newlines (property)', () => {
      const cmd = fc.array(fc.string({ unit: 'binary', maxLength: 6 }), { minLength: 1, maxLength: 4 });
      fc.assert(fc.property(fc.array(cmd, { maxLength: 4 }), fc.boolean(), (cmds, newlines) => {
        const text = cmds.map((ws) => ws.map(quoteWord).join(' ')).join(newlines ? '\n' : ' ; ');
        expect(parseScript(text, 't').map((c) => [...c.words])).to.deep.equal(cmds);
      }), { numRuns: 300 });
    });
  });
});

describe('shell durations', () => {
  it('parses the units people type; a bare number is seconds', () => {
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('2s')).to.equal(2000);
    expect(parseDuration('1.5s')).to.equal(1500);
    expect(parseDuration('3m')).to.equal(180_000);
    expect(parseDuration('1h')).to.equal(3_600_000);
    expect(parseDuration('2')).to.equal(2000);
    expect(parseDuration(' 10s ')).to.equal(10_000);
    expect(parseDuration('0')).to.equal(0);
    expect(parseDuration('0.0004s')).to.equal(0);
  });

  it('rejects what is not a duration, saying so', () => {
    for (const bad of ['', 's', '-1s', '1d', '1 s', '1.s', '.5s', 'abc', '1e3', '2S']) {
      expect(() => parseDuration(bad), bad).to.throw(/not a duration/);
    }
  });

  it('rejects durations over a week', () => {
    expect(parseDuration('168h')).to.equal(7 * 24 * 3_600_000);
    expect(() => parseDuration('169h')).to.throw(/too long/);
    expect(() => parseDuration('1'.repeat(400))).to.throw(/too long/);
  });

  it('formats milliseconds, seconds and minutes', () => {
    expect(formatDuration(0)).to.equal('0ms');
    expect(formatDuration(250)).to.equal('250ms');
    expect(formatDuration(999.4)).to.equal('999ms');
    expect(formatDuration(1000)).to.equal('1s');
    expect(formatDuration(1500)).to.equal('1.5s');
    expect(formatDuration(2345)).to.equal('2.35s');
    expect(formatDuration(12_345)).to.equal('12.3s');
    expect(formatDuration(60_000)).to.equal('1m');
    expect(formatDuration(90_000)).to.equal('1m30s');
    expect(formatDuration(3_600_000)).to.equal('60m');
  });

  it('rounds before splitting: no "1000ms", "60s" or "1m60s"', () => {
    expect(formatDuration(999.6)).to.equal('1s');
    expect(formatDuration(59_999)).to.equal('1m');
    expect(formatDuration(119_700)).to.equal('2m');
    expect(formatDuration(89_600)).to.equal('1m30s');
  });

  it('reads back what it formats (whole units)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 7 * 24 * 3600 }), (secs) => {
      const text = formatDuration(secs * 1000);
      // 1m30s is two units: sum them.
      const total = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m)/g)].reduce((sum, m) => sum + parseDuration(`${m[1]}${m[2]}`), 0);
      expect(total, text).to.equal(secs * 1000);
    }));
  });

  it('formats latencies with a precision that fits their size', () => {
    expect(formatLatency(0.4213)).to.equal('0.42 ms');
    expect(formatLatency(3.14)).to.equal('3.1 ms');
    expect(formatLatency(120.4)).to.equal('120 ms');
  });
});

describe('shell latency quantiles (LatencyRecorder)', () => {
  /** The q-quantile as the recorder defines it: the ceil(q·n)-th smallest sample. */
  const exact = (sorted: readonly number[], q: number): number => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;

  /** Within the histogram's bucket error: never below the true value, at most 2% above it. */
  function expectClose(got: number, want: number, what: string): void {
    expect(got, `${what}: ${got} vs ${want}`).to.be.at.least(want * (1 - 1e-9));
    expect(got, `${what}: ${got} vs ${want}`).to.be.at.most(want * 1.02 * (1 + 1e-9));
  }

  it('is empty at first', () => {
    const r = new LatencyRecorder();
    expect(r.count).to.equal(0);
    expect(r.max).to.equal(0);
    expect(r.quantile(0.5)).to.be.NaN;
  });

  it('matches quantiles computed by hand on a known sample', () => {
    const samples = [0.3, 0.35, 0.5, 0.8, 1.2, 1.25, 2, 3.5, 7, 12, 40, 95, 180, 250, 900, 1500, 2.2, 0.9, 0.45, 33];
    const r = new LatencyRecorder();
    for (const s of samples) r.add(s);
    const sorted = [...samples].sort((a, b) => a - b);
    expect(r.count).to.equal(samples.length);
    expect(r.max).to.equal(1500);
    // n = 20: p50 is the 10th smallest (2.2), p90 the 18th (250), p99 and p100 the largest.
    expect(exact(sorted, 0.5)).to.equal(2.2);
    expect(exact(sorted, 0.9)).to.equal(250);
    for (const q of [0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]) expectClose(r.quantile(q), exact(sorted, q), `q=${q}`);
    expect(r.quantile(1)).to.equal(1500);
  });

  it('one sample is every quantile, exactly (capped at the max)', () => {
    const r = new LatencyRecorder();
    r.add(4.321);
    for (const q of [0.01, 0.5, 1]) expect(r.quantile(q)).to.equal(4.321);
  });

  it('is within 2% of the exact quantile for any sample (property)', () => {
    const sample = fc.array(fc.double({ min: 0.011, max: 500_000, noNaN: true }), { minLength: 1, maxLength: 300 });
    const q = fc.double({ min: 0.001, max: 1, noNaN: true });
    fc.assert(fc.property(sample, q, (xs, qq) => {
      const r = new LatencyRecorder();
      for (const x of xs) r.add(x);
      const sorted = [...xs].sort((a, b) => a - b);
      expectClose(r.quantile(qq), exact(sorted, qq), `q=${qq}`);
      expect(r.max).to.equal(sorted[sorted.length - 1]);
      expect(r.count).to.equal(xs.length);
    }), { numRuns: 300 });
  });

  it('quantiles never decrease with q', () => {
    const r = new LatencyRecorder();
    for (let i = 1; i <= 1000; i++) r.add((i * 7919) % 1000 / 10 + 0.05);
    let last = 0;
    for (let q = 0.01; q <= 1; q += 0.01) {
      const v = r.quantile(q);
      expect(v).to.be.at.least(last);
      last = v;
    }
  });
});
