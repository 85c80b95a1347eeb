/**
 * The nemesis: kill / pause / resume / restart / start / stop / wipe / replace nodes, and cut, delay or heal peer
 * links through the local cluster's relays. Each action is recorded as a nemesis event when
 * recording is on, so the report shows what the clients went through.
 */
import { rmSync } from 'node:fs';
import { isLive, type LocalCluster } from '../../cluster/index.js';
import { formatDuration, parseDuration } from '../duration.js';
import { resolveNodes } from '../node-refs.js';
import type { ShellSession } from '../session.js';
import { CommandFailed, UsageError, type CommandSpec } from './types.js';

type NodeAction = 'kill' | 'pause' | 'resume' | 'restart' | 'start' | 'stop' | 'wipe' | 'replace';

const PAST: Record<NodeAction, string> = {
  kill: 'killed (SIGKILL)', pause: 'paused (SIGSTOP)', resume: 'resumed (SIGCONT)',
  restart: 'restarted', start: 'started', stop: 'stopped',
  wipe: 'killed (SIGKILL) and its data directory deleted', replace: 'started with --replace',
};

async function nodeAction(session: ShellSession, action: NodeAction, args: readonly string[]): Promise<void> {
  const cluster = session.requireCluster(action);
  if (args.length !== 1) throw new UsageError(args.length === 0 ? 'which node?' : `one node word or list, got ${args.join(' ')}`);
  const ids = await resolveNodes(session, args[0]!);
  if (ids.length === 0) {
    session.info(`${action}: no node is ${args[0]}`);
    return;
  }
  if (action !== 'resume' && action !== 'start' && action !== 'replace') await session.noteFault();
  for (const id of ids) {
    checkState(cluster, action, id);
    // Recorded when the fault starts (a restart waits until the node listens again; the
    // report must show the kill where it happened).
    session.recording.nemesis(action, { node: id });
    switch (action) {
      case 'kill': await cluster.kill(id); break;
      case 'pause': cluster.pause(id); break;
      case 'resume': cluster.resume(id); break;
      case 'restart': await cluster.restart(id); break;
      case 'start': await cluster.start(id); break;
      case 'stop': await cluster.stop(id); break;
      case 'wipe':
        await cluster.kill(id);
        rmSync(cluster.nodeDataDir(id), { recursive: true, force: true });
        break;
      case 'replace':
        cluster.setReplace(id, true);
        try {
          await cluster.start(id);
        } finally {
          cluster.setReplace(id, false);
        }
        break;
    }
    session.result(`node ${id} ${PAST[action]}`, { command: action, node: id, state: cluster.state(id) });
  }
  void session.poller.refresh();
}

function checkState(cluster: LocalCluster, action: NodeAction, id: number): void {
  const state = cluster.state(id);
  const live = isLive(state);
  if ((action === 'kill' || action === 'pause' || action === 'stop') && !live) throw new CommandFailed(`node ${id} is ${state}: nothing to ${action}`);
  if (action === 'pause' && state === 'paused') throw new CommandFailed(`node ${id} is already paused`);
  if (action === 'resume' && state !== 'paused') throw new CommandFailed(`node ${id} is ${state}, not paused`);
  if ((action === 'start' || action === 'replace') && live) throw new CommandFailed(`node ${id} is ${state}; ${action === 'start' ? 'use restart to kill and start it' : 'wipe it first'}`);
}

function nodeCommand(action: NodeAction, summary: string, details: string[] = []): CommandSpec {
  return {
    name: action, group: 'faults', usage: `${action} <node>`, summary, args: ['nodes'],
    details: [...details, 'A node is an id (3), a list (1,2), or leader, follower, followers, all, down, paused.'],
    examples: [`${action} 3`, `${action} leader`],
    run: (s, args) => nodeAction(s, action, args),
  };
}

/** `1,2 | 3,4,5` (cut both ways between groups) or `1 -> 2,3` (cut one way). */
interface LinkSpec {
  readonly groups: number[][];
  readonly oneWay: boolean;
}

async function parseLinkSpec(session: ShellSession, words: readonly string[]): Promise<LinkSpec> {
  const text = words.join(' ');
  const oneWay = text.includes('->');
  if (oneWay && text.includes('|')) throw new UsageError('use either | (both ways) or -> (one way), not both');
  const parts = text.split(oneWay ? '->' : '|').map((p) => p.trim());
  if (parts.length < 2 || parts.some((p) => p === '')) throw new UsageError('name at least two groups of nodes, e.g. 1,2 | 3,4,5 or 1 -> 2');
  if (oneWay && parts.length !== 2) throw new UsageError('a one-way cut names two groups: <from> -> <to>');
  const groups: (number[] | 'rest')[] = [];
  for (const p of parts) {
    if (/\s/.test(p)) throw new UsageError(`"${p}": separate the nodes of a group with commas, not spaces`);
    groups.push(p === 'rest' || p === 'others' ? 'rest' : await resolveNodes(session, p));
  }
  const named = new Set(groups.flatMap((g) => (g === 'rest' ? [] : g)));
  const all = session.knownNodeIds();
  const resolved = groups.map((g) => (g === 'rest' ? all.filter((id) => !named.has(id)) : g));
  const seen = new Set<number>();
  for (const g of resolved) {
    if (g.length === 0) throw new UsageError('a group is empty');
    for (const id of g) {
      if (seen.has(id)) throw new UsageError(`node ${id} is in two groups`);
      seen.add(id);
    }
  }
  return { groups: resolved, oneWay };
}

function networkOf(session: ShellSession, what: string): NonNullable<LocalCluster['network']> {
  const cluster = session.requireCluster(what);
  if (!cluster.network) throw new CommandFailed(`${what} needs the cluster's link relays, and this cluster was started without them`);
  return cluster.network;
}

const showGroups = (groups: readonly number[][], sep: string): string => groups.map((g) => g.join(',')).join(sep);

export const FAULT_COMMANDS: readonly CommandSpec[] = [
  nodeCommand('kill', 'kill -9 a node (its process dies at once, nothing is flushed)'),
  nodeCommand('pause', 'freeze a node with SIGSTOP (its connections stay open, it answers nothing)'),
  nodeCommand('resume', 'continue a paused node (SIGCONT)'),
  nodeCommand('restart', 'kill -9 a node if it runs, then start it again and wait until it listens', ['restart down starts every node that is down.']),
  nodeCommand('start', 'start a node that has no process'),
  nodeCommand('stop', 'stop a node gracefully (SIGTERM)'),
  nodeCommand('wipe', 'kill -9 a node and delete its data directory (a lost disk); it stays down', [
    'Started again (start), it is a new data directory: it follows the log but its votes do not count',
    '(status shows it as learner). replace brings it back as a voter.',
  ]),
  nodeCommand('replace', 'start a node that is down with --replace: its new data directory takes the old one\'s place', [
    'It joins as a learner and becomes a voter once it has caught up (watch status).',
  ]),
  {
    name: 'partition', group: 'faults', usage: 'partition <nodes> | <nodes> [| …]   or   partition <nodes> -> <nodes>',
    summary: 'cut peer links: both ways between groups, or one way',
    details: [
      'Messages on a cut link are lost. Only the links between the groups you name are cut:',
      'nodes left out keep all their links (a partial partition). "rest" names every node not named.',
      'Partitions add up until heal. Clients still reach every node; only peer links are cut.',
    ],
    examples: ['partition 1,2 | 3,4,5', 'partition leader | rest', 'partition 1 | 3', 'partition leader -> followers'],
    args: ['nodes', ['|', '->'], 'nodes'],
    run: async (s, args) => {
      const net = networkOf(s, 'partition');
      const spec = await parseLinkSpec(s, args);
      await s.noteFault();
      if (spec.oneWay) {
        net.cutOneWay(spec.groups[0]!, spec.groups[1]!);
        s.recording.nemesis('partition-one-way', { groups: spec.groups });
        s.result(`cut ${showGroups(spec.groups, ' -> ')} (one way)`, { command: 'partition', oneWay: true, groups: spec.groups });
      } else {
        net.partition(spec.groups);
        s.recording.nemesis('partition', { groups: spec.groups });
        s.result(`cut ${showGroups(spec.groups, ' | ')}`, { command: 'partition', oneWay: false, groups: spec.groups });
      }
    },
  },
  {
    name: 'delay', group: 'faults', usage: 'delay <nodes> | <nodes> <duration>   or   delay <nodes> -> <nodes> <duration>',
    summary: 'slow peer links down: every message waits <duration> (order is kept)',
    examples: ['delay 1 | 2,3 200ms', 'delay leader -> rest 50ms'],
    args: ['nodes', ['|', '->'], 'nodes', 'duration'],
    run: async (s, args) => {
      const net = networkOf(s, 'delay');
      if (args.length < 4) throw new UsageError('name two groups and a duration');
      const ms = (() => {
        try {
          return parseDuration(args[args.length - 1]!);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      })();
      const spec = await parseLinkSpec(s, args.slice(0, -1));
      if (spec.groups.length !== 2) throw new UsageError('delay takes exactly two groups');
      await s.noteFault();
      net.delay(spec.groups[0]!, spec.groups[1]!, ms, !spec.oneWay);
      s.recording.nemesis(`delay-${ms}ms`, { groups: spec.groups });
      s.result(`delayed ${showGroups(spec.groups, spec.oneWay ? ' -> ' : ' | ')} by ${formatDuration(ms)}`,
        { command: 'delay', oneWay: spec.oneWay, groups: spec.groups, ms });
    },
  },
  {
    name: 'heal', group: 'faults', usage: 'heal', summary: 'restore every peer link (undo partitions and delays)',
    run: (s, args) => {
      if (args.length > 0) throw new UsageError('heal takes no arguments (it heals everything)');
      const net = networkOf(s, 'heal');
      const before = net.describe();
      net.heal();
      s.recording.nemesis('heal');
      s.result(before === '' ? 'healed (nothing was cut)' : `healed: ${before}`, { command: 'heal', was: before });
    },
  },
];
