/**
 * ByteWriter.string: its ASCII fast path and its encodeInto path must write exactly what
 * TextEncoder writes (the protocol's UTF-8, a lone surrogate as U+FFFD), whatever the string.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ByteReader, ByteWriter } from '../src/wire/bytes.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);

/** What the protocol says a string is: u32 big-endian byte length, then TextEncoder's UTF-8. */
function reference(...strings: string[]): Uint8Array {
  const parts: number[] = [];
  for (const s of strings) {
    const b = new TextEncoder().encode(s);
    parts.push((b.length >>> 24) & 0xff, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff, ...b);
  }
  return Uint8Array.from(parts);
}

function written(...strings: string[]): Uint8Array {
  const w = new ByteWriter(8); // small, so the writer grows in the middle of strings too
  for (const s of strings) w.string(s);
  return w.bytes();
}

describe('wire bytes: strings', () => {
  before(() => console.log(`      fast-check seed ${seed} (FC_SEED=${seed} to replay)`));

  it('writes what TextEncoder writes: ASCII, at the fast path\'s bound, non-ASCII first or after an ASCII prefix, lone surrogates', () => {
    const cases = [
      '', 'k', 'bench-123', 'a'.repeat(255), 'a'.repeat(256), 'a'.repeat(257), 'a'.repeat(100_000),
      'é', 'abcé', 'a'.repeat(200) + '€', '😀', 'x😀y', '\ud800', 'ab\udc00cd', '\u007f\u0080', '\u0000nul',
      'a'.repeat(256) + 'é',
    ];
    for (const s of cases) expect([...written(s)], JSON.stringify(s.slice(0, 40))).to.deep.equal([...reference(s)]);
    expect([...written(...cases)]).to.deep.equal([...reference(...cases)]);
  });

  it('any sequence of strings, any code units: the same bytes as TextEncoder, and they read back', () => {
    const anyString = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 300 }).map((units) => String.fromCharCode(...units)),
    );
    fc.assert(fc.property(fc.array(anyString, { maxLength: 6 }), (strings) => {
      const bytes = written(...strings);
      expect([...bytes]).to.deep.equal([...reference(...strings)]);
      const r = new ByteReader(bytes);
      // Well-formed strings come back as they were (lone surrogates were replaced on the way).
      for (const s of strings) expect(r.string('s')).to.equal(new TextDecoder().decode(new TextEncoder().encode(s)));
    }), { seed, numRuns: 2000 });
  });
});
