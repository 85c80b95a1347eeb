import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadClusterConfig, parseClusterConfig } from '../src/node/config.js';
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

describe('cluster config validation (src/node/config.ts)', () => {
  const file = join(projectRoot, 'cluster.config.json');
  const good = (): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

  it('the default config is valid: timing, data directory, fsync on', () => {
    const c = loadClusterConfig(file);
    expect(c.fsync).to.equal(true);
    expect(c.timing.electionTicks).to.be.greaterThan(1);
    expect(c.bootThreshold).to.be.at.most(c.nodes.length);
  });

  const cases: [string, (c: Record<string, any>) => void, RegExp][] = [
    ['a port out of range', (c) => { c.nodes[2].peerPort = 70000; }, /nodes\[2\]\.peerPort/],
    ['a port given as a string', (c) => { c.nodes[0].clientPort = '7201'; }, /nodes\[0\]\.clientPort: .*number/],
    ['a duplicate id', (c) => { c.nodes[1].id = 1; }, /nodes\[1\]\.id: duplicate node id 1/],
    ['an endpoint used twice', (c) => { c.nodes[3].clientPort = c.nodes[4].clientPort; }, /nodes\[4\]\.clientPort: 127\.0\.0\.1:7205 is used twice/],
    ['a bootstrap node that does not exist', (c) => { c.bootstrap = 9; }, /bootstrap: node 9 is not in nodes/],
    ['a boot threshold above the cluster size', (c) => { c.bootThreshold = 6; }, /bootThreshold: 6 is more than the 5 nodes/],
    ['a missing timing field', (c) => { delete c.timing.tickMs; }, /timing\.tickMs/],
    ['fsync not a boolean', (c) => { c.fsync = 'yes'; }, /fsync: .*boolean/],
    ['an unknown field', (c) => { c.nodes[0].colour = 'red'; }, /nodes\[0\].*colour/],
    ['a negative snapshotEntries', (c) => { c.snapshotEntries = -1; }, /snapshotEntries: .*>=0/],
    ['a fractional snapshotEntries', (c) => { c.snapshotEntries = 2.5; }, /snapshotEntries: .*expected int/],
    ['snapshotEntries given as a string', (c) => { c.snapshotEntries = '1000'; }, /snapshotEntries: .*number/],
    ['snapshotEntries inside timing (it is top level)', (c) => { c.timing.snapshotEntries = 1000; }, /timing.*snapshotEntries/],
  ];
  for (const [what, mutate, message] of cases) {
    it(`names the field: ${what}`, () => {
      const c = good();
      mutate(c);
      expect(() => parseClusterConfig(c, 'test.json')).to.throw(ConfigError, message);
    });
  }

  it('snapshotEntries is optional: absent (the node default), 0 (compaction off) or a count', () => {
    expect(parseClusterConfig(good()).snapshotEntries).to.equal(undefined);
    for (const n of [0, 1, 10_000]) expect(parseClusterConfig({ ...good(), snapshotEntries: n }).snapshotEntries).to.equal(n);
  });

  it('a file that is not JSON, or missing, gets a message that names it', () => {
    expect(() => loadClusterConfig(join(projectRoot, 'README.md'))).to.throw(ConfigError, /README\.md: not valid JSON/);
    expect(() => loadClusterConfig(join(projectRoot, 'nope.json'))).to.throw(ConfigError, /nope\.json: cannot read/);
  });
});
