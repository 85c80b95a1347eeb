/** get / put / cas / delete: one operation through the session's client, recorded when recording is on. */
import type { OpResult } from '../../client/results.js';
import type { KvOp } from '../../replica/entry.js';
import { formatLatency } from '../duration.js';
import type { Tone } from '../output.js';
import type { ShellSession } from '../session.js';
import { CommandFailed, expectArgs, type CommandSpec } from './types.js';

/** `nil` as a cas expectation means "the key is absent". A value that is literally "nil" is quoted: "nil". */
const ABSENT_WORD = 'nil';

async function runOp(session: ShellSession, op: KvOp): Promise<void> {
  session.noteKey(op.key);
  const t0 = performance.now();
  const { result, recorded } = await session.process.executeRecorded(op);
  const ms = performance.now() - t0;
  const { text, tone } = describeResult(op, result);
  const json: Record<string, unknown> = { command: op.kind, key: op.key, ...resultJson(result), recorded: session.recording.active ? recorded : undefined };
  if (session.timing) json.ms = Number(ms.toFixed(3));
  const shown = session.timing ? `${text}  (${formatLatency(ms)})` : text;
  if (result.status === 'rejected') {
    // A definite failure: the operation was not applied.
    throw new CommandFailed(`${shown.replace(/^REJECTED: /, 'rejected: ')}`);
  }
  session.result(shown, json, tone);
}

export function describeResult(op: KvOp, r: OpResult): { text: string; tone: Tone } {
  switch (r.status) {
    case 'indeterminate':
      return { text: `? indeterminate — may or may not have taken effect (${r.reason})`, tone: 'unknown' };
    case 'rejected':
      return { text: `REJECTED: ${r.reason}`, tone: 'fail' };
    case 'mismatch':
      return { text: `MISMATCH: current value is ${showValue(r.current)}`, tone: 'fail' };
    case 'ok':
      if (op.kind === 'get' && 'value' in r) return { text: showValue(r.value), tone: 'ok' };
      if (op.kind === 'delete' && 'existed' in r) return { text: r.existed ? 'OK (deleted)' : 'OK (no such key)', tone: 'ok' };
      return { text: 'OK', tone: 'ok' };
  }
}

function resultJson(r: OpResult): Record<string, unknown> {
  switch (r.status) {
    case 'indeterminate': return { status: 'indeterminate', cause: r.cause, reason: r.reason };
    case 'rejected': return { status: 'rejected', reason: r.reason };
    case 'mismatch': return { status: 'mismatch', current: r.current };
    case 'ok': {
      const { status: _status, ...rest } = r as { status: 'ok' } & Record<string, unknown>;
      return { status: 'ok', ...rest };
    }
  }
}

/** `"value"` as JSON quotes it; `(nil)` for an absent key. */
export function showValue(v: string | null): string {
  return v === null ? '(nil)' : JSON.stringify(v);
}

export const DATA_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'get', group: 'data', usage: 'get <key>', summary: 'read a key (linearizable, through the leader)',
    details: ['Prints the value in quotes, or (nil) when the key is absent.'],
    examples: ['get a'], args: ['key'],
    run: async (s, args) => { expectArgs(args, 1); await runOp(s, { kind: 'get', key: args[0]! }); },
  },
  {
    name: 'put', aliases: ['set'], group: 'data', usage: 'put <key> <value>', summary: 'write a key',
    details: ['Quote values with spaces: put greeting "hello world". An empty value is "".'],
    examples: ['put a 1', 'put msg "two words"'], args: ['key', 'none'],
    run: async (s, args) => { expectArgs(args, 2); await runOp(s, { kind: 'put', key: args[0]!, value: args[1]! }); },
  },
  {
    name: 'cas', group: 'data', usage: 'cas <key> <expected|nil> <new>',
    summary: 'compare-and-set: write <new> only if the value is <expected> (nil: absent)',
    details: [
      'OK when the value was swapped; MISMATCH shows the current value and changes nothing.',
      `Use ${ABSENT_WORD} as <expected> to create a key only if it does not exist; quote "${ABSENT_WORD}" to mean the text.`,
    ],
    examples: ['cas a 1 2', 'cas lock nil me'], args: ['key', 'none', 'none'],
    run: async (s, args, line) => {
      expectArgs(args, 3);
      const expected = args[1] === ABSENT_WORD && !line.quoted[2] ? null : args[1]!;
      await runOp(s, { kind: 'cas', key: args[0]!, expected, value: args[2]! });
    },
  },
  {
    name: 'delete', aliases: ['del', 'rm'], group: 'data', usage: 'delete <key>', summary: 'remove a key',
    examples: ['delete a'], args: ['key'],
    run: async (s, args) => { expectArgs(args, 1); await runOp(s, { kind: 'delete', key: args[0]! }); },
  },
];
