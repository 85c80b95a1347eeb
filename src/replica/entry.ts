/**
 * What the log holds. A client command carries its session `(clientId, seq)` so that a retried
 * request that lands in the log twice takes effect once (see kv-state-machine.ts).
 */
import type { LogIdx } from './ballot.js';
import type { MembershipEntry } from './membership.js';

export type KvOp =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  /** `expected: null` means "only if the key is absent". */
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string };

export interface Command {
  readonly clientId: string;
  /** Per-client request number, from 1; a retry reuses it. */
  readonly seq: number;
  readonly op: KvOp;
}

export type Entry =
  | { readonly kind: 'command'; readonly command: Command }
  /**
   * Drop the sessions last used before log index `idleBefore`. Proposed by the leader and
   * applied like any entry, so every replica expires the same sessions at the same point.
   */
  | { readonly kind: 'expire-sessions'; readonly idleBefore: LogIdx }
  /** Membership changes (membership.ts): a new incarnation joins as a learner, a learner is promoted. */
  | MembershipEntry;

/** The answer to one command, computed when the command is applied. */
export type KvResult =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'ok' }
  | { readonly kind: 'mismatch'; readonly current: string | null }
  | { readonly kind: 'deleted'; readonly existed: boolean }
  /**
   * The session is unknown and `seq > 1`: it expired, and this command was not executed now.
   * Whether an earlier copy of it took effect before the expiry is not known any more, so this
   * is definite only for a request the client never sent before; a retry's outcome is unknown.
   */
  | { readonly kind: 'session-expired' };

export function describeOp(op: KvOp): string {
  switch (op.kind) {
    case 'get': return `GET ${op.key}`;
    case 'put': return `PUT ${op.key} ${op.value}`;
    case 'cas': return `CAS ${op.key} ${op.expected ?? '∅'}→${op.value}`;
    case 'delete': return `DELETE ${op.key}`;
  }
}

export function describeEntry(e: Entry): string {
  switch (e.kind) {
    case 'command': return `${e.command.clientId}#${e.command.seq} ${describeOp(e.command.op)}`;
    case 'expire-sessions': return `expire-sessions <${e.idleBefore}`;
    case 'join': return `join node ${e.id} incarnation ${e.incarnation}${e.replace ? ' (replace)' : ''}`;
    case 'promote': return `promote node ${e.id} incarnation ${e.incarnation}`;
  }
}

function sameOp(a: KvOp, b: KvOp): boolean {
  if (a.kind !== b.kind || a.key !== b.key) return false;
  switch (a.kind) {
    case 'get': case 'delete': return true;
    case 'put': return a.value === (b as typeof a).value;
    case 'cas': return a.value === (b as typeof a).value && a.expected === (b as typeof a).expected;
  }
}

/** Structural equality of two entries (field order and object identity do not matter). */
/** A command's identity (clientId, seq): copies of one command share it. null for other entries. */
export function commandKey(e: Entry): string | null {
  return e.kind === 'command' ? `${e.command.clientId}\u0000${e.command.seq}` : null;
}

export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'expire-sessions') return a.idleBefore === (b as typeof a).idleBefore;
  if (a.kind === 'join') {
    const j = b as typeof a;
    return a.id === j.id && a.incarnation === j.incarnation && a.replace === j.replace;
  }
  if (a.kind === 'promote') return a.id === (b as typeof a).id && a.incarnation === (b as typeof a).incarnation;
  const c = a.command;
  const d = (b as typeof a).command;
  return c.clientId === d.clientId && c.seq === d.seq && sameOp(c.op, d.op);
}

/** UTF-8 length of a string, without allocating (the replica runs this per batched entry). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/** The UTF-8 bytes of a command's strings (what MAX_COMMAND_BYTES limits). */
export function commandBytes(c: Command): number {
  const op = c.op;
  let n = utf8Length(c.clientId) + utf8Length(op.key);
  if (op.kind === 'put' || op.kind === 'cas') n += utf8Length(op.value);
  if (op.kind === 'cas' && op.expected !== null) n += utf8Length(op.expected);
  return n;
}

/** An upper bound of an entry's wire size: its strings plus a fixed allowance for the rest. */
export function entryBytes(e: Entry): number {
  return e.kind === 'command' ? 32 + commandBytes(e.command) : 16 + (e.kind === 'expire-sessions' ? 0 : utf8Length(e.incarnation));
}

/**
 * The largest command a node accepts (its strings together). Larger requests are rejected at
 * the client port: every entry must fit, with room to spare, in one peer frame (4 MiB).
 */
export const MAX_COMMAND_BYTES = 1024 * 1024;
