import { expect } from 'chai';
import net from 'node:net';
import { fetchLog, fetchStatus, parseAddr } from '../src/client/admin.js';
import { FakeNode } from './support/fake-node.js';

describe('client: parseAddr', () => {
  it('parses host:port and [v6]:port', () => {
    expect(parseAddr('127.0.0.1:7001')).to.deep.equal({ host: '127.0.0.1', port: 7001 });
    expect(parseAddr(' node-a.local:1 ')).to.deep.equal({ host: 'node-a.local', port: 1 });
    expect(parseAddr('[::1]:65535')).to.deep.equal({ host: '::1', port: 65535 });
  });

  it('names the part that is wrong', () => {
    expect(() => parseAddr('localhost')).to.throw(/"localhost": expected host:port/);
    expect(() => parseAddr(':7001')).to.throw(/host is empty/);
    expect(() => parseAddr('h:')).to.throw(/port "" is not a number/);
    expect(() => parseAddr('h:70x1')).to.throw(/port "70x1" is not a number/);
    expect(() => parseAddr('h:0')).to.throw(/port 0 is not in 1…65535/);
    expect(() => parseAddr('h:65536')).to.throw(/port 65536/);
    expect(() => parseAddr('::1:80')).to.throw(/write an IPv6 host as \[addr\]:port/);
    expect(() => parseAddr('[::1:80')).to.throw(/no "\]" closes it/);
    expect(() => parseAddr('[::1]80')).to.throw(/expected ":port"/);
  });
});

describe('client: admin queries', () => {
  let node: FakeNode;
  beforeEach(async () => { node = await FakeNode.start({ nodeId: 4 }); });
  afterEach(async () => { await node.stop(); });

  it('fetchStatus decodes the status-response and closes the connection', async () => {
    node.status = { role: 'leader', logLength: 7, decidedIdx: 6, appliedIdx: 5, peers: [{ id: 2, connected: false }] };
    const s = await fetchStatus(node.addr);
    expect(s).to.include({ kind: 'status-response', nodeId: 4, role: 'leader', logLength: 7, decidedIdx: 6, appliedIdx: 5 });
    expect(s.peers).to.deep.equal([{ id: 2, connected: false }]);
    const s2 = await fetchStatus(node.name); // "host:port" works too
    expect(s2.nodeId).to.equal(4);
    await node.until(() => node.connections === 2);
    expect(node.received.map(r => r.message.kind)).to.deep.equal(['status-request', 'status-request']);
  });

  it('fetchLog returns the entries from the index the node says', async () => {
    node.store.apply({ clientId: 'a', seq: 1, op: { kind: 'put', key: 'k', value: 'v' } });
    node.store.expireAllSessions();
    node.store.apply({ clientId: 'b', seq: 1, op: { kind: 'get', key: 'k' } });
    const l = await fetchLog(node.addr, 1, 10);
    expect(l.from).to.equal(1);
    expect(l.logLength).to.equal(3);
    expect(l.entries).to.have.length(2);
    expect(l.entries[0]!.kind).to.equal('expire-sessions');
    const req = node.received.at(-1)!.message;
    expect(req).to.include({ kind: 'log-request', from: 1, count: 10 });
    expect(() => fetchLog(node.addr, -1, 1)).to.throw(RangeError);
  });

  it('rejects with the node named on timeout, refusal and error frame', async () => {
    node.status = 'drop';
    await expectReject(fetchStatus(node.addr, { timeoutMs: 100 }), /status-request failed: no answer from 127\.0\.0\.1:\d+ within 100 ms/);

    const closedPort = await freePort();
    await expectReject(fetchStatus({ host: '127.0.0.1', port: closedPort }), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}`));

    node.status = 'error';
    await expectReject(fetchStatus(node.addr), /status-request failed: 127\.0\.0\.1:\d+ sent error unexpected-message: scripted status error/);

    node.status = 'close';
    await expectReject(fetchStatus(node.addr), /status-request failed: (127\.0\.0\.1:\d+ closed the connection|.*ECONNRESET)/);
  });
});

async function expectReject(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail(`expected a rejection matching ${re}`);
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
