/**
 * A hand-driven peer-port connection for authentication tests: send any message, await the
 * node's frames one by one, see when the node closes. Plus a TCP proxy that records what one
 * side sent (to replay a real handshake).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { encodeFrame } from '../../src/wire/frame.js';
import type { WireMessage } from '../../src/wire/messages.js';

/** Splits whole frames off the front of `buf` (small test frames only). */
export function splitFrames(buf: Buffer): { bodies: Buffer[]; rest: Buffer } {
  // (Buffer views of any backing store.)
  const bodies: Buffer[] = [];
  for (;;) {
    let len = 0;
    let shift = 0;
    let i = 0;
    for (; i < buf.length; i++) {
      len += (buf[i]! & 0x7f) * 2 ** shift;
      shift += 7;
      if ((buf[i]! & 0x80) === 0) break;
    }
    if (buf.length === 0 || i >= buf.length || buf.length < i + 1 + len) return { bodies, rest: buf };
    bodies.push(buf.subarray(i + 1, i + 1 + len));
    buf = buf.subarray(i + 1 + len);
  }
}

export class RawPeer {
  readonly frames: WireMessage[] = [];
  /** Resolves when the node closed (or reset) the connection. */
  readonly closed: Promise<void>;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private isClosed = false;
  private read = 0;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
        this.wake();
      });
    });
    socket.on('error', () => { /* reported as close */ });
    socket.on('data', (d: Buffer) => {
      const { bodies, rest } = splitFrames(Buffer.concat([this.buf, d]));
      this.buf = rest;
      for (const b of bodies) this.frames.push(decodeMessage(b));
      this.wake();
    });
  }

  static connect(host: string, port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  send(...messages: WireMessage[]): void {
    for (const m of messages) this.socket.write(encodeFrame(encodeMessage(m)));
  }

  sendBytes(b: Uint8Array): void {
    this.socket.write(b);
  }

  /** The next frame from the node; rejects if the connection closes first or after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.frames.length) {
      if (this.isClosed) throw new Error(`connection closed; frames so far: ${this.frames.map((f) => f.kind).join(', ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no frame in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.frames[this.read++]!;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Forwards every connection to `target`; `sent[i]` holds what the i-th client sent. */
export async function recordingProxy(target: { host: string; port: number }): Promise<{ port: number; sent: Buffer[]; close(): Promise<void> }> {
  const sent: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const i = sent.push(Buffer.alloc(0)) - 1;
    const upstream = connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => { client.destroy(); upstream.destroy(); });
      s.on('close', () => { client.destroy(); upstream.destroy(); });
    }
    client.on('data', (d: Buffer) => { sent[i] = Buffer.concat([sent[i]!, d]); upstream.write(d); });
    upstream.on('data', (d: Buffer) => client.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sent,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** Polls `cond` until true (no fixed sleeps in the tests); throws with `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
