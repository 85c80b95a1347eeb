import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './support/paths.js';

describe('cluster.config.json (the default local cluster)', () => {
  const config = JSON.parse(readFileSync(join(projectRoot, 'cluster.config.json'), 'utf8')) as {
    bootstrap: number; nodes: { id: number; host: string; peerPort: number; clientPort: number }[];
  };

  it('has five nodes on loopback, ids 1–5, node 1 the bootstrap server', () => {
    expect(config.nodes.map(n => n.id)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(new Set(config.nodes.map(n => n.host))).to.deep.equal(new Set(['127.0.0.1']));
    expect(config.bootstrap).to.equal(1);
  });

  it('gives every node its own peer port and client port', () => {
    const ports = config.nodes.flatMap(n => [n.peerPort, n.clientPort]);
    expect(new Set(ports).size).to.equal(ports.length);
    for (const p of ports) expect(p).to.be.a('number').and.satisfy((x: number) => Number.isInteger(x) && x > 1024 && x < 65536);
  });
});
