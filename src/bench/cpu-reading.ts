/**
 * CPU used over a benchmark window, from /proc (Linux): by each node process, by this process
 * (the load generator), and by everything else on the machine. The last one matters on a shared
 * machine: figures taken while other jobs held the cores are low, and the row says so.
 *
 * Take one reading at each end of the window (`takeCpuReading`), then `cpuBetween`.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { readCpuMs } from './rss.js';

export interface CpuReading {
  /** performance.now(). */
  readonly at: number;
  /** Node id → its pid and CPU ms so far (a restarted node is another pid). */
  readonly nodes: ReadonlyMap<number, { readonly pid: number; readonly ms: number }>;
  readonly self: NodeJS.CpuUsage;
  /** Busy and total jiffies of the whole machine, all cores; NaN without /proc. */
  readonly machineBusy: number;
  readonly machineTotal: number;
}

export interface CpuUse {
  /** All node processes, ms. */
  readonly serverMs: number;
  readonly byNode: Record<string, number>;
  /** This process, ms. */
  readonly benchMs: number;
  /** Cores busy on the whole machine on average over the window. */
  readonly machineCores: number;
  /** Cores used by neither the nodes nor this process (other jobs, kernel threads such as the disk's flushes). */
  readonly otherCores: number;
}

export const cpuCount = ((): number => {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length || 1;
  } catch {
    return 1;
  }
})();

function machineJiffies(): [number, number] {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    // idle, iowait and steal are not busy.
    return [total - f[3]! - f[4]! - f[7]!, total];
  } catch {
    return [NaN, NaN];
  }
}

export function takeCpuReading(nodes: () => Iterable<[number, number | undefined]>): CpuReading {
  const m = new Map<number, { pid: number; ms: number }>();
  for (const [id, pid] of nodes()) {
    const ms = pid === undefined ? undefined : readCpuMs(pid);
    if (pid !== undefined && ms !== undefined) m.set(id, { pid, ms });
  }
  const [machineBusy, machineTotal] = machineJiffies();
  return { at: performance.now(), nodes: m, self: process.cpuUsage(), machineBusy, machineTotal };
}

export function cpuBetween(a: CpuReading | undefined, b: CpuReading | undefined): CpuUse {
  if (!a || !b || b.at <= a.at) return { serverMs: NaN, byNode: {}, benchMs: NaN, machineCores: NaN, otherCores: NaN };
  const byNode: Record<string, number> = {};
  let serverMs = 0;
  for (const [id, x] of a.nodes) {
    const y = b.nodes.get(id);
    if (!y || y.pid !== x.pid) continue;
    byNode[String(id)] = y.ms - x.ms;
    serverMs += y.ms - x.ms;
  }
  const benchMs = (b.self.user - a.self.user + b.self.system - a.self.system) / 1000;
  const wallMs = b.at - a.at;
  const total = b.machineTotal - a.machineTotal;
  const machineCores = total > 0 ? ((b.machineBusy - a.machineBusy) / total) * cpuCount : NaN;
  // Jiffies tick in 10 ms steps: over short windows "other" can come out slightly negative.
  const otherCores = Math.max(0, machineCores - (serverMs + benchMs) / wallMs);
  return { serverMs, byNode, benchMs, machineCores, otherCores };
}
