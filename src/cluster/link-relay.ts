/**
 * A relay for one directed dial "from → to": node `from` dials this relay instead of node
 * `to`'s peer port (the config's `dialVia`), and the relay forwards frame by frame, asking the
 * fault state what to do with each one. Frames, not bytes: a fault then loses or delays whole
 * messages, as the simulator's network does, and never hands a node half a frame.
 *
 * Directions on a connection: "from → to" is what the dialer sends, "to → from" the replies.
 *
 * Why the dialer's first frame (its hello) always passes: the accepting node adopts a
 * connection only after the hello, so dropping it would silently cut the reply direction too.
 * With the hello through, a one-way cut leaves the other direction of the session working.
 *
 * Why a heal resets connections: once a frame was dropped, nothing later on that connection may
 * be delivered — a node trusts a connection to be a FIFO session without gaps, and only a new
 * connection (the replica's `reconnected` input) makes it resync its log. So a direction that
 * dropped a frame drops everything after it, and when its link passes again the relay destroys
 * the pair: both nodes see a new connection, as with the simulator's heal.
 *
 * Nothing here throws out of an event handler: undecodable bytes or a socket error destroy that
 * pair only, and the relay keeps serving the others.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as lp from 'it-length-prefixed';
import type { Uint8ArrayList } from 'uint8arraylist';
import { MAX_FRAME_BYTES } from '../wire/codec.js';

/** What happens to a frame on a directed link. */
export type LinkFault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'cut' }
  | { readonly kind: 'delay'; readonly ms: number };

/** The part of the fault state a relay needs (NetworkFaults implements it). */
export interface LinkFaultSource {
  linkFault(from: number, to: number): LinkFault;
  /** Calls `listener` after every change; returns its remover. */
  onChange(listener: () => void): () => void;
}

export interface LinkRelayOptions {
  /** The dialing node. */
  readonly from: number;
  /** The node whose peer port the relay forwards to. */
  readonly to: number;
  readonly target: { readonly host: string; readonly port: number };
  readonly faults: LinkFaultSource;
  /** Port to listen on (127.0.0.1); default 0: one the OS picks, so no other process can take it first. */
  readonly port?: number;
  /** Largest frame forwarded; a bigger length prefix destroys the pair. Default: the nodes' limit. */
  readonly maxFrameBytes?: number;
  /** How long the connection to the target may take; default 2 000 ms (the nodes' own dial timeout). */
  readonly connectTimeoutMs?: number;
  /** Called once per connection pair when it closes, with why. For logs and tests. */
  readonly onPairClosed?: (reason: string) => void;
}

export interface LinkRelayStats {
  /** Connection pairs open now. */
  readonly pairs: number;
  readonly passed: number;
  readonly delayed: number;
  readonly dropped: number;
  /** Pairs destroyed because a link that had dropped frames passes again. */
  readonly resets: number;
}

const PASS: LinkFault = { kind: 'pass' };

/** What a pair shares with its relay. */
interface RelayContext {
  readonly options: LinkRelayOptions;
  readonly counters: { passed: number; delayed: number; dropped: number; resets: number };
  forget(pair: RelayPair): void;
}

export class LinkRelay {
  readonly from: number;
  readonly to: number;
  private readonly pairs = new Set<RelayPair>();
  private readonly unsubscribe: () => void;
  private closed = false;
  private readonly context: RelayContext;

  private constructor(private readonly server: Server, readonly port: number, private readonly options: LinkRelayOptions) {
    this.from = options.from;
    this.to = options.to;
    this.context = {
      options,
      counters: { passed: 0, delayed: 0, dropped: 0, resets: 0 },
      forget: (pair) => { this.pairs.delete(pair); },
    };
    server.on('connection', (s) => this.accept(s));
    // After listening, a server error (rare: EMFILE on accept) must not crash the manager.
    server.on('error', () => {});
    this.unsubscribe = options.faults.onChange(() => {
      for (const p of [...this.pairs]) p.checkHealed();
    });
  }

  /** Listens on 127.0.0.1 and resolves once it does. */
  static async start(options: LinkRelayOptions): Promise<LinkRelay> {
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
    const port = (server.address() as { port: number }).port;
    return new LinkRelay(server, port, options);
  }

  /** `127.0.0.1:<port>`: what the dialing node's `dialVia` names. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  stats(): LinkRelayStats {
    return { pairs: this.pairs.size, ...this.context.counters };
  }

  /** Stops listening and destroys every pair. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.unsubscribe();
      for (const p of [...this.pairs]) p.destroy('relay closed');
    }
    return new Promise((ok) => {
      if (!this.server.listening) ok();
      else this.server.close(() => ok());
    });
  }

  private accept(dialer: Socket): void {
    if (this.closed) {
      dialer.destroy();
      return;
    }
    const { target } = this.options;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.pairs.add(new RelayPair(this.context, dialer, upstream));
  }
}

/** One direction of a pair: frames read from `src`, judged, written to `dst`. */
interface Direction {
  readonly name: string;
  readonly src: Socket;
  readonly dst: Socket;
  /** The directed link whose fault state applies. */
  readonly linkFrom: number;
  readonly linkTo: number;
  /** The dialer's side: its first frame is the hello and always passes. */
  readonly dialerSide: boolean;
  frames: number;
  /** A frame was dropped: everything after it on this connection is dropped too. */
  dropped: boolean;
  /** Delayed frames in delivery order, and when the last one is due (later frames queue behind it). */
  readonly queue: { bytes: Uint8Array; at: number }[];
  lastAt: number;
  timer: NodeJS.Timeout | null;
  /** `src` ended cleanly: end `dst` once the queue is delivered. */
  srcEnded: boolean;
}

class RelayPair {
  private readonly dirs: readonly [Direction, Direction];
  private closed = false;

  constructor(private readonly relay: RelayContext, dialer: Socket, upstream: Socket) {
    const { from, to } = relay.options;
    this.dirs = [
      newDirection(`${from}→${to}`, dialer, upstream, from, to, true),
      newDirection(`${to}→${from}`, upstream, dialer, to, from, false),
    ];
    for (const s of [dialer, upstream]) {
      // Nodes disable Nagle on their sockets; a relay that did not would add up to 40 ms per frame.
      s.setNoDelay(true);
      s.on('error', (err) => this.destroy(`${s === dialer ? 'dialer' : 'target'} socket: ${err.message}`));
      // allowHalfOpen on both sockets, so 'close' means this socket is done both ways (or was destroyed).
      s.on('close', () => this.destroy(`${s === dialer ? 'dialer' : 'target'} closed`));
    }
    const timeoutMs = relay.options.connectTimeoutMs ?? 2000;
    const connectTimer = setTimeout(() => this.destroy(`no connection to the target within ${timeoutMs} ms`), timeoutMs);
    upstream.once('connect', () => clearTimeout(connectTimer));
    upstream.once('close', () => clearTimeout(connectTimer));
    for (const d of this.dirs) void this.pump(d);
  }

  /** After a fault change: a direction that lost frames and now passes ends this connection. */
  checkHealed(): void {
    for (const d of this.dirs) {
      if (d.dropped && this.fault(d, false).kind !== 'cut') {
        this.relay.counters.resets++;
        this.destroy(`${d.name} passes again after dropping frames: reset so both nodes resync`);
        return;
      }
    }
  }

  destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.dirs) {
      if (d.timer) clearTimeout(d.timer);
      d.queue.length = 0;
      d.src.destroy();
    }
    this.relay.forget(this);
    try {
      this.relay.options.onPairClosed?.(reason);
    } catch (err) {
      queueMicrotask(() => { throw err; });
    }
  }

  private fault(d: Direction, first: boolean): LinkFault {
    return d.dialerSide && first ? PASS : this.relay.options.faults.linkFault(d.linkFrom, d.linkTo);
  }

  private async pump(d: Direction): Promise<void> {
    const maxDataLength = this.relay.options.maxFrameBytes ?? MAX_FRAME_BYTES;
    try {
      for await (const frame of lp.decode(d.src as AsyncIterable<Uint8Array>, { maxDataLength })) {
        if (this.closed) return;
        this.onFrame(d, frame);
        // Back-pressure: a slow reader slows the writer down instead of filling the manager's memory.
        if (d.dst.writableNeedDrain) await drained(d.dst);
      }
    } catch (err) {
      if (!this.closed) this.destroy(`${d.name}: undecodable bytes or a broken connection: ${(err as Error).message}`);
      return;
    }
    d.srcEnded = true;
    this.maybeEnd(d);
  }

  private onFrame(d: Direction, frame: Uint8ArrayList): void {
    const first = d.frames++ === 0;
    const counters = this.relay.counters;
    if (d.dropped) {
      // A gap on this connection: nothing after it may be delivered (see the file comment).
      counters.dropped++;
      this.checkHealed();
      return;
    }
    const fault = this.fault(d, first);
    if (fault.kind === 'cut') {
      d.dropped = true;
      counters.dropped++;
      return;
    }
    const bytes = lp.encode.single(frame).subarray();
    const ms = fault.kind === 'delay' ? fault.ms : 0;
    const now = performance.now();
    // A frame never overtakes an earlier delayed one: delays keep per-direction order.
    const at = Math.max(now + ms, d.lastAt);
    d.lastAt = at;
    if (d.queue.length === 0 && at <= now) {
      counters.passed++;
      d.dst.write(bytes);
      return;
    }
    counters.delayed++;
    d.queue.push({ bytes, at });
    this.schedule(d);
  }

  private schedule(d: Direction): void {
    if (d.timer || d.queue.length === 0 || this.closed) return;
    d.timer = setTimeout(() => {
      d.timer = null;
      this.release(d);
    }, Math.max(0, d.queue[0]!.at - performance.now()));
  }

  private release(d: Direction): void {
    if (this.closed) return;
    const now = performance.now();
    while (d.queue.length > 0 && d.queue[0]!.at <= now) d.dst.write(d.queue.shift()!.bytes);
    this.schedule(d);
    this.maybeEnd(d);
  }

  /** Passes a clean end on once every frame before it is delivered. */
  private maybeEnd(d: Direction): void {
    if (d.srcEnded && d.queue.length === 0 && !this.closed) d.dst.end();
  }
}

function newDirection(name: string, src: Socket, dst: Socket, linkFrom: number, linkTo: number, dialerSide: boolean): Direction {
  return { name, src, dst, linkFrom, linkTo, dialerSide, frames: 0, dropped: false, queue: [], lastAt: 0, timer: null, srcEnded: false };
}

function drained(s: Socket): Promise<void> {
  return new Promise((ok) => {
    if (s.destroyed) {
      ok();
      return;
    }
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      ok();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
