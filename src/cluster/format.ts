/**
 * Plain-text renderings of cluster events and node tables, one line per event, for the CLI and
 * anything else that prints to a terminal or a log.
 */
import { formatAddr } from '../client/addr.js';
import { formatBallot } from '../replica/ballot.js';
import { describeExit, type ClusterEvent } from './events.js';
import type { ElectedLeader, NodePoll } from './leader.js';
import type { NodeInfo } from './local-cluster.js';

/** Fields every kvnode record has; the rest are the event's own. */
const COMMON_FIELDS = new Set(['time', 'node', 'level', 'event']);

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/**
 * One line for an event, or undefined for events that another one already tells (the state
 * change that comes with every exit).
 */
export function formatEvent(e: ClusterEvent): string | undefined {
  switch (e.type) {
    case 'output': {
      if (!e.record) return `${clock(e.time)} node ${e.nodeId} ${e.stream === 'stderr' ? '!' : '|'} ${e.line}`;
      const r = e.record;
      const t = typeof r.time === 'string' && !Number.isNaN(Date.parse(r.time)) ? Date.parse(r.time) : e.time;
      const level = typeof r.level === 'string' && r.level !== 'info' ? ` ${r.level.toUpperCase()}` : '';
      const rest = Object.entries(r)
        .filter(([k, v]) => !COMMON_FIELDS.has(k) && v !== undefined && v !== null)
        .map(([k, v]) => `${k}=${fieldText(v)}`)
        .join(' ');
      return `${clock(t)} node ${e.nodeId}${level} ${r.event}${rest ? ' ' + rest : ''}`;
    }
    case 'state': {
      // Lines the manager adds are marked "manager:" to tell them from the node's own events.
      const at = `${clock(Date.now())} node ${e.nodeId} manager:`;
      if (e.state === 'starting') return `${at} started (pid ${e.pid ?? '?'})`;
      if (e.state === 'paused') return `${at} paused (SIGSTOP)`;
      if (e.state === 'running' && e.previous === 'paused') return `${at} resumed (SIGCONT)`;
      if (e.state === 'stopping') return `${at} stopping (SIGTERM)`;
      // 'running' after 'starting' follows the node's own "listening" line; the end states come with 'exit'.
      return undefined;
    }
    case 'exit': {
      const at = `${clock(Date.now())} node ${e.nodeId} manager:`;
      const how = describeExit(e.exit);
      if (!e.expected) return `${at} EXITED UNEXPECTEDLY (${how}, pid ${e.pid ?? '?'})`;
      return `${at} exited (${how}${e.forced ? ', SIGKILL after the stop grace period' : ''})`;
    }
    case 'spawn-error':
      return `${clock(Date.now())} node ${e.nodeId} manager: could not spawn it: ${e.message}`;
  }
}

/** A fixed-width table of the nodes, with each node's role from its last status. */
export function formatNodeTable(nodes: readonly NodeInfo[], polls: ReadonlyMap<number, NodePoll>, leader?: ElectedLeader): string {
  const rows = nodes.map((n) => {
    const p = polls.get(n.id);
    const role = p?.kind === 'status' ? `${p.status.role}${p.status.nodeId === leader?.leaderId ? ' *' : ''}` : p?.kind === 'error' ? 'no answer' : '-';
    return [String(n.id), n.pid === undefined ? '-' : String(n.pid), formatAddr(n.addr), n.state, role];
  });
  const header = ['id', 'pid', 'client', 'state', 'role'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (leader) out.push('', `leader: node ${leader.leaderId} (ballot ${formatBallot(leader.ballot)})`);
  return out.join('\n');
}
