/**
 * One TCP connection to one node's client port (protocol.md, "Client port"). Many requests may
 * be in flight; each gets a `requestId` unique among the unanswered ones and is settled exactly
 * once: with the node's matching response, or with a `NoAnswer` (its own timeout, the
 * connection closing, an error frame, a node that breaks the protocol). A `NoAnswer` says
 * nothing about whether a command took effect — the caller treats it as indeterminate.
 *
 * The connection is opened on construction; writes issued before it is established are
 * buffered by the socket. Once closed it stays closed: the caller makes a new one.
 */
import net from 'node:net';
import type { Command } from '../replica/entry.js';
import { decodeMessage, errorFrameFor, ProtocolError, encodeMessage } from '../wire/codec.js';
import { encodeFrame, FrameError, readFrames } from '../wire/frame.js';
import type {
  ClientResponse, ErrorCode, LogResponse, StatusResponse, WireMessage,
} from '../wire/messages.js';
import { formatAddr, type NodeAddr } from './addr.js';

/** A request as the caller states it; the connection adds the `requestId`. */
export type RequestBody =
  | { readonly kind: 'client-request'; readonly command: Command }
  | { readonly kind: 'status-request' }
  | { readonly kind: 'log-request'; readonly from: number; readonly count: number };

/** The response type that answers each request type. */
export interface ResponseOf {
  'client-request': ClientResponse;
  'status-request': StatusResponse;
  'log-request': LogResponse;
}

const RESPONSE_KIND = {
  'client-request': 'client-response',
  'status-request': 'status-response',
  'log-request': 'log-response',
} as const satisfies { [K in RequestBody['kind']]: ResponseOf[K]['kind'] };

/** Why a request got no answer. */
export type NoAnswerCause =
  /** The request's own timer ran out (a paused or overloaded node). */
  | 'timeout'
  /** The connection could not be opened, or ended, or the caller closed it. */
  | 'closed'
  /** The node sent an error frame (and closes). */
  | 'error-frame'
  /** The node sent something this client cannot accept; the client sent an error frame and closed. */
  | 'protocol'
  /** The request could not be encoded (e.g. over the frame limit); it was never sent. */
  | 'unsendable';

export interface NoAnswer {
  readonly kind: 'no-answer';
  readonly cause: NoAnswerCause;
  /** Human-readable, naming the node. */
  readonly detail: string;
}

export type Reply<K extends RequestBody['kind']> = ResponseOf[K] | NoAnswer;

interface Pending {
  readonly expect: WireMessage['kind'];
  readonly settle: (r: ResponseOf[RequestBody['kind']] | NoAnswer) => void;
  readonly timer: NodeJS.Timeout;
}

export interface ConnectionEvents {
  /** Called once when the connection is closed for any reason (after pending requests settle). */
  onClose?: (detail: string) => void;
}

const U32_RANGE = 0x1_0000_0000;
const MAX_TIMER_MS = 0x7fff_ffff;

export class Connection {
  readonly addr: NodeAddr;
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private nextRequestId: number;
  private closedDetail: string | null = null;
  private corked = false;

  constructor(addr: NodeAddr, private readonly events: ConnectionEvents = {}) {
    this.addr = addr;
    // Start anywhere: after a reconnect, a late answer meant for the old connection cannot
    // arrive here anyway, but distinct ids make traces easier to read.
    this.nextRequestId = Math.floor(Math.random() * U32_RANGE);
    this.socket = net.connect({ host: addr.host, port: addr.port });
    this.socket.setNoDelay(true);
    // The read loop reports errors too; this listener keeps an 'error' event from being thrown.
    this.socket.on('error', (e) => this.shutDown('closed', `connection to ${this.name}: ${e.message}`));
    this.socket.on('close', () => this.shutDown('closed', `connection to ${this.name} closed`));
    void this.readLoop();
  }

  get name(): string {
    return formatAddr(this.addr);
  }

  /** True once closed; a closed connection answers every request with `NoAnswer` at once. */
  get closed(): boolean {
    return this.closedDetail !== null;
  }

  /** Requests sent and not yet settled. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request and resolves with its response, or a `NoAnswer` after `timeoutMs`, on
   * close, on an error frame. Never rejects.
   */
  request<K extends RequestBody['kind']>(req: Extract<RequestBody, { readonly kind: K }>, timeoutMs: number): Promise<Reply<K>> {
    return new Promise<Reply<K>>((resolve) => {
      if (this.closedDetail !== null) {
        resolve(noAnswer('closed', this.closedDetail));
        return;
      }
      const requestId = this.allocateId();
      let frame: Uint8Array;
      try {
        frame = encodeFrame(encodeMessage({ ...req, requestId } as WireMessage));
      } catch (e) {
        resolve(noAnswer('unsendable', `${req.kind} cannot be sent: ${(e as Error).message}`));
        return;
      }
      // setTimeout fires at once for Infinity and for anything above 2^31−1 ms: clamp instead.
      const timer = setTimeout(() => {
        // A late answer to this id is dropped (the id is no longer pending).
        this.pending.delete(requestId);
        resolve(noAnswer('timeout', `no answer from ${this.name} within ${timeoutMs} ms`));
      }, Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS));
      this.pending.set(requestId, {
        expect: RESPONSE_KIND[req.kind],
        settle: resolve as (r: ResponseOf[RequestBody['kind']] | NoAnswer) => void,
        timer,
      });
      this.write(frame);
    });
  }

  /** Closes the connection; unanswered requests settle as `NoAnswer` ('closed'). */
  close(): void {
    this.shutDown('closed', `connection to ${this.name} closed by the client`);
  }

  /** The next id not in flight; u32, wrapping. */
  private allocateId(): number {
    for (;;) {
      const id = this.nextRequestId;
      this.nextRequestId = (this.nextRequestId + 1) % U32_RANGE;
      if (!this.pending.has(id)) return id;
    }
  }

  /**
   * Frames written in one turn of the event loop leave in one write: cork on the first, uncork
   * on the next tick (after every synchronous caller of this turn had its say).
   */
  private write(frame: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }

  private async readLoop(): Promise<void> {
    try {
      for await (const body of readFrames(this.socket)) {
        // After a shutdown, frames are ignored but the loop does not return: leaving it would
        // destroy the socket at once (the stream iterator's return), possibly before an error
        // frame we just wrote is flushed. shutDown destroys the socket once it is.
        if (this.closedDetail === null) this.onFrame(body);
      }
      this.shutDown('closed', `${this.name} closed the connection`);
    } catch (e) {
      if (e instanceof FrameError) {
        // An oversized frame from the node: tell it why (protocol.md, "Framing") and close.
        if (e.kind === 'frame-too-large') this.sendError('frame-too-large', e.message);
        this.shutDown('protocol', `${this.name}: ${e.message}`);
      } else {
        this.shutDown('closed', `connection to ${this.name}: ${(e as Error).message}`);
      }
    }
  }

  private onFrame(body: Uint8Array): void {
    let m: WireMessage;
    try {
      m = decodeMessage(body);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.sendError(e.code, e.message);
      this.shutDown('protocol', `${this.name} sent a bad frame: ${e.message}`);
      return;
    }
    if (m.kind === 'error') {
      // Error frames are never answered; the node closes after sending one.
      this.shutDown('error-frame', `${this.name} sent error ${m.code}: ${m.message}`);
      return;
    }
    if (m.kind !== 'client-response' && m.kind !== 'status-response' && m.kind !== 'log-response') {
      const why = `${m.kind} does not belong on a client connection`;
      this.sendError('unexpected-message', why);
      this.shutDown('protocol', `${this.name} sent ${why}`);
      return;
    }
    const p = this.pending.get(m.requestId);
    // No pending request: the answer to one that already timed out. Nothing waits for it.
    if (!p) return;
    if (p.expect !== m.kind) {
      const why = `${m.kind} answers requestId ${m.requestId}, which is a request expecting ${p.expect}`;
      this.sendError('unexpected-message', why);
      this.shutDown('protocol', `${this.name} sent ${why}`);
      return;
    }
    this.pending.delete(m.requestId);
    clearTimeout(p.timer);
    p.settle(m);
  }

  private sendError(code: ErrorCode, message: string): void {
    if (this.closedDetail !== null || this.socket.destroyed) return;
    this.socket.write(encodeFrame(errorFrameFor(new ProtocolError(code, message))));
  }

  private shutDown(cause: NoAnswerCause, detail: string): void {
    if (this.closedDetail !== null) return;
    this.closedDetail = detail;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) {
      clearTimeout(p.timer);
      p.settle(noAnswer(cause, detail));
    }
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    // end() lets an error frame we just wrote reach the node; destroy() once it is flushed (or
    // soon anyway) so that a paused node, which never closes its side, cannot keep the socket
    // (and the process) alive.
    const socket = this.socket;
    const fallback = setTimeout(() => socket.destroy(), 500).unref();
    socket.end(() => {
      clearTimeout(fallback);
      socket.destroy();
    });
    this.events.onClose?.(detail);
  }
}

function noAnswer(cause: NoAnswerCause, detail: string): NoAnswer {
  return { kind: 'no-answer', cause, detail };
}
