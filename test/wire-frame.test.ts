/** Framing over a byte stream: split anywhere, oversized prefixes refused before the body, truncation. */
import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { MAX_FRAME_BYTES } from '../src/wire/codec.js';
import { encodeFrame, FrameError, readFrames } from '../src/wire/frame.js';

async function collect(chunks: Uint8Array[]): Promise<Uint8Array[] | FrameError> {
  const s = new PassThrough();
  const out: Uint8Array[] = [];
  const done = (async () => {
    try {
      for await (const f of readFrames(s)) out.push(f);
      return out;
    } catch (e) {
      if (e instanceof FrameError) return e;
      throw e;
    }
  })();
  for (const c of chunks) s.write(c);
  s.end();
  return done;
}

describe('wire framing', () => {
  it('frames survive being split at every byte boundary', async () => {
    const bodies = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
    const all = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    for (let cut = 1; cut < all.length; cut += 7) {
      const got = await collect([all.subarray(0, cut), all.subarray(cut)]);
      expect(got, `cut ${cut}`).to.deep.equal(bodies);
    }
  });

  it('an oversized length prefix is refused before any body arrives', async () => {
    // varint of MAX+1, and not a single body byte after it
    let n = MAX_FRAME_BYTES + 1;
    const prefix: number[] = [];
    while (n >= 0x80) { prefix.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
    prefix.push(n);
    const got = await collect([Uint8Array.from(prefix)]);
    expect(got).to.be.instanceOf(FrameError);
    expect((got as FrameError).kind).to.equal('frame-too-large');
  });

  it('a stream that ends inside a frame is truncated', async () => {
    const f = encodeFrame(new Uint8Array(10));
    const got = await collect([f.subarray(0, 5)]);
    expect(got).to.be.instanceOf(FrameError);
    expect((got as FrameError).kind).to.equal('truncated');
  });

  it('a length prefix longer than 8 bytes is refused', async () => {
    const got = await collect([new Uint8Array(10).fill(0x80)]);
    expect(got).to.be.instanceOf(FrameError);
    expect((got as FrameError).kind).to.equal('bad-length');
  });
});
