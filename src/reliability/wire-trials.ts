/**
 * Bad input on the wire for docs/reliability.md: seeded random and mutated bodies straight into
 * the decoder, and the live campaign against a running cluster (src/fuzz).
 */
import { decodeMessage, encodeMessage, ProtocolError } from '../wire/codec.js';
import { ERROR_CODES } from '../wire/messages.js';
import { FRAME_KINDS, FrameGenerator, loadCorpus } from '../fuzz/frames.js';
import { runCampaign } from '../fuzz/campaign.js';
import type { TrialResult } from './trial.js';

/**
 * `count` hostile bodies (the campaign's frame kinds, without their length prefix) into the
 * decoder: each must decode to a message that re-encodes to the same bytes, or be refused with
 * a ProtocolError carrying a known code — never another exception.
 */
export function decoderTrial(count: number, seed: number): TrialResult {
  const gen = new FrameGenerator(seed, loadCorpus());
  const failures: string[] = [];
  let refused = 0;
  for (let i = 0; i < count; i++) {
    const kind = FRAME_KINDS[i % FRAME_KINDS.length]!;
    const { bytes } = gen.frame(kind, i % 2 === 0 ? 'client' : 'peer');
    // Skip the length prefix (LEB128): what is left is what a receiver would decode.
    let at = 0;
    while (at < bytes.length && at < 8 && (bytes[at]! & 0x80) !== 0) at++;
    const body = bytes.subarray(at + 1);
    try {
      const m = decodeMessage(body);
      const again = encodeMessage(m);
      if (Buffer.compare(Buffer.from(again), Buffer.from(body)) !== 0) failures.push(`case ${i} (${kind}): decoded to a ${m.kind} that re-encodes differently`);
    } catch (e) {
      if (e instanceof ProtocolError && e.code in ERROR_CODES) refused++;
      else if (failures.length < 10) failures.push(`case ${i} (${kind}): ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  return {
    area: 'wire', fault: `random and mutated message bodies into the decoder (seed ${seed})`, tried: count, unit: 'bodies',
    details: `${refused.toLocaleString('en-US')} refused with a protocol error code, the rest decoded`,
    expected: 'a typed protocol error or a message that re-encodes to the same bytes; nothing else', failures,
  };
}

/** The live campaign (src/fuzz/campaign.ts) as a row. */
export async function liveFuzzTrial(frames: number, seed: number): Promise<TrialResult> {
  const r = await runCampaign({ frames, seed });
  const rssGrowthMb = Math.max(...r.rss.map((n) => n.maxKb - n.beforeKb)) / 1024;
  return {
    area: 'network', fault: `random and mutated frames on the client and peer ports of a live 3-node cluster while clients run (seed ${seed})`,
    tried: r.framesSent, unit: 'frames',
    details: `${(r.connections.client + r.connections.peer + r.connections.churned).toLocaleString('en-US')} connections; workload ${r.workload.ok.toLocaleString('en-US')} ok; RSS growth ≤ ${rssGrowthMb.toFixed(0)} MB; ${r.verdict}`,
    expected: 'no node exits, every node answers, other clients see no error, memory bounded, history LINEARIZABLE',
    failures: [...r.problems],
  };
}
