/**
 * Bad input for a node's ports, shared by the in-process and the real-process tests: each case
 * opens a raw TCP connection, sends bytes, and reports what came back (frames until the node
 * closed the connection, or until a deadline).
 */
import { connect } from 'node:net';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { PROTOCOL_VERSION, type WireMessage } from '../../src/wire/messages.js';
import { varint } from '../../src/fuzz/frames.js';
import { splitFrames } from './raw-peer.js';

export interface RawOutcome {
  /** Decoded frames the node sent back. */
  readonly frames: WireMessage[];
  /** Whether the node closed the connection before the deadline. */
  readonly closed: boolean;
}

/** A varint length prefix (LEB128), for hand-made frames. */
export { varint };

export function frameOf(m: WireMessage): Uint8Array {
  return encodeFrame(encodeMessage(m));
}

/**
 * Sends `chunks` in order and collects replies. `endAfter`: half-close our side after sending
 * (a truncated frame is only known to be truncated once the stream ends).
 */
export function sendRaw(host: string, port: number, chunks: Uint8Array[], opts: { endAfter?: boolean; waitMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buf: Buffer = Buffer.alloc(0);
    const frames: WireMessage[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ frames, closed });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 3000);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const { bodies, rest } = splitFrames(buf);
      for (const b of bodies) frames.push(decodeMessage(b));
      buf = rest;
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
      if (opts.endAfter) socket.end();
    });
  });
}

/** Deterministic pseudo-random bytes (xorshift), so a failing case can be replayed. */
export function randomBytes(seed: number, n: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface BadInputCase {
  readonly name: string;
  readonly chunks: Uint8Array[];
  readonly endAfter?: boolean;
  /** The error code the node must answer with, or null if it may just close. */
  readonly code: string | null;
}

/** The cases every port must survive. `first` is sent before the bad bytes (e.g. a peer-hello). */
export function badInputCases(seed: number): BadInputCase[] {
  return [
    // Random bytes: the first byte is read as a length prefix, so these may be taken as a
    // frame (then: malformed / unsupported-version / unknown-type) or as an oversized prefix.
    { name: `random bytes (seed ${seed})`, chunks: [randomBytes(seed, 64)], endAfter: true, code: null },
    { name: 'an oversized length prefix (1 GiB)', chunks: [varint(1024 ** 3)], code: 'frame-too-large' },
    { name: 'a truncated frame', chunks: [Uint8Array.from([...varint(100), PROTOCOL_VERSION, 0x40, 0, 0])], endAfter: true, code: null },
    { name: 'an unknown message type', chunks: [Uint8Array.from([2, PROTOCOL_VERSION, 0x3e])], code: 'unknown-type' },
    { name: 'an unsupported version', chunks: [Uint8Array.from([2, 9, 0x40])], code: 'unsupported-version' },
    { name: 'an older version (1, before snapshots)', chunks: [Uint8Array.from([2, 1, 0x42])], code: 'unsupported-version' },
    { name: 'a malformed body (cut short)', chunks: [Uint8Array.from([4, PROTOCOL_VERSION, 0x40, 0, 0])], code: 'malformed' },
  ];
}
