/**
 * Where a node's CPU time went, from the V8 CPU profiles that `node --cpu-prof` writes when the
 * process exits (`kvbench --cpu-prof <dir>`): self time per function and per source file over a
 * time window, plus the idle, garbage-collector and "(program)" (native, outside JS) shares.
 *
 * The profile's sample times are V8 TimeTicks in microseconds; on Linux that is the same
 * CLOCK_MONOTONIC as `process.hrtime` in every process, so a window measured by the benchmark
 * process (`hrtimeUs`) selects the samples the nodes took during it. Each sample counts for the
 * time until the next one (its share of the sampling interval).
 *
 * Input is validated: a file that is not a V8 CPU profile is an error naming the file and what
 * is wrong, never a crash or silently empty figures.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { kvnodeCommand, projectRoot, type NodeCommand } from '../cluster/node-command.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

/** The parts of a `.cpuprofile` (Chrome DevTools protocol Profiler.Profile) used here. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A window in microseconds of CLOCK_MONOTONIC (process.hrtime). */
export interface UsWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export interface SelfTime {
  /** "name file:line" for a function, the file (or group) for a file. */
  readonly label: string;
  readonly us: number;
}

export interface ProfileSummary {
  /** Wall time the window covers in the profile(s), µs. */
  readonly wallUs: number;
  readonly idleUs: number;
  readonly gcUs: number;
  /** Native code outside any JS function ("(program)"): libuv, syscalls, the compiler, … */
  readonly programUs: number;
  /** Everything but idle. */
  readonly busyUs: number;
  /** JS (and native functions called from it) by self time, largest first. */
  readonly functions: readonly SelfTime[];
  /** The same, summed per source file: project files by path, Node's own by module. */
  readonly files: readonly SelfTime[];
}

const SPECIAL = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);

function fail(file: string, what: string): never {
  throw new Error(`${file}: not a V8 CPU profile (${what})`);
}

/** Parses and checks a profile's JSON text; `file` names it in errors. */
export function parseCpuProfile(text: string, file: string): CpuProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(file, `JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) fail(file, 'not an object');
  const p = raw as Record<string, unknown>;
  if (!Array.isArray(p.nodes)) fail(file, 'no "nodes" array');
  if (!Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) fail(file, 'no "samples" / "timeDeltas" arrays');
  if (p.samples.length !== p.timeDeltas.length) fail(file, `${p.samples.length} samples but ${p.timeDeltas.length} time deltas`);
  if (typeof p.startTime !== 'number' || typeof p.endTime !== 'number') fail(file, 'no numeric "startTime" / "endTime"');
  const ids = new Set<number>();
  p.nodes.forEach((n: unknown, i: number) => {
    const node = n as { id?: unknown; callFrame?: { functionName?: unknown; url?: unknown; lineNumber?: unknown } } | null;
    if (typeof node?.id !== 'number' || typeof node.callFrame?.functionName !== 'string' || typeof node.callFrame.url !== 'string'
      || typeof node.callFrame.lineNumber !== 'number') fail(file, `nodes[${i}] lacks id / callFrame`);
    ids.add(node.id);
  });
  const deltas: unknown[] = p.timeDeltas;
  p.samples.forEach((s: unknown, i: number) => {
    if (typeof s !== 'number' || !ids.has(s)) fail(file, `samples[${i}] = ${String(s)} names no node`);
    if (typeof deltas[i] !== 'number') fail(file, `timeDeltas[${i}] is not a number`);
  });
  return p as unknown as CpuProfile;
}

/** Node's name for a profile: CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile. */
const NODE_PROFILE_NAME = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/;

/**
 * The main-thread `.cpuprofile`s in `dir` (a node restarted during the run leaves one per
 * process). Worker threads write their own (thread id ≠ 0: tsx's module-loader thread, for one);
 * they are left out, so the figures are the event loop's.
 */
export function readCpuProfiles(dir: string): CpuProfile[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && (NODE_PROFILE_NAME.exec(f)?.[1] ?? '0') === '0').sort()
    .map((f) => parseCpuProfile(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
}

/** A source location as people read it: project-relative, or Node's module name. */
export function sourceLabel(url: string): string {
  if (url === '') return '(native)';
  let path = url;
  if (path.startsWith('file://')) {
    try {
      path = decodeURIComponent(new URL(path).pathname);
    } catch {
      return url;
    }
    const rel = relative(projectRoot, path);
    if (!rel.startsWith('..')) {
      const parts = rel.split(sep);
      // Dependencies count per package, not per file.
      const nm = parts.lastIndexOf('node_modules');
      if (nm >= 0) return `npm:${parts[nm + 1]?.startsWith('@') ? `${parts[nm + 1]}/${parts[nm + 2]}` : parts[nm + 1]}`;
      return rel;
    }
    return path;
  }
  return path; // node:internal/…, node:net, …
}

/** Self time over `window` (the whole profile when omitted), summed over `profiles`. */
export function summarizeProfiles(profiles: readonly CpuProfile[], window?: UsWindow): ProfileSummary {
  let wallUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  let programUs = 0;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const p of profiles) {
    const from = Math.max(p.startTime, window?.fromUs ?? -Infinity);
    const to = Math.min(p.endTime, window?.toUs ?? Infinity);
    if (to <= from) continue;
    wallUs += to - from;
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    // Sample i is taken at t_i = startTime + Σ timeDeltas[0..i]; it stands for [t_i, t_{i+1}).
    let t = p.startTime;
    const times = p.timeDeltas.map((d) => (t += d));
    for (let i = 0; i < p.samples.length; i++) {
      const start = Math.max(times[i]!, from);
      const end = Math.min(times[i + 1] ?? p.endTime, to);
      if (end <= start) continue;
      const us = end - start;
      const frame = nodes.get(p.samples[i]!)!.callFrame;
      const name = frame.functionName;
      if (name === '(idle)') idleUs += us;
      else if (name === '(garbage collector)') gcUs += us;
      else if (name === '(program)' || name === '(root)') programUs += us;
      if (SPECIAL.has(name)) continue;
      const file = sourceLabel(frame.url);
      // Code loaded through tsx reports line 0 (its transpiled text): only real lines are shown.
      const label = `${name || '(anonymous)'} ${file}${frame.url && frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : ''}`;
      byFunction.set(label, (byFunction.get(label) ?? 0) + us);
      byFile.set(file, (byFile.get(file) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>): SelfTime[] => [...m].map(([label, us]) => ({ label, us })).sort((a, b) => b.us - a.us);
  return { wallUs, idleUs, gcUs, programUs, busyUs: wallUs - idleUs, functions: sorted(byFunction), files: sorted(byFile) };
}

/** CLOCK_MONOTONIC µs for a performance.now() time of this process. */
export function performanceToHrtimeUs(ms: number): number {
  const nowHr = Number(process.hrtime.bigint() / 1000n);
  return nowHr - (performance.now() - ms) * 1000;
}

/** kvnode under `node --cpu-prof`: each process writes its profile into <dir>/node-<id>/ when it exits. */
export function profiledNodeCommand(dir: string): NodeCommand {
  return (launch) => {
    const spec = kvnodeCommand(launch);
    const into = join(dir, `node-${launch.id}`);
    mkdirSync(into, { recursive: true });
    return { ...spec, args: ['--cpu-prof', `--cpu-prof-dir=${into}`, ...spec.args] };
  };
}
