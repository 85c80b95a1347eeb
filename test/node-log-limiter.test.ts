/**
 * What strangers can trigger at will (bad frames, failed handshakes) is logged at most 20 lines
 * per kind per 10 s; the next logged line says how many were left out. The refusals themselves
 * are not limited.
 */
import { expect } from 'chai';
import { LogLimiter } from '../src/node/log-limiter.js';
import { RawPeer } from './support/raw-peer.js';
import { InProcessCluster } from './support/inprocess-cluster.js';

describe('node: log limits for what strangers send', function () {
  this.timeout(60_000);

  it('LogLimiter: a burst per kind per interval, then a count of what was left out', () => {
    let now = 0;
    const l = new LogLimiter(1000, 3, () => now);
    const took = (kind: string): string => {
      const t = l.take(kind);
      return t.log ? `log+${t.suppressed}` : 'skip';
    };
    expect([took('a'), took('a'), took('a'), took('a'), took('a')]).to.deep.equal(['log+0', 'log+0', 'log+0', 'skip', 'skip']);
    expect(took('b'), 'kinds are counted apart').to.equal('log+0');
    now = 999;
    expect(took('a')).to.equal('skip');
    now = 1000;
    expect(took('a'), 'a new interval: the three left out are reported').to.equal('log+3');
    expect([took('a'), took('a'), took('a')]).to.deep.equal(['log+0', 'log+0', 'skip']);
  });

  it('60 connections with a bad frame each on the client port: every one refused, 20 lines logged', async () => {
    const c = await InProcessCluster.create(1);
    try {
      await c.start();
      const before = c.events('bad-input', 1).length;
      const [host, port] = c.clientAddr(1).split(':');
      let refused = 0;
      for (let i = 0; i < 60; i++) {
        const p = await RawPeer.connect(host!, Number(port));
        p.send({ kind: 'heartbeat-request', round: i + 1 });
        await p.closed;
        if (p.frames.at(-1)?.kind === 'error') refused++;
      }
      expect(refused).to.equal(60);
      expect(c.events('bad-input', 1).length - before).to.equal(20);
    } finally {
      await c.destroy();
    }
  });
});
