/**
 * kvsh without Ink: `-e`, `-f` and commands on a stdin that is not a terminal (Ink needs raw
 * mode, which a pipe cannot give). Results go to stdout — text, or with `--json` one JSON
 * object per line — and errors to stderr (with `--json`, to stdout as `{"error": …}` objects,
 * so a pipe sees every outcome in order).
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { OutputEntry, ShellOutput, Tone } from './output.js';
import { parseScript, ScriptSyntaxError } from './script.js';
import type { ShellSession } from './session.js';

export interface PlainOutputOptions {
  readonly json: boolean;
  readonly color: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const COLORS: Record<Tone, string> = { ok: '\u001b[32m', fail: '\u001b[33m', unknown: '\u001b[35m', plain: '' };
const RED = '\u001b[31m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

export class PlainOutput implements ShellOutput {
  constructor(private readonly o: PlainOutputOptions) {}

  emit(e: OutputEntry): void {
    if (this.o.json) {
      if (e.kind === 'result' || e.kind === 'error' || e.json !== undefined) {
        this.o.stdout.write(`${JSON.stringify(e.json ?? (e.kind === 'error' ? { error: e.text } : { text: e.text }))}\n`);
      } else {
        this.o.stderr.write(`${e.text}\n`);
      }
      return;
    }
    const paint = (s: string, code: string): string => (this.o.color && code ? `${code}${s}${RESET}` : s);
    switch (e.kind) {
      case 'result': this.o.stdout.write(`${paint(e.text, COLORS[e.tone ?? 'plain'])}\n`); break;
      case 'info': this.o.stdout.write(`${paint(e.text, DIM)}\n`); break;
      case 'warn': this.o.stderr.write(`${paint(`warning: ${e.text}`, COLORS.fail)}\n`); break;
      case 'error': this.o.stderr.write(`${paint(`error: ${e.text}`, RED)}\n`); break;
    }
  }
}

/** Runs commands from a stream line by line, as they arrive (so a pipe can drive kvsh). */
export async function runStream(session: ShellSession, input: Readable, source = 'stdin'): Promise<void> {
  const rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
  let lineNo = 0;
  let pending = '';
  let pendingStart = 0;
  for await (const line of rl) {
    lineNo++;
    if (session.quitRequested) break;
    // A line ending in a backslash continues on the next one.
    if (line.endsWith('\\') && !line.endsWith('\\\\')) {
      if (pending === '') pendingStart = lineNo;
      pending += `${line}\n`;
      continue;
    }
    const text = pending + line;
    const first = pending === '' ? lineNo : pendingStart;
    pending = '';
    let commands;
    try {
      commands = parseScript(text, source, first);
    } catch (e) {
      if (!(e instanceof ScriptSyntaxError)) throw e;
      session.failures++;
      session.emit({ kind: 'error', text: e.message, json: { where: e.where, error: e.message } });
      continue;
    }
    for (const c of commands) {
      if (session.quitRequested) break;
      await session.run(c);
    }
  }
  rl.close();
}
