/** clients / wait: background client workloads, and waiting for them (or for a leader) in drills. */
import { isWorkloadName, WORKLOADS } from '../../client/workload.js';
import { formatDuration, formatLatency, parseDuration } from '../duration.js';
import { currentLeader, resolveNodes } from '../node-refs.js';
import type { ShellSession } from '../session.js';
import { WorkloadRun, type WorkloadSpec } from '../workloads.js';
import { CommandFailed, parseCount, UsageError, type CommandSpec } from './types.js';

const MAX_CLIENTS = 500;

async function parseWorkload(session: ShellSession, args: readonly string[]): Promise<WorkloadSpec> {
  if (args.length < 2) throw new UsageError('give the number of clients and a workload');
  const clients = parseCount(args[0]!, 'the number of clients', 1, MAX_CLIENTS);
  const workload = args[1]!;
  if (!isWorkloadName(workload)) throw new UsageError(`no workload "${workload}" (workloads: ${Object.keys(WORKLOADS).join(', ')})`);
  let durationMs: number | undefined;
  let nodes = session.targets.map((t) => t.addr);
  let nodeLabel = 'all nodes';
  let keys = 5;
  let seed: number | undefined;
  for (let i = 2; i < args.length; i += 2) {
    const word = args[i]!;
    const value = args[i + 1];
    if (value === undefined) throw new UsageError(`"${word}" needs a value`);
    switch (word) {
      case 'for':
        try {
          durationMs = session.scaled(parseDuration(value));
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case 'on': {
        const ids = await resolveNodes(session, value);
        nodes = ids.map((id) => {
          const a = session.addrOf(id);
          if (!a) throw new CommandFailed(`kvsh does not know node ${id}'s address`);
          return a;
        });
        nodeLabel = `node${ids.length === 1 ? '' : 's'} ${ids.join(',')}`;
        break;
      }
      case 'keys': keys = parseCount(value, 'keys', 1, 1000); break;
      case 'seed': seed = parseCount(value, 'seed', 0, 0x7fff_ffff); break;
      default: throw new UsageError(`unexpected "${word}" (options: for <duration>, on <nodes>, keys <n>, seed <n>)`);
    }
  }
  return { clients, workload, durationMs, nodes, nodeLabel, keys, keyPrefix: session.recording.keyPrefix, seed };
}

export function summarizeRun(run: WorkloadRun): { text: string; json: Record<string, unknown> } {
  const r = run.report;
  const c = run.counts;
  const elapsed = (r?.elapsedMs ?? Date.now() - run.startedAt) / 1000;
  const lat = run.latency;
  const q = lat.count > 0
    ? `, latency p50 ${formatLatency(lat.quantile(0.5))}, p99 ${formatLatency(lat.quantile(0.99))}, max ${formatLatency(lat.max)}`
    : '';
  const text = `clients ${run.describe()} finished: ${c.invoked} ops in ${elapsed.toFixed(1)}s`
    + ` — ok ${c.ok}, fail ${c.fail}, info ${c.info}${c.rejected ? ` (rejected ${c.rejected})` : ''}`
    + ` · ${(c.invoked / Math.max(elapsed, 0.001)).toFixed(0)} ops/s${q} · seed ${r?.seed ?? '?'}`;
  return {
    text,
    json: {
      command: 'clients', run: run.id, finished: true, clients: run.spec.clients, workload: run.spec.workload, seed: r?.seed,
      invoked: c.invoked, ok: c.ok, fail: c.fail, info: c.info, rejected: c.rejected, elapsedMs: Math.round(elapsed * 1000),
      p50Ms: lat.count ? lat.quantile(0.5) : null, p99Ms: lat.count ? lat.quantile(0.99) : null, maxMs: lat.count ? lat.max : null,
    },
  };
}

function startRun(session: ShellSession, spec: WorkloadSpec): WorkloadRun {
  const id = session.workloads.length + 1;
  const run = new WorkloadRun(id, spec, session.recording.target, session.processes, session.clientOptions);
  session.workloads.push(run);
  run.done.then(
    () => {
      const { text, json } = summarizeRun(run);
      session.emit({ kind: 'result', text, json, tone: 'plain' });
    },
    (e: Error) => session.emit({ kind: 'error', text: `clients #${id} failed: ${e.message}` }),
  );
  return run;
}

async function waitForClients(session: ShellSession, timeoutMs: number | undefined): Promise<void> {
  const running = session.workloads.filter((w) => w.running);
  if (running.length === 0) return;
  const endless = running.filter((w) => w.spec.durationMs === undefined);
  if (endless.length > 0 && timeoutMs === undefined) {
    throw new CommandFailed(`clients ${endless.map((w) => `#${w.id}`).join(', ')} run until stopped: clients stop first, or give wait a timeout`);
  }
  let timer: NodeJS.Timeout | undefined;
  const all = Promise.allSettled(running.map((w) => w.done));
  const expired = timeoutMs === undefined ? null : new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  const outcome = await Promise.race(expired ? [all, expired] : [all]);
  clearTimeout(timer);
  // Let the runs' own summaries (queued on `done`) print before wait returns.
  await new Promise((r) => setImmediate(r));
  if (outcome === 'timeout') throw new CommandFailed(`clients still running after ${formatDuration(timeoutMs!)}`);
}

export const CLIENT_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'clients', group: 'clients',
    usage: 'clients <n> <workload> [for <duration>] [on <nodes>] [keys <k>] [seed <s>]   |   clients stop   |   clients',
    summary: 'run n virtual clients in the background doing random operations on a few keys',
    details: [
      `Workloads: ${Object.entries(WORKLOADS).map(([n, m]) => `${n} (get ${m.get}% put ${m.put}% cas ${m.cas}% delete ${m.delete}%)`).join('; ')}.`,
      'Each client does one operation at a time. Counters (ok / fail / info) and throughput show in the status pane;',
      'a summary with latency p50 / p99 prints when the run ends. Without "for", it runs until clients stop.',
      'Operations are recorded when recording is on (record start <file>).',
    ],
    examples: ['clients 5 mixed for 10s', 'clients 10 cas for 30s on 2', 'clients 3 reads', 'clients stop'],
    args: [['stop', '1', '5', '10'], 'workload', ['for', 'on', 'keys', 'seed'], 'duration'],
    run: async (s, args) => {
      if (args.length === 0) {
        if (s.workloads.length === 0) {
          s.result('no client workloads yet', { command: 'clients', runs: [] });
          return;
        }
        const lines = s.workloads.map((w) => {
          const c = w.counts;
          return `${w.describe()}: ${w.running ? 'running' : 'finished'} — ok ${c.ok}, fail ${c.fail}, info ${c.info}`;
        });
        s.result(lines.join('\n'), { command: 'clients', runs: s.workloads.map((w) => ({ run: w.id, running: w.running, ...w.counts })) });
        return;
      }
      if (args[0] === 'stop') {
        if (args.length > 1) throw new UsageError('clients stop takes no arguments');
        const running = s.workloads.filter((w) => w.running);
        for (const w of running) w.stop();
        await Promise.allSettled(running.map((w) => w.done));
        await new Promise((r) => setImmediate(r));
        if (running.length === 0) s.info('no clients were running');
        return;
      }
      const spec = await parseWorkload(s, args);
      const run = startRun(s, spec);
      s.info(`clients ${run.describe()} started${s.recording.active ? ' (recording)' : ''}`, {
        command: 'clients', run: run.id, started: true, clients: spec.clients, workload: spec.workload, durationMs: spec.durationMs ?? null,
      });
    },
  },
  {
    name: 'wait', group: 'clients', usage: 'wait [clients | leader | new-leader] [timeout]',
    summary: 'wait until the client workloads finish (default), a leader is elected, or a new one is',
    details: [
      'new-leader: a leader whose ballot is above the leader\'s at the last fault command (kill, pause,',
      'partition, …). Right after a fault the old leader can look elected for a moment, so drills use',
      '"wait new-leader" after faulting the leader instead of a fixed sleep. Default timeout 20s.',
    ],
    examples: ['wait', 'wait leader', 'wait new-leader 30s'],
    args: [['clients', 'leader', 'new-leader'], 'duration'],
    run: async (s, args) => {
      // `wait 30s` waits for the clients, with a timeout.
      const bare = args.length === 1 && /^\d/.test(args[0]!);
      const what = bare ? 'clients' : args[0] ?? 'clients';
      if (bare) args = ['clients', args[0]!];
      if (args.length > 2 || !['clients', 'leader', 'new-leader'].includes(what)) throw new UsageError('wait [clients | leader | new-leader] [timeout]');
      let timeoutMs: number | undefined;
      if (args[1] !== undefined) {
        try {
          timeoutMs = parseDuration(args[1]);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      }
      if (what === 'clients') {
        await waitForClients(s, timeoutMs);
        return;
      }
      if (what === 'new-leader' && s.ballotAtLastFault === undefined) throw new CommandFailed('no fault command has run yet: wait leader instead');
      const l = await currentLeader(s, timeoutMs ?? 20_000, what === 'new-leader' ? s.ballotAtLastFault : undefined);
      s.result(`leader: node ${l.id} (ballot ${l.ballot})`, { command: 'wait', leader: l.id, ballot: l.ballot });
    },
  },
];
