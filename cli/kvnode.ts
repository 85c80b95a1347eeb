#!/usr/bin/env node
/**
 * kvnode — one node of a kvsh cluster.
 *
 *   kvnode --config cluster.config.json --id N [--fsync on|off] [--data-dir DIR] [--log json|text] [--insecure]
 *
 * Peers authenticate with the cluster secret: KVSH_CLUSTER_SECRET, else the config's `secret` or
 * `secretFile`. Without one the node refuses to start unless given --insecure (no authentication).
 *
 * Exit status: 0 after SIGTERM / SIGINT (clean stop), 1 when the node had to stop (WAL failure,
 * broken invariant, corrupt log), 2 on a usage or config error, or when another process holds
 * the data directory (its LOCK file; the message names that process).
 */
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { resolveClusterSecret, SECRET_ENV } from '../src/node/cluster-secret.js';
import { ConfigError, loadClusterConfig, MIN_SECRET_CHARS, nodeById } from '../src/node/config.js';
import { DataDirError } from '../src/node/identity.js';
import { KvNode } from '../src/node/kv-node.js';
import { watchEventLoopStalls } from '../src/node/event-loop-stall.js';
import { createLogger, defaultLogFormat, type LogFormat } from '../src/node/logger.js';
import { DirLockHeldError } from '../src/storage/dir-lock.js';

const EXIT = { clean: 0, fatal: 1, usage: 2 } as const;

const program = new Command()
  .name('kvnode')
  .description('Run one node of a kvsh cluster.')
  .option('--config <file>', 'cluster config', 'cluster.config.json')
  .requiredOption('--id <n>', 'this node\'s id in the config', (v: string) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(`--id must be a node id (a whole number ≥ 1), got "${v}"`);
    return x;
  })
  .option('--fsync <on|off>', 'override the config\'s fsync policy; off is UNSAFE (acknowledged writes can be lost in a crash)', (v: string) => {
    if (v !== 'on' && v !== 'off') throw new InvalidArgumentError(`--fsync must be on or off, got "${v}"`);
    return v;
  })
  .option('--data-dir <dir>', 'override <dataDir>/node-<id> from the config')
  .option('--log <format>', 'json or text (default: text on a terminal, json otherwise)', (v: string) => {
    if (v !== 'json' && v !== 'text') throw new InvalidArgumentError(`--log must be json or text, got "${v}"`);
    return v;
  })
  .option('--replace', 'this (empty) data directory takes the place of the one node <id> had before, which is lost: it joins as a learner and votes once it has caught up')
  .option('--insecure', 'run without a cluster secret: peers are NOT authenticated (trusted networks only)')
  .option('--exit-on-stdin-close', 'stop when standard input closes (a cluster manager that dies takes its nodes along)')
  .addHelpText('after', '\nExit status: 0 clean stop (SIGTERM/SIGINT), 1 the node had to stop, 2 usage or config error, or the data directory is in use.')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

try {
  program.parse();
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? EXIT.clean : EXIT.usage);
  throw e;
}

const opts = program.opts<{ config: string; id: number; fsync?: 'on' | 'off'; dataDir?: string; log?: LogFormat; exitOnStdinClose?: boolean; insecure?: boolean; replace?: boolean }>();

const INSECURE_WARNING = 'peers are not authenticated (--insecure): anyone who can reach the peer port can take part in the '
  + 'cluster\'s protocol and read or change every key. Use it on a trusted network only.';

let node: KvNode;
try {
  const config = loadClusterConfig(opts.config);
  nodeById(config, opts.id);
  const configDir = dirname(resolve(opts.config));
  const secret = resolveClusterSecret(config, configDir);
  if (secret && opts.insecure) {
    throw new ConfigError('--insecure', [`a cluster secret is configured (${secret.source === 'environment' ? SECRET_ENV : secret.source}): remove it or drop --insecure`]);
  }
  if (!secret && !opts.insecure) {
    throw new ConfigError(opts.config, [
      `no cluster secret: set ${SECRET_ENV}, or "secret" / "secretFile" in the config (at least ${MIN_SECRET_CHARS} characters, the same on every node); `
      + 'or run with --insecure to start without peer authentication',
    ]);
  }
  const logger = createLogger({ node: opts.id, format: opts.log ?? defaultLogFormat() });
  watchEventLoopStalls(logger);
  if (secret) logger.info('peer-auth', { secretFrom: secret.source });
  else {
    process.stderr.write(`kvnode ${opts.id}: WARNING: ${INSECURE_WARNING}\n`);
    logger.warn('insecure', { warning: INSECURE_WARNING });
  }
  node = new KvNode({
    secret: secret?.key ?? null,
    config,
    configDir,
    id: opts.id,
    fsync: opts.fsync === undefined ? undefined : opts.fsync === 'on',
    dataDir: opts.dataDir,
    replace: opts.replace === true,
    logger,
    onFatal: (err) => {
      process.stderr.write(`kvnode ${opts.id}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(EXIT.fatal);
    },
  });
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`kvnode: ${e.message}\n`);
    process.exit(EXIT.usage);
  }
  throw e;
}

let stopping = false;
const stop = (why: string): void => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`kvnode ${opts.id}: stopping (${why})\n`);
  void node.stop().then(() => process.exit(EXIT.clean), () => process.exit(EXIT.fatal));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (opts.exitOnStdinClose) {
  process.stdin.on('end', () => stop('standard input closed'));
  process.stdin.on('error', () => stop('standard input failed'));
  process.stdin.resume();
}

try {
  await node.start();
} catch (e) {
  process.stderr.write(`kvnode ${opts.id}: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
  // A data directory that is not this node's to use (another cluster's, one that forgot, or one
  // another process owns) is the operator's to fix: exit 2, as for a bad config.
  process.exit(e instanceof DataDirError || e instanceof DirLockHeldError ? EXIT.usage : EXIT.fatal);
}
