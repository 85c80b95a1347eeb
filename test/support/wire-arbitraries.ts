/** fast-check generators of every wire message, for codec property tests. */
import fc from 'fast-check';
import type { Ballot } from '../../src/replica/ballot.js';
import type { Entry, KvOp, KvResult } from '../../src/replica/entry.js';
import type { LogSync, SeqNum } from '../../src/replica/messages.js';
import type { Member } from '../../src/replica/membership.js';
import type { Snapshot } from '../../src/replica/snapshot.js';
import type { NodeAddress, WireMessage } from '../../src/wire/messages.js';
import { ERROR_CODES } from '../../src/wire/messages.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeNat());
const str = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
const port = fc.integer({ min: 1, max: 65535 });

export const ballotArb: fc.Arbitrary<Ballot> = fc.record({ n: u32, priority: u32, pid: u32 });
const seqArb: fc.Arbitrary<SeqNum> = fc.record({ session: u64, counter: u64 });
export const opArb: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), key: str }),
  fc.record({ kind: fc.constant('put' as const), key: str, value: str }),
  fc.record({ kind: fc.constant('cas' as const), key: str, expected: fc.option(str, { nil: null }), value: str }),
  fc.record({ kind: fc.constant('delete' as const), key: str }),
);
export const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ kind: fc.constant('command' as const), command: fc.record({ clientId: str, seq: u64, op: opArb }) }),
  fc.record({ kind: fc.constant('expire-sessions' as const), idleBefore: u64 }),
  fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 1, max: 0xffffffff }), incarnation: fc.stringMatching(/^[0-9a-f]{16}$/), replace: fc.boolean() }),
  fc.record({ kind: fc.constant('promote' as const), id: fc.integer({ min: 1, max: 0xffffffff }), incarnation: fc.stringMatching(/^[0-9a-f]{16}$/) }),
);
const entriesArb = fc.array(entryArb, { maxLength: 4 });
export const resultArb: fc.Arbitrary<KvResult> = fc.oneof(
  fc.record({ kind: fc.constant('value' as const), value: str }),
  fc.constant({ kind: 'not-found' as const }),
  fc.constant({ kind: 'ok' as const }),
  fc.record({ kind: fc.constant('mismatch' as const), current: fc.option(str, { nil: null }) }),
  fc.record({ kind: fc.constant('deleted' as const), existed: fc.boolean() }),
  fc.constant({ kind: 'session-expired' as const }),
);
const incarnationArb = fc.stringMatching(/^[0-9a-f]{16}$/);
/** Any incarnation a decoder takes: at most 64 characters. */
const incarnationOrEmptyArb = fc.oneof(fc.constant(''), incarnationArb, fc.string({ maxLength: 64 }));
/** A well-formed membership: distinct ids ≥ 1, a voter always has an incarnation. */
export const membersArb: fc.Arbitrary<Member[]> = fc.uniqueArray(
  fc.record({ id: fc.integer({ min: 1, max: 0xffffffff }), incarnation: fc.oneof(fc.constant(''), incarnationArb), voter: fc.boolean() })
    .map((m) => ({ ...m, voter: m.voter && m.incarnation !== '' })),
  { maxLength: 5, selector: (m) => m.id },
);
/** A well-formed snapshot: distinct keys, distinct clientIds, every session's lastIdx below idx. */
export const snapshotArb: fc.Arbitrary<Snapshot> = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))
  .chain((idx) => fc.record({
    idx: fc.constant(idx),
    kv: fc.uniqueArray(fc.tuple(str, str), { maxLength: 5, selector: ([k]) => k }),
    sessions: fc.uniqueArray(fc.record({
      clientId: str, lastSeq: u64, lastResult: resultArb, lastIdx: fc.integer({ min: 0, max: idx - 1 }),
    }), { maxLength: 4, selector: (x) => x.clientId }),
    members: membersArb,
  }));
const syncArb: fc.Arbitrary<LogSync> = fc.oneof(
  fc.record({ syncIdx: u64, suffix: entriesArb, snapshot: fc.constant(null) }),
  fc.record({ snapshot: snapshotArb, suffix: entriesArb }).map(({ snapshot, suffix }) => ({ syncIdx: snapshot.idx, suffix, snapshot })),
);
const addressArb: fc.Arbitrary<NodeAddress> = fc.record({ id: u32, host: str, peerPort: port, clientPort: port });
const role = fc.constantFrom('leader' as const, 'follower' as const);
const phase = fc.constantFrom('none' as const, 'prepare' as const, 'accept' as const, 'recover' as const);
const errorCode = fc.constantFrom(...(Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]));

export const messageArb: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.record({ kind: fc.constant('peer-hello' as const), nodeId: u32, clusterId: str }),
  fc.record({ kind: fc.constant('auth-challenge' as const), nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  fc.record({ kind: fc.constant('auth-proof' as const), mac: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  fc.record({ kind: fc.constant('check-in' as const), node: addressArb, incarnation: incarnationOrEmptyArb }),
  fc.record({ kind: fc.constant('boot' as const), clusterId: str, nodes: fc.array(addressArb, { maxLength: 7 }), members: membersArb }),
  fc.record({ kind: fc.constant('boot-ready' as const), nodeId: u32 }),
  fc.record({ kind: fc.constant('heartbeat-request' as const), round: u32 }),
  fc.record({ kind: fc.constant('heartbeat-reply' as const), round: u32, ballot: ballotArb, qc: fc.boolean(), inc: incarnationOrEmptyArb }),
  fc.record({ kind: fc.constant('prepare' as const), n: ballotArb, decidedIdx: u64, acceptedRnd: ballotArb, acceptedIdx: u64 }),
  fc.record({ kind: fc.constant('promise' as const), n: ballotArb, acceptedRnd: ballotArb, decidedIdx: u64, acceptedIdx: u64, inc: incarnationOrEmptyArb, sync: fc.option(syncArb, { nil: null }) }),
  fc.record({ kind: fc.constant('accept-sync' as const), n: ballotArb, seq: seqArb, decidedIdx: u64, sync: syncArb }),
  fc.record({ kind: fc.constant('accept-decide' as const), n: ballotArb, seq: seqArb, decidedIdx: u64, entries: entriesArb }),
  fc.record({ kind: fc.constant('accepted' as const), n: ballotArb, acceptedIdx: u64, inc: incarnationOrEmptyArb }),
  fc.record({ kind: fc.constant('decide' as const), n: ballotArb, seq: seqArb, decidedIdx: u64 }),
  fc.record({ kind: fc.constant('not-accepted' as const), n: ballotArb }),
  fc.record({ kind: fc.constant('prepare-req' as const), n: ballotArb }),
  fc.record({ kind: fc.constant('proposal-forward' as const), entries: entriesArb }),
  fc.record({ kind: fc.constant('client-request' as const), requestId: u32, command: fc.record({ clientId: str, seq: u64, op: opArb }) }),
  fc.record({ kind: fc.constant('client-response' as const), requestId: u32, status: fc.constant('result' as const), result: resultArb }),
  fc.record({ kind: fc.constant('client-response' as const), requestId: u32, status: fc.constantFrom('unknown' as const, 'rejected' as const), reason: str }),
  fc.record({ kind: fc.constant('status-request' as const), requestId: u32 }),
  fc.record({
    kind: fc.constant('status-response' as const), requestId: u32, nodeId: u32, role, phase,
    leaderBallot: ballotArb, electedBallot: ballotArb, quorumConnected: fc.boolean(), promised: ballotArb,
    acceptedRnd: ballotArb, logLength: u64, decidedIdx: u64, appliedIdx: u64, compactedIdx: u64,
    incarnation: incarnationOrEmptyArb, voter: fc.boolean(), fsync: fc.boolean(),
    peers: fc.array(fc.record({ id: u32, connected: fc.boolean() }), { maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('log-request' as const), requestId: u32, from: u64, count: u32 }),
  fc.record({ kind: fc.constant('log-response' as const), requestId: u32, from: u64, decidedIdx: u64, logLength: u64, entries: entriesArb }),
  fc.record({ kind: fc.constant('error' as const), code: errorCode, message: str }),
  fc.record({
    kind: fc.constant('fragment' as const),
    total: fc.integer({ min: 4 * 1024 * 1024 + 1, max: 256 * 1024 * 1024 }),
    chunk: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
) as fc.Arbitrary<WireMessage>;
