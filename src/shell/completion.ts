/**
 * Tab completion, as pure functions over the line and the cursor. The shell supplies the
 * candidates (it knows its commands, node ids and recently used keys); this module only finds the
 * word under completion, filters and summarises.
 *
 * Words are split as kvsh's command syntax (src/shell/script.ts, `parseScript`) splits them, and
 * the two must stay in step (test/shell-completion.test.ts checks round trips through
 * `parseScript`): spaces and tabs separate words; `;` or a newline separates commands, so after
 * `put a 1; g` the word being completed is a command name again; '…' quotes literally; "…"
 * quotes with the escapes \" \\ \n \t; a backslash outside quotes escapes the next character;
 * quotes may start in the middle of a word (`a"b c"` is the one word `ab c`); `#` at the start of
 * a word begins a comment, where nothing is completed. Unlike `parseScript`, an unterminated quote
 * is not an error here: it is the word being typed.
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
  /** The text ends inside a `#` comment. */
  inComment: boolean;
}

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', '"': '"', '\\': '\\' };

/** Splits `text` (the line up to the cursor) and returns the last command's words. */
export function scanCommand(text: string): ScannedCommand {
  let words: string[] = [];
  let cur: { value: string; start: number } | null = null;
  let quote: Quote | null = null;
  let inComment = false;
  const endWord = () => {
    if (cur !== null) words.push(cur.value);
    cur = null;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inComment) {
      if (ch !== '\n') continue;
      inComment = false; // the newline still ends the command, below
    }
    if (quote === "'") {
      if (ch === "'") quote = null;
      else cur!.value += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') {
        quote = null;
      } else if (ch === '\\') {
        // A backslash just before the cursor is an escape still being typed: it adds nothing yet.
        if (i + 1 < text.length) {
          const e = text[++i]!;
          cur!.value += DOUBLE_QUOTE_ESCAPES[e] ?? `\\${e}`;
        }
      } else {
        cur!.value += ch;
      }
      continue;
    }
    if (ch === ';' || ch === '\n') {
      endWord();
      words = [];
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      endWord();
      continue;
    }
    if (ch === '#' && cur === null) {
      inComment = true;
      continue;
    }
    if (ch === '\\' && text[i + 1] === '\n') {
      i++; // a line continuation ends the word
      endWord();
      continue;
    }
    cur ??= { value: '', start: i };
    if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '\\') {
      if (i + 1 < text.length) cur.value += text[++i]!;
    } else {
      cur.value += ch;
    }
  }
  const partial = inComment || cur === null ? { value: '', start: text.length } : cur;
  return { words, partial, quote, inComment };
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
  const { words, partial, quote, inComment } = scanCommand(line.slice(0, at));
  const offered = inComment ? [] : candidatesFor([...words, partial.value], words.length, [...words]);
  const candidates = [...new Set(offered.filter(c => c !== '' && c.startsWith(partial.value) && typeable(c)))].sort();
  return {
    from: partial.start,
    to: at,
    candidates,
    common: longestCommonPrefix(candidates),
    word: partial.value,
    quote,
  };
}

/**
 * Whether the command syntax can express `value` without a raw control character in the line:
 * only tab and newline have escapes. (A raw newline would even split the command in two when
 * submitted.) Other candidates are never offered.
 */
function typeable(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value);
}

const NEEDS_QUOTES = /[\s;'"\\]/;

/**
 * How to write `value` as a word so that the shell reads it back: unchanged when it needs no
 * quotes, else inside `quote` — the one the user opened, or "…" (which can escape anything
 * typeable). `closed` false leaves the quote open, for a prefix the user will continue typing.
 * Inside '…', which has no escapes, a ' is written by closing the quote, adding \' and reopening
 * (the sh idiom), and tab/newline as "\t"/"\n" segments the same way. A closed empty value is "".
 */
export function renderWord(value: string, quote: Quote | null, closed: boolean): string {
  const plain = !NEEDS_QUOTES.test(value) && !value.startsWith('#') && !(closed && value === '');
  if (quote === null && plain) return value;
  const q = quote ?? '"';
  const body = q === '"'
    ? value.replace(/[\\"]/g, m => `\\${m}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t')
    : value.replace(/['\n\t]/g, m => (m === "'" ? "'\\''" : m === '\n' ? `'"\\n"'` : `'"\\t"'`));
  return q + body + (closed ? q : '');
}
