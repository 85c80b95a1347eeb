/**
 * The editing logic of the prompt line, kept out of the Ink component so it can be tested without
 * a terminal: a reducer over the line (`lineReducer`), the mapping from Ink's key events to
 * editing commands (`keyToCommand`), and one step of the prompt (`step`) that also reports what
 * the component must do (submit a line, exit, interrupt).
 *
 * Positions are UTF-16 offsets, but the cursor never stops inside a surrogate pair, so an emoji is
 * one step for ←/→/Backspace/Delete. Wide and combining characters are not treated specially.
 */
import { renderWord, type Completion } from '../completion.js';

export interface LineState {
  text: string;
  cursor: number;
  /** Index of the history entry being shown, or null when editing the new line (the bottom). */
  historyIndex: number | null;
  /** The new line as it was when ↑ first left it, restored when ↓ comes back to the bottom. */
  draft: string;
}

export const EMPTY_LINE: LineState = Object.freeze({ text: '', cursor: 0, historyIndex: null, draft: '' });

export type LineAction =
  | { type: 'insert'; text: string }
  | { type: 'left' } | { type: 'right' } | { type: 'home' } | { type: 'end' }
  | { type: 'wordLeft' } | { type: 'wordRight' }
  /** Deletes the character before the cursor. */
  | { type: 'backspace' }
  /** Deletes the character under the cursor. */
  | { type: 'delete' }
  | { type: 'killToStart' } | { type: 'killToEnd' }
  /** Deletes back to the start of the previous whitespace-separated word (Ctrl-W). */
  | { type: 'deleteWordBack' }
  | { type: 'historyPrev'; entries: readonly string[] }
  | { type: 'historyNext'; entries: readonly string[] }
  /** Replaces text[from, to) and puts the cursor at `cursor` (default: after the new text). */
  | { type: 'replace'; from: number; to: number; text: string; cursor?: number }
  | { type: 'clear' };

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

function prevPos(text: string, i: number): number {
  if (i <= 0) return 0;
  return i >= 2 && isLow(text.charCodeAt(i - 1)) && isHigh(text.charCodeAt(i - 2)) ? i - 2 : i - 1;
}

function nextPos(text: string, i: number): number {
  if (i >= text.length) return text.length;
  return isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1)) ? i + 2 : i + 1;
}

const isSpaceAt = (text: string, i: number) => /\s/.test(text[i] ?? '');

function wordStartBefore(text: string, i: number): number {
  let j = i;
  while (j > 0 && isSpaceAt(text, j - 1)) j--;
  while (j > 0 && !isSpaceAt(text, j - 1)) j--;
  return j;
}

function wordEndAfter(text: string, i: number): number {
  let j = i;
  while (j < text.length && isSpaceAt(text, j)) j++;
  while (j < text.length && !isSpaceAt(text, j)) j++;
  return j;
}

/**
 * What an insert may put in the line: a tab becomes a space (a pasted tab must not complete) and
 * other control characters are dropped, since they would corrupt the terminal and the history file.
 * Line breaks are dropped too; callers split multi-line input into lines first (see `step`).
 */
export function sanitizeInsert(text: string): string {
  return text.replace(/\t/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

const withText = (s: LineState, text: string, cursor: number): LineState => ({ ...s, text, cursor });

const showEntry = (s: LineState, entries: readonly string[], index: number | null, draft: string): LineState => {
  const text = index === null ? draft : entries[index]!;
  return { text, cursor: text.length, historyIndex: index, draft: index === null ? '' : draft };
};

export function lineReducer(s: LineState, a: LineAction): LineState {
  const { text, cursor } = s;
  switch (a.type) {
    case 'insert': {
      const ins = sanitizeInsert(a.text);
      if (ins === '') return s;
      return withText(s, text.slice(0, cursor) + ins + text.slice(cursor), cursor + ins.length);
    }
    case 'left': return withText(s, text, prevPos(text, cursor));
    case 'right': return withText(s, text, nextPos(text, cursor));
    case 'home': return withText(s, text, 0);
    case 'end': return withText(s, text, text.length);
    case 'wordLeft': return withText(s, text, wordStartBefore(text, cursor));
    case 'wordRight': return withText(s, text, wordEndAfter(text, cursor));
    case 'backspace': {
      if (cursor === 0) return s;
      const p = prevPos(text, cursor);
      return withText(s, text.slice(0, p) + text.slice(cursor), p);
    }
    case 'delete': {
      if (cursor >= text.length) return s;
      return withText(s, text.slice(0, cursor) + text.slice(nextPos(text, cursor)), cursor);
    }
    case 'killToStart': return withText(s, text.slice(cursor), 0);
    case 'killToEnd': return withText(s, text.slice(0, cursor), cursor);
    case 'deleteWordBack': {
      const start = wordStartBefore(text, cursor);
      return withText(s, text.slice(0, start) + text.slice(cursor), start);
    }
    case 'historyPrev': {
      const n = a.entries.length;
      if (n === 0) return s;
      // Entries can only have been added or trimmed since; clamp rather than trust the index.
      if (s.historyIndex === null) return showEntry(s, a.entries, n - 1, text);
      if (s.historyIndex <= 0) return s;
      return showEntry(s, a.entries, Math.min(s.historyIndex - 1, n - 1), s.draft);
    }
    case 'historyNext': {
      if (s.historyIndex === null) return s;
      const next = s.historyIndex + 1;
      return showEntry(s, a.entries, next >= a.entries.length ? null : next, s.draft);
    }
    case 'replace': {
      const from = Math.max(0, Math.min(a.from, text.length));
      const to = Math.max(from, Math.min(a.to, text.length));
      const t = text.slice(0, from) + a.text + text.slice(to);
      const c = a.cursor ?? from + a.text.length;
      return withText(s, t, Math.max(0, Math.min(c, t.length)));
    }
    case 'clear': return EMPTY_LINE;
  }
}

/**
 * Tab: one candidate replaces the word (closing any quote) and adds a space — or steps over the
 * space already after the cursor; several insert their common prefix, and when that adds nothing
 * the candidates are returned for display; none changes nothing.
 */
export function applyCompletion(s: LineState, c: Completion): { line: LineState; candidates: string[] | null } {
  if (c.candidates.length === 0) return { line: s, candidates: null };
  if (c.candidates.length === 1) {
    const word = renderWord(c.candidates[0]!, c.quote, true);
    const spaceFollows = isSpaceAt(s.text, c.to);
    const text = spaceFollows ? word : word + ' ';
    const line = lineReducer(s, { type: 'replace', from: c.from, to: c.to, text, cursor: c.from + word.length + 1 });
    return { line, candidates: null };
  }
  const prefix = renderWord(c.common, c.quote, false);
  if (prefix !== s.text.slice(c.from, c.to)) {
    return { line: lineReducer(s, { type: 'replace', from: c.from, to: c.to, text: prefix }), candidates: null };
  }
  return { line: s, candidates: c.candidates };
}

/** Packs words into lines of at most `width` columns, two spaces apart (an over-long word gets its own line). */
function pack(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur !== '' && cur.length + 2 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else {
      cur = cur === '' ? w : `${cur}  ${w}`;
    }
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

/**
 * The candidate list as lines of at most `width` columns (we wrap ourselves so that Ink never
 * breaks the "… and N more" note in two): sorted, two spaces apart, at most `maxLines` lines, the
 * ones that do not fit counted in "… and N more". At least one candidate is always shown.
 */
export function formatCandidates(candidates: readonly string[], width: number, maxLines = 3): string[] {
  const sorted = [...candidates].sort();
  const all = pack(sorted, width);
  if (all.length <= maxLines) return all;
  const layout = (k: number) => pack([...sorted.slice(0, k), `… and ${sorted.length - k} more`], width);
  // Only as many candidates as fit in a few lines are tried, so growing k one by one is cheap.
  let k = 1;
  while (k + 1 < sorted.length && layout(k + 1).length <= maxLines) k++;
  return layout(k);
}

/** The parts of Ink's `Key` the editor looks at (all optional, so tests can name only what matters). */
export interface KeyInfo {
  upArrow?: boolean; downArrow?: boolean; leftArrow?: boolean; rightArrow?: boolean;
  pageUp?: boolean; pageDown?: boolean; home?: boolean; end?: boolean;
  return?: boolean; escape?: boolean; tab?: boolean; backspace?: boolean; delete?: boolean;
  ctrl?: boolean; shift?: boolean; meta?: boolean;
  eventType?: 'press' | 'repeat' | 'release';
}

export type KeyCommand =
  | Exclude<LineAction, { type: 'historyPrev' | 'historyNext' | 'replace' }>
  | { type: 'historyPrev' } | { type: 'historyNext' }
  | { type: 'submit' }
  /** Several characters at once that include line breaks: each complete line is submitted. */
  | { type: 'paste'; text: string }
  | { type: 'complete' }
  /** Ctrl-C. */
  | { type: 'interrupt' }
  /** Ctrl-D. */
  | { type: 'eof' }
  | { type: 'ignore' };

/**
 * The forward-Delete key's escape sequences (`ESC [ 3 ~` and its modifier/kitty variants). Ink 6
 * reports both these and the Backspace key's DEL byte (0x7f) as `key.delete`, so only the raw
 * sequence tells them apart.
 */
const FORWARD_DELETE = /^\u001b\[3(?:~|;|\$|\^)/;

/**
 * Maps one Ink input event to a command. `raw` is the undecoded sequence of the event when the
 * caller could observe it; without it `key.delete` is taken as Backspace, which is what almost
 * every terminal's Backspace key produces (Ctrl-D then serves as forward delete).
 */
export function keyToCommand(input: string, key: KeyInfo, raw?: string): KeyCommand {
  if (key.eventType === 'release') return { type: 'ignore' };
  if (input.length > 1 && /[\r\n]/.test(input)) return { type: 'paste', text: input };
  // A lone '\n' (Ctrl-J) arrives without key.return in Ink 6.
  if (key.return || input === '\r' || input === '\n') return { type: 'submit' };
  if (key.tab) return key.shift ? { type: 'ignore' } : { type: 'complete' };
  if (key.upArrow) return { type: 'historyPrev' };
  if (key.downArrow) return { type: 'historyNext' };
  if (key.leftArrow) return { type: key.ctrl || key.meta ? 'wordLeft' : 'left' };
  if (key.rightArrow) return { type: key.ctrl || key.meta ? 'wordRight' : 'right' };
  if (key.home) return { type: 'home' };
  if (key.end) return { type: 'end' };
  if (key.backspace || key.delete) {
    if (key.delete && raw !== undefined && FORWARD_DELETE.test(raw)) return { type: 'delete' };
    return { type: key.meta ? 'deleteWordBack' : 'backspace' };
  }
  if (key.ctrl) {
    switch (input) {
      case 'a': return { type: 'home' };
      case 'e': return { type: 'end' };
      case 'b': return { type: 'left' };
      case 'f': return { type: 'right' };
      case 'u': return { type: 'killToStart' };
      case 'k': return { type: 'killToEnd' };
      case 'w': return { type: 'deleteWordBack' };
      case 'p': return { type: 'historyPrev' };
      case 'n': return { type: 'historyNext' };
      case 'c': return { type: 'interrupt' };
      case 'd': return { type: 'eof' };
      default: return { type: 'ignore' };
    }
  }
  if (key.meta) {
    // Alt-b / Alt-f arrive as ESC + letter: Ink strips the ESC and sets meta. Any other Alt
    // combination must not insert its letter.
    if (input === 'b') return { type: 'wordLeft' };
    if (input === 'f') return { type: 'wordRight' };
    return { type: 'ignore' };
  }
  if (key.escape || key.pageUp || key.pageDown || input === '') return { type: 'ignore' };
  return { type: 'insert', text: input };
}

/**
 * Splits one Ink input event into key events. Ink splits its input only at escape sequences, so
 * keys sent together — a fast typist, tmux send-keys, a paste — arrive as one string such as
 * "ki\t\u0015" with no key flags. Each control character in it is a key of its own (Tab, Enter,
 * Backspace, Ctrl-letter); runs of other characters stay one insert. A single key is returned
 * as it came.
 */
export function splitKeyChunk(input: string, key: KeyInfo): { input: string; key: KeyInfo }[] {
  if (input.length <= 1 || !/[\u0000-\u001f\u007f]/.test(input)) return [{ input, key }];
  const out: { input: string; key: KeyInfo }[] = [];
  let run = '';
  const flush = (): void => {
    if (run !== '') out.push({ input: run, key: {} });
    run = '';
  };
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    const code = c.charCodeAt(0);
    if (code >= 0x20 && code !== 0x7f) {
      run += c;
      continue;
    }
    flush();
    if (c === '\r' || c === '\n') {
      if (c === '\r' && input[i + 1] === '\n') i++; // CRLF is one Enter
      out.push({ input: '\r', key: { return: true } });
    } else if (c === '\t') {
      out.push({ input: '', key: { tab: true } });
    } else if (code === 0x7f || code === 0x08) {
      out.push({ input: '', key: { backspace: true } });
    } else if (code >= 0x01 && code <= 0x1a) {
      out.push({ input: String.fromCharCode(0x60 + code), key: { ctrl: true } });
    }
    // Other control characters (NUL, a stray ESC) are dropped: they edit nothing.
  }
  flush();
  return out;
}

export type PromptEffect = { type: 'submit'; line: string } | { type: 'exit' } | { type: 'interrupt' };

export interface StepContext {
  /** History entries, oldest first. */
  history: readonly string[];
  /** Completion at the cursor; null when nothing can be completed. */
  complete: (text: string, cursor: number) => Completion | null;
}

export interface StepResult {
  line: LineState;
  /** Candidates to show under the prompt until the next key, or null. */
  candidates: string[] | null;
  /** What the component must do, in order. */
  effects: PromptEffect[];
}

/** One input event applied to the line. Effects are returned, not performed, so this stays pure. */
export function step(line: LineState, cmd: KeyCommand, ctx: StepContext): StepResult {
  const result = (l: LineState, effects: PromptEffect[] = [], candidates: string[] | null = null): StepResult =>
    ({ line: l, candidates, effects });
  switch (cmd.type) {
    case 'submit':
      return result(EMPTY_LINE, [{ type: 'submit', line: line.text }]);
    case 'paste': {
      const pieces = cmd.text.split(/\r\n|\r|\n/);
      const effects: PromptEffect[] = [];
      let l = line;
      pieces.forEach((piece, i) => {
        l = lineReducer(l, { type: 'insert', text: piece });
        if (i < pieces.length - 1) {
          effects.push({ type: 'submit', line: l.text });
          l = EMPTY_LINE;
        }
      });
      return result(l, effects);
    }
    case 'complete': {
      const c = ctx.complete(line.text, line.cursor);
      if (c === null) return result(line);
      const applied = applyCompletion(line, c);
      return result(applied.line, [], applied.candidates);
    }
    case 'interrupt':
      return line.text === '' ? result(line, [{ type: 'interrupt' }]) : result(EMPTY_LINE);
    case 'eof':
      return line.text === '' ? result(line, [{ type: 'exit' }]) : result(lineReducer(line, { type: 'delete' }));
    case 'historyPrev':
    case 'historyNext':
      return result(lineReducer(line, { type: cmd.type, entries: ctx.history }));
    case 'ignore':
      return result(line);
    default:
      return result(lineReducer(line, cmd));
  }
}
