/**
 * One line per notable event. JSON (one object per line) when stdout is not a terminal, so a
 * cluster manager or a log shipper can parse it; a short readable line on a terminal.
 */
import type { Writable } from 'node:stream';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  readonly node: number;
  readonly format?: LogFormat;
  readonly out?: Writable | ((line: string) => void);
  readonly now?: () => Date;
}

export function defaultLogFormat(): LogFormat {
  return process.stdout.isTTY ? 'text' : 'json';
}

export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? defaultLogFormat();
  const now = options.now ?? (() => new Date());
  const out = options.out ?? process.stdout;
  const write = typeof out === 'function' ? out : (line: string) => { out.write(line + '\n'); };
  const emit = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    const time = now().toISOString();
    if (format === 'json') {
      write(JSON.stringify({ time, node: options.node, level, event, ...fields }));
      return;
    }
    const rest = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    const tag = level === 'info' ? '' : ` ${level.toUpperCase()}`;
    write(`${time.slice(11, 23)} node ${options.node}${tag} ${event}${rest ? ' ' + rest : ''}`);
  };
  return {
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  };
}

/** A logger that drops everything (tests that build nodes in-process). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
