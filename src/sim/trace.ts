/**
 * One-line descriptions of what happens in a run, for `--trace`. Only built when tracing is
 * on: the hot path never formats anything.
 */
import { formatBallot } from '../replica/ballot.js';
import { describeEntry, describeOp, type Command, type Entry } from '../replica/entry.js';
import type { PeerMessage, SeqNum } from '../replica/messages.js';
import type { ClientReply } from '../replica/types.js';
import type { TimeUs } from './event-queue.js';

/** Virtual time as milliseconds with microseconds, right-aligned. */
export function formatTime(t: TimeUs): string {
  return (t / 1000).toFixed(3).padStart(10);
}

const seq = (s: SeqNum): string => `${s.session}:${s.counter}`;

function entries(es: readonly Entry[]): string {
  if (es.length === 0) return '[]';
  const shown = es.slice(0, 3).map(describeEntry).join(', ');
  return es.length > 3 ? `[${shown}, … ${es.length} in all]` : `[${shown}]`;
}

export function describeMessage(m: PeerMessage): string {
  switch (m.kind) {
    case 'heartbeat-request': return `heartbeat-request r${m.round}`;
    case 'heartbeat-reply': return `heartbeat-reply r${m.round} ${formatBallot(m.ballot)}${m.qc ? ' qc' : ''}`;
    case 'prepare': return `prepare ${formatBallot(m.n)} dec=${m.decidedIdx} acc=${formatBallot(m.acceptedRnd)}/${m.acceptedIdx}`;
    case 'promise':
      return `promise ${formatBallot(m.n)} acc=${formatBallot(m.acceptedRnd)}/${m.acceptedIdx} dec=${m.decidedIdx}`
        + (m.sync ? ` sync@${m.sync.syncIdx}+${entries(m.sync.suffix)}` : '');
    case 'accept-sync': return `accept-sync ${formatBallot(m.n)} #${seq(m.seq)} dec=${m.decidedIdx} sync@${m.sync.syncIdx}+${entries(m.sync.suffix)}`;
    case 'accept-decide': return `accept-decide ${formatBallot(m.n)} #${seq(m.seq)} dec=${m.decidedIdx} ${entries(m.entries)}`;
    case 'accepted': return `accepted ${formatBallot(m.n)} idx=${m.acceptedIdx}`;
    case 'decide': return `decide ${formatBallot(m.n)} #${seq(m.seq)} dec=${m.decidedIdx}`;
    case 'not-accepted': return `not-accepted ${formatBallot(m.n)}`;
    case 'prepare-req': return `prepare-req ${formatBallot(m.n)}`;
    case 'proposal-forward': return `proposal-forward ${entries(m.entries)}`;
  }
}

export function describeCommand(c: Command): string {
  return `${c.clientId}#${c.seq} ${describeOp(c.op)}`;
}

export function describeReply(r: ClientReply): string {
  const res = r.result;
  const what = res.kind === 'value' ? `value ${res.value}`
    : res.kind === 'mismatch' ? `mismatch (current ${res.current ?? '∅'})`
      : res.kind === 'deleted' ? `deleted${res.existed ? '' : ' (absent)'}`
        : res.kind;
  return `${r.clientId}#${r.seq} → ${what}`;
}
