/**
 * What commands print. A command emits entries; a front end decides how they look: the Ink
 * app colours them in its output pane, the plain runner writes text lines (or, with `--json`,
 * one JSON object per result) to stdout and errors to stderr.
 */

export type EntryKind =
  /** The answer to a command (`"1"`, `OK`, a table, a verdict). `--json` prints its `json`. */
  | 'result'
  /** Progress and notices (`node 3 killed`, `clients #1 finished`). */
  | 'info'
  | 'warn'
  /** The command failed: the exit status will be non-zero. */
  | 'error';

/** A colour hint for results: definite success, definite non-effect, unknown outcome. */
export type Tone = 'ok' | 'fail' | 'unknown' | 'plain';

export interface OutputEntry {
  readonly kind: EntryKind;
  /** One or more lines, without a trailing newline. */
  readonly text: string;
  /** The machine-readable form of a result (`--json`). */
  readonly json?: Record<string, unknown>;
  readonly tone?: Tone;
}

export interface ShellOutput {
  emit(entry: OutputEntry): void;
}

/** Collects entries in memory (tests, `source` of nested output). */
export class BufferedOutput implements ShellOutput {
  readonly entries: OutputEntry[] = [];

  emit(entry: OutputEntry): void {
    this.entries.push(entry);
  }

  text(): string {
    return this.entries.map((e) => e.text).join('\n');
  }
}

/** A plain text table: `left` lists the columns aligned left; the others (numbers) align right. */
export function textTable(rows: readonly (readonly string[])[], left: readonly number[] = [0]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd())
    .join('\n');
}
