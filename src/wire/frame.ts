/**
 * Framing: every message travels as one length-prefixed frame (it-length-prefixed: an unsigned
 * LEB128 varint length, then that many bytes). The maximum is enforced from the prefix, before
 * the body is buffered, so a peer cannot make a node allocate a huge frame.
 */
import type { Duplex } from 'node:stream';
import * as lp from 'it-length-prefixed';
import { MAX_FRAME_BYTES } from './codec.js';

/** One frame ready for `socket.write` (prefix and body in one buffer: one write per frame). */
export function encodeFrame(body: Uint8Array): Uint8Array {
  return lp.encode.single(body, { maxDataLength: MAX_FRAME_BYTES }).subarray();
}

/** Why a frame stream ended early. */
export type FrameErrorKind = 'frame-too-large' | 'truncated' | 'bad-length';

export class FrameError extends Error {
  constructor(readonly kind: FrameErrorKind, message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

function classify(e: unknown): FrameError | null {
  const code = (e as { code?: string } | null)?.code;
  if (code === 'ERR_MSG_DATA_TOO_LONG') return new FrameError('frame-too-large', `frame length prefix exceeds ${MAX_FRAME_BYTES} bytes`);
  if (code === 'ERR_MSG_LENGTH_TOO_LONG') return new FrameError('bad-length', 'frame length prefix is longer than 8 bytes');
  if (code === 'ERR_UNEXPECTED_EOF') return new FrameError('truncated', 'the connection ended in the middle of a frame');
  return null;
}

/**
 * The frame bodies arriving on a socket, in order. Ends when the socket ends cleanly; throws a
 * `FrameError` for an oversized or truncated frame (the caller sends an error frame if it can
 * and closes the connection).
 */
export async function* readFrames(source: Duplex | AsyncIterable<Uint8Array>, maxBytes = MAX_FRAME_BYTES): AsyncGenerator<Uint8Array> {
  try {
    for await (const frame of lp.decode(source as AsyncIterable<Uint8Array>, { maxDataLength: maxBytes })) {
      yield frame.subarray();
    }
  } catch (e) {
    const fe = classify(e);
    if (fe) throw fe;
    throw e;
  }
}
