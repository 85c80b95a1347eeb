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
import { ProtocolError, decodeMessage, encodeMessage } from '../wire/codec.js';
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
}

export class FramedSocket {
  private closed = false;
  private corked = false;
  private closeReason = 'closed by the other side';

  constructor(
    readonly socket: Socket,
    private handlers: FramedSocketHandlers,
    private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
  ) {
    socket.setNoDelay(true);
    socket.on('error', (err) => { this.closeReason = err.message; });
    socket.on('close', () => {
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

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  send(msg: WireMessage): void {
    this.sendEncoded(encodeMessage(msg));
  }

  /** Sends an already encoded message body (the same body may go to several connections). */
  sendEncoded(body: Uint8Array): void {
    if (!this.isOpen) return;
    if (this.socket.writableLength > this.maxBufferedBytes) {
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
  }

  /** Sends an error frame, then closes the connection. */
  fail(code: ErrorCode, message: string): void {
    if (!this.isOpen) return;
    this.send({ kind: 'error', code, message: message.slice(0, 1000) });
    this.closeReason = `${code}: ${message}`;
    this.closed = true;
    this.handlers.onClose?.(this.closeReason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Closes at once; nothing more is delivered from this connection after this returns. */
  destroy(reason: string): void {
    if (!this.closed) {
      this.closeReason = reason;
      this.closed = true;
      this.handlers.onClose?.(reason);
    }
    this.socket.destroy();
  }

  private async readLoop(): Promise<void> {
    try {
      // destroyOnReturn: false — when the frame reader gives up on bad input, the socket must
      // stay writable long enough to carry the error frame.
      for await (const body of readFrames(this.socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>)) {
        if (this.closed) return;
        let msg: WireMessage;
        try {
          msg = decodeMessage(body);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          this.handlers.onBadInput?.({ code: err.code, message: err.message });
          this.fail(err.code, err.message);
          return;
        }
        this.handlers.onMessage(msg);
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
