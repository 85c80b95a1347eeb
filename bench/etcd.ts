/**
 * npm run bench:etcd — kvsh and etcd side by side, in one run on one machine (issue 7).
 *
 *   npm run bench:etcd -- [--duration S] [--warmup S] [--nodes N] [--concurrency 1,64,256]
 *                         [--workloads put,get,mixed,cas] [--keys N] [--value-size B] [--seed N]
 *                         [--etcd-modes leader,spread] [--etcd-members N] [--kvsh-entry leader|all]
 *                         [--systems kvsh,etcd] [--dir DIR]
 *
 * First kvsh: a fresh local cluster of N nodes (default 3, fsync on, fresh loopback ports,
 * data in a temp dir) runs every workload × C through the closed loop (src/bench/loop.ts)
 * with one shared client whose operations enter at the leader first (as kvbench), then is
 * stopped. Then etcd: a fresh 3-member cluster (src/bench/etcd-cluster.ts, etcd's defaults,
 * fsync on) runs the same workloads with the same loop, seed, keys and values, once per
 * connection mode — every request to the leader, and spread over all members — then is
 * stopped. Each run reports the CPU of the load generator, of the servers and of anything
 * else on the machine (a run where something else used the cores is flagged). The two systems never run at the same time (the machine's cores are the limit).
 *
 * The comparison baseline for each workload × C is the faster etcd mode for it (issue 7:
 * "connect etcd the way that serves it best"); both modes are shown. Prints our runs, etcd's
 * runs, the modes compared, ours vs etcd's best with ratios, and one JSON line (type
 * "bench-etcd"). Asserts nothing. When etcd is not installed it says how to install it, runs
 * kvsh alone and exits 0.
 *
 * --dir puts both systems' data under DIR (default: the OS temp directory) — use a disk: on a
 * tmpfs fsync costs nothing.
 */
import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseArgs } from '../cli/args.js';
import { startCluster, stopAllOnExit, writeTestConfig } from '../src/cluster/index.js';
import { etcdVersion, locateEtcd, startEtcdCluster, type EtcdCluster } from '../src/bench/etcd-cluster.js';
import { EtcdTarget, findEtcdLeader, type EtcdConnectMode } from '../src/bench/etcd-target.js';
import { kvshTarget } from '../src/bench/kvsh-target.js';
import { isWorkloadKind, randomSeed, runLoop, type LoopResult } from '../src/bench/loop.js';
import {
  compareRuns, comparisonRecord, formatColumns, formatMs, formatProblems, formatRate, formatRatio, formatRunTable,
  formatSideBySide, runRecord, type Column,
} from '../src/bench/report.js';
import type { BenchTarget, WorkloadKind } from '../src/bench/target.js';

function positiveNumber(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(`a number > 0, got "${v}"`);
  return x;
}

function nonNegativeNumber(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError(`a number ≥ 0, got "${v}"`);
  return x;
}

function wholeAtLeast(min: number): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`a whole number ≥ ${min}, got "${v}"`);
    return x;
  };
}

function intList(v: string): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isSafeInteger(x) || x < 1)) throw new InvalidArgumentError(`a comma list of whole numbers ≥ 1, got "${v}"`);
  return xs;
}

function workloadList(v: string): WorkloadKind[] {
  const ws = v.split(',').map((s) => s.trim());
  const bad = ws.filter((w) => !isWorkloadKind(w));
  if (bad.length) throw new InvalidArgumentError(`workloads among put, get, mixed, cas; got "${bad.join(',')}"`);
  return ws as WorkloadKind[];
}

function modeList(v: string): EtcdConnectMode[] {
  const ms = v.split(',').map((s) => s.trim());
  if (ms.length === 0 || ms.some((m) => m !== 'leader' && m !== 'spread')) throw new InvalidArgumentError(`leader, spread or both; got "${v}"`);
  return [...new Set(ms)] as EtcdConnectMode[];
}

interface Options {
  duration: number;
  warmup: number;
  nodes: number;
  concurrency: number[];
  workloads: WorkloadKind[];
  keys: number;
  valueSize: number;
  seed?: number;
  etcdModes: EtcdConnectMode[];
  etcdMembers: number;
  dir?: string;
  systems: System[];
  kvshEntry: 'leader' | 'all';
}

type System = 'kvsh' | 'etcd';

function systemList(v: string): System[] {
  const ss = v.split(',').map((s) => s.trim());
  if (ss.length === 0 || ss.some((s) => s !== 'kvsh' && s !== 'etcd')) throw new InvalidArgumentError(`kvsh, etcd or both; got "${v}"`);
  return [...new Set(ss)] as System[];
}

const program = new Command()
  .name('bench:etcd')
  .description('kvsh and etcd, one after the other on this machine, through the same closed loop; side by side with ratios.')
  .option('--duration <s>', 'measured seconds per run', positiveNumber, 5)
  .option('--warmup <s>', 'warm-up seconds before each measured window', nonNegativeNumber, 1)
  .option('--nodes <n>', 'kvsh nodes', wholeAtLeast(1), 3)
  .option('--concurrency <list>', 'virtual clients, a comma list', intList, [1, 64, 256])
  .option('--workloads <list>', 'comma list of put, get, mixed, cas', workloadList, ['put', 'get', 'mixed', 'cas'])
  .option('--keys <n>', 'distinct keys', wholeAtLeast(1), 1000)
  .option('--value-size <bytes>', 'bytes per value', wholeAtLeast(0), 16)
  .option('--seed <n>', 'seed of the keys and values drawn (default: random, printed)', wholeAtLeast(0))
  .option('--etcd-modes <list>', 'etcd client connection: leader, spread, or both', modeList, ['leader', 'spread'])
  .option('--etcd-members <n>', 'etcd members', wholeAtLeast(1), 3)
  .addOption(new Option('--kvsh-entry <where>', 'kvsh: operations enter at the leader first (as kvbench), or every node round robin').choices(['leader', 'all']).default('leader'))
  .option('--systems <list>', 'which systems to run: kvsh, etcd or both', systemList, ['kvsh', 'etcd'])
  .option('--dir <dir>', 'parent directory of both systems\' data (default: the OS temp directory)')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

const say = (line = ''): void => { process.stdout.write(line + '\n'); };

interface Cell {
  readonly workload: WorkloadKind;
  readonly concurrency: number;
}

const FS_TYPES: Record<number, string> = { 0x01021994: 'tmpfs', 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };
function fsTypeOf(dir: string): string {
  try {
    const t = statfsSync(dir).type;
    return FS_TYPES[t] ?? `type 0x${t.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

/**
 * CPU during a run, in cores: this process (the load generator), the system's processes, and
 * everything else on the machine ("other": another program sharing the cores skews the figures).
 * Linux /proc only; NaN elsewhere. "other" also holds kernel threads working for us (the disk
 * flushes behind fsync), so a small value is normal.
 */
interface CpuUse {
  readonly loadGen: number;
  readonly servers: number;
  readonly other: number;
}

const CLK_TCK = 100;

/** [busy, total] jiffies of the whole machine; busy = user + nice + system + irq + softirq. */
function machineJiffies(): [number, number] {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return [total - f[3]! - f[4]! - f[7]!, total];
  } catch {
    return [NaN, NaN];
  }
}

/** utime + stime of a process, in jiffies; 0 when it is gone. */
function processJiffies(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Starts measuring; the returned function ends it. `pids`: the system's server processes. */
function measureCpu(pids: readonly number[]): () => CpuUse {
  const t0 = performance.now();
  const [busy0, total0] = machineJiffies();
  const self0 = process.cpuUsage();
  const srv0 = pids.map(processJiffies);
  return () => {
    const wallS = (performance.now() - t0) / 1000;
    const [busy1, total1] = machineJiffies();
    const self = process.cpuUsage(self0);
    const loadGen = (self.user + self.system) / 1e6 / wallS;
    const servers = pids.reduce((a, p, i) => a + Math.max(0, processJiffies(p) - srv0[i]!), 0) / CLK_TCK / wallS;
    const cores = (total1 - total0) > 0 ? ((busy1 - busy0) / (total1 - total0)) * cpuCount : NaN;
    return { loadGen, servers, other: Math.max(0, cores - loadGen - servers) };
  };
}

const cpuCount = (() => {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length || 1;
  } catch {
    return 1;
  }
})();

/** Above this many cores of "other" CPU in a run, its figures are flagged. */
const OTHER_CPU_WARN = 0.25;

interface Measured {
  readonly result: LoopResult;
  readonly cpu: CpuUse;
}

function runLine(m: Measured): string {
  const r = m.result;
  const c = m.cpu;
  return `  ${r.target} ${r.workload} C=${r.concurrency}: ${formatRate(r.opsPerSec)} ops/s, p50 ${formatMs(r.latencyMs.p50)} ms, `
    + `p99 ${formatMs(r.latencyMs.p99)} ms, errors ${r.errors}, indeterminate ${r.indeterminate}; `
    + `CPU: load generator ${c.loadGen.toFixed(2)}, servers ${c.servers.toFixed(2)}, other ${c.other.toFixed(2)} cores`
    + (c.other > OTHER_CPU_WARN ? '  ← something else was using the CPU' : '');
}

const cpuRecord = (c: CpuUse): Record<string, number> => ({
  loadGenCores: Math.round(c.loadGen * 100) / 100,
  serverCores: Math.round(c.servers * 100) / 100,
  otherCores: Math.round(c.other * 100) / 100,
});

async function main(): Promise<number> {
  const parsed = parseArgs(program);
  if (parsed !== undefined) return parsed;
  const o = program.opts<Options>();
  const seed = o.seed ?? randomSeed();
  const cells: Cell[] = o.workloads.flatMap((workload) => o.concurrency.map((concurrency) => ({ workload, concurrency })));
  const loopOpts = (c: Cell) => ({
    workload: c.workload,
    concurrency: c.concurrency,
    durationMs: o.duration * 1000,
    warmupMs: o.warmup * 1000,
    keys: o.keys,
    valueSize: o.valueSize,
    seed,
  });
  const base = o.dir ?? tmpdir();
  const fsType = fsTypeOf(base);
  const located = locateEtcd();
  const version = o.systems.includes('etcd') && 'binary' in located ? await etcdVersion(located.binary) : undefined;
  const runKvsh = o.systems.includes('kvsh');
  const perRunS = o.duration + o.warmup;
  const runs = cells.length * ((runKvsh ? 1 : 0) + (version ? o.etcdModes.length : 0));
  say(`bench:etcd — seed ${seed}; ${o.workloads.join('/')} at C=${o.concurrency.join(', ')}; ${o.keys} keys, ${o.valueSize}-byte values; `
    + `${o.warmup} s warm-up + ${o.duration} s per run, ${runs} runs (≈${Math.ceil((runs * perRunS) / 60)} min); data under ${base} (${fsType})`);
  if (fsType === 'tmpfs') say('  note: tmpfs — fsync costs nothing here; use --dir <a disk> for figures that include the disk');
  if (o.systems.includes('etcd') && !version) say(`  ${'missing' in located ? located.missing : ''}: running kvsh only`);

  // ---- kvsh ----------------------------------------------------------------------------
  const ours: LoopResult[] = [];
  const oursCpu: CpuUse[] = [];
  if (runKvsh) {
    const kvDir = mkdtempSync(join(base, 'kvsh-bench-etcd-'));
    const { file } = await writeTestConfig({ nodes: o.nodes, dir: kvDir, fsync: true, clusterId: 'bench-etcd' });
    say(`\nkvsh: starting ${o.nodes} nodes (fsync on) in ${kvDir}`);
    const cluster = await startCluster({ configFile: file, fsync: true, fresh: true });
    const removeHandlers = stopAllOnExit(cluster, { onSignal: () => process.stderr.write('stopping kvsh…\n') });
    let target: BenchTarget | undefined;
    try {
      const leader = await cluster.waitForLeader({ timeoutMs: 30_000 });
      const prefer = o.kvshEntry === 'leader' ? cluster.addr(leader.leaderId) : undefined;
      say(`kvsh: leader node ${leader.leaderId}; operations enter ${prefer ? `at the leader (${prefer.host}:${prefer.port}) first` : 'at every node round robin'}`);
      target = kvshTarget(cluster.nodeIds.map((id) => cluster.addr(id)), {
        name: `kvsh (${o.nodes} nodes${prefer ? ', leader first' : ', round robin'})`,
        client: prefer ? { prefer } : {},
      });
      const pids = cluster.nodeIds.map((id) => cluster.pid(id)).filter((p): p is number => p !== undefined);
      for (const c of cells) {
        const done = measureCpu(pids);
        const r = await runLoop(target, loopOpts(c));
        const m = { result: r, cpu: done() };
        ours.push(r);
        oursCpu.push(m.cpu);
        say(runLine(m));
      }
    } finally {
      await target?.close();
      await cluster.stopAll();
      removeHandlers();
      rmSync(kvDir, { recursive: true, force: true });
    }
  }

  // ---- etcd ----------------------------------------------------------------------------
  const etcdRuns = new Map<EtcdConnectMode, LoopResult[]>(o.etcdModes.map((m) => [m, []]));
  const etcdCpu = new Map<EtcdConnectMode, CpuUse[]>(o.etcdModes.map((m) => [m, []]));
  let leaderSwitches = 0;
  if (version) {
    say(`\netcd ${version}: starting ${o.etcdMembers} members (etcd defaults: fsync on)`);
    const started = await startEtcdCluster({ members: o.etcdMembers, baseDir: base });
    if (started.kind !== 'started') throw new Error(started.message);
    const cluster: EtcdCluster = started.cluster;
    const targets = new Map<EtcdConnectMode, EtcdTarget>();
    try {
      say(`etcd: ${cluster.endpoints.join(' ')}; leader ${await cluster.leaderEndpoint()}`);
      const label = (m: EtcdConnectMode): string => `etcd ${version} (${o.etcdMembers} members, ${m === 'leader' ? 'leader only' : 'spread'})`;
      const targetFor = async (m: EtcdConnectMode): Promise<EtcdTarget> => {
        let t = targets.get(m);
        // Leader-only means the current leader: re-resolve before each run (it rarely moves).
        if (t && m === 'leader' && t.hosts[0] !== (await findEtcdLeader(cluster.endpoints))) {
          leaderSwitches++;
          t.close();
          t = undefined;
        }
        if (!t) {
          t = await EtcdTarget.connect({ endpoints: cluster.endpoints, mode: m, name: label(m), requestTimeoutMs: 10_000 });
          targets.set(m, t);
        }
        return t;
      };
      // Modes alternate per cell, so drift over the run (a growing database) affects both alike.
      for (const c of cells) {
        for (const m of o.etcdModes) {
          const target = await targetFor(m);
          const done = measureCpu(cluster.pids);
          const r = await runLoop(target, loopOpts(c));
          const cpu = done();
          etcdRuns.get(m)!.push(r);
          etcdCpu.get(m)!.push(cpu);
          say(runLine({ result: r, cpu }));
        }
      }
    } finally {
      for (const t of targets.values()) t.close();
      await cluster.stop();
    }
  }

  // ---- report --------------------------------------------------------------------------
  if (runKvsh) {
    say('\n== kvsh ==');
    say(formatRunTable(ours));
  }
  const allEtcd = [...etcdRuns.values()].flat();
  let best: LoopResult[] = [];
  let bestModes: EtcdConnectMode[] = [];
  if (version) {
    say('\n== etcd (both connection modes) ==');
    say(formatRunTable(cells.flatMap((c) => o.etcdModes.map((m) => etcdRuns.get(m)!.find((r) => r.workload === c.workload && r.concurrency === c.concurrency)!))));
    const pick = cells.map((c) => {
      const candidates = o.etcdModes.map((m) => ({ m, r: etcdRuns.get(m)!.find((r) => r.workload === c.workload && r.concurrency === c.concurrency)! }));
      return candidates.reduce((a, b) => (b.r.opsPerSec > a.r.opsPerSec ? b : a));
    });
    bestModes = pick.map((p) => p.m);
    best = pick.map((p) => ({ ...p.r, target: `etcd ${version} (${o.etcdMembers} members, best mode)` }));
    if (o.etcdModes.length === 2) {
      say('\n== etcd: leader only vs spread ==');
      const lead = etcdRuns.get('leader')!;
      const spread = etcdRuns.get('spread')!;
      const cols: Column<number>[] = [
        { title: 'workload', cell: (i) => cells[i]!.workload, align: 'left' },
        { title: 'C', cell: (i) => String(cells[i]!.concurrency) },
        { title: 'leader ops/s', cell: (i) => formatRate(lead[i]!.opsPerSec) },
        { title: 'spread ops/s', cell: (i) => formatRate(spread[i]!.opsPerSec) },
        { title: 'leader/spread', cell: (i) => formatRatio(lead[i]!.opsPerSec / spread[i]!.opsPerSec) },
        { title: 'leader p99', cell: (i) => formatMs(lead[i]!.latencyMs.p99) },
        { title: 'spread p99', cell: (i) => formatMs(spread[i]!.latencyMs.p99) },
        { title: 'faster', cell: (i) => bestModes[i]!, align: 'left' },
      ];
      say(formatColumns(cells.map((_, i) => i), cols));
    }
    say(`\n== kvsh (${o.nodes} nodes) vs etcd (${o.etcdMembers} members, the faster mode per row) ==`);
    say(formatSideBySide(ours, best, { ours: 'kvsh', theirs: 'etcd' }));
    say(`etcd mode used per row: ${cells.map((c, i) => `${c.workload}/${c.concurrency}=${bestModes[i]}`).join(', ')}`);
    if (leaderSwitches > 0) say(`note: etcd's leader moved ${leaderSwitches} time(s) during the run; the leader-only client followed it`);
  } else if (o.systems.includes('etcd')) {
    say(`\netcd: ${'missing' in located ? located.missing : 'not run'}`);
    say('  install it and run again for the side-by-side comparison: sudo apt-get install etcd-server');
  }
  const problems = formatProblems([...ours, ...allEtcd]);
  if (problems) say(`\n${problems}`);
  const busy = [...oursCpu, ...[...etcdCpu.values()].flat()].filter((c) => c.other > OTHER_CPU_WARN).length;
  if (busy > 0) say(`\nwarning: in ${busy} run(s) something else used more than ${OTHER_CPU_WARN} cores of this ${cpuCount}-core machine (marked above): those figures are low`);

  const json = {
    type: 'bench-etcd',
    seed,
    durationS: o.duration,
    warmupS: o.warmup,
    keys: o.keys,
    valueSize: o.valueSize,
    fsType,
    cpus: cpuCount,
    kvsh: runKvsh ? { nodes: o.nodes, fsync: true, entry: o.kvshEntry, runs: ours.map((r, i) => runRecord(r, cpuRecord(oursCpu[i]!))) } : { skipped: 'not asked' },
    etcd: version
      ? {
        version,
        members: o.etcdMembers,
        runs: Object.fromEntries([...etcdRuns].map(([m, rs]) => [m, rs.map((r, i) => runRecord(r, { mode: m, ...cpuRecord(etcdCpu.get(m)![i]!) }))])),
        bestMode: Object.fromEntries(cells.map((c, i) => [`${c.workload}/${c.concurrency}`, bestModes[i]])),
      }
      : { skipped: !o.systems.includes('etcd') ? 'not asked' : 'missing' in located ? located.missing : 'not run' },
    compare: version ? compareRuns(ours, best).map((c, i) => ({ ...comparisonRecord(c), etcdMode: bestModes[i] })) : [],
  };
  say('\n' + JSON.stringify(json));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench:etcd: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
