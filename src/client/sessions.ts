/**
 * The client's sessions (protocol.md, "Retrying safely", "Sessions and expiry"). The cluster
 * allows one outstanding seq per clientId, so every operation in flight holds a session of its
 * own: it takes an idle one (or a new one), numbers its request with the session's next seq,
 * and gives the session back when the operation ends — or retires it when the session cannot
 * be trusted any more (expired, or its seq 1 has an unknown outcome).
 */

export class Session {
  /** The last seq handed out; 0 before the first request. */
  private lastSeq = 0;

  constructor(readonly clientId: string) {}

  /** The seq for a new request (never for a retry: a retry reuses the seq it was sent with). */
  nextSeq(): number {
    return ++this.lastSeq;
  }

  get seq(): number {
    return this.lastSeq;
  }
}

export class SessionPool {
  private readonly idle: Session[] = [];
  private created = 0;
  private retiredCount = 0;

  constructor(private readonly newClientId: () => string) {}

  /** An idle session, or a new one when none is idle. The caller owns it until release/retire. */
  acquire(): Session {
    return this.idle.pop() ?? this.fresh();
  }

  /** A new session (new clientId, next seq 1), never one used before. */
  fresh(): Session {
    this.created++;
    return new Session(this.newClientId());
  }

  /** The operation ended and the session may carry the next one (seq n+1). */
  release(s: Session): void {
    // Most recently used first: it is the least likely to have expired.
    this.idle.push(s);
  }

  /** The session is dropped for good. */
  retire(_s: Session): void {
    this.retiredCount++;
  }

  get stats(): { created: number; retired: number; idle: number } {
    return { created: this.created, retired: this.retiredCount, idle: this.idle.length };
  }
}
