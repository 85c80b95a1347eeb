/**
 * The generator of docs/reliability.md (npm run reliability): its trials on small counts hold and
 * count what they tried, a planted bug is reported caught, and a row that did not hold is shown
 * as such with its failures (the live fuzz and the drills have their own tests: fuzz-live,
 * kvsh-drills).
 */
import { expect } from 'chai';
import { renderReliability } from '../src/reliability/report.js';
import { plantedBugsTrial, simulatorTrial } from '../src/reliability/sim-trials.js';
import { corruptRecordTrial, diskFullTrial, tornTailTrial } from '../src/reliability/storage-trials.js';
import { held, type TrialResult } from '../src/reliability/trial.js';
import { decoderTrial } from '../src/reliability/wire-trials.js';

describe('reliability trials (docs/reliability.md)', function () {
  this.timeout(120_000);
  const ctx = { generatedAt: '2026-11-24', command: 'npm run reliability', commit: 'abc1234', machine: '2 cores', seconds: 1 };

  it('storage: every cut, flip and fill point of a small log is tried, and the storage holds', async () => {
    for (const t of [await tornTailTrial(), await corruptRecordTrial(), await diskFullTrial()]) {
      expect(t.failures, t.fault).to.deep.equal([]);
      expect(t.tried, t.fault).to.be.greaterThan(100);
    }
  });

  it('wire and simulator: seeded bodies into the decoder and a few simulated runs hold; planted bugs are caught', async () => {
    const d = decoderTrial(5000, 3);
    expect(d.failures).to.deep.equal([]);
    expect(d.details).to.match(/refused with a protocol error code/);
    const s = await simulatorTrial(3, 5);
    expect(s.failures).to.deep.equal([]);
    expect(s.tried).to.equal(5);
    const b = await plantedBugsTrial(50, ['skip-dedup', 'ack-before-durable']);
    expect(b.failures).to.deep.equal([]);
    expect(b.details).to.match(/skip-dedup at seed \d+, ack-before-durable at seed \d+/);
  });

  it('the report: a table row per trial; a row that did not hold says NO and lists its failures', () => {
    const ok: TrialResult = { area: 'storage', fault: 'torn | tail', tried: 1234, unit: 'cuts', expected: 'recovers', failures: [] };
    const bad: TrialResult = { area: 'wire', fault: 'decoder', tried: 10, unit: 'bodies', expected: 'typed errors', failures: ['case 3: TypeError: boom'] };
    expect(held(ok)).to.equal(true);
    expect(held(bad)).to.equal(false);
    const all = renderReliability([ok], ctx);
    expect(all).to.contain('**All 1 rows held.**');
    expect(all).to.contain('| storage | torn \\| tail | 1,234 cuts | recovers | yes |');
    const md = renderReliability([ok, bad], ctx);
    expect(md).to.contain('**1 of 2 rows did NOT hold**');
    expect(md).to.contain('| wire | decoder | 10 bodies | typed errors | **NO** (1) |');
    expect(md).to.contain('### wire: decoder\n\n- case 3: TypeError: boom');
  });
});
