#!/usr/bin/env node
/**
 * cluster — run a local kvsh cluster in the foreground: start every node of a cluster config as
 * a child process, wait for a leader, print the node table, then print node events until Ctrl-C,
 * which stops every node cleanly.
 *
 *   npm run cluster -- [--config cluster.config.json] [--fsync on|off] [--nodes 1,2,3] [--fresh]
 *                      [--data-dir DIR] [--log-files] [--relays] [--timeout MS]
 *
 * --fresh deletes, without asking, the data of every node in the config (<dataDir>/node-<id>
 * and <dataDir>/node-<id>.log) before starting: the cluster boots from scratch. Nothing else in
 * the data directory is touched.
 *
 * The nodes die with this process however it ends: Ctrl-C / SIGTERM stop them cleanly; on
 * kill -9 they see their stdin close and exit.
 *
 * One manager per data directory: a second one on the same directory (another `npm run cluster`
 * or `kvsh --start`) exits 2 naming the first one's pid, having written nothing there.
 *
 * Exit status: 0 after Ctrl-C (or SIGTERM), 1 when the cluster does not start, elects no leader
 * or every node has exited, 2 on bad arguments, a bad config, or a data directory in use.
 */
import { Command, InvalidArgumentError } from 'commander';
import { onOff, parseArgs } from './args.js';
import { ConfigError } from '../src/node/config.js';
import { DirLockHeldError } from '../src/storage/dir-lock.js';
import {
  createCluster, formatEvent, formatNodeTable, isLive, stopAllOnExit, type ClusterEvent, type LocalCluster,
} from '../src/cluster/index.js';

function nodeList(v: string): number[] {
  const ids = v.split(',').map((s) => Number(s.trim()));
  if (ids.length === 0 || ids.some((x) => !Number.isSafeInteger(x) || x < 1)) {
    throw new InvalidArgumentError(`a comma list of node ids ≥ 1, got "${v}"`);
  }
  return ids;
}

function millis(v: string): number {
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < 1) throw new InvalidArgumentError(`a whole number of milliseconds ≥ 1, got "${v}"`);
  return x;
}

interface Options {
  config: string;
  fsync?: boolean;
  nodes?: number[];
  fresh?: boolean;
  dataDir?: string;
  logFiles?: boolean;
  relays?: boolean;
  timeout: number;
}

const program = new Command()
  .name('cluster')
  .description('Start a local kvsh cluster, wait for a leader, print node events until Ctrl-C, then stop it.')
  .option('--config <file>', 'cluster config', 'cluster.config.json')
  .option('--fsync <on|off>', "override the config's fsync (off is UNSAFE: acknowledged writes can be lost in a crash)", onOff)
  .option('--nodes <ids>', 'start only these nodes, e.g. 1,2,3 (default: all)', nodeList)
  .option('--fresh', "delete every node's data (<dataDir>/node-<id>, node-<id>.log) first, without asking")
  .option('--data-dir <dir>', "use this data directory instead of the config's")
  .option('--log-files', "also append each node's output to <dataDir>/node-<id>.log")
  .option('--relays', 'route every directed peer link through a relay in this process (for network fault drills)')
  .option('--timeout <ms>', 'how long to wait for a leader', millis, 30_000)
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

function say(line: string): void {
  process.stdout.write(line + '\n');
}

async function main(): Promise<number> {
  const parsed = parseArgs(program);
  if (parsed !== undefined) return parsed;
  const o = program.opts<Options>();

  // Until the table is printed only what matters is shown; the full output of a node that
  // fails is in the error. Afterwards every event gets its line.
  let ready = false;
  let cluster: LocalCluster | undefined;
  let shuttingDown = false;
  const onEvent = (e: ClusterEvent): void => {
    const important = (e.type === 'exit' && !e.expected) || e.type === 'spawn-error' || (e.type === 'output' && e.stream === 'stderr');
    if (ready || important) {
      const line = formatEvent(e);
      if (line !== undefined) say(line);
    }
    if (ready && !shuttingDown && e.type === 'exit' && cluster && cluster.nodeIds.every((id) => !isLive(cluster!.state(id)))) {
      say('every node has exited');
      process.exit(1);
    }
  };

  let c: LocalCluster;
  try {
    c = createCluster({
      configFile: o.config,
      ...(o.fsync === undefined ? {} : { fsync: o.fsync }),
      ...(o.nodes ? { nodes: o.nodes } : {}),
      ...(o.dataDir ? { dataDir: o.dataDir } : {}),
      fresh: o.fresh ?? false,
      logFiles: o.logFiles ?? false,
      relays: o.relays ?? false,
      onEvent,
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return e instanceof ConfigError || e instanceof DirLockHeldError ? 2 : 1;
  }
  cluster = c;

  // Handlers go in before the first spawn so a Ctrl-C during startup stops what was started.
  stopAllOnExit(c, {
    onSignal: (sig) => {
      shuttingDown = true;
      say(`${sig}: stopping the cluster…`);
    },
    onStopped: (err) => say(err ? `stop failed: ${err.message}` : 'stopped'),
  });
  // From here on, once a signal has started the stop, its handler decides the exit.
  const whenNotStopping = (code: number): Promise<number> => (shuttingDown ? new Promise<number>(() => {}) : Promise.resolve(code));

  const which = o.nodes ?? c.nodeIds;
  say(`starting node${which.length === 1 ? '' : 's'} ${which.join(', ')} of ${c.configFile}; data in ${c.dataDir}`);
  try {
    await c.startAll(which);
  } catch (e) {
    if (!shuttingDown) process.stderr.write(`${(e as Error).message}\n`);
    return whenNotStopping(1);
  }

  try {
    const leader = await c.waitForLeader({ timeoutMs: o.timeout });
    const polls = await c.pollStatuses();
    say(formatNodeTable(c.nodeIds.map((id) => c.info(id)), polls, leader));
  } catch (e) {
    if (shuttingDown) return whenNotStopping(1);
    process.stderr.write(`${(e as Error).message}\n`);
    shuttingDown = true;
    await c.stopAll();
    return 1;
  }
  say('\nnode events follow; Ctrl-C stops the cluster');
  ready = true;
  // The nodes' pipes keep the process alive; the signal handlers end it.
  return new Promise<number>(() => {});
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
