#!/usr/bin/env node
/**
 * kvcheck — checks a recorded history for linearizability.
 *
 *   kvcheck HISTORY.jsonl [--html report.html] [--json] [--timeout SECONDS]
 *
 * Exit status: 0 linearizable, 1 not linearizable, 3 unknown (time limit), 2 unusable input.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { runKvcheck, EXIT } from '../src/history/kvcheck.js';

function positiveNumber(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return x;
  };
}

const program = new Command()
  .name('kvcheck')
  .description('Check a history (JSON lines, see docs/history-format.md) for linearizability.')
  .argument('<history>', 'history file, or - for standard input')
  .option('--html <file>', 'also write a self-contained HTML report')
  .option('--json', 'print the result as one JSON document instead of text')
  .option('--timeout <seconds>', 'give up with UNKNOWN after this long', positiveNumber('--timeout'))
  .option('--all-keys', 'keep checking the other keys after one is found not linearizable')
  .option('--workers <n>', 'worker threads (0: none; default: automatic for large histories)',
    (v: string) => {
      const x = Number(v);
      if (!Number.isInteger(x) || x < 0) throw new InvalidArgumentError(`--workers must be a whole number ≥ 0, got "${v}"`);
      return x;
    })
  .option('--no-pruning', 'plain memoised Wing–Gong search, without the pruning rules (for comparison)')
  .addHelpText('after', '\nExit status: 0 LINEARIZABLE, 1 NOT LINEARIZABLE, 3 UNKNOWN (time limit), 2 unusable input.')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

try {
  program.parse();
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    process.exit(e.exitCode === 0 ? 0 : EXIT.unusable);
  }
  throw e;
}

const opts = program.opts<{ html?: string; json?: boolean; timeout?: number; allKeys?: boolean; workers?: number; pruning: boolean }>();
process.exitCode = await runKvcheck({
  path: program.args[0]!,
  html: opts.html,
  json: opts.json ?? false,
  timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
  allKeys: opts.allKeys ?? false,
  workers: opts.workers,
  pruning: opts.pruning,
});
