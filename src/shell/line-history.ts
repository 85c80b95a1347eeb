/**
 * Line history for the interactive shell: the lines typed so far, kept in memory for ↑/↓ and the
 * `history` command, and appended to a file so that the next session starts with them (like
 * `~/.psql_history` or `~/.rediscli_history`).
 *
 * The file is a convenience, never a reason to fail: a file that cannot be read or written turns
 * the history into an in-memory one and leaves a warning for the shell to print, once.
 */
import { appendFileSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** How many lines are kept in memory and loaded from the file. */
export const HISTORY_LIMIT = 1000;
export const HISTORY_ENV = 'KVSH_HISTFILE';
export const DEFAULT_HISTORY_FILE_NAME = '.kvsh_history';

/**
 * The history file to use: `$KVSH_HISTFILE` when set (an empty value turns the file off and gives
 * null), else `~/.kvsh_history`. A leading `~` is expanded because a quoted `KVSH_HISTFILE="~/x"`
 * reaches us unexpanded.
 */
export function defaultHistoryFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env[HISTORY_ENV];
  if (fromEnv === undefined) return join(homedir(), DEFAULT_HISTORY_FILE_NAME);
  if (fromEnv.trim() === '') return null;
  return expandHome(fromEnv);
}

function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

export interface LineHistoryOptions {
  /** Lines kept in memory (default 1000); the file is trimmed back to this once it holds twice as many. */
  limit?: number;
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e && typeof e === 'object' && 'message' in e ? String(e.message) : String(err);
}

function splitLines(content: string): string[] {
  return content.split(/\r?\n/).filter(l => l.trim() !== '');
}

export class LineHistory {
  readonly limit: number;
  private lines: string[] = [];
  /** Where lines are appended; null when there is no file or it failed. */
  private target: string | null;
  /** Lines in the file as far as we know (ours plus what was there at load), to decide when to trim. */
  private fileLines = 0;
  private pendingWarning: string | undefined;

  /** An in-memory history, or one that appends to `file` without reading it first (see `load`). */
  constructor(file: string | null = null, options: LineHistoryOptions = {}) {
    this.limit = Math.max(1, Math.floor(options.limit ?? HISTORY_LIMIT));
    this.target = file === '' ? null : file;
  }

  /**
   * Reads the history file: `undefined` means the default (`$KVSH_HISTFILE` or `~/.kvsh_history`),
   * null or '' means no file. A missing file is an empty history that will be created on the first
   * `add`; a file that cannot be read gives an in-memory history and a `warning`. Never throws.
   */
  static load(file?: string | null, options: LineHistoryOptions = {}): LineHistory {
    const path = file === undefined ? defaultHistoryFile() : file;
    const h = new LineHistory(path, options);
    if (h.target === null) return h;
    let content: string;
    try {
      content = readFileSync(h.target, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return h;
      // Appending to a file we could not read (a directory, no permission) would fail too, or
      // worse, grow a file we cannot trim: stay in memory.
      h.warn(`history file ${h.target} cannot be read (${errorText(err)}); history is kept in memory only`);
      h.target = null;
      return h;
    }
    const all = splitLines(content);
    h.fileLines = all.length;
    h.lines = all.slice(-h.limit);
    return h;
  }

  /** The file lines are appended to, or null (no file, or the file failed). */
  get file(): string | null {
    return this.target;
  }

  /** The last problem with the file, if any, until `takeWarning` is called. */
  get warning(): string | undefined {
    return this.pendingWarning;
  }

  /** Returns the pending warning and forgets it, so the shell prints each problem once. */
  takeWarning(): string | undefined {
    const w = this.pendingWarning;
    this.pendingWarning = undefined;
    return w;
  }

  /** Oldest first; at most `limit` lines. */
  entries(): readonly string[] {
    return this.lines;
  }

  get length(): number {
    return this.lines.length;
  }

  /**
   * Records a submitted line (trimmed). Returns false when it was not recorded: blank, the same as
   * the previous line, or containing a line break (a history entry is one line of the file, and
   * joining the pieces could turn two commands into a different one).
   */
  add(line: string): boolean {
    const l = line.trim();
    if (l === '' || /[\r\n]/.test(l)) return false;
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] === l) return false;
    this.lines.push(l);
    if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
    this.append(l);
    return true;
  }

  private warn(message: string): void {
    this.pendingWarning = message;
  }

  private append(line: string): void {
    if (this.target === null) return;
    try {
      // 0600: typed commands can contain values an operator would not want other users to read.
      appendFileSync(this.target, line + '\n', { encoding: 'utf8', mode: 0o600 });
      this.fileLines++;
    } catch (err) {
      this.warn(`history file ${this.target} cannot be written (${errorText(err)}); history is kept in memory only`);
      this.target = null;
      return;
    }
    if (this.fileLines > 2 * this.limit) this.trimFile();
  }

  /**
   * Rewrites the file with its last `limit` lines. It re-reads the file rather than writing our own
   * lines so that lines appended by another kvsh session meanwhile survive; the new content goes
   * to a temporary file renamed over the old one so a crash never leaves a half-written history.
   */
  private trimFile(): void {
    if (this.target === null) return;
    const tmp = `${this.target}.${process.pid}.tmp`;
    try {
      const kept = splitLines(readFileSync(this.target, 'utf8')).slice(-this.limit);
      writeFileSync(tmp, kept.map(l => l + '\n').join(''), { encoding: 'utf8', mode: 0o600 });
      renameSync(tmp, this.target);
      this.fileLines = kept.length;
    } catch (err) {
      try { unlinkSync(tmp); } catch { /* it may not exist */ }
      // Appending still works, so keep the file; stop retrying on every line until it doubles again.
      this.fileLines = this.limit;
      this.warn(`history file ${this.target} could not be trimmed (${errorText(err)})`);
    }
  }
}
