/** record start|stop and check: write a history, check it for linearizability, write its HTML report. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkHistory } from '../../history/driver.js';
import { formatReportText, reportJson } from '../../history/format-text.js';
import { readHistoryFile } from '../../history/reader.js';
import { renderHtmlReport } from '../../history/report-html.js';
import { HistoryFormatError } from '../../history/validate.js';
import { formatBallot } from '../../replica/ballot.js';
import { formatDuration, parseDuration } from '../duration.js';
import type { ShellSession } from '../session.js';
import { CommandFailed, expectArgs, UsageError, type CommandSpec } from './types.js';

/** How long `record stop` waits for operations in flight: a little over the client's deadline. */
const STOP_WAIT_MS = 12_000;
const DEFAULT_CHECK_TIMEOUT_MS = 120_000;

/** `runs/basic.jsonl` → `runs/basic.html`. */
export function reportPathFor(historyFile: string): string {
  return historyFile.replace(/\.(jsonl|ndjson|json|history)$/i, '') + '.html';
}

async function check(session: ShellSession, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 2);
  let file: string | undefined;
  let timeoutMs = DEFAULT_CHECK_TIMEOUT_MS;
  for (const a of args) {
    // A word that reads as a duration is the timeout (a history named "90" needs a path: ./90).
    if (/^\d+(\.\d+)?(ms|s|m|h)?$/.test(a)) {
      try {
        timeoutMs = parseDuration(a);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    } else if (file === undefined) {
      file = a;
    } else {
      throw new UsageError(`unexpected "${a}"`);
    }
  }
  if (file === undefined) {
    if (session.recording.active) throw new CommandFailed(`still recording to ${session.recording.path}: record stop first`);
    if (!session.recording.lastFile) throw new UsageError('no history recorded in this session: give a file');
  }
  const path = file === undefined ? session.recording.lastFile! : resolve(session.cwd, file);
  if (path === session.recording.path) throw new CommandFailed(`${path} is still being recorded: record stop first`);
  let history;
  try {
    history = await readHistoryFile(path);
  } catch (e) {
    if (e instanceof HistoryFormatError) throw new CommandFailed(`${path}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    throw new CommandFailed(`cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  const report = await checkHistory(history, { timeoutMs, workers: session.checkWorkers });
  const html = reportPathFor(path);
  await writeFile(html, renderHtmlReport(history, report, { source: path }));
  const text = `${formatReportText(history, report)}\nreport: ${html}`;
  const json = { command: 'check', file: path, report: html, ...reportJson(history, report) };
  if (report.verdict === 'LINEARIZABLE') {
    session.result(text, json, 'ok');
    return;
  }
  session.result(text, json, report.verdict === 'UNKNOWN' ? 'unknown' : 'fail');
  throw new CommandFailed(report.verdict === 'UNKNOWN'
    ? `the checker could not decide within ${formatDuration(timeoutMs)} (${path})`
    : `${path} is NOT LINEARIZABLE (details above and in ${html})`);
}

export const HISTORY_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'record', group: 'history', usage: 'record start <file>   |   record stop',
    summary: 'record every operation (prompt and clients), nemesis event and leader change to a history file',
    details: [
      'One JSON object per line (docs/history-format.md), times from one monotonic clock.',
      'record stop waits for operations in flight; those still unanswered are recorded as info (unknown).',
      'The checker takes every key to start absent: client workloads started while recording use keys',
      'of their own (rXXXX-k0…), and keys you type yourself should be written before they are read.',
      'record start refuses while client workloads run unrecorded (their writes would be missing).',
    ],
    examples: ['record start runs/drill.jsonl', 'record stop'],
    args: [['start', 'stop'], 'file'],
    run: async (s, args) => {
      const sub = args[0];
      if (sub === 'start') {
        expectArgs(args, 2);
        const running = s.workloads.filter((w) => w.running);
        if (running.length > 0) {
          // Their operations would take effect during the recording without being in it.
          throw new CommandFailed(`clients ${running.map((w) => `#${w.id}`).join(', ')} running unrecorded: their writes would be missing from the history; clients stop (or wait) first`);
        }
        const path = await s.recording.start(args[1]!, s.cwd).catch((e: Error) => { throw new CommandFailed(e.message); });
        const leader = (await s.poller.refresh()).leader;
        s.recording.leader(leader ? leader.leaderId : null, leader ? formatBallot(leader.ballot) : undefined);
        s.info(`recording to ${path} (client workloads use keys ${s.recording.keyPrefix}k0…)`, {
          command: 'record', recording: true, file: path, keyPrefix: s.recording.keyPrefix,
        });
        return;
      }
      if (sub === 'stop') {
        expectArgs(args, 1);
        if (!s.recording.active) throw new CommandFailed('not recording (record start <file> first)');
        const r = await s.recording.stop(STOP_WAIT_MS);
        const extra = r.closedAsInfo > 0 ? ` (${r.closedAsInfo} operations still unanswered, recorded as info)` : '';
        s.result(`recorded ${r.events} events to ${r.file}${extra}`, { command: 'record', recording: false, ...r });
        return;
      }
      throw new UsageError(sub === undefined ? 'record start <file> or record stop' : `"${sub}" is not start or stop`);
    },
  },
  {
    name: 'check', group: 'history', usage: 'check [file] [timeout]',
    summary: 'check a history for linearizability (default: the last one recorded) and write its HTML report',
    details: [
      'Prints the verdict and a table per key; the report (file name with .html) shows every operation on a timeline.',
      'NOT LINEARIZABLE (or undecided within the timeout, default 2m) makes the command fail.',
    ],
    examples: ['check', 'check runs/drill.jsonl', 'check big.jsonl 5m'],
    args: ['file', 'duration'],
    run: (s, args) => check(s, args),
  },
];
