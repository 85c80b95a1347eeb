/** Every kvsh command, in the order `help` lists them. */
import { CLIENT_COMMANDS } from './clients.js';
import { CLUSTER_COMMANDS } from './cluster.js';
import { DATA_COMMANDS } from './data.js';
import { FAULT_COMMANDS } from './faults.js';
import { HISTORY_COMMANDS } from './history.js';
import { setCommandList, SHELL_COMMANDS } from './shell.js';
import type { CommandSpec } from './types.js';

export const COMMANDS: readonly CommandSpec[] = [
  ...DATA_COMMANDS, ...CLUSTER_COMMANDS, ...FAULT_COMMANDS, ...CLIENT_COMMANDS, ...HISTORY_COMMANDS, ...SHELL_COMMANDS,
];
setCommandList(COMMANDS);

const BY_NAME = new Map<string, CommandSpec>();
for (const c of COMMANDS) {
  for (const n of [c.name, ...(c.aliases ?? [])]) {
    if (BY_NAME.has(n)) throw new Error(`kvsh: command name ${n} is defined twice`);
    BY_NAME.set(n, c);
  }
}

/** Commands are case-insensitive (GET a works like get a). */
export function findCommand(name: string): CommandSpec | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Command names and aliases, for completion. */
export function commandNames(): string[] {
  return [...BY_NAME.keys()].sort();
}
