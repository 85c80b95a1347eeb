/**
 * The live fuzz campaign (src/fuzz/campaign.ts): 100,000 random and mutated frames on the client
 * and peer ports of a real 3-node cluster (fsync on), and connections opened and dropped, while
 * a recorded workload runs. Every node stays up and answers, the workload sees no indeterminate
 * or rejected operation, no node's RSS grows more than 150 MB, and the history is linearizable.
 * FUZZ_SEED replays a campaign, FUZZ_FRAMES changes its size; `npm run fuzz` runs longer ones.
 */
import { expect } from 'chai';
import { formatCampaign, runCampaign } from '../src/fuzz/campaign.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 0x7fff_ffff));
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);

describe('live fuzz campaign', function () {
  this.timeout(300_000);

  it(`${FRAMES} hostile frames while a workload runs: nodes up, memory bounded, history linearizable`, async () => {
    console.log(`      fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED}, or npm run fuzz -- --seed ${SEED} --frames ${FRAMES})`);
    const r = await runCampaign({ frames: FRAMES, seed: SEED });
    const summary = formatCampaign(r);
    console.log(summary.split('\n').map((l) => `      ${l}`).join('\n'));
    expect(r.framesSent).to.equal(FRAMES);
    expect(r.nodeExits, 'unexpected node exits').to.equal(0);
    expect(r.nodesAnswering).to.equal(3);
    expect(r.workload.ok, 'the workload made progress').to.be.greaterThan(0);
    expect(r.workload.info, 'indeterminate workload operations').to.equal(0);
    expect(r.workload.rejected).to.equal(0);
    expect(r.verdict).to.equal('LINEARIZABLE');
    for (const x of r.rss) expect(x.maxKb - x.beforeKb, `node ${x.nodeId} RSS growth (kB)`).to.be.at.most(r.rssGrowthLimitKb);
    // The frames reached the decoders: the nodes refused them with their error codes.
    for (const code of ['client: malformed', 'client: unsupported-version', 'client: unexpected-message', 'client: frame-too-large']) {
      expect(r.closedWith[code] ?? 0, code).to.be.greaterThan(0);
    }
    // The peer port refuses strangers early (which code depends on the handshake): some refusal.
    const peerRefusals = Object.entries(r.closedWith).filter(([k]) => k.startsWith('peer: ') && !['peer: closed', 'peer: open'].includes(k));
    expect(peerRefusals.reduce((n, [, c]) => n + c, 0), 'peer-port refusals with an error code').to.be.greaterThan(0);
    expect(r.problems).to.deep.equal([]);
  });
});
