/**
 * The binary codec: every message round-trips; every malformed body — truncated, extended,
 * bit-flipped, random — is refused with a ProtocolError (never another exception, never a
 * crash); unknown versions and types get their own error codes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, MESSAGE_TYPE, ProtocolError } from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';
import { messageArb } from './support/wire-arbitraries.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
const runs = Number(process.env.FC_RUNS ?? 1);

function decodeOrProtocolError(b: Uint8Array): WireMessage | ProtocolError {
  try {
    return decodeMessage(b);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
}

describe('wire codec', function () {
  this.timeout(120_000);
  before(() => console.log(`      fast-check seed ${seed} (FC_SEED=${seed} to replay), FC_RUNS=${runs}`));

  it('every message round-trips: decode(encode(m)) equals m', () => {
    fc.assert(fc.property(messageArb, (m) => {
      expect(decodeMessage(encodeMessage(m))).to.deep.equal(m);
    }), { seed, numRuns: 2000 * runs });
  });

  it('covers every message type', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(messageArb, (m) => { seen.add(m.kind); }), { seed, numRuns: 3000 });
    expect([...seen].sort()).to.deep.equal(Object.keys(MESSAGE_TYPE).sort());
  });

  it('every truncation of a valid frame is refused as malformed', () => {
    fc.assert(fc.property(messageArb, (m) => {
      const b = encodeMessage(m);
      for (let cut = 0; cut < b.length; cut++) {
        const r = decodeOrProtocolError(b.subarray(0, cut));
        expect(r, `${m.kind} cut at ${cut}`).to.be.instanceOf(ProtocolError);
        expect((r as ProtocolError).code).to.equal('malformed');
      }
    }), { seed, numRuns: 300 * runs });
  });

  it('a trailing byte is refused as malformed', () => {
    fc.assert(fc.property(messageArb, fc.integer({ min: 0, max: 255 }), (m, extra) => {
      const b = encodeMessage(m);
      const r = decodeOrProtocolError(Uint8Array.from([...b, extra]));
      expect(r).to.be.instanceOf(ProtocolError);
      expect((r as ProtocolError).code).to.equal('malformed');
    }), { seed, numRuns: 500 * runs });
  });

  it('flipped bytes and random bytes give a message or a ProtocolError, nothing else', () => {
    fc.assert(fc.property(messageArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, where, xor) => {
      const b = Uint8Array.from(encodeMessage(m));
      const i = where % b.length;
      b[i] = b[i]! ^ xor;
      decodeOrProtocolError(b);
    }), { seed, numRuns: 3000 * runs });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      decodeOrProtocolError(Uint8Array.from([1, ...b]));
      decodeOrProtocolError(b);
    }), { seed, numRuns: 3000 * runs });
  });

  it('an unknown version or type has its own error code; a huge count is refused without allocating', () => {
    const ok = encodeMessage({ kind: 'heartbeat-request', round: 7 });
    const v2 = Uint8Array.from(ok); v2[0] = 2;
    expect(() => decodeMessage(v2)).to.throw(ProtocolError).with.property('code', 'unsupported-version');
    const t = Uint8Array.from(ok); t[1] = 0x5a;
    expect(() => decodeMessage(t)).to.throw(ProtocolError).with.property('code', 'unknown-type');
    expect(() => decodeMessage(new Uint8Array([1]))).to.throw(ProtocolError).with.property('code', 'malformed');
    // proposal-forward claiming 0xffffffff entries in a 6-byte body
    const huge = Uint8Array.from([1, MESSAGE_TYPE['proposal-forward'], 0xff, 0xff, 0xff, 0xff]);
    expect(() => decodeMessage(huge)).to.throw(ProtocolError, /entries.*impossible/);
  });

  it('the error message names the field and offset', () => {
    const b = encodeMessage({ kind: 'client-request', requestId: 1, command: { clientId: 'c', seq: 1, op: { kind: 'put', key: 'k', value: 'v' } } });
    const e = decodeOrProtocolError(b.subarray(0, b.length - 1)) as ProtocolError;
    expect(e.message).to.match(/malformed client-request: command\.value at byte \d+/);
  });

  it('a string that begins with U+FEFF comes back intact', () => {
    const m: WireMessage = { kind: 'client-request', requestId: 1, command: { clientId: 'c', seq: 1, op: { kind: 'put', key: '\uFEFFk', value: '\uFEFF' } } };
    expect(decodeMessage(encodeMessage(m))).to.deep.equal(m);
  });

  it('refuses invalid UTF-8 in a string', () => {
    // client-request: requestId 1, clientId of 1 byte 0xff
    const b = Uint8Array.from([1, MESSAGE_TYPE['client-request'], 0, 0, 0, 1, 0, 0, 0, 1, 0xff]);
    expect(() => decodeMessage(b)).to.throw(ProtocolError, /clientId.*UTF-8/);
  });
});
