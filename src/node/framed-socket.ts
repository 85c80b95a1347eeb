/**
 * A TCP connection that carries wire messages: length-prefixed frames in, decoded messages
 * out, and messages out batched per event-loop turn (the socket is corked until the end of the
 * turn, so a step's many messages leave in one write).
 *
 * Bad input never throws out of here: an oversized, truncated or malformed frame is reported
 * through `onBadInput`, answered with an error frame where one can still be sent, and the
 * connection is closed. Other connections are untouched.
 */
import type { Socket } from 'node:net';
import { FrameError, encodeFrame, readFrames } from '../wire/frame.js';
import { ProtocolError, decodeMessage, encodeMessage, fragmentBodies } from '../wire/codec.js';
import type { ErrorCode, WireMessage } from '../wire/messages.js';

/** Bytes queued in user space beyond which the other side is too slow: the link is dropped. */
export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
/** How long a closing connection may take to flush its error frame. */
const CLOSE_GRACE_MS = 1000;

export interface BadInput {
  readonly code: ErrorCode | 'truncated';
  readonly message: string;
}

export interface FramedSocketHandlers {
  onMessage(msg: WireMessage): void;
  /** Called once, when the connection is gone (for whatever reason). */
  onClose?(reason: string): void;
  onBadInput?(bad: BadInput): void;
  /**
   * onMessage threw: a bug of ours, not bad input (that is refused before onMessage). The
   * connection is dropped — the node must not die of what one peer or client sent — and the
   * error is reported here, loudly (default: the stack on stderr), never swallowed.
   */
  onHandlerError?(err: unknown, msg: WireMessage): void;
}

export interface FramedSocketOptions {
  /** Bytes queued in user space beyond which the link is dropped. */
  readonly maxBufferedBytes?: number;
  /**
   * Join `fragment` frames into messages larger than a frame (peer connections, which carry
   * snapshots). Elsewhere a fragment is an unexpected message.
   */
  readonly acceptFragments?: boolean;
  /**
   * Backpressure on a slow reader (client connections): once this many bytes wait in the
   * socket's send buffer, stop reading from the other side until the buffer drains. Absent:
   * never paused for output (peer connections, where `maxBufferedBytes` alone applies).
   */
  readonly pauseReadingAboveBytes?: number;
}

/** Why reading from a connection is paused; reading resumes once no reason is left. */
export type PauseReason = 'in-flight' | 'output';

export class FramedSocket {
  private closed = false;
  private corked = false;
  private closeReason = 'closed by the other side';
  /** The message being joined from fragments. */
  private joining: { total: number; parts: Uint8Array[]; got: number } | null = null;
  private readonly maxBufferedBytes: number;
  private acceptFragments: boolean;
  private readonly pauseReadingAboveBytes: number | undefined;
  private readonly pausedBy = new Set<PauseReason>();
  /** Wakes the read loop when reading resumes (or the connection closes). */
  private wakeReader: (() => void) | null = null;

  constructor(
    readonly socket: Socket,
    private handlers: FramedSocketHandlers,
    options: FramedSocketOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.acceptFragments = options.acceptFragments ?? false;
    this.pauseReadingAboveBytes = options.pauseReadingAboveBytes;
    socket.setNoDelay(true);
    socket.on('error', (err) => { this.closeReason = err.message; });
    socket.on('drain', () => this.resumeReading('output'));
    socket.on('close', () => {
      this.wake();
      if (this.closed) return;
      this.closed = true;
      this.handlers.onClose?.(this.closeReason);
    });
    void this.readLoop();
  }

  /** Hands the connection to a new owner (after a handshake); later messages go there. */
  setHandlers(handlers: FramedSocketHandlers): void {
    this.handlers = handlers;
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** Whether reading is paused, and why. */
  get readingPausedBy(): ReadonlySet<PauseReason> {
    return this.pausedBy;
  }

  /**
   * Stops taking frames from this connection until `resumeReading(reason)`. Frames already
   * read are still delivered one by one only while not paused; unread bytes stay in the
   * socket's (bounded) buffer and then in the kernel, so TCP flow control slows the sender.
   */
  pauseReading(reason: PauseReason): void {
    this.pausedBy.add(reason);
  }

  resumeReading(reason: PauseReason): void {
    if (!this.pausedBy.delete(reason) || this.pausedBy.size > 0) return;
    this.wake();
  }

  private wake(): void {
    const w = this.wakeReader;
    this.wakeReader = null;
    w?.();
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  send(msg: WireMessage): void {
    this.sendEncoded(encodeMessage(msg));
  }

  /**
   * Sends an encoded message of any size up to MAX_MESSAGE_BYTES: one frame when it fits,
   * else consecutive fragments (the receiver must accept them: peer connections).
   */
  sendLarge(body: Uint8Array): void {
    for (const piece of fragmentBodies(body)) this.sendEncoded(piece);
  }

  /** Sends an already encoded message body (the same body may go to several connections). */
  sendEncoded(body: Uint8Array): void {
    if (!this.isOpen) return;
    // A fragmented message queues many frames at once: it must not count as a slow reader.
    if (this.socket.writableLength > this.maxBufferedBytes + body.length) {
      this.destroy(`the other side reads too slowly (${this.socket.writableLength} bytes queued)`);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeFrame(body));
    // Above the threshold write() has returned false, so 'drain' follows once the buffer empties.
    if (this.pauseReadingAboveBytes !== undefined && this.socket.writableLength > this.pauseReadingAboveBytes) {
      this.pauseReading('output');
    }
  }

  /** Sends an error frame, then closes the connection. */
  fail(code: ErrorCode, message: string): void {
    if (!this.isOpen) return;
    this.send({ kind: 'error', code, message: message.slice(0, 1000) });
    this.closeReason = `${code}: ${message}`;
    this.closed = true;
    this.handlers.onClose?.(this.closeReason);
    this.socket.end();
    this.wake();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private reportHandlerError(err: unknown, msg: WireMessage): void {
    try {
      if (this.handlers.onHandlerError) this.handlers.onHandlerError(err, msg);
      else process.stderr.write(`internal error while handling ${msg.kind} from ${this.remote}: ${err instanceof Error ? err.stack : String(err)}\n`);
    } catch { /* reporting must not turn one bad connection into a dead node */ }
  }

  /**
   * From now on `fragment` frames are joined into messages (a peer connection once its handshake
   * has completed: before it, a stranger could make the node buffer up to MAX_MESSAGE_BYTES).
   */
  allowFragments(): void {
    this.acceptFragments = true;
  }

  /** Closes at once; nothing more is delivered from this connection after this returns. */
  destroy(reason: string): void {
    if (!this.closed) {
      this.closeReason = reason;
      this.closed = true;
      this.handlers.onClose?.(reason);
    }
    this.socket.destroy();
    this.wake();
  }

  /** Passes a whole message through; collects fragments and returns their message once whole. */
  private join(msg: WireMessage): WireMessage | null {
    if (msg.kind !== 'fragment') {
      if (this.joining) throw new ProtocolError('malformed', `a ${msg.kind} arrived in the middle of a fragmented message`);
      return msg;
    }
    if (!this.acceptFragments) throw new ProtocolError('unexpected-message', 'fragments are accepted only on peer connections, once authenticated');
    const j = this.joining ??= { total: msg.total, parts: [], got: 0 };
    if (msg.total !== j.total) throw new ProtocolError('malformed', `a fragment of a ${msg.total}-byte message in the middle of a ${j.total}-byte one`);
    if (j.got + msg.chunk.length > j.total) throw new ProtocolError('malformed', `fragments add up to more than ${j.total} bytes`);
    // Copied: the chunk is a view into a frame buffer that is reused.
    j.parts.push(msg.chunk.slice());
    j.got += msg.chunk.length;
    if (j.got < j.total) return null;
    this.joining = null;
    const whole = new Uint8Array(j.total);
    let at = 0;
    for (const p of j.parts) {
      whole.set(p, at);
      at += p.length;
    }
    const inner = decodeMessage(whole);
    if (inner.kind === 'fragment') throw new ProtocolError('malformed', 'a fragmented message is itself a fragment');
    return inner;
  }

  private async readLoop(): Promise<void> {
    try {
      // destroyOnReturn: false — when the frame reader gives up on bad input, the socket must
      // stay writable long enough to carry the error frame.
      for await (const body of readFrames(this.socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>)) {
        if (this.closed) return;
        let msg: WireMessage | null;
        try {
          msg = this.join(decodeMessage(body));
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          this.handlers.onBadInput?.({ code: err.code, message: err.message });
          this.fail(err.code, err.message);
          return;
        }
        if (msg) {
          try {
            this.handlers.onMessage(msg);
          } catch (err) {
            this.reportHandlerError(err, msg);
            this.destroy(`internal error while handling ${msg.kind}: ${err instanceof Error ? err.message : String(err)}`);
            return;
          }
        }
        // Backpressure: take no further frame while paused (the loop stops pulling from the
        // socket, whose buffer fills, and the kernel's, and TCP's window closes on the sender).
        while (this.pausedBy.size > 0 && !this.closed) await new Promise<void>((r) => { this.wakeReader = r; });
      }
    } catch (err) {
      if (this.closed) return;
      if (err instanceof FrameError) {
        const code = err.kind === 'truncated' ? 'truncated' : err.kind === 'frame-too-large' ? 'frame-too-large' : 'malformed';
        this.handlers.onBadInput?.({ code, message: err.message });
        if (code === 'truncated') this.destroy(err.message);
        else this.fail(code, err.message);
        return;
      }
      // A socket error (reset by peer…): the 'close' handler reports it.
      this.destroy(err instanceof Error ? err.message : String(err));
    }
  }
}
