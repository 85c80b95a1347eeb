/**
 * At most `burst` log lines per kind per interval for what strangers can trigger at will (bad
 * frames, failed handshakes): a flood must not fill the disk or bury the lines that matter,
 * while a handful of occurrences is still logged one by one. The next logged line of a kind
 * says how many were left out before it.
 */
export class LogLimiter {
  private readonly kinds = new Map<string, { windowStart: number; logged: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether to log an occurrence of `kind` now. When it says yes, `suppressed` is how many
   * occurrences were not logged since the previous logged one (0 when none).
   */
  take(kind: string): { readonly log: true; readonly suppressed: number } | { readonly log: false } {
    const t = this.now();
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, k = { windowStart: t, logged: 0, suppressed: 0 });
    if (t - k.windowStart >= this.intervalMs) {
      k.windowStart = t;
      k.logged = 0;
    }
    if (k.logged >= this.burst) {
      k.suppressed++;
      return { log: false };
    }
    k.logged++;
    const suppressed = k.suppressed;
    k.suppressed = 0;
    return { log: true, suppressed };
  }
}

/** Strangers' bad input and failed handshakes: 20 lines per kind per 10 s. */
export const strangerLogLimiter = (): LogLimiter => new LogLimiter(10_000, 20);
