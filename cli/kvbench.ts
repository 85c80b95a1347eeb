#!/usr/bin/env node
/**
 * kvbench — closed-loop load against a kvsh cluster (issue 7): throughput, latency p50 / p90 /
 * p99 / max, errors and indeterminate outcomes per workload and concurrency.
 *
 *   npm run bench -- [--nodes host:port,…] [--nodes-count 3|5] [--fsync on|off]
 *                    [--workload put|get|mixed|cas|all] [-c 1,64,256] [--duration 5] [--warmup 1]
 *                    [--keys 1000] [--value-size 16] [--seed N] [--entry all|leader]
 *                    [--failover] [--cpu-prof <dir>] [--json]
 *
 * Without --nodes it starts its own local cluster (fresh temporary data directory, fsync on
 * unless --fsync off, no relays) and stops it and deletes its data at exit; it then also reports
 * the resident memory (VmRSS) of every node process under load.
 *
 * --failover (local cluster only): during a put workload, kill -9 the leader at 40 % of the
 * measured window and report the unavailability window (the kill → the first successful write
 * after the outage), the time until a new leader is seen elected, and the operations, errors and
 * indeterminate outcomes before, during and after the outage. The killed node is restarted
 * afterwards. Alone, --failover runs only the drill; with an explicit --workload both.
 *
 * --cpu-prof <dir> (local cluster only): the nodes run under `node --cpu-prof` and write V8 CPU
 * profiles into <dir>/node-<id>/ when they stop (open them in Chrome DevTools); kvbench then
 * prints, per run, where each node's CPU went during the measured window (busy, GC, native,
 * top functions) and the nodes' busy time per source file.
 *
 * Output: tables on stdout (progress on stderr); with --json, stdout carries only JSON lines —
 * `meta`, one `run` per run, `failover`, `rss`, `profile` — and the tables go to stderr. Nothing about time
 * is asserted. Exit status: 0 when every run was made (errors in runs are reported, not fatal),
 * 1 when the cluster could not be started or reached, 2 on bad arguments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { onOff, parseArgs } from './args.js';
import { fetchStatus, formatAddr, parseAddr, type NodeAddr } from '../src/client/index.js';
import {
  createCluster, formatEvent, stopAllOnExit, writeTestConfig, type ClusterEvent, type LocalCluster,
} from '../src/cluster/index.js';
import {
  performanceToHrtimeUs, profiledNodeCommand, readCpuProfiles, summarizeProfiles, type UsWindow,
} from '../src/bench/cpu-profile.js';
import { formatProfiles, profileRecord } from '../src/bench/profile-report.js';
import { ballotEq, formatBallot } from '../src/replica/ballot.js';
import { CompletionTimeline } from '../src/bench/failover.js';
import { kvshTarget } from '../src/bench/kvsh-target.js';
import {
  WORKLOAD_KINDS, isWorkloadKind, populate, randomSeed, runLoop, type LoopResult, type LoopWindow,
} from '../src/bench/loop.js';
import {
  failoverRecord, formatColumns, formatFailover, formatMs, formatProblems, formatRate, formatRunTable, runRecord,
  type FailoverReport,
} from '../src/bench/report.js';
import { RssSampler, readCpuMs, type RssFigure } from '../src/bench/rss.js';
import type { BenchTarget, WorkloadKind } from '../src/bench/target.js';

interface Options {
  nodes?: string;
  nodesCount: number;
  fsync: boolean;
  workload: WorkloadKind | 'all';
  concurrency: number[];
  duration: number;
  warmup: number;
  keys: number;
  valueSize: number;
  seed?: number;
  entry: 'all' | 'leader';
  failover?: boolean;
  cpuProf?: string;
  json?: boolean;
}

function wholeNumber(what: string, min: number) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`${what}: a whole number ≥ ${min}, got "${v}"`);
    return x;
  };
}

function seconds(what: string, zeroOk: boolean) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < 0 || (x === 0 && !zeroOk)) {
      throw new InvalidArgumentError(`${what}: a number of seconds ${zeroOk ? '≥ 0' : '> 0'}, got "${v}"`);
    }
    return x;
  };
}

function concurrencyList(v: string): number[] {
  const parse = wholeNumber('-c', 1);
  const xs = v.split(',').map((s) => parse(s.trim()));
  if (xs.length === 0) throw new InvalidArgumentError('-c: give at least one concurrency');
  return xs;
}

function workloadName(v: string): WorkloadKind | 'all' {
  if (v === 'all' || isWorkloadKind(v)) return v;
  throw new InvalidArgumentError(`one of ${WORKLOAD_KINDS.join(', ')}, all; got "${v}"`);
}

const program = new Command()
  .name('kvbench')
  .description('Closed-loop benchmark of a kvsh cluster: throughput, latency quantiles, errors; optionally a leader failover drill.')
  .option('--nodes <addrs>', 'client addresses of a running cluster, host:port,… (default: start a local cluster)')
  .option('--nodes-count <n>', 'size of the local cluster', wholeNumber('--nodes-count', 1), 3)
  .option('--fsync <on|off>', 'local cluster: fsync every write batch (off is UNSAFE)', onOff, true)
  .option('--workload <kind>', `${WORKLOAD_KINDS.join(' | ')} | all`, workloadName, 'all')
  .option('-c, --concurrency <list>', 'virtual clients, one value or a list: 1,64,256', concurrencyList, [64])
  .option('--duration <s>', 'measured seconds per run', seconds('--duration', false), 5)
  .option('--warmup <s>', 'seconds of load before measuring, per run', seconds('--warmup', true), 1)
  .option('--keys <n>', 'distinct keys', wholeNumber('--keys', 1), 1000)
  .option('--value-size <bytes>', 'value length', wholeNumber('--value-size', 0), 16)
  .option('--seed <n>', 'seed of the key and value choices (default: random, printed)', wholeNumber('--seed', 0))
  .addOption(new Option('--entry <where>', 'where operations enter: the leader first (default: forwarding through followers costs 1.4–2.4× throughput), or every node round robin').choices(['all', 'leader']).default('leader'))
  .option('--failover', 'local cluster: kill -9 the leader during a put workload and report the outage')
  .option('--cpu-prof <dir>', 'local cluster: profile the nodes (node --cpu-prof into <dir>/node-<id>/) and print where their CPU went in each run')
  .option('--json', 'stdout: JSON lines only (meta, run, failover, rss, profile); tables go to stderr')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The address of the node that says it leads (role leader, accept phase), asking each at once. */
async function findLeaderAddr(addrs: readonly NodeAddr[]): Promise<NodeAddr | undefined> {
  const answers = await Promise.all(addrs.map((a) => fetchStatus(a, { timeoutMs: 1000 }).then((s) => ({ a, s }), () => undefined)));
  const leader = answers.find((x) => x && x.s.role === 'leader' && x.s.phase === 'accept');
  return leader?.a;
}

/**
 * The leader once the election has settled: every node answers and names the leader's ballot.
 * Right after a start, a majority can elect a node before the last one is heard; when that one
 * has the higher ballot it takes over a moment later (BLE elects the highest quorum-connected
 * ballot), and an entry chosen before would be a follower forwarding everything. Falls back to
 * whoever says it leads after `timeoutMs` (a node may be down).
 */
async function settledLeaderAddr(addrs: readonly NodeAddr[], timeoutMs = 5000): Promise<NodeAddr | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const answers = await Promise.all(addrs.map((a) => fetchStatus(a, { timeoutMs: 1000 }).then((s) => ({ a, s }), () => undefined)));
    const leader = answers.find((x) => x && x.s.role === 'leader' && x.s.phase === 'accept');
    if (leader && answers.every((x) => x && ballotEq(x.s.electedBallot, leader.s.leaderBallot))) return leader.a;
    await new Promise((r) => setTimeout(r, 50));
  }
  return findLeaderAddr(addrs);
}

interface Local {
  cluster: LocalCluster;
  dir: string;
  removeExitHandlers: () => void;
}

async function startLocal(o: Options): Promise<Local> {
  const dir = mkdtempSync(join(tmpdir(), 'kvbench-'));
  const { file } = await writeTestConfig({ nodes: o.nodesCount, dir, fsync: o.fsync, clusterId: 'kvbench' });
  let expectedExit = false;
  const onEvent = (e: ClusterEvent): void => {
    if ((e.type === 'exit' && !e.expected && !expectedExit) || e.type === 'spawn-error') {
      const line = formatEvent(e);
      if (line !== undefined) say(line);
    }
  };
  const cluster = createCluster({
    configFile: file, fsync: o.fsync, relays: false, onEvent,
    ...(o.cpuProf === undefined ? {} : { nodeCommand: profiledNodeCommand(o.cpuProf) }),
  });
  const removeHandlers = stopAllOnExit(cluster, {
    onSignal: (sig) => {
      expectedExit = true;
      say(`${sig}: stopping the local cluster…`);
    },
    onStopped: () => rmSync(dir, { recursive: true, force: true }),
    exitCode: 130,
  });
  const onExit = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', onExit);
  const removeExitHandlers = (): void => {
    removeHandlers();
    process.off('exit', onExit);
  };
  say(`starting a local cluster of ${o.nodesCount} node${o.nodesCount === 1 ? '' : 's'} (fsync ${o.fsync ? 'on' : 'off (UNSAFE)'}, data in ${dir})…`);
  try {
    await cluster.startAll();
    const leader = await cluster.waitForLeader({ timeoutMs: 30_000 });
    say(`leader: node ${leader.leaderId} (ballot ${formatBallot(leader.ballot)})`);
  } catch (e) {
    await cluster.stopAll().catch(() => {});
    removeExitHandlers();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { cluster, dir, removeExitHandlers };
}

function progress(r: LoopResult, nodeCpu: Record<string, number> | undefined): string {
  const l = r.latencyMs;
  const cpu = `bench CPU ${Math.round(r.cpuPercent)}%${nodeCpu ? `, node CPU ${Object.entries(nodeCpu).map(([id, p]) => `${id}:${Math.round(p)}%`).join(' ')}` : ''}`;
  return `  ${r.workload} C=${r.concurrency}: ${formatRate(r.opsPerSec)} ops/s, p50 ${formatMs(l.p50)} / p90 ${formatMs(l.p90)} / p99 ${formatMs(l.p99)} / max ${formatMs(l.max)} ms`
    + `, ops ${r.ops}, errors ${r.errors}, indeterminate ${r.indeterminate}${r.mismatch ? `, mismatch ${r.mismatch}` : ''}; ${cpu}`;
}

/**
 * CPU used by every running node over a run's measured window, in % of one core per node id,
 * from /proc (readings when timers at the window's ends fire). Pass `onStart` to runLoop; call
 * `result()` after it.
 */
function nodeCpuMeter(cluster: LocalCluster | undefined): { onStart: (w: LoopWindow) => void; result: () => Record<string, number> | undefined } {
  if (!cluster) return { onStart: () => {}, result: () => undefined };
  const read = (): { at: number; ms: Map<number, { pid: number; ms: number }> } => {
    const ms = new Map<number, { pid: number; ms: number }>();
    for (const id of cluster.nodeIds) {
      const pid = cluster.pid(id);
      const v = pid === undefined ? undefined : readCpuMs(pid);
      if (pid !== undefined && v !== undefined) ms.set(id, { pid, ms: v });
    }
    return { at: performance.now(), ms };
  };
  let from: ReturnType<typeof read> | undefined;
  let to: ReturnType<typeof read> | undefined;
  const timers: NodeJS.Timeout[] = [];
  return {
    onStart: (w) => {
      timers.push(setTimeout(() => { from = read(); }, Math.max(0, w.measureFromMs - performance.now())));
      timers.push(setTimeout(() => { to = read(); }, Math.max(0, w.endMs - performance.now())));
    },
    result: () => {
      for (const t of timers) clearTimeout(t);
      // The last operations may finish before the end timer gets its turn: then read now.
      to ??= read();
      if (!from || to.at <= from.at) return undefined;
      const out: Record<string, number> = {};
      for (const [id, a] of from.ms) {
        const b = to.ms.get(id);
        if (b && b.pid === a.pid) out[String(id)] = Math.round(((b.ms - a.ms) / (to.at - from.at)) * 1000) / 10;
      }
      return out;
    },
  };
}

/** kill -9 of the leader at 40 % of the measured window of a put run. */
async function failoverDrill(
  cluster: LocalCluster, target: BenchTarget, o: Options, concurrency: number, seed: number,
): Promise<FailoverReport> {
  const timeline = new CompletionTimeline();
  let killing: Promise<{ killMs: number; killed: number; newLeader: number | undefined; newLeaderMs: number }> | undefined;
  const kill = async (): Promise<{ killMs: number; killed: number; newLeader: number | undefined; newLeaderMs: number }> => {
    const current = await cluster.waitForLeader({ timeoutMs: 5000, pollMs: 5 });
    const killMs = performance.now();
    const killed = cluster.kill(current.leaderId);
    let newLeader: number | undefined;
    let newLeaderMs = NaN;
    try {
      const next = await cluster.waitForLeader({ after: current.ballot, pollMs: 5, timeoutMs: 20_000 });
      newLeaderMs = performance.now() - killMs;
      newLeader = next.leaderId;
    } catch (e) {
      say(`no new leader: ${(e as Error).message}`);
    }
    await killed;
    return { killMs, killed: current.leaderId, newLeader, newLeaderMs };
  };
  let measureFromMs = 0;
  const run = await runLoop(target, {
    workload: 'put', concurrency, durationMs: o.duration * 1000, warmupMs: o.warmup * 1000, keys: o.keys,
    valueSize: o.valueSize, seed, prepopulate: false, onComplete: timeline.observer,
    onStart: (w) => {
      timeline.fromMs = w.measureFromMs;
      measureFromMs = w.measureFromMs;
      const at = w.measureFromMs + 0.4 * (w.endMs - w.measureFromMs);
      setTimeout(() => { killing = kill(); }, Math.max(0, at - performance.now()));
    },
  });
  if (!killing) throw new Error('failover: the run ended before the kill');
  const k = await killing;
  const analysis = timeline.analyze(k.killMs, measureFromMs);
  // Back to full strength for whatever follows.
  await cluster.restart(k.killed);
  await cluster.waitForLeader({ timeoutMs: 30_000 });
  return { target: target.name, concurrency, killedLeader: k.killed, newLeader: k.newLeader, newLeaderMs: k.newLeaderMs, analysis, run };
}

function reportProfiles(
  dir: string, ids: readonly number[], results: readonly LoopResult[], windows: readonly UsWindow[],
  table: (text: string) => void, out: (line: string) => void,
): void {
  const profiles = new Map(ids.map((id) => [id, readCpuProfiles(join(dir, `node-${id}`))]));
  results.forEach((r, i) => {
    const nodes = ids.map((id) => ({ node: id, summary: summarizeProfiles(profiles.get(id)!, windows[i]) }));
    table('');
    table(formatProfiles(`where the nodes' CPU went: ${r.workload} C=${r.concurrency}, measured window (% of one core; profiles in ${dir})`, nodes));
    for (const n of nodes) out(JSON.stringify(profileRecord(r, n)));
  });
}

function formatRss(figures: readonly RssFigure[]): string {
  const mb = (kb: number): string => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : '-');
  return formatColumns(figures, [
    { title: 'process', cell: (f) => f.label, align: 'left' },
    { title: 'pid', cell: (f) => String(f.pid) },
    { title: 'RSS under load MB (max sampled)', cell: (f) => mb(f.maxRssKb) },
    { title: 'at end MB', cell: (f) => mb(f.lastRssKb) },
    { title: 'peak (VmHWM) MB', cell: (f) => mb(f.hwmKb) },
    { title: 'samples', cell: (f) => String(f.samples) },
  ]);
}

async function main(): Promise<number> {
  const parsed = parseArgs(program);
  if (parsed !== undefined) return parsed;
  const o = program.opts<Options>();
  const explicitWorkload = program.getOptionValueSource('workload') === 'cli';
  if (o.cpuProf !== undefined && o.nodes !== undefined) {
    say('kvbench: --cpu-prof needs the local cluster (it starts the nodes under the profiler): leave out --nodes');
    return 2;
  }
  if (o.cpuProf !== undefined) o.cpuProf = resolve(o.cpuProf);
  if (o.failover && o.nodes !== undefined) {
    say('kvbench: --failover needs the local cluster (it kills the leader\'s process): leave out --nodes');
    return 2;
  }
  let given: NodeAddr[] | undefined;
  if (o.nodes !== undefined) {
    try {
      given = o.nodes.split(',').map((s) => s.trim()).filter((s) => s !== '').map(parseAddr);
    } catch (e) {
      say(`kvbench: --nodes: ${(e as Error).message}`);
      return 2;
    }
    if (given.length === 0) {
      say('kvbench: --nodes names no node');
      return 2;
    }
  }
  const seed = o.seed ?? randomSeed();
  const workloads: WorkloadKind[] = o.failover && !explicitWorkload ? [] : o.workload === 'all' ? [...WORKLOAD_KINDS] : [o.workload];
  const out = (line: string): void => {
    if (o.json) process.stdout.write(`${line}\n`);
  };
  const table = (text: string): void => {
    if (o.json) process.stderr.write(`${text}\n`);
    else process.stdout.write(`${text}\n`);
  };

  let local: Local | undefined;
  if (given === undefined) {
    try {
      local = await startLocal(o);
    } catch (e) {
      say(`kvbench: ${(e as Error).message}`);
      return 1;
    }
  }
  const cluster = local?.cluster;
  const addrs = given ?? cluster!.nodeIds.map((id) => cluster!.addr(id));
  const fsyncLabel = cluster ? (o.fsync ? 'fsync on' : 'fsync off (UNSAFE)') : 'fsync as configured';
  const name = `kvsh (${addrs.length} node${addrs.length === 1 ? '' : 's'}, ${fsyncLabel}${o.entry === 'leader' ? ', leader first' : ''})`;

  let target: (BenchTarget & { close(): void }) | undefined;
  const sampler = cluster
    ? new RssSampler(() => new Map(cluster.nodeIds.flatMap((id) => {
      const pid = cluster.pid(id);
      return pid === undefined || cluster.state(id) !== 'running' ? [] : [[`node ${id}`, pid] as [string, number]];
    })))
    : undefined;
  try {
    let prefer: NodeAddr | undefined;
    if (o.entry === 'leader') {
      prefer = await settledLeaderAddr(addrs);
      if (!prefer) {
        say('kvbench: --entry leader: no node says it leads');
        return 1;
      }
    }
    target = kvshTarget(addrs, { name, client: prefer ? { prefer } : {} });
    const describeAddr = (a: NodeAddr): string => {
      const id = cluster?.nodeIds.find((i) => formatAddr(cluster.addr(i)) === formatAddr(a));
      return id === undefined ? formatAddr(a) : `node ${id} (${formatAddr(a)})`;
    };
    /** Before each run: operations enter at the node that leads now (leadership may have moved). */
    const followLeader = async (): Promise<void> => {
      if (!prefer) return;
      const now = await findLeaderAddr(addrs);
      if (!now || (now.host === prefer.host && now.port === prefer.port)) return;
      say(`kvbench: the leader is now ${describeAddr(now)}; operations enter there`);
      prefer = now;
      target?.close();
      target = kvshTarget(addrs, { name, client: { prefer } });
    };
    const meta = {
      type: 'meta', target: name, nodes: addrs.map(formatAddr), local: cluster !== undefined, fsync: cluster ? o.fsync : null,
      entry: o.entry, workloads, concurrency: o.concurrency, durationMs: o.duration * 1000, warmupMs: o.warmup * 1000,
      keys: o.keys, valueSize: o.valueSize, seed, failover: o.failover === true,
    };
    out(JSON.stringify(meta));
    say(`kvbench: ${name}; ${o.keys} keys, ${o.valueSize}-byte values, ${o.duration} s per run after ${o.warmup} s warm-up; seed ${seed}${prefer ? `; entry ${describeAddr(prefer)}` : ''}`);

    const extra = { nodes: addrs.length, fsync: cluster ? o.fsync : null, entry: o.entry };
    const results: LoopResult[] = [];
    /** The measured window of each run, for the profiles. */
    const windows: UsWindow[] = [];
    let populated = false;
    sampler?.start();
    for (const workload of workloads) {
      if (workload !== 'put' && !populated) {
        await populate(target, { keys: o.keys, valueSize: o.valueSize, seed });
        populated = true;
      }
      for (const c of o.concurrency) {
        await followLeader();
        const meter = nodeCpuMeter(cluster);
        const r = await runLoop(target, {
          workload, concurrency: c, durationMs: o.duration * 1000, warmupMs: o.warmup * 1000, keys: o.keys,
          valueSize: o.valueSize, seed, prepopulate: false,
          onStart: (w) => {
            windows.push({ fromUs: performanceToHrtimeUs(w.measureFromMs), toUs: performanceToHrtimeUs(w.endMs) });
            meter.onStart(w);
          },
        });
        const nodeCpu = meter.result();
        results.push(r);
        say(progress(r, nodeCpu));
        out(JSON.stringify(runRecord(r, { ...extra, ...(nodeCpu ? { nodeCpuPercent: nodeCpu } : {}) })));
      }
    }
    const drills: FailoverReport[] = [];
    if (o.failover && cluster) {
      const cs = program.getOptionValueSource('concurrency') === 'cli' ? o.concurrency : [64];
      for (const c of cs) {
        say(`failover drill: put, C=${c}…`);
        const f = await failoverDrill(cluster, target, o, c, seed);
        drills.push(f);
        out(JSON.stringify(failoverRecord(f, extra)));
      }
    }
    sampler?.sample();
    sampler?.stop();
    const memory = sampler?.results() ?? [];
    for (const m of memory) out(JSON.stringify({ type: 'rss', process: m.label, pid: m.pid, maxRssKb: m.maxRssKb, lastRssKb: m.lastRssKb, hwmKb: m.hwmKb, samples: m.samples }));

    if (results.length) {
      table('');
      table(formatRunTable(results));
      const problems = formatProblems(results);
      if (problems) table(problems);
    }
    for (const f of drills) {
      table('');
      table(formatFailover(f));
    }
    if (memory.length) {
      table('');
      table('resident memory of the node processes during the runs above');
      table(formatRss(memory));
    }
    if (o.cpuProf !== undefined && local) {
      // The nodes write their profiles as they exit.
      await local.cluster.stopAll();
      reportProfiles(o.cpuProf, local.cluster.nodeIds, results, windows, table, out);
    }
    return 0;
  } catch (e) {
    say(`kvbench: ${(e as Error).message}`);
    return 1;
  } finally {
    sampler?.stop();
    target?.close();
    if (local) {
      await local.cluster.stopAll().catch(() => {});
      local.removeExitHandlers();
      rmSync(local.dir, { recursive: true, force: true });
    }
  }
}

// Exit once the output is flushed: a socket or timer left behind must not keep the process.
const exit = (code: number): void => {
  process.stdout.write('', () => process.exit(code));
};
main().then(exit, (e: unknown) => {
  process.stderr.write(`kvbench: ${(e as Error).stack ?? String(e)}\n`);
  exit(1);
});
