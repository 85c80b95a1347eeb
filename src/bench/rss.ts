/**
 * Resident memory of processes, from /proc/<pid>/status (Linux only): VmRSS now, VmHWM the peak
 * since the process started. kvbench samples its local nodes while they are under load.
 */
import { readFileSync } from 'node:fs';

export interface Rss {
  /** Resident set now, in KiB. */
  readonly rssKb: number;
  /** Peak resident set since the process started, in KiB. */
  readonly hwmKb: number;
}

function field(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

/** The process's memory, or undefined when it is gone or /proc is not there. */
export function readRss(pid: number): Rss | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rssKb: field(s, 'VmRSS'), hwmKb: field(s, 'VmHWM') };
  } catch {
    return undefined;
  }
}

export interface RssFigure {
  readonly label: string;
  readonly pid: number;
  /** The largest VmRSS sampled (KiB); NaN without samples. */
  readonly maxRssKb: number;
  /** VmRSS at the last sample (KiB). */
  readonly lastRssKb: number;
  /** VmHWM at the last sample (KiB): the peak, also between samples. */
  readonly hwmKb: number;
  readonly samples: number;
}

/**
 * Samples the resident memory of some processes every `intervalMs` while running. `pids` is
 * asked at every sample; a restarted process (a new pid under a label) gets figures of its own.
 */
export class RssSampler {
  private readonly figures = new Map<string, { label: string; pid: number; max: number; last: number; hwm: number; samples: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: () => ReadonlyMap<string, number>, private readonly intervalMs = 500) {}

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): void {
    for (const [label, pid] of this.pids()) {
      const r = readRss(pid);
      if (!r) continue;
      const key = `${label}\u0000${pid}`;
      const f = this.figures.get(key);
      if (!f) {
        this.figures.set(key, { label, pid, max: r.rssKb, last: r.rssKb, hwm: r.hwmKb, samples: 1 });
      } else {
        f.max = Math.max(f.max, r.rssKb);
        f.last = r.rssKb;
        f.hwm = r.hwmKb;
        f.samples++;
      }
    }
  }

  results(): RssFigure[] {
    return [...this.figures.values()].map((f) => ({
      label: f.label, pid: f.pid, maxRssKb: f.max, lastRssKb: f.last, hwmKb: f.hwm, samples: f.samples,
    }));
  }
}

/** Linux's USER_HZ: the unit of /proc/<pid>/stat times (100 on every common architecture). */
const CLOCK_TICKS_PER_S = 100;

/** CPU time (user + system) the process has used so far, in ms; undefined when it is gone or /proc is not there. */
export function readCpuMs(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_S : undefined;
  } catch {
    return undefined;
  }
}
