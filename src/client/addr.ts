/**
 * Node addresses as operators type them: `host:port`, or `[v6addr]:port` for an IPv6 literal.
 */

/** Where a node's client port listens. */
export interface NodeAddr {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` (or `[::1]:port`); the error names the part that is wrong. */
export function parseAddr(text: string): NodeAddr {
  const s = text.trim();
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new Error(`bad node address "${text}": "[" opens an IPv6 host but no "]" closes it`);
    host = s.slice(1, close);
    if (s[close + 1] !== ':') throw new Error(`bad node address "${text}": expected ":port" after "[${host}]"`);
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new Error(`bad node address "${text}": expected host:port, found no ":"`);
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    // An unbracketed IPv6 literal is ambiguous (which colon starts the port?).
    if (host.includes(':')) throw new Error(`bad node address "${text}": host "${host}" contains ":"; write an IPv6 host as [addr]:port`);
  }
  if (host === '') throw new Error(`bad node address "${text}": the host is empty`);
  if (!/^[0-9]+$/.test(portText)) throw new Error(`bad node address "${text}": port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error(`bad node address "${text}": port ${port} is not in 1…65535`);
  return { host, port };
}

/** `host:port`, bracketing an IPv6 host, for messages and logs. */
export function formatAddr(a: NodeAddr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Accepts either form a caller may have at hand. */
export function toAddr(a: string | NodeAddr): NodeAddr {
  if (typeof a === 'string') return parseAddr(a);
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) {
    throw new Error(`bad node address ${a.host}:${a.port}: port is not in 1…65535`);
  }
  return { host: a.host, port: a.port };
}
