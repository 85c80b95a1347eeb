/**
 * The client port takes client messages only: every bootstrap, authentication, election and
 * Sequence Paxos message type sent there gets the error frame unexpected-message and a closed
 * connection, and the node keeps serving clients.
 */
import { expect } from 'chai';
import { fetchStatus } from '../src/client/admin.js';
import { parseAddr } from '../src/client/addr.js';
import { isPeerMessage, MESSAGE_TYPE } from '../src/wire/codec.js';
import type { WireMessage } from '../src/wire/messages.js';
import { frameOf, sendRaw } from './support/bad-input.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

const b = (n: number, pid: number) => ({ n, priority: 0, pid });
const put = { kind: 'command' as const, command: { clientId: 'c1', seq: 1, op: { kind: 'put' as const, key: 'k', value: 'v' } } };
const address = { id: 1, host: '127.0.0.1', peerPort: 7101, clientPort: 7201 };
const seq = { session: 1, counter: 1 };

/** One message of every type that belongs on the peer port. */
const PEER_PORT_MESSAGES: WireMessage[] = [
  { kind: 'peer-hello', nodeId: 1, clusterId: 'test' },
  { kind: 'auth-challenge', nonce: new Uint8Array(32) },
  { kind: 'auth-proof', mac: new Uint8Array(32) },
  { kind: 'check-in', node: address, incarnation: '0123456789abcdef' },
  { kind: 'boot', clusterId: 'test', nodes: [address], members: [{ id: 1, incarnation: '0123456789abcdef', voter: true }] },
  { kind: 'boot-ready', nodeId: 1 },
  { kind: 'heartbeat-request', round: 1 },
  { kind: 'heartbeat-reply', round: 1, ballot: b(1, 1), qc: true, inc: '0123456789abcdef' },
  { kind: 'prepare', n: b(2, 1), decidedIdx: 0, acceptedRnd: b(0, 0), acceptedIdx: 0 },
  { kind: 'promise', n: b(2, 1), acceptedRnd: b(0, 0), decidedIdx: 0, acceptedIdx: 0, inc: '0123456789abcdef', sync: null },
  { kind: 'accept-sync', n: b(2, 1), seq, decidedIdx: 0, sync: { snapshot: null, syncIdx: 0, suffix: [put] } },
  { kind: 'accept-decide', n: b(2, 1), seq, decidedIdx: 0, entries: [put] },
  { kind: 'accepted', n: b(2, 1), acceptedIdx: 1, inc: '0123456789abcdef' },
  { kind: 'decide', n: b(2, 1), seq, decidedIdx: 1 },
  { kind: 'not-accepted', n: b(3, 1) },
  { kind: 'prepare-req', n: b(2, 1) },
  { kind: 'proposal-forward', entries: [put] },
  { kind: 'fragment', total: 4 * 1024 * 1024 + 1, chunk: new Uint8Array([2, 0x23, 0]) },
];

describe('client port: peer-port messages are refused', function () {
  this.timeout(30_000);
  let cluster: InProcessCluster;
  before(async () => {
    cluster = await InProcessCluster.create(1);
    await cluster.start();
    await cluster.waitForLeader();
  });
  after(async () => { await cluster?.destroy(); });

  it('the list covers every type below 0x40 (bootstrap, authentication, election, Paxos) and the fragment', () => {
    const peerTypes = Object.entries(MESSAGE_TYPE).filter(([, t]) => t < 0x40 || t === 0x7e).map(([k]) => k).sort();
    expect(PEER_PORT_MESSAGES.map((m) => m.kind).sort()).to.deep.equal(peerTypes);
    expect(PEER_PORT_MESSAGES.filter(isPeerMessage).length).to.equal(11);
  });

  for (const m of PEER_PORT_MESSAGES) {
    it(`${m.kind}: unexpected-message, connection closed, the node still serves`, async () => {
      const a = parseAddr(cluster.clientAddr(1));
      const out = await sendRaw(a.host, a.port, [frameOf(m)]);
      expect(out.frames.map((f) => (f.kind === 'error' ? f.code : f.kind))).to.deep.equal(['unexpected-message']);
      expect(out.closed).to.equal(true);
      expect((await fetchStatus(cluster.clientAddr(1), { timeoutMs: 2000 })).nodeId).to.equal(1);
    });
  }
});
