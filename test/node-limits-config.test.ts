/**
 * The client-port limits from a config file, through a real kvnode process: `limits` in
 * cluster.config.json reaches the node (the connection beyond maxClientConnections gets
 * too-many-connections), and a bad `limits` value is refused at start with its path.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startCluster, writeTestConfig, type LocalCluster } from '../src/cluster/index.js';
import { RawPeer } from './support/raw-peer.js';
import { kvnodeScript } from '../src/cluster/node-command.js';
import { projectRoot } from './support/paths.js';

describe('client-port limits from the config file (real kvnode)', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: LocalCluster | undefined;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'kvsh-limits-config-')); });
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function configWith(limits: unknown): Promise<{ file: string; host: string; port: number }> {
    const { file, config } = await writeTestConfig({ nodes: 1, dir });
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...json, limits }, null, 2));
    return { file, host: config.nodes[0]!.host, port: config.nodes[0]!.clientPort };
  }

  it('maxClientConnections 2: the third connection is refused with too-many-connections, the first two are served', async () => {
    const { file, host, port } = await configWith({ maxClientConnections: 2 });
    // No waitForLeader: its status polls are client connections too, and one still closing
    // would take a slot. Each connection proves it was accepted before the next one opens.
    cluster = await startCluster({ configFile: file });
    const a = await RawPeer.connect(host, port);
    const b = await RawPeer.connect(host, port);
    for (const [p, id] of [[a, 1], [b, 2]] as const) {
      p.send({ kind: 'status-request', requestId: id });
      expect((await p.next()).kind).to.equal('status-response');
    }
    const c = await RawPeer.connect(host, port);
    await c.closed;
    expect(c.frames.at(-1)).to.deep.include({ kind: 'error', code: 'too-many-connections' });
    // The first two are still served.
    a.send({ kind: 'status-request', requestId: 3 });
    expect((await a.next()).kind).to.equal('status-response');
    a.destroy();
    b.destroy();
  });

  it('a bad limits value is refused at start, naming the field', async () => {
    const { file } = await configWith({ maxClientConnections: 0 });
    const run = spawnSync(process.execPath, ['--import', 'tsx', kvnodeScript, '--config', file, '--id', '1'], { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).to.equal(2);
    expect(run.stderr).to.match(/limits\.maxClientConnections/);
  });
});
