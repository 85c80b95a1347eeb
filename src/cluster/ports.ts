/**
 * Fresh loopback ports and throw-away cluster configs for tests and scratch clusters, so that
 * nothing depends on the fixed ports of the repository's cluster.config.json.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { generateClusterSecret } from '../node/cluster-secret.js';
import { parseClusterConfig, type ClusterConfig } from '../node/config.js';

/**
 * `n` distinct ports the OS reports free on 127.0.0.1. All `n` listeners are open at once so
 * the OS cannot hand out the same port twice; they are closed before returning, so another
 * process could take one in between (rare on loopback; a node then fails to listen, loudly).
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(0, host, () => ok());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => (s.listening ? s.close(() => ok()) : ok()))));
  }
}

export type TestTiming = ClusterConfig['timing'];

/** The repository default (cluster.config.json): fast enough for tests on loopback. */
export const DEFAULT_TEST_TIMING: TestTiming = { tickMs: 20, electionTicks: 5, resendTicks: 2, requestTimeoutMs: 2000 };

export interface TestConfigOptions {
  /** Cluster size; node ids are 1…nodes. */
  readonly nodes: number;
  /** Directory to write `cluster.config.json` into; the data lives in `<dir>/data`. */
  readonly dir: string;
  readonly timing?: Partial<TestTiming>;
  /** Default false: tests rarely need durability and fsync makes them slow on some disks. */
  readonly fsync?: boolean;
  /** Default: a majority of the nodes. */
  readonly bootThreshold?: number;
  readonly clusterId?: string;
  /** Log compaction threshold (the config's `snapshotEntries`); absent: the node default. */
  readonly snapshotEntries?: number;
  /** The cluster secret written into the config; default a fresh random one; null: none. */
  readonly secret?: string | null;
}

export interface TestConfig {
  /** Absolute path of the written config file. */
  readonly file: string;
  readonly config: ClusterConfig;
}

/**
 * Writes a cluster config with fresh loopback ports, an absolute data directory and a fresh
 * random cluster secret (so peers authenticate, as in production), validated by the same parser
 * the nodes use. The file is readable by its owner only: it holds the secret.
 */
export async function writeTestConfig(opts: TestConfigOptions): Promise<TestConfig> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1) throw new RangeError(`writeTestConfig: nodes ${opts.nodes} is not a whole number ≥ 1`);
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const ports = await freePorts(2 * opts.nodes);
  const json = {
    clusterId: opts.clusterId ?? 'test',
    bootstrap: 1,
    bootThreshold: opts.bootThreshold ?? Math.floor(opts.nodes / 2) + 1,
    timing: { ...DEFAULT_TEST_TIMING, ...opts.timing },
    dataDir: join(dir, 'data'),
    fsync: opts.fsync ?? false,
    ...(opts.snapshotEntries === undefined ? {} : { snapshotEntries: opts.snapshotEntries }),
    ...(opts.secret === null ? {} : { secret: opts.secret ?? generateClusterSecret() }),
    nodes: Array.from({ length: opts.nodes }, (_, i) => ({
      id: i + 1,
      host: '127.0.0.1',
      peerPort: ports[2 * i]!,
      clientPort: ports[2 * i + 1]!,
    })),
  };
  const file = join(dir, 'cluster.config.json');
  const config = parseClusterConfig(json, file);
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode otherwise
  return { file, config };
}
