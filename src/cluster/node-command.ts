/**
 * How a node process is launched. The default runs this repository's cli/kvnode.ts; tests
 * inject another script (a fake node) with the same command line.
 */
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the manager knows when it launches node `id`. */
export interface NodeLaunch {
  readonly id: number;
  /** Absolute path of the config file the node reads. */
  readonly configFile: string;
  /** undefined: the node follows the config's `fsync`. */
  readonly fsync: boolean | undefined;
  /** Start with `--replace`: an empty data directory takes the place of the node's lost one. */
  readonly replace?: boolean;
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

export type NodeCommand = (launch: NodeLaunch) => SpawnSpec;

const here = fileURLToPath(import.meta.url);
/** src/cluster/ → the repository root (or dist/ when built: dist/src/cluster/ → dist/). */
export const projectRoot = resolve(dirname(here), '..', '..');

/**
 * `node [--import tsx] <script> --config <file> --id <n> [--fsync on|off] --exit-on-stdin-close`,
 * run from the project root (where `--import tsx` resolves). A `.ts` script goes through tsx;
 * a built `.js` one runs directly.
 *
 * `--exit-on-stdin-close`: the manager keeps the node's stdin as a pipe and never writes to
 * it; when the manager dies, however it dies (kill -9 included), the OS closes the pipe and
 * the node sees EOF and exits. That is the only cleanup that survives SIGKILL of the manager.
 */
export function scriptCommand(script: string): NodeCommand {
  const viaTsx = extname(script) === '.ts' || extname(script) === '.tsx';
  return (l) => ({
    command: process.execPath,
    args: [
      ...(viaTsx ? ['--import', 'tsx'] : []),
      script,
      '--config', l.configFile,
      '--id', String(l.id),
      ...(l.fsync === undefined ? [] : ['--fsync', l.fsync ? 'on' : 'off']),
      ...(l.replace ? ['--replace'] : []),
      '--exit-on-stdin-close',
    ],
    cwd: projectRoot,
  });
}

/** The real node: cli/kvnode.ts (cli/kvnode.js in a build), found from this file, not the cwd. */
export const kvnodeScript = resolve(projectRoot, 'cli', `kvnode${extname(here) === '.ts' ? '.ts' : '.js'}`);

export const kvnodeCommand: NodeCommand = scriptCommand(kvnodeScript);
