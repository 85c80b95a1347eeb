/** Golden vectors (test/vectors/messages.json): encode(message) = hex and decode(hex) = message. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { decodeMessage, encodeMessage, MESSAGE_TYPE, toHex } from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';

interface Vector { name: string; hex: string; message: WireMessage }
/** Bytes are stored as { "hex": … } (scripts/make-vectors.ts). */
const hexBytes = (_k: string, v: unknown): unknown =>
  (v !== null && typeof v === 'object' && Object.keys(v).length === 1 && typeof (v as { hex?: unknown }).hex === 'string'
    ? new Uint8Array(Buffer.from((v as { hex: string }).hex, 'hex')) : v);
const vectors = JSON.parse(readFileSync(new URL('./vectors/messages.json', import.meta.url), 'utf8'), hexBytes) as Vector[];

describe('wire golden vectors', () => {
  it('there is a vector for every message type', () => {
    expect([...new Set(vectors.map((v) => v.message.kind))].sort()).to.deep.equal(Object.keys(MESSAGE_TYPE).sort());
  });
  for (const v of vectors) {
    it(`${v.name}: encodes to its hex and decodes back`, () => {
      expect(toHex(encodeMessage(v.message))).to.equal(v.hex);
      expect(decodeMessage(Buffer.from(v.hex, 'hex'))).to.deep.equal(v.message);
    });
  }
});
