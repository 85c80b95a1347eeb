/** help / timing / sleep / source / echo / history / quit: the shell itself. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatDuration, parseDuration } from '../duration.js';
import type { ShellSession } from '../session.js';
import { CommandFailed, expectArgs, GROUP_TITLES, UsageError, type CommandGroup, type CommandSpec } from './types.js';

const MAX_SOURCE_DEPTH = 8;

/** Set by ./index.ts (the list includes this file's commands). */
let allCommands: readonly CommandSpec[] = [];
export function setCommandList(list: readonly CommandSpec[]): void {
  allCommands = list;
}

export function helpText(name?: string): string {
  if (name !== undefined) {
    const c = allCommands.find((x) => x.name === name.toLowerCase() || x.aliases?.includes(name.toLowerCase()));
    if (!c) throw new UsageError(`no command "${name}" — type help for the list`);
    const lines = [`${c.usage}`, `  ${c.summary}`];
    for (const d of c.details ?? []) lines.push(`  ${d}`);
    if (c.aliases?.length) lines.push(`  also: ${c.aliases.join(', ')}`);
    if (c.examples?.length) lines.push('  examples:', ...c.examples.map((e) => `    ${e}`));
    return lines.join('\n');
  }
  const width = Math.max(...allCommands.map((c) => c.name.length));
  const out: string[] = [];
  for (const group of Object.keys(GROUP_TITLES) as CommandGroup[]) {
    const cmds = allCommands.filter((c) => c.group === group);
    if (cmds.length === 0) continue;
    out.push(`${GROUP_TITLES[group]}:`);
    for (const c of cmds) out.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
  }
  out.push('', 'help <command> shows usage and examples. Separate commands with ; — # starts a comment.');
  out.push('An unknown outcome prints "? indeterminate": the operation may or may not have taken effect.');
  return out.join('\n');
}

async function source(session: ShellSession, args: readonly string[]): Promise<void> {
  expectArgs(args, 1);
  if (session.sourceDepth >= MAX_SOURCE_DEPTH) throw new CommandFailed(`source nested more than ${MAX_SOURCE_DEPTH} deep (does a file source itself?)`);
  const path = resolve(session.cwd, args[0]!);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CommandFailed(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  session.sourceDepth++;
  try {
    const ok = await session.runScript(text, args[0]!);
    // The failing commands were reported (and counted) one by one; this one adds nothing.
    if (!ok) session.info(`source ${args[0]}: some commands failed`);
  } finally {
    session.sourceDepth--;
  }
}

export const SHELL_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'help', aliases: ['?'], group: 'shell', usage: 'help [command]', summary: 'list the commands, or explain one',
    args: ['command'],
    run: (s, args) => {
      expectArgs(args, 0, 1);
      s.result(helpText(args[0]), { command: 'help', text: helpText(args[0]) });
    },
  },
  {
    name: 'timing', group: 'shell', usage: 'timing [on|off]', summary: 'show each operation\'s latency (and p50/p99 for clients)',
    args: [['on', 'off']],
    run: (s, args) => {
      expectArgs(args, 0, 1);
      if (args[0] !== undefined && args[0] !== 'on' && args[0] !== 'off') throw new UsageError(`timing on or timing off, not "${args[0]}"`);
      if (args[0] !== undefined) s.timing = args[0] === 'on';
      s.info(`timing is ${s.timing ? 'on' : 'off'}`, { command: 'timing', timing: s.timing });
    },
  },
  {
    name: 'sleep', group: 'shell', usage: 'sleep <duration>', summary: 'pause a script (500ms, 2s, 1m; scaled by --time-scale)',
    args: ['duration'],
    run: async (s, args) => {
      expectArgs(args, 1);
      let ms: number;
      try {
        ms = s.scaled(parseDuration(args[0]!));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      await new Promise((r) => setTimeout(r, ms));
      if (s.timeScale !== 1) s.info(`slept ${formatDuration(ms)}`);
    },
  },
  {
    name: 'source', group: 'shell', usage: 'source <file>', summary: 'run the commands in a file (a drill)',
    details: ['Relative paths resolve against the directory kvsh runs in. A failing command does not stop the file.'],
    examples: ['source examples/drills/basic.kvsh'], args: ['file'],
    run: (s, args) => source(s, args),
  },
  {
    name: 'echo', group: 'shell', usage: 'echo <text…>', summary: 'print a line (for drills)',
    run: (s, args) => s.result(args.join(' '), { command: 'echo', text: args.join(' ') }),
  },
  {
    name: 'history', group: 'shell', usage: 'history [n]', summary: 'the last lines typed at the prompt (kept in ~/.kvsh_history)',
    run: (s, args) => {
      expectArgs(args, 0, 1);
      const all = s.lineHistory?.entries() ?? [];
      const n = args[0] === undefined ? 20 : Number(args[0]);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`"${args[0]}" is not a count`);
      const first = Math.max(0, all.length - n);
      const lines = all.slice(first).map((l, i) => `${String(first + i + 1).padStart(5)}  ${l}`);
      s.result(lines.length ? lines.join('\n') : '(no history)', { command: 'history', lines: all.slice(first) });
    },
  },
  {
    name: 'quit', aliases: ['exit', 'q'], group: 'shell', usage: 'quit', summary: 'leave kvsh (and stop the local cluster it started)',
    run: (s, args) => {
      expectArgs(args, 0);
      s.requestQuit();
    },
  },
];
