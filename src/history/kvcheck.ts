/**
 * What `kvcheck` does once its flags are parsed: read, check, print, write the report.
 * Also used by kvsh's `check` command later.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { checkHistory, type Progress } from './driver.js';
import { formatReportText, reportJson } from './format-text.js';
import { readHistory } from './reader.js';
import { renderHtmlReport } from './report-html.js';
import type { History } from './types.js';
import { HistoryFormatError } from './validate.js';

export const EXIT = { linearizable: 0, notLinearizable: 1, unusable: 2, unknown: 3 } as const;

export interface KvcheckArgs {
  path: string;
  html?: string | undefined;
  json: boolean;
  timeoutMs?: number | undefined;
  allKeys?: boolean;
  workers?: number | undefined;
  pruning?: boolean;
}

export interface KvcheckIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether progress may be drawn on stderr (a terminal). */
  stderrIsTTY: boolean;
}

const defaultIO: KvcheckIO = {
  stdout: (s) => { process.stdout.write(s); },
  stderr: (s) => { process.stderr.write(s); },
  stderrIsTTY: process.stderr.isTTY === true,
};

/** Returns the exit status. */
export async function runKvcheck(args: KvcheckArgs, io: KvcheckIO = defaultIO): Promise<number> {
  const where = args.path === '-' ? 'standard input' : args.path;
  let history: History;
  try {
    const input = args.path === '-' ? process.stdin : createReadStream(args.path, { encoding: 'utf8' });
    history = await readHistory(input);
  } catch (e) {
    if (e instanceof HistoryFormatError) {
      io.stderr(`kvcheck: ${where}: ${e.message}\n`);
    } else {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
      io.stderr(`kvcheck: cannot read ${where}: ${why}\n`);
    }
    return EXIT.unusable;
  }

  let progressShown = false;
  const onProgress = io.stderrIsTTY
    ? (p: Progress) => {
      if (p.elapsedMs < 1000) return;
      progressShown = true;
      io.stderr(`\r\u001b[2Kchecking ${where}: ${p.keysDone}/${p.keysTotal} keys, ${(p.elapsedMs / 1000).toFixed(1)} s`);
    }
    : undefined;
  const report = await checkHistory(history, {
    timeoutMs: args.timeoutMs, allKeys: args.allKeys, workers: args.workers ?? 'auto',
    pruning: args.pruning, onProgress,
  });
  if (progressShown) io.stderr('\r\u001b[2K');

  if (args.json) io.stdout(`${JSON.stringify(reportJson(history, report))}\n`);
  else io.stdout(`${formatReportText(history, report)}\n`);

  if (args.html) {
    try {
      await writeFile(args.html, renderHtmlReport(history, report, { source: where }));
      if (!args.json) io.stdout(`\nreport: ${args.html}\n`);
    } catch (e) {
      io.stderr(`kvcheck: cannot write the report to ${args.html}: ${(e as Error).message}\n`);
      return EXIT.unusable;
    }
  }
  switch (report.verdict) {
    case 'LINEARIZABLE': return EXIT.linearizable;
    case 'NOT LINEARIZABLE': return EXIT.notLinearizable;
    case 'UNKNOWN': return EXIT.unknown;
  }
}
