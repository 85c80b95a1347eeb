/**
 * The shape of a kvsh command: its help text, how its arguments complete, and what it does.
 * Commands live in small files by area (data, cluster, faults, clients, history, shell) and
 * are listed once in `./index.ts`.
 */
import type { CommandLine } from '../script.js';
import type { ShellSession } from '../session.js';

/** What an argument position completes to (tab), besides literal words. */
export type ArgKind = 'key' | 'node' | 'nodes' | 'file' | 'workload' | 'command' | 'duration' | 'none';

export type CommandGroup = 'data' | 'cluster' | 'faults' | 'clients' | 'history' | 'shell';

export const GROUP_TITLES: Record<CommandGroup, string> = {
  data: 'Data',
  cluster: 'Cluster',
  faults: 'Faults (local cluster only)',
  clients: 'Client workloads',
  history: 'Histories',
  shell: 'Shell',
};

export interface CommandSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly group: CommandGroup;
  /** `put <key> <value>`: shown in help and after a usage error. */
  readonly usage: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More lines for `help <command>`. */
  readonly details?: readonly string[];
  readonly examples?: readonly string[];
  /** Completion per argument position: a kind, or the literal words allowed there. */
  readonly args?: readonly (ArgKind | readonly string[])[];
  /** `args` are the words after the command name; `line` has the rest (quoting, where). */
  run(session: ShellSession, args: readonly string[], line: CommandLine): Promise<void> | void;
}

/** Wrong arguments: the session prints the message and the command's usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command ran and failed (no leader, node not found, check not linearizable, …). */
export class CommandFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailed';
  }
}

/** Exactly `n` arguments, or a usage error naming what is missing or extra. */
export function expectArgs(args: readonly string[], min: number, max = min): void {
  if (args.length < min) throw new UsageError(min - args.length === 1 ? 'an argument is missing' : `${min - args.length} arguments are missing`);
  if (args.length > max) throw new UsageError(`unexpected ${args.length - max === 1 ? 'argument' : 'arguments'}: ${args.slice(max).join(' ')}`);
}

export function parseCount(word: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(word)) throw new UsageError(`${what} must be a whole number, got "${word}"`);
  const n = Number(word);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}
