/**
 * kvsh's command syntax, shared by the prompt, `-e`, `-f`, stdin and `source`: commands are
 * separated by newlines or `;`, words by whitespace. `'…'` quotes literally; `"…"` quotes with
 * `\"`, `\\`, `\n`, `\t` escapes; a backslash outside quotes escapes the next character; `#` at
 * the start of a word begins a comment that runs to the end of the line. A quoted empty string
 * is a word (so `put k ""` stores the empty value).
 */

/** One command as written: its words and where it came from (for error messages). */
export interface CommandLine {
  readonly words: readonly string[];
  /** Per word: whether any part of it was quoted (`"nil"` is text, `nil` may be a keyword). */
  readonly quoted: readonly boolean[];
  /** The command's own text, trimmed (for echoing and JSON output). */
  readonly text: string;
  /** `file:line`, `-e`, `input:3`, … */
  readonly where: string;
}

export class ScriptSyntaxError extends Error {
  constructor(readonly where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'ScriptSyntaxError';
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '"': '"', '\\': '\\' };

/**
 * Splits `text` into commands. `source` names the text (a file name, `-e`); line numbers are
 * appended when the text has more than one line or `firstLine` is given.
 */
export function parseScript(text: string, source: string, firstLine?: number): CommandLine[] {
  const multiline = firstLine !== undefined || text.includes('\n');
  const at = (line: number): string => (multiline ? `${source}:${line}` : source);
  const commands: CommandLine[] = [];
  let words: string[] = [];
  let quoted: boolean[] = [];
  let word: string | null = null; // null: between words
  let wordQuoted = false;
  let line = firstLine ?? 1;
  let commandLine = line;
  let commandStart = 0;

  const endWord = (): void => {
    if (word !== null) {
      words.push(word);
      quoted.push(wordQuoted);
    }
    word = null;
    wordQuoted = false;
  };
  const endCommand = (end: number): void => {
    endWord();
    if (words.length > 0) {
      commands.push({ words, quoted, text: text.slice(commandStart, end).trim(), where: at(commandLine) });
    }
    words = [];
    quoted = [];
  };

  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n' || c === ';') {
      endCommand(i);
      if (c === '\n') line++;
      i++;
      commandStart = i;
      commandLine = line;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i++;
      continue;
    }
    if (words.length === 0 && word === null) {
      commandStart = i;
      commandLine = line;
    }
    if (c === '#' && word === null) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new ScriptSyntaxError(at(line), 'unterminated \' quote');
      const literal = text.slice(i + 1, close);
      line += countNewlines(literal);
      word = (word ?? '') + literal;
      wordQuoted = true;
      i = close + 1;
      continue;
    }
    if (c === '"') {
      const openLine = line;
      let out = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ScriptSyntaxError(at(openLine), 'unterminated " quote');
        const d = text[j]!;
        if (d === '"') break;
        if (d === '\\' && j + 1 < text.length) {
          const e = text[j + 1]!;
          out += ESCAPES[e] ?? `\\${e}`;
          if (e === '\n') line++;
          j += 2;
          continue;
        }
        if (d === '\n') line++;
        out += d;
        j++;
      }
      word = (word ?? '') + out;
      wordQuoted = true;
      i = j + 1;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= text.length) throw new ScriptSyntaxError(at(line), 'a backslash ends the input');
      const next = text[i + 1]!;
      if (next === '\n') {
        // Line continuation: the command goes on on the next line.
        line++;
        endWord();
      } else {
        word = (word ?? '') + next;
      }
      i += 2;
      continue;
    }
    word = (word ?? '') + c;
    i++;
  }
  endCommand(text.length);
  return commands;
}

function countNewlines(s: string): number {
  let n = 0;
  for (const c of s) if (c === '\n') n++;
  return n;
}

/** Quotes a word so that `parseScript` reads it back unchanged (for echoing commands). */
export function quoteWord(w: string): string {
  if (w !== '' && /^[A-Za-z0-9_.,:/@%+=\-]+$/.test(w)) return w;
  return `"${w.replace(/["\\]/g, (m) => `\\${m}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
}
