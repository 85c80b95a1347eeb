/**
 * The always-visible top of the shell: every node (up / down / paused, role, ballot, snapshot
 * index, decided index, log length), the leader, the recording, and the running client workloads with live
 * counters. Pure: it draws what it is given; the app re-renders it on each poll.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { formatBallot } from '../../replica/ballot.js';
import { healthOf, type ClusterView, type Health, type NodeView } from '../status-poller.js';
import type { WorkloadRun } from '../workloads.js';

export interface StatusPaneProps {
  readonly view: ClusterView;
  /** "local cluster" or "nodes from --nodes". */
  readonly label: string;
  readonly workloads: readonly WorkloadRun[];
  readonly recording: { readonly file: string; readonly events: number } | null;
  readonly timing: boolean;
  readonly now: number;
}

const HEALTH_COLOR: Record<Health, string> = { up: 'green', down: 'red', paused: 'yellow', starting: 'cyan', unknown: 'gray' };

// node, state, role, phase, ballot, then right-aligned: snapshot (compactedIdx), decided, log;
// then quorum. 76 columns: the pane fits an 80-column terminal with its border and padding.
const COLS = [5, 9, 10, 8, 10, 9, 9, 9, 7] as const;
const num = (n: number | string, i: number): string => `${String(n).padStart(COLS[i]! - 1)} `;
const pad = (s: string, i: number): string => s.padEnd(COLS[i]!);

function NodeLine({ v, leaderId }: { v: NodeView; leaderId: number | undefined }) {
  const h = healthOf(v);
  const id = v.id === undefined ? '?' : `${v.id}${v.id === leaderId ? '*' : ''}`;
  if (v.poll?.kind !== 'status') {
    return (
      <Text wrap="truncate-end">
        {pad(id, 0)}<Text color={HEALTH_COLOR[h]}>{pad(h, 1)}</Text>
        <Text dimColor>{v.process && h === 'down' ? v.process : v.poll?.kind === 'error' ? 'no answer' : ''}</Text>
      </Text>
    );
  }
  const s = v.poll.status;
  const ballot = s.role === 'leader' ? formatBallot(s.leaderBallot) : formatBallot(s.electedBallot);
  return (
    <Text wrap="truncate-end">
      {pad(id, 0)}<Text color={HEALTH_COLOR[h]}>{pad(h, 1)}</Text>
      <Text bold={s.role === 'leader'}>{pad(s.role, 2)}</Text>{pad(s.phase, 3)}{pad(ballot, 4)}
      {num(s.compactedIdx, 5)}{num(s.decidedIdx, 6)}{num(s.logLength, 7)}
      <Text color={s.quorumConnected ? undefined : 'yellow'}>{s.quorumConnected ? 'yes' : 'no'}</Text>
    </Text>
  );
}

function WorkloadLine({ w, now }: { w: WorkloadRun; now: number }) {
  const c = w.counts;
  const elapsed = ((w.finishedAt ?? now) - w.startedAt) / 1000;
  const of = w.spec.durationMs === undefined ? '' : `/${(w.spec.durationMs / 1000).toFixed(0)}s`;
  return (
    <Text wrap="truncate-end">
      <Text color="cyan">clients {w.describe()}</Text>{w.running ? '' : <Text dimColor> finished</Text>}
      {'  '}<Text color="green">ok {c.ok}</Text>{'  '}<Text color="yellow">fail {c.fail}</Text>{'  '}
      <Text color="magenta">? {c.info}</Text>
      {w.running ? `  ${w.throughput(now)} ops/s` : ''}{`  ${elapsed.toFixed(1)}s${of}`}
    </Text>
  );
}

export function StatusPane({ view, label, workloads, recording, timing, now }: StatusPaneProps) {
  const leader = view.leader;
  const nodes = [...view.nodes].sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  const shown = workloads.filter((w) => w.running || (w.finishedAt !== undefined && now - w.finishedAt < 10_000)).slice(-3);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="gray" paddingX={1}>
      {/* One row each, whatever the width: the app budgets the pane's height by its line count. */}
      <Text wrap="truncate-end">
        <Text bold>kvsh</Text> · {label} ·{' '}
        {leader
          ? <Text color="green">leader {leader.leaderId} (ballot {formatBallot(leader.ballot)})</Text>
          : <Text color="yellow">{view.polls === 0 ? 'polling…' : 'no leader'}</Text>}
        {recording ? <Text color="red"> · ● recording {recording.file} ({recording.events} events)</Text> : null}
        {timing ? <Text dimColor> · timing on</Text> : null}
      </Text>
      <Text dimColor wrap="truncate-end">{['node', 'state', 'role', 'phase', 'ballot'].map((h, i) => pad(h, i)).join('')}{num('snapshot', 5)}{num('decided', 6)}{num('log', 7)}quorum</Text>
      {nodes.map((v, i) => <NodeLine key={v.id ?? `addr${i}`} v={v} leaderId={leader?.leaderId} />)}
      {shown.map((w) => <WorkloadLine key={w.id} w={w} now={now} />)}
    </Box>
  );
}
