/**
 * LineHistory on a real disk (temp directories): persistence across two instances, dedupe of
 * repeats and blanks, the in-memory limit, trimming the file, unreadable and unwritable files,
 * and the KVSH_HISTFILE default.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HISTORY_LIMIT, LineHistory, defaultHistoryFile } from '../src/shell/line-history.js';

const fileLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(l => l !== '');

describe('shell LineHistory', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-hist-'));
    file = join(dir, 'history');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file is an empty history, created on the first add', () => {
    const h = LineHistory.load(file);
    expect(h.entries()).to.deep.equal([]);
    expect(h.warning).to.equal(undefined);
    expect(h.file).to.equal(file);
    h.add('get a');
    expect(fileLines(file)).to.deep.equal(['get a']);
  });

  it('persists lines across two instances, in order', () => {
    const a = LineHistory.load(file);
    a.add('put a 1');
    a.add('get a');
    const b = LineHistory.load(file);
    expect(b.entries()).to.deep.equal(['put a 1', 'get a']);
    b.add('status');
    expect(LineHistory.load(file).entries()).to.deep.equal(['put a 1', 'get a', 'status']);
  });

  it('skips blank lines and an immediate repeat, but keeps a non-adjacent repeat', () => {
    const h = LineHistory.load(file);
    expect(h.add('get a')).to.equal(true);
    expect(h.add('get a')).to.equal(false);
    expect(h.add('   ')).to.equal(false);
    expect(h.add('')).to.equal(false);
    expect(h.add('  get a  ')).to.equal(false); // trimmed, so still a repeat
    expect(h.add('get b')).to.equal(true);
    expect(h.add('get a')).to.equal(true);
    expect(h.entries()).to.deep.equal(['get a', 'get b', 'get a']);
    expect(fileLines(file)).to.deep.equal(['get a', 'get b', 'get a']);
  });

  it('refuses lines containing line breaks', () => {
    const h = LineHistory.load(file);
    expect(h.add('put a 1\nget a')).to.equal(false);
    expect(h.add('x\ry')).to.equal(false);
    expect(h.entries()).to.deep.equal([]);
  });

  it('keeps the last `limit` lines in memory and when loading', () => {
    writeFileSync(file, Array.from({ length: 12 }, (_, i) => `cmd ${i}`).join('\n') + '\n');
    const h = LineHistory.load(file, { limit: 5 });
    expect(h.entries()).to.deep.equal(['cmd 7', 'cmd 8', 'cmd 9', 'cmd 10', 'cmd 11']);
    h.add('cmd 12');
    expect(h.entries()).to.have.length(5);
    expect(h.entries()[0]).to.equal('cmd 8');
    expect(h.entries()[4]).to.equal('cmd 12');
  });

  it('the default limit is 1000', () => {
    writeFileSync(file, Array.from({ length: 1500 }, (_, i) => `c${i}`).join('\n') + '\n');
    const h = LineHistory.load(file);
    expect(HISTORY_LIMIT).to.equal(1000);
    expect(h.entries()).to.have.length(1000);
    expect(h.entries()[0]).to.equal('c500');
  });

  it('ignores blank lines and CRLF endings in the file', () => {
    writeFileSync(file, 'a\r\n\r\n  \nb\n');
    expect(LineHistory.load(file).entries()).to.deep.equal(['a', 'b']);
  });

  it('trims the file back to `limit` lines once it grows past twice the limit', () => {
    const h = LineHistory.load(file, { limit: 3 });
    for (let i = 1; i <= 6; i++) h.add(`c${i}`);
    expect(fileLines(file)).to.have.length(6); // 2x the limit: not yet
    h.add('c7');
    expect(fileLines(file)).to.deep.equal(['c5', 'c6', 'c7']);
    h.add('c8');
    expect(fileLines(file)).to.deep.equal(['c5', 'c6', 'c7', 'c8']);
    expect(h.warning).to.equal(undefined);
  });

  it('trimming keeps lines another session appended meanwhile', () => {
    const a = LineHistory.load(file, { limit: 2 });
    const b = LineHistory.load(file, { limit: 2 });
    for (const l of ['a1', 'a2', 'a3', 'a4']) a.add(l); // a has written 4 lines: 2x the limit, no trim yet
    b.add('b1');
    a.add('a5'); // a's 5th line trims, from the file's content rather than from a's own lines
    expect(fileLines(file)).to.deep.equal(['b1', 'a5']);
    expect(a.entries()).to.deep.equal(['a4', 'a5']);
  });

  it('creates the file readable by its owner only', function () {
    if (process.platform === 'win32') this.skip();
    LineHistory.load(file).add('put secret 1');
    expect(statSync(file).mode & 0o777).to.equal(0o600);
  });

  it('an unwritable path keeps the history in memory and warns once', () => {
    const path = join(dir, 'no-such-dir', 'history'); // reads as missing, but cannot be created (even by root)
    const h = LineHistory.load(path);
    expect(h.warning).to.equal(undefined);
    expect(h.file).to.equal(path);
    expect(() => h.add('get a')).to.not.throw();
    expect(h.entries()).to.deep.equal(['get a']);
    expect(h.file).to.equal(null);
    const w = h.takeWarning();
    expect(w).to.be.a('string').and.contain(path).and.contain('memory');
    expect(h.warning).to.equal(undefined);
    h.add('get b');
    expect(h.warning).to.equal(undefined); // once
    expect(h.entries()).to.deep.equal(['get a', 'get b']);
  });

  it('a path under a regular file warns at load and stays in memory', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const h = LineHistory.load(join(blocker, 'history'));
    expect(h.warning).to.be.a('string').and.contain('not-a-dir');
    expect(h.file).to.equal(null);
    expect(() => h.add('get a')).to.not.throw();
    expect(h.entries()).to.deep.equal(['get a']);
  });

  it('an unreadable file (a directory) gives an in-memory history with a warning, never a throw', () => {
    const d = join(dir, 'histdir');
    mkdirSync(d);
    const h = LineHistory.load(d);
    expect(h.warning).to.be.a('string').and.contain(d);
    expect(h.file).to.equal(null);
    h.add('x');
    expect(h.entries()).to.deep.equal(['x']);
  });

  it('null and empty string mean no file at all', () => {
    for (const f of [null, '']) {
      const h = LineHistory.load(f);
      expect(h.file).to.equal(null);
      h.add('get a');
      expect(h.entries()).to.deep.equal(['get a']);
      expect(h.warning).to.equal(undefined);
    }
  });

  describe('defaultHistoryFile', () => {
    it('is ~/.kvsh_history without KVSH_HISTFILE', () => {
      expect(defaultHistoryFile({})).to.equal(join(homedir(), '.kvsh_history'));
    });
    it('KVSH_HISTFILE overrides it, with ~ expanded', () => {
      expect(defaultHistoryFile({ KVSH_HISTFILE: '/tmp/h' })).to.equal('/tmp/h');
      expect(defaultHistoryFile({ KVSH_HISTFILE: '~/h' })).to.equal(join(homedir(), 'h'));
    });
    it('an empty KVSH_HISTFILE disables the file', () => {
      expect(defaultHistoryFile({ KVSH_HISTFILE: '' })).to.equal(null);
    });
    it('load() with no argument uses KVSH_HISTFILE', () => {
      const saved = process.env.KVSH_HISTFILE;
      try {
        process.env.KVSH_HISTFILE = file;
        LineHistory.load().add('from env');
        expect(fileLines(file)).to.deep.equal(['from env']);
        process.env.KVSH_HISTFILE = '';
        expect(LineHistory.load().file).to.equal(null);
      } finally {
        if (saved === undefined) delete process.env.KVSH_HISTFILE;
        else process.env.KVSH_HISTFILE = saved;
      }
    });
  });
});
