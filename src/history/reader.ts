/**
 * The history reader: streams lines, validates each one, pairs invocations with completions.
 * Every problem is reported as a HistoryFormatError naming the line.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { AnnotationEvent, History, HistoryEvent, Operation } from './types.js';
import { HistoryFormatError, parseEventLine } from './validate.js';

/** Pairs validated events into operations. Feed it events in file order, then call finish(). */
export class HistoryBuilder {
  private readonly operations: Operation[] = [];
  private readonly byId = new Map<number, Operation>();
  private readonly annotations: AnnotationEvent[] = [];

  add(ev: HistoryEvent, line: number): void {
    switch (ev.type) {
      case 'nemesis':
      case 'leader':
        this.annotations.push(ev);
        return;
      case 'invoke': {
        const prior = this.byId.get(ev.id);
        if (prior) {
          throw new HistoryFormatError(line, `duplicate id ${ev.id}: already invoked on line ${prior.invokeLine}`);
        }
        const op: Operation = {
          index: this.operations.length,
          id: ev.id,
          process: ev.process,
          f: ev.f,
          key: ev.key,
          status: 'info',
          invokeTime: ev.time,
          returnTime: Infinity,
          invokeLine: line,
        };
        if (ev.value !== undefined) op.value = ev.value;
        if (ev.expected !== undefined) op.expected = ev.expected;
        this.operations.push(op);
        this.byId.set(ev.id, op);
        return;
      }
      default: {
        const op = this.byId.get(ev.id);
        if (!op) throw new HistoryFormatError(line, `${ev.type} for id ${ev.id}, which was never invoked`);
        if (op.completionLine !== undefined) {
          throw new HistoryFormatError(line, `id ${ev.id} completes a second time (first completion on line ${op.completionLine})`);
        }
        if (ev.process !== op.process) {
          throw new HistoryFormatError(line,
            `${ev.type} for id ${ev.id} names process ${ev.process}, but line ${op.invokeLine} invoked it on process ${op.process}`);
        }
        if (ev.time < op.invokeTime) {
          throw new HistoryFormatError(line,
            `${ev.type} for id ${ev.id} at time ${ev.time} is before its invocation at time ${op.invokeTime} (line ${op.invokeLine})`);
        }
        if (ev.type === 'ok' && op.f === 'get') {
          if (ev.value === undefined) {
            throw new HistoryFormatError(line, `ok for get id ${ev.id} needs "value" (what was read; null if absent)`);
          }
          op.output = ev.value;
        }
        op.status = ev.type;
        op.completionTime = ev.time;
        op.completionLine = line;
        // An info completion still leaves the outcome unknown: the op may take effect at any
        // later moment, so its return time stays +infinity.
        if (ev.type !== 'info') op.returnTime = ev.time;
      }
    }
  }

  finish(): History {
    return { operations: this.operations, annotations: this.annotations };
  }
}

/** Reads a history from a text stream (a file, stdin), line by line. */
export async function readHistory(input: Readable): Promise<History> {
  const builder = new HistoryBuilder();
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') continue;
    builder.add(parseEventLine(text, lineNo), lineNo);
  }
  return builder.finish();
}

export async function readHistoryFile(path: string): Promise<History> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    return await readHistory(stream);
  } finally {
    stream.destroy();
  }
}

/** Parses a whole history held in memory. */
export function parseHistory(text: string): History {
  const builder = new HistoryBuilder();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!;
    if (t.trim() === '') continue;
    builder.add(parseEventLine(t, i + 1), i + 1);
  }
  return builder.finish();
}
