/**
 * Tab completion, as pure functions over the line and the cursor. The shell supplies the
 * candidates (it knows its commands, node ids and recently used keys); this module only finds the
 * word under completion, filters and summarises.
 *
 * Words are split the way a shell splits them: whitespace separates words, `;` separates commands
 * (so after `put a 1; g` the word being completed is a command name again), and '…' or "…" quote
 * whitespace and `;`. Quotes have no escapes inside and may start in the middle of a word
 * (`a"b c"` is the one word `ab c`), as in sh. There is no backslash escaping.
 */

export type Quote = '"' | "'";

/**
 * Candidates for the word being completed. `words` are the words of the current command up to the
 * cursor, quotes removed, the last one being the (possibly empty) word under completion;
 * `wordIndex` is its index (0 = the command name); `commandSoFar` is `words.slice(0, wordIndex)`.
 * May return candidates that do not match: they are filtered by prefix afterwards, case-sensitively.
 */
export type CandidatesFor = (words: string[], wordIndex: number, commandSoFar: string[]) => string[];

export interface Completion {
  /** The word under completion is `line.slice(from, to)`, as typed (quotes included); `to` is the cursor. */
  from: number;
  to: number;
  /** Matching candidates, without duplicates, sorted. */
  candidates: string[];
  /** Longest common prefix of the candidates ('' when there are none). */
  common: string;
  /** The word under completion with quotes removed. */
  word: string;
  /** The quote left open at the cursor, if any: a replacement must continue inside it. */
  quote: Quote | null;
}

export interface ScannedCommand {
  /** Complete words of the current command before the word under completion. */
  words: string[];
  /** The word under completion (may be empty) and where it starts in the text. */
  partial: { value: string; start: number };
  quote: Quote | null;
}

const isSpace = (ch: string) => /\s/.test(ch);

/** Splits `text` (the line up to the cursor) and returns the last command's words. */
export function scanCommand(text: string): ScannedCommand {
  let words: string[] = [];
  let cur: { value: string; start: number } | null = null;
  let quote: Quote | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else cur!.value += ch;
      continue;
    }
    if (isSpace(ch) || ch === ';') {
      if (cur !== null) words.push(cur.value);
      cur = null;
      if (ch === ';') words = [];
      continue;
    }
    cur ??= { value: '', start: i };
    if (ch === '"' || ch === "'") quote = ch;
    else cur.value += ch;
  }
  return { words, partial: cur ?? { value: '', start: text.length }, quote };
}

/** Longest common prefix; never ends in the middle of a surrogate pair. */
export function longestCommonPrefix(strings: readonly string[]): string {
  if (strings.length === 0) return '';
  let end = strings[0]!.length;
  for (const s of strings) {
    let i = 0;
    while (i < end && i < s.length && s.charCodeAt(i) === strings[0]!.charCodeAt(i)) i++;
    end = i;
  }
  const last = strings[0]!.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return strings[0]!.slice(0, end);
}

export function completeLine(line: string, cursor: number, candidatesFor: CandidatesFor): Completion {
  const at = Math.max(0, Math.min(cursor, line.length));
  const { words, partial, quote } = scanCommand(line.slice(0, at));
  const offered = candidatesFor([...words, partial.value], words.length, [...words]);
  const candidates = [...new Set(offered.filter(c => c !== '' && c.startsWith(partial.value)))].sort();
  return {
    from: partial.start,
    to: at,
    candidates,
    common: longestCommonPrefix(candidates),
    word: partial.value,
    quote,
  };
}

const NEEDS_QUOTES = /[\s;'"]/;

/**
 * How to write `value` as a word so that `scanCommand` reads it back: unchanged when it needs no
 * quotes, else inside `quote` (or a quote chosen here). `closed` false leaves the quote open, for
 * a prefix the user will continue typing. A quote character inside the value is written by closing
 * the quote, quoting that character with the other kind, and reopening (the sh idiom). A closed
 * empty value is written as "".
 */
export function renderWord(value: string, quote: Quote | null, closed: boolean): string {
  let q = quote;
  if (q === null) {
    // A complete empty word must still be a word: "".
    if (!NEEDS_QUOTES.test(value) && !(closed && value === '')) return value;
    q = value.includes('"') && !value.includes("'") ? "'" : '"';
  }
  const other: Quote = q === '"' ? "'" : '"';
  const body = value.split(q).join(q + other + q + other + q);
  return q + body + (closed ? q : '');
}
