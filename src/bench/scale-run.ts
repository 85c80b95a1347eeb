/**
 * One configuration of the scale benchmark (`npm run bench:scale`, issue E "cost grows with the
 * data"): a fresh local cluster (fsync on), loaded with `keys` keys of `valueSize`-byte values,
 * then measured:
 *
 *   preload   every key put once, `preloadConcurrency` puts in flight (rate, latency); a put that
 *             fails is tried again and counted (preload.ts)
 *   put       closed loop, C virtual clients, random keys over the loaded ones
 *   get       the same with linearizable gets
 *   data dir  disk usage of each node's directory after the runs
 *   restart   one follower stopped and started again, until it serves (restart-time.ts)
 *
 * For each of preload / put / get: ops/s, latency, the server processes' CPU per 1,000
 * operations (/proc, over the measured window), the largest resident set of any node, the new
 * leader ballots elected (goal: none — nothing fails in this benchmark) and the longest
 * event-loop stall the leader logged (node-log-watch.ts).
 *
 * Operations enter at the leader first (as kvbench does); before each phase the leader is
 * looked up again, since a stall may have moved it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatAddr, type NodeAddr } from '../client/index.js';
import {
  createCluster, nodeLogFile, stopAllOnExit, writeTestConfig, type ClusterEvent, type LocalCluster,
} from '../cluster/index.js';
import { ballotEq } from '../replica/ballot.js';
import {
  performanceToHrtimeUs, profiledNodeCommand, readCpuProfiles, summarizeProfiles, type ProfileSummary, type UsWindow,
} from './cpu-profile.js';
import { dirSize, type DirSize } from './dir-size.js';
import { kvshTarget } from './kvsh-target.js';
import { keyNames, runLoop, type LatencySummary, type LoopResult } from './loop.js';
import { NodeLogWatch, type StallFigures } from './node-log-watch.js';
import { preload, type PreloadResult } from './preload.js';
import { measureRestart, type RestartResult } from './restart-time.js';
import { RssSampler, readRss } from './rss.js';
import { cpuBetween, takeCpuReading, type CpuReading, type CpuUse } from './cpu-reading.js';
import type { BenchTarget } from './target.js';

export type ScalePhaseKind = 'preload' | 'put' | 'get';

export interface ScaleOptions {
  readonly keys: number;
  readonly valueSize: number;
  /** Virtual clients of the put and get runs; default 64. */
  readonly concurrency?: number;
  /** Puts in flight while preloading; default 256. */
  readonly preloadConcurrency?: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly seed: number;
  /** Default 3. */
  readonly nodes?: number;
  /** Where the cluster's temporary directory is made. */
  readonly parentDir: string;
  /** How the restarted follower is stopped; 'none' skips the restart. Default 'kill'. */
  readonly restart?: 'kill' | 'stop' | 'none';
  /** How long the restarted node may take to serve; default 120 s. */
  readonly restartTimeoutMs?: number;
  /** Copy each node's log (its output lines) into `<keepLogsDir>/<keys>-<valueSize>/node-<id>.log` before the cluster's directory is removed. */
  readonly keepLogsDir?: string;
  /** Run the nodes under `node --cpu-prof` into this directory and summarise each phase. */
  readonly cpuProfDir?: string;
  /** Progress lines. */
  readonly say?: (line: string) => void;
}

export interface ScalePhase {
  readonly workload: ScalePhaseKind;
  readonly keys: number;
  readonly valueSize: number;
  readonly concurrency: number;
  /** Measured window, ms (the preload: all of it). */
  readonly durationMs: number;
  readonly opsPerSec: number;
  readonly latencyMs: LatencySummary;
  /** Operations completed in the window. */
  readonly ops: number;
  readonly errors: number;
  readonly indeterminate: number;
  readonly firstProblem?: string;
  /** CPU (user + system) of all node processes over the window, ms; NaN when unreadable. */
  readonly serverCpuMs: number;
  readonly serverCpuMsPer1kOps: number;
  readonly nodeCpuMs: Record<string, number>;
  /**
   * Cores busy with other work than the nodes and the load generator over the window, on
   * average (other jobs on a shared machine; also kernel threads such as the disk's flushes).
   */
  readonly otherCores: number;
  /** Cores the load generator (this process) used over the window. */
  readonly benchCores: number;
  /** Largest VmRSS sampled on any node during the phase, KiB. */
  readonly maxRssKb: number;
  readonly rssKbByNode: Record<string, number>;
  /** The node that led when the phase began. */
  readonly leader: number;
  /** Leader ballots first seen during the phase (warm-up and drain included). */
  readonly newBallots: readonly string[];
  readonly leaderStall: StallFigures;
  /** Every node's stalls. */
  readonly stallsByNode: Record<string, StallFigures>;
  /** The leader's CPU profile over the window (with `cpuProfDir`). */
  readonly leaderProfile?: ProfileSummary;
  readonly profiles?: Record<string, ProfileSummary>;
}

export interface ScaleResult {
  readonly keys: number;
  readonly valueSize: number;
  readonly nodes: number;
  readonly phases: readonly ScalePhase[];
  /** Per node, after the get run. */
  readonly dataDir: Record<string, DirSize>;
  readonly restart: RestartResult | null;
  /** VmHWM per node at the end (the peak resident set over the node's life), KiB. */
  readonly peakRssKbByNode: Record<string, number>;
  /** Leader ballots over the whole configuration, the first election included. */
  readonly ballotsSeen: number;
  /** Wall time of this configuration, ms. */
  readonly wallMs: number;
  readonly dir: string;
}

const epoch = (perfMs: number): number => performance.timeOrigin + perfMs;

/** A CPU reading of the machine, this process and every running node. */
function readCpu(cluster: LocalCluster): CpuReading {
  return takeCpuReading(() => cluster.nodeIds.map((id) => [id, cluster.pid(id)]));
}

function nodeRss(cluster: LocalCluster): RssSampler {
  return new RssSampler(() => new Map(cluster.nodeIds.flatMap((id) => {
    const pid = cluster.pid(id);
    return pid === undefined || cluster.state(id) !== 'running' ? [] : [[String(id), pid] as [string, number]];
  })), 250);
}

/**
 * The leader once every running node names its ballot (right after a start, a majority may elect
 * one node and the last node to be heard take over a moment later), else whoever leads.
 */
async function settledLeader(cluster: LocalCluster, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const polls = [...(await cluster.pollStatuses(1000)).values()];
    const statuses = polls.flatMap((p) => (p.kind === 'status' ? [p.status] : []));
    const leader = statuses.find((s) => s.role === 'leader' && s.phase === 'accept');
    if (leader && polls.every((p) => p.kind === 'status' && ballotEq(p.status.electedBallot, leader.leaderBallot))) return leader.nodeId;
    await new Promise((r) => setTimeout(r, 50));
  }
  return (await cluster.waitForLeader({ timeoutMs: 30_000 })).leaderId;
}

export async function runScaleConfig(o: ScaleOptions): Promise<ScaleResult> {
  const say = o.say ?? (() => {});
  const nodes = o.nodes ?? 3;
  const concurrency = o.concurrency ?? 64;
  const began = performance.now();
  const dir = mkdtempSync(join(o.parentDir, 'kvsh-scale-'));
  const watch = new NodeLogWatch();
  let stopping = false;
  const onEvent = (e: ClusterEvent): void => {
    watch.listener(e);
    if (e.type === 'exit' && !e.expected && !stopping) say(`  node ${e.nodeId} exited unexpectedly (${e.exit.signal ?? e.exit.code})`);
    if (e.type === 'output' && e.stream === 'stderr' && !stopping) say(`  node ${e.nodeId} stderr: ${e.line}`);
  };
  const { file } = await writeTestConfig({ nodes, dir, fsync: true, clusterId: 'kvsh-scale' });
  const cluster = createCluster({
    configFile: file, fsync: true, relays: false, fresh: true, onEvent, logFiles: o.keepLogsDir !== undefined,
    ...(o.cpuProfDir === undefined ? {} : { nodeCommand: profiledNodeCommand(join(o.cpuProfDir, `${o.keys}-${o.valueSize}`)) }),
  });
  const removeHandlers = stopAllOnExit(cluster, { onStopped: () => rmSync(dir, { recursive: true, force: true }), exitCode: 130 });
  const addrs = cluster.nodeIds.map((id) => cluster.addr(id));
  let target: (BenchTarget & { close(): void }) | undefined;
  let entry: NodeAddr | undefined;
  const phases: Omit<ScalePhase, 'leaderProfile' | 'profiles'>[] = [];
  const windows: UsWindow[] = [];
  try {
    await cluster.startAll();
    await cluster.waitForLeader({ timeoutMs: 30_000 });
    const leaderNow = async (): Promise<number> => {
      const leader = await settledLeader(cluster);
      const a = cluster.addr(leader);
      if (!entry || formatAddr(entry) !== formatAddr(a)) {
        target?.close();
        entry = a;
        target = kvshTarget(addrs, { name: `kvsh (${nodes} nodes, fsync on, leader first)`, client: { prefer: a } });
      }
      return leader;
    };

    // ---- preload ----
    let leader = await leaderNow();
    say(`  ${o.keys.toLocaleString('en-US')} keys × ${o.valueSize} B: leader node ${leader}; preloading (${o.preloadConcurrency ?? 256} in flight)…`);
    let rss = nodeRss(cluster);
    rss.start();
    const cpu0 = readCpu(cluster);
    const pre: PreloadResult = await preload(target!, {
      keys: o.keys, valueSize: o.valueSize, seed: o.seed, concurrency: o.preloadConcurrency ?? 256,
      onProgress: (n, ms) => say(`    preload ${n.toLocaleString('en-US')} / ${o.keys.toLocaleString('en-US')} (${Math.round(n / (ms / 1000)).toLocaleString('en-US')} keys/s)`),
    });
    const cpu1 = readCpu(cluster);
    rss.sample();
    rss.stop();
    windows.push({ fromUs: performanceToHrtimeUs(pre.startMs), toUs: performanceToHrtimeUs(pre.endMs) });
    phases.push(phaseFigures('preload', o, pre.concurrency, {
      durationMs: pre.endMs - pre.startMs, opsPerSec: pre.keysPerSec, latencyMs: pre.latencyMs, ops: pre.puts,
      errors: pre.errors, indeterminate: pre.indeterminate, firstProblem: pre.firstFailure,
    }, cpuBetween(cpu0, cpu1), rss, leader, watch, cluster.nodeIds, epoch(pre.startMs), epoch(pre.endMs)));
    say(`  preload: ${Math.round(pre.keysPerSec).toLocaleString('en-US')} keys/s`);

    // ---- put, get ----
    for (const workload of ['put', 'get'] as const) {
      leader = await leaderNow();
      rss = nodeRss(cluster);
      rss.start();
      let from: CpuReading | undefined;
      let to: CpuReading | undefined;
      const timers: NodeJS.Timeout[] = [];
      const startedAt = performance.now();
      const r: LoopResult = await runLoop(target!, {
        workload, concurrency, durationMs: o.durationMs, warmupMs: o.warmupMs, keys: o.keys, valueSize: o.valueSize,
        seed: o.seed, prepopulate: false,
        onStart: (w) => {
          windows.push({ fromUs: performanceToHrtimeUs(w.measureFromMs), toUs: performanceToHrtimeUs(w.endMs) });
          timers.push(setTimeout(() => { from = readCpu(cluster); }, Math.max(0, w.measureFromMs - performance.now())));
          timers.push(setTimeout(() => { to = readCpu(cluster); }, Math.max(0, w.endMs - performance.now())));
        },
      });
      for (const t of timers) clearTimeout(t);
      to ??= readCpu(cluster);
      rss.sample();
      rss.stop();
      const completed = r.opsPerSec * (r.durationMs / 1000);
      phases.push(phaseFigures(workload, o, concurrency, {
        durationMs: r.durationMs, opsPerSec: r.opsPerSec, latencyMs: r.latencyMs, ops: Math.round(completed),
        errors: r.errors, indeterminate: r.indeterminate, firstProblem: r.firstError ?? r.firstIndeterminate,
      }, cpuBetween(from, to), rss, leader, watch, cluster.nodeIds, epoch(startedAt), epoch(performance.now())));
      say(`  ${workload} C=${concurrency}: ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s, p99 ${r.latencyMs.p99.toFixed(1)} ms`);
    }

    // ---- data directory, restart ----
    const dataDir = Object.fromEntries(cluster.nodeIds.map((id) => [String(id), dirSize(cluster.nodeDataDir(id))]));
    const peakRssKbByNode = Object.fromEntries(cluster.nodeIds.flatMap((id) => {
      const pid = cluster.pid(id);
      const r = pid === undefined ? undefined : readRss(pid);
      return r ? [[String(id), r.hwmKb]] : [];
    }));
    let restart: RestartResult | null = null;
    if ((o.restart ?? 'kill') !== 'none') {
      leader = await settledLeader(cluster);
      const follower = cluster.nodeIds.find((id) => id !== leader)!;
      say(`  restarting follower node ${follower} (${o.restart ?? 'kill'})…`);
      restart = await measureRestart(cluster, follower, { how: o.restart === 'stop' ? 'stop' : 'kill', probeKey: keyNames(1)[0]!,
        ...(o.restartTimeoutMs === undefined ? {} : { timeoutMs: o.restartTimeoutMs }) });
      say(restart.failure === undefined
        ? `  restart: listening after ${Math.round(restart.listenMs)} ms, serving after ${Math.round(restart.serveMs)} ms`
        : `  restart: listening after ${Math.round(restart.listenMs)} ms; ${restart.failure}; status then: ${JSON.stringify(restart.statusAtTimeout)}`);
    }

    stopping = true;
    target?.close();
    target = undefined;
    await cluster.stopAll();
    let profiled = phases as ScalePhase[];
    if (o.cpuProfDir !== undefined) {
      const base = join(o.cpuProfDir, `${o.keys}-${o.valueSize}`);
      const profiles = new Map(cluster.nodeIds.map((id) => [id, readCpuProfiles(join(base, `node-${id}`))]));
      profiled = phases.map((p, i) => {
        const byNode = Object.fromEntries(cluster.nodeIds.map((id) => [String(id), summarizeProfiles(profiles.get(id)!, windows[i])]));
        return { ...p, leaderProfile: byNode[String(p.leader)]!, profiles: byNode };
      });
    }
    return {
      keys: o.keys, valueSize: o.valueSize, nodes, phases: profiled, dataDir, restart, peakRssKbByNode,
      ballotsSeen: watch.ballotsSeen, wallMs: performance.now() - began, dir,
    };
  } finally {
    stopping = true;
    target?.close();
    await cluster.stopAll().catch(() => {});
    removeHandlers();
    if (o.keepLogsDir !== undefined) {
      const into = join(o.keepLogsDir, `${o.keys}-${o.valueSize}`);
      mkdirSync(into, { recursive: true });
      for (const id of cluster.nodeIds) {
        try {
          copyFileSync(nodeLogFile(cluster.dataDir, id), join(into, `node-${id}.log`));
        } catch (e) {
          say(`  could not keep node ${id}'s log: ${(e as Error).message}`);
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Measured {
  readonly durationMs: number;
  readonly opsPerSec: number;
  readonly latencyMs: LatencySummary;
  readonly ops: number;
  readonly errors: number;
  readonly indeterminate: number;
  readonly firstProblem: string | undefined;
}

function phaseFigures(
  workload: ScalePhaseKind, o: ScaleOptions, concurrency: number, m: Measured, cpu: CpuUse,
  rss: RssSampler, leader: number, watch: NodeLogWatch, ids: readonly number[], fromEpoch: number, toEpoch: number,
): Omit<ScalePhase, 'leaderProfile' | 'profiles'> {
  const rssKbByNode: Record<string, number> = {};
  for (const f of rss.results()) rssKbByNode[f.label] = Math.max(rssKbByNode[f.label] ?? 0, f.maxRssKb);
  const completed = m.opsPerSec * (m.durationMs / 1000);
  return {
    workload, keys: o.keys, valueSize: o.valueSize, concurrency,
    durationMs: m.durationMs, opsPerSec: m.opsPerSec, latencyMs: m.latencyMs, ops: m.ops, errors: m.errors, indeterminate: m.indeterminate,
    ...(m.firstProblem === undefined ? {} : { firstProblem: m.firstProblem }),
    serverCpuMs: cpu.serverMs,
    serverCpuMsPer1kOps: completed > 0 ? (cpu.serverMs / completed) * 1000 : NaN,
    nodeCpuMs: cpu.byNode,
    otherCores: cpu.otherCores,
    benchCores: cpu.benchMs / m.durationMs,
    maxRssKb: Math.max(0, ...Object.values(rssKbByNode)),
    rssKbByNode,
    leader,
    newBallots: watch.newBallots(fromEpoch, toEpoch),
    leaderStall: watch.stallsIn(fromEpoch, toEpoch, leader),
    stallsByNode: watch.stallsByNode(fromEpoch, toEpoch, ids),
  };
}
