#!/usr/bin/env node
/**
 * kvsh — the operator shell.
 *
 *   kvsh --start [config]            start the local cluster of a config (default cluster.config.json),
 *                                    wait for a leader, open the shell; leaving it stops the cluster
 *   kvsh --nodes host:port,…         talk to a running cluster's client ports (or $KVSH_NODES)
 *   kvsh … -e "put a 1; get a"       run commands and exit
 *   kvsh … -f drill.kvsh             run a file and exit
 *   echo "get a" | kvsh …            commands on a stdin that is not a terminal
 *
 * Exit status: 0 when every command succeeded, 1 when one failed (including a check that is
 * not linearizable), 2 on bad arguments or when the cluster cannot be reached or started.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { onOff, parseArgs } from './args.js';
import { parseAddr } from '../src/client/addr.js';
import type { LocalCluster } from '../src/cluster/index.js';
import { launchLocalCluster } from '../src/shell/launch.js';
import { PlainOutput, runStream } from '../src/shell/plain.js';
import { ShellSession } from '../src/shell/session.js';
import type { NodeTarget } from '../src/shell/status-poller.js';

interface Options {
  nodes?: string;
  start?: string | true;
  dataDir?: string;
  fresh?: boolean;
  fsync?: boolean;
  execute?: string;
  file?: string;
  json?: boolean;
  color: boolean;
  timeout: number;
  timeScale: number;
  poll: number;
}

function positive(what: string, integer: boolean) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) throw new InvalidArgumentError(`${what}: a number > 0, got "${v}"`);
    return x;
  };
}

const program = new Command()
  .name('kvsh')
  .description('The kvsh operator shell: data commands, cluster status, fault drills, recorded and checked histories.')
  .option('--nodes <addrs>', 'client addresses of a running cluster, host:port,… (default: $KVSH_NODES)')
  .option('--start [config]', 'start the local cluster of this config (default cluster.config.json) and stop it on exit')
  .option('--data-dir <dir>', 'with --start: node data directory (default: the config\'s)')
  .option('--fresh', 'with --start: delete the nodes\' data first, without asking')
  .option('--fsync <on|off>', 'with --start: override the config\'s fsync (off is UNSAFE)', onOff)
  .option('-e, --execute <commands>', 'run these commands (; separated) and exit')
  .option('-f, --file <file>', 'run the commands in this file and exit')
  .option('--json', 'print one JSON object per result (scripts and pipes)')
  .option('--no-color', 'no colours (also: NO_COLOR=1)')
  .option('--timeout <ms>', 'give up on an operation after this long: its outcome is then unknown (?)', positive('--timeout', true), 10_000)
  .option('--time-scale <factor>', 'multiply sleep and "for <duration>" (drills run shorter in tests)', positive('--time-scale', false), 1)
  .option('--poll <ms>', 'status refresh interval', positive('--poll', true), 400)
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Loads the Ink shell for a terminal. Ink draws only the final frame when it believes it runs
 * under CI (it reads CI / CI_* once, when it loads), which leaves a blank screen for the whole
 * session. kvsh takes this path only when stdin and stdout are both terminals, so someone is
 * watching: Ink loads with CI=false, and the variable is restored for everything else.
 */
async function importInteractiveShell(): Promise<typeof import('../src/shell/ui/run-interactive.js')> {
  const ci = process.env.CI;
  process.env.CI = 'false';
  try {
    return await import('../src/shell/ui/run-interactive.js');
  } finally {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  }
}

function parseNodes(list: string): NodeTarget[] {
  return list.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => ({ id: undefined, addr: parseAddr(s) }));
}

async function main(): Promise<number> {
  const parsed = parseArgs(program);
  if (parsed !== undefined) return parsed;
  const o = program.opts<Options>();
  if (o.execute !== undefined && o.file !== undefined) {
    say('kvsh: give -e or -f, not both');
    return 2;
  }
  const nodesArg = o.nodes ?? process.env.KVSH_NODES;
  if (o.start !== undefined && o.nodes !== undefined) {
    say('kvsh: give --start or --nodes, not both');
    return 2;
  }

  // Read the script first: a typo in its name must not cost a (--fresh) cluster start.
  let script: string | undefined;
  if (o.file !== undefined) {
    try {
      script = readFileSync(o.file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      say(`kvsh: cannot read ${o.file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      return 2;
    }
  }

  let cluster: LocalCluster | undefined;
  let removeExitHandlers = (): void => {};
  let targets: NodeTarget[];
  if (o.start !== undefined) {
    const configFile = o.start === true ? 'cluster.config.json' : o.start;
    try {
      const launched = await launchLocalCluster({ configFile, dataDir: o.dataDir, fresh: o.fresh, fsync: o.fsync, say });
      cluster = launched.cluster;
      targets = launched.targets;
      removeExitHandlers = launched.removeExitHandlers;
    } catch (e) {
      say(`kvsh: ${(e as Error).message}`);
      return 2;
    }
  } else if (nodesArg !== undefined && nodesArg.trim() !== '') {
    try {
      targets = parseNodes(nodesArg);
    } catch (e) {
      say(`kvsh: --nodes: ${(e as Error).message}`);
      return 2;
    }
    if (targets.length === 0) {
      say('kvsh: --nodes names no node');
      return 2;
    }
  } else {
    say('kvsh: say which cluster: --start [cluster.config.json] runs the local one, --nodes host:port,… (or KVSH_NODES) joins a running one');
    return 2;
  }

  const interactive = o.execute === undefined && o.file === undefined && process.stdin.isTTY === true && process.stdout.isTTY === true;
  const color = o.color && !process.env.NO_COLOR;
  let code: number;
  try {
    if (interactive) {
      const { runInteractive } = await importInteractiveShell();
      code = await runInteractive({
        targets, cluster, color, timeScale: o.timeScale, pollMs: o.poll, clientOptions: { deadlineMs: o.timeout },
      });
    } else {
      code = await runPlain(o, script, targets, cluster, color && process.stdout.isTTY === true);
    }
  } finally {
    if (cluster) {
      say('stopping the local cluster…');
      await cluster.stopAll();
      removeExitHandlers();
    }
  }
  return code;
}

async function runPlain(
  o: Options, script: string | undefined, targets: NodeTarget[], cluster: LocalCluster | undefined, color: boolean,
): Promise<number> {
  const output = new PlainOutput({ json: o.json === true, color, stdout: process.stdout, stderr: process.stderr });
  const session = new ShellSession({
    nodes: targets, cluster, output, timeScale: o.timeScale, pollMs: o.poll, clientOptions: { deadlineMs: o.timeout },
  });
  session.start();
  try {
    if (o.execute !== undefined) {
      await session.runScript(o.execute, '-e');
    } else if (o.file !== undefined && script !== undefined) {
      await session.runScript(script, o.file);
    } else {
      await runStream(session, process.stdin);
    }
  } finally {
    await session.close();
  }
  return session.failures > 0 ? 1 : 0;
}

// Exit explicitly once the output is flushed: a socket or timer left behind by a failed node
// must not keep a finished script waiting.
const exit = (code: number): void => {
  process.stdout.write('', () => process.exit(code));
};
main().then(exit, (e: unknown) => {
  process.stderr.write(`kvsh: ${(e as Error).stack ?? String(e)}\n`);
  exit(2);
});
