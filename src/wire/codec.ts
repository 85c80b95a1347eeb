/**
 * The binary codec of every wire message: `version u8 | type u8 | body`. Layouts are tabulated
 * in protocol.md; golden vectors in test/vectors/ pin them. One version only: a frame whose
 * version byte is not PROTOCOL_VERSION is refused whole (protocol.md, "Versions"). Decoding never trusts the input:
 * an unknown version or type, a truncated or over-long body, a bad count or bad UTF-8 throws a
 * `ProtocolError` whose code goes into the error frame sent back before the connection closes.
 */
import type { Ballot } from '../replica/ballot.js';
import type { PeerMessage } from '../replica/messages.js';
import type { Phase, Role } from '../replica/types.js';
import { ByteReader, ByteWriter, DecodeError } from './bytes.js';
import {
  AUTH_MAC_BYTES, AUTH_NONCE_BYTES, ERROR_CODES, PROTOCOL_VERSION, type ClientResponse, type ErrorCode, type NodeAddress, type WireMessage,
} from './messages.js';
import {
  readBallot, readEntries, readIncarnation, readLogSync, readMembers, readOp, readResult, readSeq, writeBallot,
  writeEntries, writeLogSync, writeMembers, writeOp, writeResult, writeSeq,
} from './values.js';

/** Largest frame body a node accepts (the length prefix is checked before the body is read). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest message a peer connection carries in fragments (a snapshot with its log suffix). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
/** Bytes of the message in each fragment: well under a frame, so heartbeats are not held up long. */
export const FRAGMENT_CHUNK_BYTES = 1024 * 1024;
/** Largest string (key, value, clientId, message) inside a frame. */
export const MAX_STRING_BYTES = 1024 * 1024;

export const MESSAGE_TYPE = {
  'peer-hello': 0x01, 'check-in': 0x02, boot: 0x03, 'boot-ready': 0x04, 'auth-challenge': 0x05, 'auth-proof': 0x06,
  'heartbeat-request': 0x10, 'heartbeat-reply': 0x11,
  prepare: 0x20, promise: 0x21, 'accept-sync': 0x22, 'accept-decide': 0x23, accepted: 0x24,
  decide: 0x25, 'not-accepted': 0x26, 'prepare-req': 0x27, 'proposal-forward': 0x28,
  'client-request': 0x40, 'client-response': 0x41, 'status-request': 0x42, 'status-response': 0x43,
  'log-request': 0x44, 'log-response': 0x45,
  fragment: 0x7e, error: 0x7f,
} as const satisfies Record<WireMessage['kind'], number>;

const KIND_OF_TYPE = new Map<number, WireMessage['kind']>(
  Object.entries(MESSAGE_TYPE).map(([k, v]) => [v, k as WireMessage['kind']]),
);

export class ProtocolError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const ROLE_CODE: Record<Role, number> = { leader: 1, follower: 2 };
const PHASE_CODE: Record<Phase, number> = { none: 0, prepare: 1, accept: 2, recover: 3 };
const STATUS_CODE = { result: 0, unknown: 1, rejected: 2 } as const;

function writeAddress(w: ByteWriter, a: NodeAddress): void {
  w.u32(a.id).string(a.host).u32(a.peerPort).u32(a.clientPort);
}

function readAddress(r: ByteReader, f: string): NodeAddress {
  const id = r.u32(`${f}.id`);
  const host = r.string(`${f}.host`);
  const peerPort = readPort(r, `${f}.peerPort`);
  return { id, host, peerPort, clientPort: readPort(r, `${f}.clientPort`) };
}

function writeFixed(w: ByteWriter, b: Uint8Array, n: number, f: string): void {
  if (b.length !== n) throw new RangeError(`${f} must be ${n} bytes, got ${b.length}`);
  w.raw(b);
}

function readPort(r: ByteReader, f: string): number {
  const at = r.offset;
  const p = r.u32(f);
  if (p < 1 || p > 65535) throw new DecodeError(f, at, `port ${p} is not in 1…65535`);
  return p;
}

function readCode<T extends string>(r: ByteReader, f: string, table: Record<T, number>): T {
  const at = r.offset;
  const v = r.u8(f);
  for (const [k, c] of Object.entries(table) as [T, number][]) if (c === v) return k;
  throw new DecodeError(f, at, `unknown code ${v}`);
}

/** `maxBytes`: one frame by default; a peer message may be larger and travel in fragments. */
export function encodeMessage(m: WireMessage, maxBytes = MAX_FRAME_BYTES): Uint8Array {
  const w = new ByteWriter();
  w.u8(PROTOCOL_VERSION).u8(MESSAGE_TYPE[m.kind]);
  switch (m.kind) {
    case 'peer-hello': w.u32(m.nodeId).string(m.clusterId); break;
    case 'auth-challenge': writeFixed(w, m.nonce, AUTH_NONCE_BYTES, 'nonce'); break;
    case 'auth-proof': writeFixed(w, m.mac, AUTH_MAC_BYTES, 'mac'); break;
    case 'check-in': writeAddress(w, m.node); w.string(m.incarnation); break;
    case 'boot':
      w.string(m.clusterId).u32(m.nodes.length);
      for (const a of m.nodes) writeAddress(w, a);
      writeMembers(w, m.members);
      break;
    case 'boot-ready': w.u32(m.nodeId); break;
    case 'heartbeat-request': w.u32(m.round); break;
    case 'heartbeat-reply': w.u32(m.round); writeBallot(w, m.ballot); w.bool(m.qc).string(m.inc); break;
    case 'prepare': writeBallot(w, m.n); w.u64(m.decidedIdx); writeBallot(w, m.acceptedRnd); w.u64(m.acceptedIdx); break;
    case 'promise':
      writeBallot(w, m.n); writeBallot(w, m.acceptedRnd); w.u64(m.decidedIdx).u64(m.acceptedIdx).string(m.inc);
      w.bool(m.sync !== null);
      if (m.sync) writeLogSync(w, m.sync);
      break;
    case 'accept-sync': writeBallot(w, m.n); writeSeq(w, m.seq); w.u64(m.decidedIdx); writeLogSync(w, m.sync); break;
    case 'accept-decide': writeBallot(w, m.n); writeSeq(w, m.seq); w.u64(m.decidedIdx); writeEntries(w, m.entries); break;
    case 'accepted': writeBallot(w, m.n); w.u64(m.acceptedIdx).string(m.inc); break;
    case 'decide': writeBallot(w, m.n); writeSeq(w, m.seq); w.u64(m.decidedIdx); break;
    case 'not-accepted': writeBallot(w, m.n); break;
    case 'prepare-req': writeBallot(w, m.n); break;
    case 'proposal-forward': writeEntries(w, m.entries); break;
    case 'client-request':
      w.u32(m.requestId).string(m.command.clientId).u64(m.command.seq);
      writeOp(w, m.command.op);
      break;
    case 'client-response':
      w.u32(m.requestId).u8(STATUS_CODE[m.status]);
      if (m.status === 'result') writeResult(w, m.result);
      else w.string(m.reason);
      break;
    case 'status-request': w.u32(m.requestId); break;
    case 'status-response':
      w.u32(m.requestId).u32(m.nodeId).u8(ROLE_CODE[m.role]).u8(PHASE_CODE[m.phase]);
      writeBallot(w, m.leaderBallot); writeBallot(w, m.electedBallot); w.bool(m.quorumConnected);
      writeBallot(w, m.promised); writeBallot(w, m.acceptedRnd);
      w.u64(m.logLength).u64(m.decidedIdx).u64(m.appliedIdx).u64(m.compactedIdx).string(m.incarnation).bool(m.voter).bool(m.fsync).u32(m.peers.length);
      for (const p of m.peers) w.u32(p.id).bool(p.connected);
      break;
    case 'log-request': w.u32(m.requestId).u64(m.from).u32(m.count); break;
    case 'log-response':
      w.u32(m.requestId).u64(m.from).u64(m.decidedIdx).u64(m.logLength);
      writeEntries(w, m.entries);
      break;
    case 'error': w.u8(ERROR_CODES[m.code]).string(m.message); break;
    case 'fragment': w.u32(m.total).u32(m.chunk.length).raw(m.chunk); break;
  }
  if (w.length > maxBytes) throw new RangeError(`${m.kind} message of ${w.length} bytes exceeds ${maxBytes}`);
  return w.bytes().slice();
}

/**
 * The fragment bodies that carry an encoded message too large for one frame, in order; a
 * body that fits is returned alone, unchanged.
 */
export function fragmentBodies(body: Uint8Array, chunkBytes = FRAGMENT_CHUNK_BYTES): Uint8Array[] {
  if (body.length <= MAX_FRAME_BYTES) return [body];
  const out: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += chunkBytes) {
    out.push(encodeMessage({ kind: 'fragment', total: body.length, chunk: body.subarray(at, at + chunkBytes) }));
  }
  return out;
}

/** Decodes one frame body. Throws `ProtocolError` on anything but a well-formed message. */
export function decodeMessage(body: Uint8Array): WireMessage {
  if (body.length < 2) throw new ProtocolError('malformed', `a frame needs at least 2 bytes (version, type), got ${body.length}`);
  if (body[0] !== PROTOCOL_VERSION) {
    throw new ProtocolError('unsupported-version', `protocol version ${body[0]} is not supported (this node speaks ${PROTOCOL_VERSION})`);
  }
  const kind = KIND_OF_TYPE.get(body[1]!);
  if (!kind) throw new ProtocolError('unknown-type', `unknown message type 0x${body[1]!.toString(16).padStart(2, '0')}`);
  const r = new ByteReader(body.subarray(2), { maxString: MAX_STRING_BYTES });
  try {
    const m = decodeBody(kind, r);
    r.end(kind);
    return m;
  } catch (e) {
    if (e instanceof DecodeError) throw new ProtocolError('malformed', `malformed ${kind}: ${e.message} (offsets count from the byte after the type)`);
    throw e;
  }
}

const MAX_ENTRIES = MAX_FRAME_BYTES / 2;

function decodeBody(kind: WireMessage['kind'], r: ByteReader): WireMessage {
  const ballot = (f: string): Ballot => readBallot(r, f);
  switch (kind) {
    case 'peer-hello': return { kind, nodeId: r.u32('nodeId'), clusterId: r.string('clusterId') };
    // Fixed length, no count: a shorter or longer body is malformed (cut short / trailing bytes).
    case 'auth-challenge': return { kind, nonce: r.raw(AUTH_NONCE_BYTES, 'nonce').slice() };
    case 'auth-proof': return { kind, mac: r.raw(AUTH_MAC_BYTES, 'mac').slice() };
    case 'check-in': return { kind, node: readAddress(r, 'node'), incarnation: readIncarnation(r, 'incarnation') };
    case 'boot': {
      const clusterId = r.string('clusterId');
      const at = r.offset;
      const n = r.u32('nodes count');
      if (n * 14 > r.remaining) throw new DecodeError('nodes', at, `count ${n} is impossible here`);
      const nodes: NodeAddress[] = [];
      for (let i = 0; i < n; i++) nodes.push(readAddress(r, `nodes[${i}]`));
      return { kind, clusterId, nodes, members: readMembers(r, 'members') };
    }
    case 'boot-ready': return { kind, nodeId: r.u32('nodeId') };
    case 'heartbeat-request': return { kind, round: r.u32('round') };
    case 'heartbeat-reply': return { kind, round: r.u32('round'), ballot: ballot('ballot'), qc: r.bool('qc'), inc: readIncarnation(r, 'inc') };
    case 'prepare':
      return { kind, n: ballot('n'), decidedIdx: r.u64('decidedIdx'), acceptedRnd: ballot('acceptedRnd'), acceptedIdx: r.u64('acceptedIdx') };
    case 'promise': {
      const n = ballot('n');
      const acceptedRnd = ballot('acceptedRnd');
      const decidedIdx = r.u64('decidedIdx');
      const acceptedIdx = r.u64('acceptedIdx');
      const inc = readIncarnation(r, 'inc');
      const sync = r.bool('hasSync') ? readLogSync(r, 'sync', MAX_ENTRIES) : null;
      return { kind, n, acceptedRnd, decidedIdx, acceptedIdx, inc, sync };
    }
    case 'accept-sync':
      return { kind, n: ballot('n'), seq: readSeq(r, 'seq'), decidedIdx: r.u64('decidedIdx'), sync: readLogSync(r, 'sync', MAX_ENTRIES) };
    case 'accept-decide':
      return { kind, n: ballot('n'), seq: readSeq(r, 'seq'), decidedIdx: r.u64('decidedIdx'), entries: readEntries(r, 'entries', MAX_ENTRIES) };
    case 'accepted': return { kind, n: ballot('n'), acceptedIdx: r.u64('acceptedIdx'), inc: readIncarnation(r, 'inc') };
    case 'decide': return { kind, n: ballot('n'), seq: readSeq(r, 'seq'), decidedIdx: r.u64('decidedIdx') };
    case 'not-accepted': return { kind, n: ballot('n') };
    case 'prepare-req': return { kind, n: ballot('n') };
    case 'proposal-forward': return { kind, entries: readEntries(r, 'entries', MAX_ENTRIES) };
    case 'client-request': {
      const requestId = r.u32('requestId');
      const clientId = r.string('clientId');
      const seq = r.u64('seq');
      return { kind, requestId, command: { clientId, seq, op: readOp(r, 'command') } };
    }
    case 'client-response': {
      const requestId = r.u32('requestId');
      const status = readCode(r, 'status', STATUS_CODE);
      const m: ClientResponse = status === 'result'
        ? { kind, requestId, status, result: readResult(r, 'result') }
        : { kind, requestId, status, reason: r.string('reason') };
      return m;
    }
    case 'status-request': return { kind, requestId: r.u32('requestId') };
    case 'status-response': {
      const requestId = r.u32('requestId');
      const nodeId = r.u32('nodeId');
      const role = readCode(r, 'role', ROLE_CODE);
      const phase = readCode(r, 'phase', PHASE_CODE);
      const leaderBallot = ballot('leaderBallot');
      const electedBallot = ballot('electedBallot');
      const quorumConnected = r.bool('quorumConnected');
      const promised = ballot('promised');
      const acceptedRnd = ballot('acceptedRnd');
      const logLength = r.u64('logLength');
      const decidedIdx = r.u64('decidedIdx');
      const appliedIdx = r.u64('appliedIdx');
      const compactedIdx = r.u64('compactedIdx');
      const incarnation = readIncarnation(r, 'incarnation');
      const voter = r.bool('voter');
      const fsync = r.bool('fsync');
      const at = r.offset;
      const n = r.u32('peers count');
      if (n * 5 > r.remaining) throw new DecodeError('peers', at, `count ${n} is impossible here`);
      const peers = [];
      for (let i = 0; i < n; i++) peers.push({ id: r.u32(`peers[${i}].id`), connected: r.bool(`peers[${i}].connected`) });
      return {
        kind, requestId, nodeId, role, phase, leaderBallot, electedBallot, quorumConnected, promised, acceptedRnd,
        logLength, decidedIdx, appliedIdx, compactedIdx, incarnation, voter, fsync, peers,
      };
    }
    case 'log-request': return { kind, requestId: r.u32('requestId'), from: r.u64('from'), count: r.u32('count') };
    case 'log-response': {
      const requestId = r.u32('requestId');
      const from = r.u64('from');
      const decidedIdx = r.u64('decidedIdx');
      const logLength = r.u64('logLength');
      return { kind, requestId, from, decidedIdx, logLength, entries: readEntries(r, 'entries', MAX_ENTRIES) };
    }
    case 'error': return { kind, code: readCode(r, 'code', ERROR_CODES), message: r.string('message') };
    case 'fragment': {
      const at = r.offset;
      const total = r.u32('total');
      if (total <= MAX_FRAME_BYTES || total > MAX_MESSAGE_BYTES) {
        throw new DecodeError('total', at, `${total} bytes: a fragmented message is larger than a frame and at most ${MAX_MESSAGE_BYTES}`);
      }
      const n = r.u32('chunk length');
      if (n === 0 || n > total) throw new DecodeError('chunk', r.offset, `length ${n} is not in 1…${total}`);
      return { kind, total, chunk: r.raw(n, 'chunk') };
    }
  }
}

export function isPeerMessage(m: WireMessage): m is PeerMessage {
  const t = MESSAGE_TYPE[m.kind];
  return t >= 0x10 && t < 0x40;
}

/** An error frame for a protocol error, to send before closing the connection. */
export function errorFrameFor(e: ProtocolError): Uint8Array {
  return encodeMessage({ kind: 'error', code: e.code, message: e.message.slice(0, 1000) });
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
