/** status / leader / log / nodes / connect: what the cluster looks like, and which nodes kvsh talks to. */
import { fetchLog } from '../../client/admin.js';
import { formatAddr, parseAddr } from '../../client/addr.js';
import { describeOp, type Entry } from '../../replica/entry.js';
import { formatBallot } from '../../replica/ballot.js';
import { textTable } from '../output.js';
import type { ShellSession } from '../session.js';
import { healthOf, type ClusterView, type NodeView } from '../status-poller.js';
import { currentLeader, resolveNode } from '../node-refs.js';
import { CommandFailed, expectArgs, parseCount, UsageError, type CommandSpec } from './types.js';

const DEFAULT_LOG_COUNT = 20;
const MAX_LOG_COUNT = 1000;

export function nodeRow(v: NodeView, leaderId: number | undefined): string[] {
  const p = v.poll;
  const health = healthOf(v);
  const id = v.id === undefined ? '?' : `${v.id}${v.id === leaderId ? '*' : ''}`;
  if (p?.kind !== 'status') {
    const why = p?.kind === 'error' ? p.message.replace(/^status-request failed: /, '') : p?.kind === 'skipped' ? p.reason : 'not polled yet';
    return [id, formatAddr(v.addr), health, '-', '-', '-', '-', '-', '-', '-', why];
  }
  const s = p.status;
  const connected = s.peers.filter((x) => x.connected).length;
  return [
    // A node whose votes do not count (a learner, or a data directory the cluster does not know).
    id, formatAddr(v.addr), health, s.voter ? s.role : 'learner', s.phase,
    s.role === 'leader' ? formatBallot(s.leaderBallot) : formatBallot(s.electedBallot),
    String(s.compactedIdx), String(s.decidedIdx), String(s.logLength), s.quorumConnected ? 'yes' : 'no', `${connected}/${s.peers.length}`,
  ];
}

/** `snapshot` is the node's compactedIdx: entries before it exist only in its snapshot. */
export const STATUS_HEADER = ['node', 'address', 'state', 'role', 'phase', 'ballot', 'snapshot', 'decided', 'log', 'quorum', 'peers'];

export function formatStatus(view: ClusterView): string {
  const leaderId = view.leader?.leaderId;
  const sorted = [...view.nodes].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  const table = textTable([STATUS_HEADER, ...sorted.map((n) => nodeRow(n, leaderId))], [0, 1, 2, 3, 4, 5, 9, 10]);
  const leader = view.leader
    ? `leader: node ${view.leader.leaderId}, ballot ${formatBallot(view.leader.ballot)}`
    : 'leader: none elected (no ballot is backed by a majority)';
  return `${table}\n${leader}`;
}

function statusJson(view: ClusterView): Record<string, unknown> {
  return {
    command: 'status',
    leader: view.leader ? { node: view.leader.leaderId, ballot: formatBallot(view.leader.ballot) } : null,
    nodes: view.nodes.map((n) => {
      const base = { node: n.id ?? null, address: formatAddr(n.addr), state: healthOf(n), process: n.process ?? null };
      if (n.poll?.kind !== 'status') return { ...base, error: n.poll?.kind === 'error' ? n.poll.message : n.poll?.kind === 'skipped' ? n.poll.reason : null };
      const s = n.poll.status;
      return {
        ...base, role: s.role, phase: s.phase, leaderBallot: formatBallot(s.leaderBallot), electedBallot: formatBallot(s.electedBallot),
        incarnation: s.incarnation, voter: s.voter, promised: formatBallot(s.promised), compactedIdx: s.compactedIdx, decidedIdx: s.decidedIdx, logLength: s.logLength, appliedIdx: s.appliedIdx,
        quorumConnected: s.quorumConnected, fsync: s.fsync, peers: s.peers.map((x) => ({ node: x.id, connected: x.connected })),
      };
    }),
  };
}

function describeEntry(e: Entry): string {
  switch (e.kind) {
    case 'command': return `${describeOp(e.command.op)}   (${e.command.clientId}#${e.command.seq})`;
    case 'expire-sessions': return `expire sessions idle before ${e.idleBefore}`;
    case 'join': return `node ${e.id} joins as incarnation ${e.incarnation}${e.replace ? ' (replacing the one before)' : ''}`;
    case 'promote': return `node ${e.id} (incarnation ${e.incarnation}) becomes a voter`;
  }
}

async function showLog(session: ShellSession, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 3);
  let nodeWord: string | undefined;
  const nums = args.filter((a) => {
    if (a.startsWith('@')) {
      nodeWord = a.slice(1);
      return false;
    }
    return true;
  });
  if (nums.length > 2) throw new UsageError('at most [from] [count] and @node');
  const count = nums[1] === undefined ? DEFAULT_LOG_COUNT : parseCount(nums[1], 'count', 1, MAX_LOG_COUNT);
  const id = nodeWord !== undefined ? await resolveNode(session, nodeWord) : (await currentLeader(session, 3000).catch(() => undefined))?.id;
  const addr = id !== undefined ? session.addrOf(id) : session.targets[0]!.addr;
  if (!addr) throw new CommandFailed(`kvsh does not know node ${id}'s address`);
  let from: number;
  if (nums[0] !== undefined) {
    from = parseCount(nums[0], 'from');
  } else {
    // The tail: ask where the log ends first.
    const probe = await fetchLog(addr, 0, 0, { timeoutMs: 2000 }).catch((e: Error) => { throw new CommandFailed(e.message); });
    from = Math.max(0, probe.logLength - count);
  }
  const r = await fetchLog(addr, from, count, { timeoutMs: 2000 }).catch((e: Error) => { throw new CommandFailed(e.message); });
  const who = id !== undefined ? `node ${id}` : formatAddr(addr);
  const lines = r.entries.map((e, i) => {
    const idx = r.from + i;
    return `${String(idx).padStart(7)} ${idx < r.decidedIdx ? 'decided' : 'pending'}  ${describeEntry(e)}`;
  });
  // A node answers from its compactedIdx when the entries asked for are compacted away.
  const compacted = r.from > from ? ` (entries before ${r.from} are compacted into ${who}'s snapshot)` : '';
  const head = `log of ${who}: entries ${r.from}…${r.from + r.entries.length - 1} of ${r.logLength}, decided up to ${r.decidedIdx}${compacted}`;
  session.result(
    r.entries.length === 0 ? `log of ${who}: no entries from ${from} (length ${r.logLength}, decided ${r.decidedIdx})${compacted}` : [head, ...lines].join('\n'),
    {
      command: 'log', node: id ?? null, from: r.from, logLength: r.logLength, decidedIdx: r.decidedIdx,
      entries: r.entries.map((e, i) => ({ index: r.from + i, decided: r.from + i < r.decidedIdx, ...e })),
    },
  );
}

export const CLUSTER_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'status', group: 'cluster', usage: 'status', summary: 'every node: up/down/paused, role, ballot, snapshot index, decided index, log length',
    details: [
      'The leader is marked with *. The ballot column is the node\'s view of the elected ballot (its own when it leads).',
      'snapshot is the node\'s compactedIdx: the log entries before it exist only in its snapshot (0: none compacted yet).',
    ],
    run: async (s, args) => {
      expectArgs(args, 0);
      const view = await s.poller.refresh();
      s.result(formatStatus(view), statusJson(view));
    },
  },
  {
    name: 'leader', group: 'cluster', usage: 'leader', summary: 'the elected leader and its ballot',
    run: async (s, args) => {
      expectArgs(args, 0);
      const view = await s.poller.refresh();
      if (!view.leader) {
        s.result('no leader elected right now', { command: 'leader', leader: null }, 'unknown');
        return;
      }
      const b = formatBallot(view.leader.ballot);
      s.result(`node ${view.leader.leaderId} (ballot ${b})`, { command: 'leader', leader: view.leader.leaderId, ballot: b });
    },
  },
  {
    name: 'log', group: 'cluster', usage: 'log [from] [count] [@node]',
    summary: 'the replicated log, decoded (default: the last 20 entries of the leader\'s log)',
    examples: ['log', 'log 0 10', 'log 100 50 @3'],
    run: (s, args) => showLog(s, args),
  },
  {
    name: 'nodes', group: 'cluster', usage: 'nodes', summary: 'the nodes kvsh talks to (and their processes, for a local cluster)',
    run: async (s, args) => {
      expectArgs(args, 0);
      const rows = [['node', 'client address', 'process', 'pid']];
      for (const t of s.targets) {
        const id = s.idOf(t);
        const c = s.cluster;
        const local = c && id !== undefined && c.nodeIds.includes(id);
        rows.push([id === undefined ? '?' : String(id), formatAddr(t.addr), local ? c.state(id) : '-', local ? String(c.pid(id) ?? '-') : '-']);
      }
      const owner = s.cluster ? `local cluster (${s.cluster.configFile})` : 'connected with --nodes / connect';
      s.result(`${textTable(rows, [0, 1, 2])}\n${owner}`, {
        command: 'nodes',
        nodes: s.targets.map((t) => ({ node: s.idOf(t) ?? null, address: formatAddr(t.addr) })),
      });
    },
  },
  {
    name: 'connect', group: 'cluster', usage: 'connect <host:port>[,<host:port>…]',
    summary: 'talk to these nodes\' client ports instead (running workloads keep theirs)',
    examples: ['connect 127.0.0.1:7201,127.0.0.1:7202'],
    run: async (s, args) => {
      if (args.length === 0) throw new UsageError('give the client addresses');
      const addrs = args.flatMap((a) => a.split(',')).filter((a) => a !== '').map((a) => {
        try {
          return parseAddr(a);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
      });
      s.reconnect(addrs.map((addr) => ({ id: undefined, addr })));
      const view = await s.poller.refresh();
      const up = view.nodes.filter((n) => healthOf(n) === 'up').length;
      s.info(`connected to ${addrs.length} node${addrs.length === 1 ? '' : 's'} (${up} answering)`);
    },
  },
];
