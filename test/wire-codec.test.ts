/**
 * The binary codec: every message round-trips; every malformed body — truncated, extended,
 * bit-flipped, random — is refused with a ProtocolError (never another exception, never a
 * crash); unknown versions and types get their own error codes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { Snapshot } from '../src/replica/snapshot.js';
import { decodeMessage, encodeMessage, MAX_FRAME_BYTES, MESSAGE_TYPE, ProtocolError } from '../src/wire/codec.js';
import { ERROR_CODES, PROTOCOL_VERSION, type WireMessage } from '../src/wire/messages.js';
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
      decodeOrProtocolError(Uint8Array.from([PROTOCOL_VERSION, ...b]));
      decodeOrProtocolError(b);
    }), { seed, numRuns: 3000 * runs });
  });

  /**
   * The codec's contract for hostile input: arbitrary bytes, and valid encodings mutated the
   * ways a fuzzer or a broken peer would (bit flips, cuts, inserted and deleted bytes, another
   * type byte, two messages spliced), decode either to a typed refusal — a ProtocolError whose
   * code is one of ERROR_CODES — or to a message that encodes back to exactly those bytes (the
   * encoding is canonical: no two byte strings decode to the same message).
   */
  describe('decoding hostile bytes: a typed refusal, or a message that re-encodes to the same bytes', () => {
    const typeBytes = Object.values(MESSAGE_TYPE);
    const check = (b: Uint8Array): void => {
      let r: WireMessage;
      try {
        r = decodeMessage(b);
      } catch (e) {
        expect(e, `decoding ${Buffer.from(b).toString('hex')} threw something else`).to.be.instanceOf(ProtocolError);
        expect(Object.keys(ERROR_CODES)).to.include((e as ProtocolError).code);
        return;
      }
      expect(Buffer.from(encodeMessage(r)).toString('hex'), `${r.kind} decoded from these bytes re-encodes differently`)
        .to.equal(Buffer.from(b).toString('hex'));
    };
    type Mutation = (b: Uint8Array) => Uint8Array;
    const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => (b) => {
        const c = Uint8Array.from(b);
        if (c.length > 0) c[at % c.length] = c[at % c.length]! ^ (1 << bit);
        return c;
      }),
      fc.nat().map((at): Mutation => (b) => b.subarray(0, at % (b.length + 1))),
      fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, ins]): Mutation => (b) => {
        const i = at % (b.length + 1);
        return Uint8Array.from([...b.subarray(0, i), ...ins, ...b.subarray(i)]);
      }),
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([at, n]): Mutation => (b) => {
        const i = at % (b.length + 1);
        return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + n)]);
      }),
      fc.constantFrom(...typeBytes).map((t): Mutation => (b) => {
        const c = Uint8Array.from(b);
        if (c.length > 1) c[1] = t;
        return c;
      }),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): Mutation => (b) => {
        const c = Uint8Array.from(b);
        if (c.length > 0) c[at % c.length] = v;
        return c;
      }),
      // A count or length field set to something large: u32 0xffffffff / 0x00100000 over four bytes.
      fc.tuple(fc.nat(), fc.constantFrom(0xff, 0x10)).map(([at, v]): Mutation => (b) => {
        const c = Uint8Array.from(b);
        const i = at % Math.max(1, c.length - 3);
        if (c.length >= 4) c.set(v === 0xff ? [0xff, 0xff, 0xff, 0xff] : [0, 0x10, 0, 0], i);
        return c;
      }),
    );

    it('arbitrary bytes, bare and behind a valid version byte and any type byte', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...typeBytes), (b, t) => {
        check(b);
        check(Uint8Array.from([PROTOCOL_VERSION, ...b]));
        check(Uint8Array.from([PROTOCOL_VERSION, t, ...b]));
      }), { seed, numRuns: 5000 * runs });
    });

    it('valid encodings of every message kind after one to three mutations', () => {
      fc.assert(fc.property(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (m, ms) => {
        check(ms.reduce((b, f) => f(b), encodeMessage(m)));
      }), { seed, numRuns: 10_000 * runs });
    });

    it('two valid encodings spliced at arbitrary points', () => {
      fc.assert(fc.property(messageArb, messageArb, fc.nat(), fc.nat(), (a, b, i, j) => {
        const x = encodeMessage(a);
        const y = encodeMessage(b);
        check(Uint8Array.from([...x.subarray(0, i % (x.length + 1)), ...y.subarray(j % (y.length + 1))]));
      }), { seed, numRuns: 3000 * runs });
    });
  });

  it('an unknown version or type has its own error code; a huge count is refused without allocating', () => {
    const ok = encodeMessage({ kind: 'heartbeat-request', round: 7 });
    expect(ok[0]).to.equal(PROTOCOL_VERSION);
    for (const version of [0, 1, PROTOCOL_VERSION + 1, 255]) {
      const other = Uint8Array.from(ok); other[0] = version;
      expect(() => decodeMessage(other), `version ${version}`).to.throw(ProtocolError).with.property('code', 'unsupported-version');
    }
    const t = Uint8Array.from(ok); t[1] = 0x5a;
    expect(() => decodeMessage(t)).to.throw(ProtocolError).with.property('code', 'unknown-type');
    expect(() => decodeMessage(new Uint8Array([1]))).to.throw(ProtocolError).with.property('code', 'malformed');
    // proposal-forward claiming 0xffffffff entries in a 6-byte body
    const huge = Uint8Array.from([PROTOCOL_VERSION, MESSAGE_TYPE['proposal-forward'], 0xff, 0xff, 0xff, 0xff]);
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
    const b = Uint8Array.from([PROTOCOL_VERSION, MESSAGE_TYPE['client-request'], 0, 0, 0, 1, 0, 0, 0, 1, 0xff]);
    expect(() => decodeMessage(b)).to.throw(ProtocolError, /clientId.*UTF-8/);
  });

  describe('a snapshot in a LogSync', () => {
    const snapshot: Snapshot = {
      idx: 40, kv: [['a', '1'], ['b', '2']],
      sessions: [{ clientId: 'c1', lastSeq: 2, lastResult: { kind: 'ok' }, lastIdx: 39 }, { clientId: 'c2', lastSeq: 1, lastResult: { kind: 'not-found' }, lastIdx: 10 }],
      members: [{ id: 1, incarnation: '0123456789abcdef', voter: true }],
    };
    const acceptSync = (s: Snapshot, syncIdx = s.idx): WireMessage => ({
      kind: 'accept-sync', n: { n: 4, priority: 0, pid: 1 }, seq: { session: 1, counter: 1 }, decidedIdx: 40,
      sync: { syncIdx, suffix: [], snapshot: s },
    });
    /**
     * An accept-sync with snapshot `s` built byte by byte from protocol.md's layout, without the
     * encoder's checks (every session's lastResult is written as `ok`).
     */
    const raw = (s: Snapshot, syncIdx = s.idx): Uint8Array => {
      const parts: number[] = [PROTOCOL_VERSION, MESSAGE_TYPE['accept-sync']];
      const u32 = (v: number): void => { parts.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255); };
      const u64 = (v: number): void => { u32(Math.floor(v / 2 ** 32)); u32(v >>> 0); };
      const str = (t: string): void => { const b = Buffer.from(t, 'utf8'); u32(b.length); parts.push(...b); };
      u32(4); u32(0); u32(1); u64(1); u64(1); u64(40);
      parts.push(1); u64(s.idx); u32(s.kv.length);
      for (const [k, v] of s.kv) { str(k); str(v); }
      u32(s.sessions.length);
      for (const x of s.sessions) { str(x.clientId); u64(x.lastSeq); u64(x.lastIdx); parts.push(3); }
      u32(s.members.length);
      for (const m of s.members) { u32(m.id); str(m.incarnation); parts.push(m.voter ? 1 : 0); }
      u64(syncIdx); u32(0);
      return Uint8Array.from(parts);
    };
    const malformed = (b: Uint8Array, pattern: RegExp): void => {
      const e = decodeOrProtocolError(b);
      expect(e).to.be.instanceOf(ProtocolError);
      expect((e as ProtocolError).code).to.equal('malformed');
      expect((e as ProtocolError).message).to.match(pattern);
    };
    const okOnly = (s: Snapshot): Snapshot => ({ ...s, sessions: s.sessions.map((x) => ({ ...x, lastResult: { kind: 'ok' } })) });

    it('round-trips, and the hand-built bytes are what the encoder writes', () => {
      expect(decodeMessage(encodeMessage(acceptSync(snapshot)))).to.deep.equal(acceptSync(snapshot));
      expect(Buffer.from(raw(okOnly(snapshot))).toString('hex')).to.equal(Buffer.from(encodeMessage(acceptSync(okOnly(snapshot)))).toString('hex'));
    });

    it('an empty snapshot (no keys, no sessions) round-trips', () => {
      const empty: Snapshot = { idx: 0, kv: [], sessions: [], members: [] };
      expect(decodeMessage(encodeMessage(acceptSync(empty)))).to.deep.equal(acceptSync(empty));
    });

    it('syncIdx must equal snapshot.idx: the encoder throws, the decoder says malformed', () => {
      expect(() => encodeMessage(acceptSync(snapshot, 41))).to.throw(RangeError, /syncIdx 40, not 41/);
      malformed(raw(okOnly(snapshot), 41), /sync\.syncIdx .*41 is not the snapshot's idx 40/);
    });

    it('a key or a clientId twice, or a session at or past idx, is malformed', () => {
      malformed(raw(okOnly({ ...snapshot, kv: [['a', '1'], ['a', '2']] })), /sync\.snapshot\.kv\[1\]\.key .*"a" appears twice/);
      const s = okOnly(snapshot);
      malformed(raw({ ...s, sessions: [s.sessions[0]!, { ...s.sessions[1]!, clientId: 'c1' }] }), /sessions\[1\]\.clientId .*appears twice/);
      malformed(raw({ ...s, sessions: [{ ...s.sessions[0]!, lastIdx: 40 }] }), /sessions\[0\]\.lastIdx .*40 is not below the snapshot's idx 40/);
    });

    it('a member twice, an id 0, a voter without an incarnation or an overlong incarnation is malformed', () => {
      const s = okOnly(snapshot);
      const m = { id: 2, incarnation: '0123456789abcdef', voter: true };
      malformed(raw({ ...s, members: [m, { ...m, voter: false }] }), /sync\.snapshot\.members\[1\]\.id .*node 2 appears twice/);
      malformed(raw({ ...s, members: [{ ...m, id: 0 }] }), /members\[0\]\.id .*node ids start at 1/);
      malformed(raw({ ...s, members: [{ ...m, incarnation: '' }] }), /members\[0\]\.voter .*node 2 is a voter without an incarnation/);
      malformed(raw({ ...s, members: [{ ...m, incarnation: 'x'.repeat(65) }] }), /members\[0\]\.incarnation .*65 characters/);
    });

    it('counts larger than the frame could hold are refused before allocating', () => {
      const b = raw(okOnly({ idx: 40, kv: [], sessions: [], members: [] }));
      // kv count sits after version, type, n (12), seq (16), decidedIdx (8), hasSnapshot, idx (8)
      const kvAt = 2 + 12 + 16 + 8 + 1 + 8;
      const k = Uint8Array.from(b); k.set([0xff, 0xff, 0xff, 0xff], kvAt);
      malformed(k, /sync\.snapshot\.kv .*count 4294967295 is impossible/);
      const s = Uint8Array.from(b); s.set([0x00, 0x10, 0x00, 0x00], kvAt + 4);
      malformed(s, /sync\.snapshot\.sessions .*count 1048576 is impossible/);
    });

    it('a hasSnapshot flag other than 0 or 1 is malformed', () => {
      const b = Uint8Array.from(raw(okOnly(snapshot)));
      b[2 + 12 + 16 + 8] = 2;
      malformed(b, /hasSnapshot/);
    });

    it('a snapshot too big for one frame cannot be encoded (RangeError: the sender drops it)', () => {
      const big = 'x'.repeat(1024 * 1024 - 10);
      const s: Snapshot = { idx: 10, kv: [0, 1, 2, 3, 4].map((i) => [`k${i}`, big] as [string, string]), sessions: [], members: [] };
      expect(() => encodeMessage(acceptSync(s))).to.throw(RangeError, new RegExp(`exceeds ${MAX_FRAME_BYTES}`));
    });
  });
});
