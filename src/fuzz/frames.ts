/**
 * Hostile frames for the live fuzz campaign: random bytes, and valid frames (the golden
 * vectors' bodies and a few client requests) mutated the ways a fuzzer or a broken peer would —
 * bit flips, cut bodies, lying and huge length prefixes, other type and version bytes, valid
 * messages sent to the wrong port. Every choice comes from one seeded generator, so a campaign
 * replays from its seed.
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../history/synthetic.js';
import { encodeMessage, MESSAGE_TYPE } from '../wire/codec.js';
import { encodeFrame } from '../wire/frame.js';
import { PROTOCOL_VERSION, type WireMessage } from '../wire/messages.js';

export type FrameKind =
  | 'valid' | 'random-bytes' | 'random-body' | 'bit-flip' | 'cut-body' | 'lying-length' | 'huge-length'
  | 'wrong-type' | 'wrong-version' | 'wrong-port';

export const FRAME_KINDS: readonly FrameKind[] = [
  'valid', 'random-bytes', 'random-body', 'bit-flip', 'cut-body', 'lying-length', 'huge-length',
  'wrong-type', 'wrong-version', 'wrong-port',
];

export type Port = 'client' | 'peer';

export interface FuzzFrame {
  readonly kind: FrameKind;
  readonly bytes: Uint8Array;
}

/** The golden vectors' frame bodies, split by the port each message belongs to. */
export interface Corpus {
  readonly client: readonly Uint8Array[];
  readonly peer: readonly Uint8Array[];
}

const CLIENT_KINDS = new Set(['client-request', 'client-response', 'status-request', 'status-response', 'log-request', 'log-response']);

/** Reads test/vectors/messages.json (the protocol's golden vectors: every message kind). */
export function loadCorpus(file = new URL('../../test/vectors/messages.json', import.meta.url)): Corpus {
  const vectors = JSON.parse(readFileSync(file, 'utf8')) as { hex: string; message: { kind: string } }[];
  const client: Uint8Array[] = [];
  const peer: Uint8Array[] = [];
  for (const v of vectors) (CLIENT_KINDS.has(v.message.kind) ? client : peer).push(Uint8Array.from(Buffer.from(v.hex, 'hex')));
  return { client, peer };
}

/** An unsigned LEB128 length prefix of any value (also longer than the reader allows). */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Uint8Array.from(out);
}

function bytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
  return b;
}

const FUZZ_KEYS = ['fz', 'k', 'x', ''];

/**
 * A valid message a client may send: status and log queries, and requests on keys of the
 * fuzzer's own (never the workload's), under a clientId of the fuzzer's own.
 */
function validClientMessage(rng: Rng): WireMessage {
  const requestId = rng.int(0, 0xffff_ffff);
  switch (rng.int(0, 2)) {
    case 0: return { kind: 'status-request', requestId };
    case 1: return { kind: 'log-request', requestId, from: rng.int(0, 1_000_000), count: rng.int(0, 5000) };
    default: return {
      kind: 'client-request', requestId,
      command: { clientId: `fuzz-${rng.int(0, 99)}`, seq: rng.int(1, 1_000_000), op: { kind: 'put', key: rng.pick(FUZZ_KEYS), value: String(rng.int(0, 999)) } },
    };
  }
}

export class FrameGenerator {
  private readonly rng: Rng;
  private readonly typeBytes = Object.values(MESSAGE_TYPE);

  constructor(seed: number, private readonly corpus: Corpus) {
    this.rng = new Rng(seed);
  }

  /** A random number source for the campaign's other choices (same seed stream). */
  get random(): Rng {
    return this.rng;
  }

  /** A body valid on `port` (for the peer port: a vector, which a stranger may still not send first). */
  private validBody(port: Port): Uint8Array {
    if (port === 'client') return this.rng.chance(0.5) ? encodeMessage(validClientMessage(this.rng)) : this.rng.pick(this.corpus.client.filter((b) => b[1] === MESSAGE_TYPE['status-request'] || b[1] === MESSAGE_TYPE['log-request'] || b[1] === MESSAGE_TYPE['client-request']));
    return this.rng.pick(this.corpus.peer);
  }

  private anyBody(): Uint8Array {
    return this.rng.pick(this.rng.chance(0.5) ? this.corpus.client : this.corpus.peer);
  }

  frame(kind: FrameKind, port: Port): FuzzFrame {
    const r = this.rng;
    const framed = (body: Uint8Array): FuzzFrame => ({ kind, bytes: encodeFrame(body) });
    switch (kind) {
      case 'valid': return framed(this.validBody(port));
      case 'random-bytes': return { kind, bytes: bytes(r, r.int(1, 300)) };
      case 'random-body': return framed(bytes(r, r.int(0, 200)));
      case 'bit-flip': {
        const b = Uint8Array.from(this.anyBody());
        for (let i = r.int(1, 3); i > 0; i--) {
          const at = r.int(0, b.length - 1);
          b[at] = b[at]! ^ (1 << r.int(0, 7));
        }
        return framed(b);
      }
      case 'cut-body': {
        // The prefix promises the whole body; only part of it follows (the connection then
        // carries the next frame's bytes as the rest of this one, or ends: truncated).
        const b = this.anyBody();
        return { kind, bytes: Uint8Array.from([...varint(b.length), ...b.subarray(0, r.int(0, b.length - 1))]) };
      }
      case 'lying-length': {
        const b = this.anyBody();
        const claimed = Math.max(0, b.length + r.pick([-3, -2, -1, 1, 2, 7, 100, 65_536]));
        return { kind, bytes: Uint8Array.from([...varint(claimed), ...b]) };
      }
      case 'huge-length': {
        // Over the 4 MiB limit (some far over, some past what 8 prefix bytes can say), or a
        // padded prefix that never ends.
        const choice = r.int(0, 3);
        if (choice === 3) return { kind, bytes: new Uint8Array(r.int(9, 16)).fill(0x80) };
        const claimed = [4 * 1024 * 1024 + 1, 1024 ** 3, 2 ** 53][choice]!;
        return { kind, bytes: Uint8Array.from([...varint(claimed), ...bytes(r, r.int(0, 64))]) };
      }
      case 'wrong-type': {
        const b = Uint8Array.from(this.anyBody());
        b[1] = r.chance(0.5) ? r.pick(this.typeBytes) : r.int(0, 255);
        return framed(b);
      }
      case 'wrong-version': {
        const b = Uint8Array.from(this.anyBody());
        b[0] = r.pick([0, 1, PROTOCOL_VERSION + 1, 255]);
        return framed(b);
      }
      case 'wrong-port': return framed(port === 'client' ? r.pick(this.corpus.peer) : this.validBody('client'));
    }
  }
}
