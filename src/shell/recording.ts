/**
 * `record start <file>` / `record stop`: one history file at a time, written through the
 * project's HistoryWriter on one monotonic clock — operations of the prompt and of every client
 * workload, nemesis events (kill, pause, partition, …) and observed leader changes all take
 * their time from the same clock, so the report lines them up.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HistoryWriter, monotonicClock } from '../history/writer.js';
import type { NodeRef } from '../history/types.js';

export interface RecordingSummary {
  readonly file: string;
  readonly events: number;
  /** Operations still in flight when the wait ran out, closed as `info`. */
  readonly closedAsInfo: number;
}

export class Recording {
  private writer: HistoryWriter | null = null;
  /** Stops new invocations from being recorded while `stop` waits for those in flight. */
  private accepting = false;
  private stream: WriteStream | null = null;
  private file: string | null = null;
  private writeError: Error | null = null;
  /** The last file recorded to completion: `check` without an argument checks it. */
  lastFile: string | null = null;
  /**
   * Client workloads started during a recording use keys of their own (`r3f9x-k0`…). The
   * checker takes every key to start absent, so keys that earlier runs (or earlier sessions on
   * the same data) left values in would make a correct cluster look NOT LINEARIZABLE.
   */
  keyPrefix = '';

  get active(): boolean {
    return this.writer !== null;
  }

  get path(): string | null {
    return this.file;
  }

  get events(): number {
    return this.writer?.events ?? 0;
  }

  /** The writer new invocations go to, or null. Pass this function to recorders. */
  readonly target = (): HistoryWriter | null => (this.accepting ? this.writer : null);

  async start(file: string, cwd: string): Promise<string> {
    if (this.writer) throw new Error(`already recording to ${this.file}; record stop first`);
    const path = resolve(cwd, file);
    mkdirSync(dirname(path), { recursive: true });
    const stream = createWriteStream(path, { flags: 'w' });
    await new Promise<void>((ok, fail) => {
      stream.once('open', () => ok());
      stream.once('error', fail);
    });
    stream.on('error', (e) => { this.writeError ??= e; });
    this.stream = stream;
    this.file = path;
    this.writeError = null;
    this.writer = new HistoryWriter((line) => { stream.write(`${line}\n`); }, monotonicClock());
    this.keyPrefix = `r${Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0')}-`;
    this.accepting = true;
    return path;
  }

  nemesis(f: string, where: { node?: NodeRef; nodes?: NodeRef[]; groups?: NodeRef[][] } = {}): void {
    if (this.accepting) this.writer?.nemesis(f, where);
  }

  leader(node: NodeRef | null, ballot?: string): void {
    if (this.accepting) this.writer?.leader(node, ballot);
  }

  /**
   * Stops recording: waits up to `waitMs` for the operations in flight to complete (their
   * outcome belongs in the history), closes the rest as `info`, and closes the file.
   */
  async stop(waitMs: number): Promise<RecordingSummary> {
    const writer = this.writer;
    const stream = this.stream;
    const file = this.file;
    if (!writer || !stream || !file) throw new Error('not recording (record start <file> first)');
    this.accepting = false;
    const deadline = Date.now() + waitMs;
    while (writer.pendingIds().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const closedAsInfo = writer.close();
    const events = writer.events;
    this.writer = null;
    this.stream = null;
    this.file = null;
    this.keyPrefix = '';
    await new Promise<void>((ok) => stream.end(ok));
    if (this.writeError) throw new Error(`writing ${file} failed: ${this.writeError.message}`);
    this.lastFile = file;
    return { file, events, closedAsInfo };
  }
}
