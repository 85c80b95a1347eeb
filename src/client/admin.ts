/**
 * Operator queries (protocol.md, "Client port": status-request, log-request), one-shot: open a
 * connection to the node's client port, ask, close. They change nothing on the node, so a
 * failure is simply an Error naming the node and the reason.
 */
import type { LogResponse, StatusResponse } from '../wire/messages.js';
import { toAddr, type NodeAddr } from './addr.js';
import { Connection, type RequestBody, type ResponseOf } from './connection.js';

export { formatAddr, parseAddr, type NodeAddr } from './addr.js';
export type { LogResponse, StatusResponse } from '../wire/messages.js';

export interface AdminOptions {
  /** How long to wait for the answer, connecting included. Default 2000 ms. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2000;

/** The node's view of the cluster. Rejects on timeout, refused connection or an error frame. */
export function fetchStatus(addr: NodeAddr | string, opts: AdminOptions = {}): Promise<StatusResponse> {
  return ask(addr, { kind: 'status-request' }, opts);
}

/**
 * Up to `count` log entries from index `from`. Read `from` in the response: the node may start
 * elsewhere (protocol.md, log-response).
 */
export function fetchLog(addr: NodeAddr | string, from: number, count: number, opts: AdminOptions = {}): Promise<LogResponse> {
  if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`fetchLog: from ${from} is not an index ≥ 0`);
  if (!Number.isInteger(count) || count < 0 || count > 0xffff_ffff) throw new RangeError(`fetchLog: count ${count} is not a u32`);
  return ask(addr, { kind: 'log-request', from, count }, opts);
}

async function ask<K extends RequestBody['kind']>(
  where: NodeAddr | string, req: Extract<RequestBody, { readonly kind: K }>, opts: AdminOptions,
): Promise<ResponseOf[K]> {
  const addr = toAddr(where);
  const conn = new Connection(addr);
  try {
    const reply = await conn.request(req, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (reply.kind === 'no-answer') throw new Error(`${req.kind} failed: ${reply.detail}`);
    return reply;
  } finally {
    conn.close();
  }
}
