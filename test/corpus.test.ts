/**
 * The checker against 252 histories whose verdicts were established by Porcupine's and
 * Knossos' own test suites (../shared/corpus). Every verdict must match.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkHistory } from '../src/history/driver.js';
import { readHistoryFile } from '../src/history/reader.js';
import { sharedDir } from './support/paths.js';

const shared = sharedDir();

describe('checker on the shared corpus', function () {
  if (!shared) {
    it('skipped: ../shared/corpus is not beside this clone');
    return;
  }
  const corpus = resolve(shared, 'corpus');
  const rows = readFileSync(resolve(corpus, 'MANIFEST.tsv'), 'utf8').trim().split('\n').map(l => l.split('\t'));
  const header = rows.shift()!;
  const col = (name: string) => header.indexOf(name);
  const entries = rows.map(r => ({ file: r[col('file')]!, expected: r[col('expected')]!, ops: Number(r[col('ops')]) }));

  it('lists 252 histories', () => {
    expect(entries).to.have.length(252);
  });

  it('gives every history its known verdict', async () => {
    const wrong: string[] = [];
    let total = 0;
    const started = performance.now();
    for (const e of entries) {
      const history = await readHistoryFile(resolve(corpus, e.file));
      total += history.operations.length;
      // A generous limit turns a runaway search into UNKNOWN (a mismatch), never a hang.
      const report = await checkHistory(history, { timeoutMs: 30_000 });
      if (report.verdict !== e.expected) wrong.push(`${e.file}: got ${report.verdict}, expected ${e.expected}`);
      if (history.operations.length !== e.ops) wrong.push(`${e.file}: read ${history.operations.length} ops, manifest says ${e.ops}`);
    }
    console.log(`      ${entries.length} histories, ${total} operations, ${(performance.now() - started).toFixed(0)} ms`);
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });
});
