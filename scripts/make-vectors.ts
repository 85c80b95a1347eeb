/**
 * Writes test/vectors/messages.json: one golden vector (name, decoded message, hex) per wire
 * message shape. Run only when the protocol changes on purpose (and bump PROTOCOL_VERSION and
 * protocol.md's "Versions" then):
 *   npx tsx scripts/make-vectors.ts
 * The test checks both directions; protocol.md's hex examples are these vectors.
 */
import { writeFileSync } from 'node:fs';
import { encodeMessage, toHex } from '../src/wire/codec.js';
import { PROTOCOL_VERSION, type WireMessage } from '../src/wire/messages.js';
import { AUTH_EXAMPLE, authMac } from '../src/node/peer-auth.js';

const b = (n: number, priority: number, pid: number) => ({ n, priority, pid });
const put = { kind: 'command' as const, command: { clientId: 'c1', seq: 3, op: { kind: 'put' as const, key: 'k', value: 'v1' } } };

const vectors: [string, WireMessage][] = [
  ['client-request get', { kind: 'client-request', requestId: 1, command: { clientId: 'c1', seq: 1, op: { kind: 'get', key: 'k' } } }],
  ['client-request put', { kind: 'client-request', requestId: 2, command: { clientId: 'c1', seq: 2, op: { kind: 'put', key: 'k', value: 'v1' } } }],
  ['client-request cas', { kind: 'client-request', requestId: 3, command: { clientId: 'c1', seq: 3, op: { kind: 'cas', key: 'k', expected: 'v1', value: 'v2' } } }],
  ['client-request cas if absent', { kind: 'client-request', requestId: 4, command: { clientId: 'c1', seq: 4, op: { kind: 'cas', key: 'k', expected: null, value: 'v0' } } }],
  ['client-request delete', { kind: 'client-request', requestId: 5, command: { clientId: 'c1', seq: 5, op: { kind: 'delete', key: 'k' } } }],
  ['client-request utf-8 key', { kind: 'client-request', requestId: 6, command: { clientId: 'c1', seq: 6, op: { kind: 'put', key: 'é', value: '' } } }],
  ['client-response value', { kind: 'client-response', requestId: 1, status: 'result', result: { kind: 'value', value: 'v1' } }],
  ['client-response not-found', { kind: 'client-response', requestId: 1, status: 'result', result: { kind: 'not-found' } }],
  ['client-response ok', { kind: 'client-response', requestId: 2, status: 'result', result: { kind: 'ok' } }],
  ['client-response mismatch', { kind: 'client-response', requestId: 3, status: 'result', result: { kind: 'mismatch', current: 'v9' } }],
  ['client-response mismatch absent', { kind: 'client-response', requestId: 3, status: 'result', result: { kind: 'mismatch', current: null } }],
  ['client-response deleted', { kind: 'client-response', requestId: 5, status: 'result', result: { kind: 'deleted', existed: true } }],
  ['client-response session-expired', { kind: 'client-response', requestId: 7, status: 'result', result: { kind: 'session-expired' } }],
  ['client-response unknown', { kind: 'client-response', requestId: 8, status: 'unknown', reason: 'timeout' }],
  ['client-response rejected', { kind: 'client-response', requestId: 9, status: 'rejected', reason: 'key too long' }],
  ['status-request', { kind: 'status-request', requestId: 10 }],
  ['status-response', {
    kind: 'status-response', requestId: 10, nodeId: 2, role: 'follower', phase: 'accept', leaderBallot: b(0, 0, 0),
    electedBallot: b(3, 0, 1), quorumConnected: true, promised: b(3, 0, 1), acceptedRnd: b(3, 0, 1),
    logLength: 42, decidedIdx: 41, appliedIdx: 41, compactedIdx: 32, incarnation: '2a7e1c9d04b3f865', voter: true, fsync: true, peers: [{ id: 1, connected: true }, { id: 3, connected: false }],
  }],
  ['log-request', { kind: 'log-request', requestId: 11, from: 40, count: 2 }],
  ['log-response', { kind: 'log-response', requestId: 11, from: 40, decidedIdx: 41, logLength: 42, entries: [put, { kind: 'expire-sessions', idleBefore: 7 }] }],
  ['fragment (first 3 bytes of a 4,194,305-byte message)', { kind: 'fragment', total: 4 * 1024 * 1024 + 1, chunk: new Uint8Array([PROTOCOL_VERSION, 0x23, 0x00]) }],
  ['error', { kind: 'error', code: 'unknown-type', message: 'unknown message type 0x5a' }],
  ['peer-hello', { kind: 'peer-hello', nodeId: 3, clusterId: 'local' }],
  // The handshake of protocol.md's "Peer authentication" example (node 1 dials node 3).
  ['auth-challenge (dialer nonce 00…1f)', { kind: 'auth-challenge', nonce: AUTH_EXAMPLE.dialerNonce }],
  ['auth-challenge (acceptor nonce 20…3f)', { kind: 'auth-challenge', nonce: AUTH_EXAMPLE.acceptorNonce }],
  ['auth-proof (acceptor)', { kind: 'auth-proof', mac: authMac(AUTH_EXAMPLE.secret, 'acceptor', AUTH_EXAMPLE.ids, AUTH_EXAMPLE.dialerNonce, AUTH_EXAMPLE.acceptorNonce) }],
  ['auth-proof (dialer)', { kind: 'auth-proof', mac: authMac(AUTH_EXAMPLE.secret, 'dialer', AUTH_EXAMPLE.ids, AUTH_EXAMPLE.dialerNonce, AUTH_EXAMPLE.acceptorNonce) }],
  ['check-in', { kind: 'check-in', node: { id: 3, host: '127.0.0.1', peerPort: 7103, clientPort: 7203 }, incarnation: '3b9c4f2a81d0e657' }],
  ['boot', { kind: 'boot', clusterId: 'local', nodes: [{ id: 1, host: '127.0.0.1', peerPort: 7101, clientPort: 7201 }, { id: 3, host: '127.0.0.1', peerPort: 7103, clientPort: 7203 }], members: [{ id: 1, incarnation: '', voter: false }, { id: 3, incarnation: '3b9c4f2a81d0e657', voter: true }] }],
  ['boot-ready', { kind: 'boot-ready', nodeId: 3 }],
  ['heartbeat-request', { kind: 'heartbeat-request', round: 9 }],
  ['heartbeat-reply', { kind: 'heartbeat-reply', round: 9, ballot: b(3, 0, 2), qc: true, inc: '2a7e1c9d04b3f865' }],
  ['prepare', { kind: 'prepare', n: b(4, 0, 1), decidedIdx: 41, acceptedRnd: b(3, 0, 1), acceptedIdx: 42 }],
  ['promise without sync', { kind: 'promise', n: b(4, 0, 1), acceptedRnd: b(3, 0, 1), decidedIdx: 41, acceptedIdx: 42, inc: '3b9c4f2a81d0e657', sync: null }],
  ['promise with sync', { kind: 'promise', n: b(4, 0, 1), acceptedRnd: b(3, 0, 2), decidedIdx: 41, acceptedIdx: 43, inc: '3b9c4f2a81d0e657', sync: { syncIdx: 42, suffix: [put], snapshot: null } }],
  ['promise with snapshot', {
    kind: 'promise', n: b(4, 0, 1), acceptedRnd: b(3, 0, 2), decidedIdx: 41, acceptedIdx: 41, inc: '3b9c4f2a81d0e657', sync: {
      snapshot: {
        idx: 41, kv: [['k', 'v1']],
        sessions: [
          { clientId: 'c1', lastSeq: 3, lastResult: { kind: 'ok' }, lastIdx: 40 },
          { clientId: 'c2', lastSeq: 5, lastResult: { kind: 'value', value: 'v1' }, lastIdx: 38 },
        ],
        members: [{ id: 1, incarnation: '1f0e2d3c4b5a6978', voter: true }, { id: 3, incarnation: '3b9c4f2a81d0e657', voter: false }],
      },
      syncIdx: 41, suffix: [],
    },
  }],
  ['accept-sync', { kind: 'accept-sync', n: b(4, 0, 1), seq: { session: 1, counter: 1 }, decidedIdx: 41, sync: { syncIdx: 41, suffix: [put], snapshot: null } }],
  ['accept-sync with snapshot', {
    kind: 'accept-sync', n: b(4, 0, 1), seq: { session: 2, counter: 1 }, decidedIdx: 41, sync: {
      snapshot: { idx: 40, kv: [['k', 'v0']], sessions: [{ clientId: 'c1', lastSeq: 2, lastResult: { kind: 'ok' }, lastIdx: 39 }], members: [{ id: 1, incarnation: '1f0e2d3c4b5a6978', voter: true }] },
      syncIdx: 40, suffix: [put],
    },
  }],
  ['accept-decide', { kind: 'accept-decide', n: b(4, 0, 1), seq: { session: 1, counter: 2 }, decidedIdx: 42, entries: [put] }],
  ['accepted', { kind: 'accepted', n: b(4, 0, 1), acceptedIdx: 43, inc: '3b9c4f2a81d0e657' }],
  ['decide', { kind: 'decide', n: b(4, 0, 1), seq: { session: 1, counter: 3 }, decidedIdx: 43 }],
  ['not-accepted', { kind: 'not-accepted', n: b(5, 0, 3) }],
  ['prepare-req', { kind: 'prepare-req', n: b(4, 0, 1) }],
  ['proposal-forward', { kind: 'proposal-forward', entries: [put] }],
  ['proposal-forward with membership entries', {
    kind: 'proposal-forward', entries: [
      { kind: 'join', id: 3, incarnation: '3b9c4f2a81d0e657', replace: true },
      { kind: 'promote', id: 3, incarnation: '3b9c4f2a81d0e657' },
    ],
  }],
];

const out = vectors.map(([name, message]) => ({ name, hex: toHex(encodeMessage(message)), message }));
// Bytes (a fragment's chunk) are written as { "hex": … }; the vector test reads them back.
const bytesAsHex = (_k: string, v: unknown): unknown => (v instanceof Uint8Array ? { hex: toHex(v) } : v);
writeFileSync(new URL('../test/vectors/messages.json', import.meta.url), `${JSON.stringify(out, bytesAsHex, 2)}\n`);
console.log(`wrote ${out.length} vectors`);
