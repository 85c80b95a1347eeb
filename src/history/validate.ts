/**
 * Validation of single history lines. The reader and the writer both go through here, so the
 * writer can never produce a line the reader would reject.
 */
import {
  COMPLETION_TYPES, OP_FUNCTIONS,
  type CompletionType, type HistoryEvent, type NodeRef, type OpFunction,
} from './types.js';

/** A line that cannot be used. `line` is 1-based; 0 when the problem is not tied to one line. */
export class HistoryFormatError extends Error {
  constructor(readonly line: number, readonly problem: string) {
    super(line > 0 ? `line ${line}: ${problem}` : problem);
    this.name = 'HistoryFormatError';
  }
}

type Json = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function fail(line: number, problem: string): never {
  throw new HistoryFormatError(line, problem);
}

function safeInt(o: Json, field: string, line: number, min = 0): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail(line, `"${field}" must be an integer ≥ ${min}, got ${describe(v)}`);
  }
  return v;
}

function str(o: Json, field: string, line: number, what: string): string {
  const v = o[field];
  if (typeof v !== 'string') fail(line, `${what} needs "${field}" as a string, got ${describe(v)}`);
  return v;
}

function strOrNull(o: Json, field: string, line: number, what: string): string | null {
  if (!(field in o)) fail(line, `${what} needs "${field}" (a string, or null for an absent key)`);
  const v = o[field];
  if (v !== null && typeof v !== 'string') {
    fail(line, `${what} needs "${field}" as a string or null, got ${describe(v)}`);
  }
  return v;
}

function absent(o: Json, field: string, line: number, what: string): void {
  if (field in o) fail(line, `${what} takes no "${field}"`);
}

function nodeRef(v: unknown): v is NodeRef {
  return (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v.length > 0);
}

const OP_SET: ReadonlySet<string> = new Set(OP_FUNCTIONS);
const COMPLETION_SET: ReadonlySet<string> = new Set(COMPLETION_TYPES);
const NEMESIS_F = /^[a-z][a-z0-9_-]*$/;

/**
 * Checks one decoded JSON value and returns it as a typed event. Unknown extra fields are
 * allowed (recorders may add metadata); known fields must have the right shape.
 */
export function validateEvent(raw: unknown, line: number): HistoryEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail(line, `expected a JSON object, got ${describe(raw)}`);
  }
  const o = raw as Json;
  const type = o.type;
  if (typeof type !== 'string') fail(line, `"type" must be a string, got ${describe(type)}`);
  const time = safeInt(o, 'time', line);

  if (type === 'invoke') {
    const process = safeInt(o, 'process', line);
    const id = safeInt(o, 'id', line);
    const f = o.f;
    if (typeof f !== 'string' || !OP_SET.has(f)) {
      fail(line, `unknown operation "f": ${describe(f)} (expected one of ${OP_FUNCTIONS.join(', ')})`);
    }
    const what = `invoke of ${f}`;
    const key = str(o, 'key', line, what);
    const fn = f as OpFunction;
    switch (fn) {
      case 'get':
      case 'delete':
        absent(o, 'value', line, what);
        absent(o, 'expected', line, what);
        return { type, process, id, f: fn, key, time };
      case 'put':
      case 'append':
        absent(o, 'expected', line, what);
        return { type, process, id, f: fn, key, value: str(o, 'value', line, what), time };
      case 'cas':
        return {
          type, process, id, f: fn, key,
          expected: strOrNull(o, 'expected', line, what),
          value: str(o, 'value', line, what),
          time,
        };
    }
  }

  if (COMPLETION_SET.has(type)) {
    const process = safeInt(o, 'process', line);
    const id = safeInt(o, 'id', line);
    const ev = { type: type as CompletionType, process, id, time } as HistoryEvent & { value?: string | null };
    if ('value' in o) {
      const v = o.value;
      if (v !== null && typeof v !== 'string') {
        fail(line, `"value" of a completion must be a string or null, got ${describe(v)}`);
      }
      ev.value = v;
    }
    return ev;
  }

  if (type === 'nemesis') {
    const f = o.f;
    if (typeof f !== 'string' || !NEMESIS_F.test(f)) {
      fail(line, `nemesis "f" must be a lower-case word such as "kill" or "partition", got ${describe(f)}`);
    }
    const ev: HistoryEvent = { type, f, time };
    if ('node' in o) {
      if (!nodeRef(o.node)) fail(line, `nemesis "node" must be a node id, got ${describe(o.node)}`);
      ev.node = o.node;
    }
    if ('nodes' in o) {
      if (!Array.isArray(o.nodes) || !o.nodes.every(nodeRef)) {
        fail(line, `nemesis "nodes" must be a list of node ids, got ${describe(o.nodes)}`);
      }
      ev.nodes = o.nodes;
    }
    if ('groups' in o) {
      const g = o.groups;
      if (!Array.isArray(g) || !g.every(x => Array.isArray(x) && x.every(nodeRef))) {
        fail(line, `nemesis "groups" must be a list of lists of node ids, got ${describe(g)}`);
      }
      ev.groups = g as NodeRef[][];
    }
    return ev;
  }

  if (type === 'leader') {
    if (!('node' in o) || (o.node !== null && !nodeRef(o.node))) {
      fail(line, `leader "node" must be a node id or null, got ${describe(o.node)}`);
    }
    const ev: HistoryEvent = { type, node: o.node as NodeRef | null, time };
    if ('ballot' in o) ev.ballot = o.ballot;
    return ev;
  }

  fail(line, `unknown "type": ${describe(type)} (expected invoke, ok, fail, info, nemesis or leader)`);
}

/** Parses and validates one line of text. */
export function parseEventLine(text: string, line: number): HistoryEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(line, `not valid JSON (${(e as Error).message})`);
  }
  return validateEvent(raw, line);
}
