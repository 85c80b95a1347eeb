/**
 * Runs a peer-auth handshake (peer-auth.ts) on a FramedSocket: feeds it what arrives, sends what
 * it says, and closes the connection when it fails or does not complete in time. Used by both
 * ends of every peer-port connection: peer links (dialler and acceptor) and bootstrap check-ins.
 */
import type { NodeId } from '../replica/ballot.js';
import type { ErrorCode, WireMessage } from '../wire/messages.js';
import type { FramedSocket } from './framed-socket.js';
import type { AuthRole, AuthStep } from './peer-auth.js';

export interface AuthGateOptions {
  readonly role: AuthRole;
  readonly timeoutMs: number;
  /** Authenticated: the connection now belongs to the caller. Called after the step's frames were sent. */
  readonly onDone: (peer: NodeId) => void;
  /** The handshake failed (the connection is being closed); the caller logs it. */
  readonly onFail: (code: ErrorCode, reason: string) => void;
}

export class AuthGate {
  private state: 'running' | 'done' | 'failed' = 'running';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly conn: FramedSocket,
    private readonly handshake: { receive(m: WireMessage): AuthStep },
    private readonly o: AuthGateOptions,
  ) {
    // A stalled handshake must not hold a connection (and its memory) forever.
    this.timer = setTimeout(() => {
      this.finish('failed');
      const reason = `the handshake did not complete within ${o.timeoutMs} ms`;
      o.onFail('auth-failed', reason);
      conn.fail('auth-failed', reason);
    }, o.timeoutMs);
    this.timer.unref();
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Applies a step produced outside `feed` (the dialer's first frames). */
  apply(step: AuthStep): void {
    if (this.state !== 'running') return;
    if (step.kind === 'fail') {
      this.finish('failed');
      this.o.onFail(step.code, step.reason);
      // Error frames are never answered: the other side already closes.
      if (step.remote) this.conn.destroy(step.reason);
      else this.conn.fail(step.code, step.reason);
      return;
    }
    for (const m of step.messages) this.conn.send(m);
    if (step.kind === 'done') {
      this.finish('done');
      // Large messages (snapshots) only from a peer that proved it knows the secret.
      this.conn.allowFragments();
      this.o.onDone(step.peer);
    }
  }

  /**
   * Hands a received message to the handshake. False only once it has succeeded: the message is
   * then the caller's. (After a failure nothing is passed on: the connection is closing.)
   */
  feed(m: WireMessage): boolean {
    if (this.state === 'done') return false;
    if (this.state === 'failed') return true;
    this.apply(this.handshake.receive(m));
    return true;
  }

  /** The connection closed: stop the timer. */
  cancel(): void {
    if (this.state === 'running') this.finish('failed');
  }

  private finish(state: 'done' | 'failed'): void {
    this.state = state;
    clearTimeout(this.timer);
  }
}
