/** What the command-line entry points share: parsing flags with commander, and their value parsers. */
import { CommanderError, InvalidArgumentError, type Command } from 'commander';

/**
 * Parses `process.argv`. Returns `undefined` when the program should go on, or its exit status:
 * 0 after --help / --version, 2 after a usage error (commander has printed the message).
 */
export function parseArgs(program: Command): number | undefined {
  try {
    program.parse();
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}

/** `on` / `off` flag values. */
export function onOff(v: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new InvalidArgumentError(`on or off, got "${v}"`);
}
