/**
 * cluster.config.json: the nodes of a cluster, the bootstrap server, timing, the data directory,
 * the fsync policy and log compaction. Every field is validated; an error names the field and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Shortest cluster secret accepted (from the config, its file or the environment). */
export const MIN_SECRET_CHARS = 16;

const port = z.number().int().min(1).max(65535);

const nodeSchema = z.object({
  id: z.number().int().min(1).max(0xffff_ffff),
  host: z.string().min(1),
  peerPort: port,
  clientPort: port,
  /** Leader priority: among ballots with the same round, a higher one wins. */
  priority: z.number().int().min(0).max(0xffff_ffff).optional(),
  /**
   * Routing, not identity: `{ "<peerId>": "host:port" }` — this node reaches that peer's peer
   * port through this address (a relay, a tunnel). Read from the config at every start and never
   * persisted, so a route can change between restarts while the node table stays the same.
   * Checked in the cluster-level refinement below, where the other node ids are known.
   */
  dialVia: z.record(z.string(), z.string()).optional(),
}).strict();

const timingSchema = z.object({
  /** Milliseconds per replica tick. */
  tickMs: z.number().int().min(1).max(10_000),
  /** Ticks per heartbeat round (the election timeout). */
  electionTicks: z.number().int().min(2).max(1000),
  /** Ticks between resends of Prepare / Promise / PrepareReq and stream keep-alives. */
  resendTicks: z.number().int().min(1).max(1000),
  /** How long a node waits for a client request's entry to be decided before answering `unknown`. */
  requestTimeoutMs: z.number().int().min(1).max(600_000),
}).strict();

export const clusterConfigSchema = z.object({
  /** Peers refuse connections that name another cluster. */
  clusterId: z.string().min(1).max(100),
  /** The node that runs the bootstrap server. */
  bootstrap: z.number().int().min(1),
  /** How many nodes (the bootstrap server included) must check in before it boots the cluster. */
  bootThreshold: z.number().int().min(1),
  timing: timingSchema,
  /** Each node keeps its files in `<dataDir>/node-<id>`; relative to the config file. */
  dataDir: z.string().min(1),
  /** false trades durability for speed: UNSAFE, acknowledged writes can be lost in a crash. */
  fsync: z.boolean(),
  /**
   * Log compaction: a node snapshots its map and sessions, and drops the log prefix the
   * snapshot covers, once this many applied entries lie beyond its last snapshot. 0 turns
   * compaction off; absent: the replica's default (10,000).
   */
  snapshotEntries: z.number().int().min(0).optional(),
  /** Client-port limits (protocol.md, Limits); absent fields take the defaults of client-server.ts. */
  limits: z.object({
    maxClientConnections: z.number().int().min(1).max(1_000_000).optional(),
    maxRequestsInFlightPerConnection: z.number().int().min(1).max(1_000_000).optional(),
  }).strict().optional(),
  /**
   * The cluster secret peers authenticate with (protocol.md "Peer authentication"), inline…
   * (KVSH_CLUSTER_SECRET in the environment wins over both; cluster-secret.ts).
   */
  secret: z.string().min(MIN_SECRET_CHARS, `must be at least ${MIN_SECRET_CHARS} characters`).optional(),
  /** …or in a file (relative to the config file), trailing newlines ignored. */
  secretFile: z.string().min(1).optional(),
  nodes: z.array(nodeSchema).min(1),
}).strict().superRefine((c, ctx) => {
  if (c.secret !== undefined && c.secretFile !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['secretFile'], message: 'give either secret or secretFile, not both' });
  }
  const ids = new Set<number>();
  const endpoints = new Set<string>();
  c.nodes.forEach((n, i) => {
    if (ids.has(n.id)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'id'], message: `duplicate node id ${n.id}` });
    ids.add(n.id);
    for (const key of ['peerPort', 'clientPort'] as const) {
      const ep = `${n.host}:${n[key]}`;
      if (endpoints.has(ep)) ctx.addIssue({ code: 'custom', path: ['nodes', i, key], message: `${ep} is used twice` });
      endpoints.add(ep);
    }
  });
  c.nodes.forEach((n, i) => {
    for (const [peer, address] of Object.entries(n.dialVia ?? {})) {
      const problem = dialViaProblem(peer, address, n.id, ids);
      if (problem) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'dialVia', peer], message: problem });
    }
  });
  if (!ids.has(c.bootstrap)) ctx.addIssue({ code: 'custom', path: ['bootstrap'], message: `node ${c.bootstrap} is not in nodes` });
  if (c.bootThreshold > c.nodes.length) {
    ctx.addIssue({ code: 'custom', path: ['bootThreshold'], message: `${c.bootThreshold} is more than the ${c.nodes.length} nodes` });
  }
});

function dialViaProblem(peer: string, address: string, self: number, ids: ReadonlySet<number>): string | null {
  // The key is a JSON object key, so a string: only the canonical decimal form counts ("02" would
  // silently name node 2 in one place and not match it in another).
  const id = Number(peer);
  if (!/^[1-9][0-9]*$/.test(peer) || !ids.has(id)) return `"${peer}" is not the id of a node in nodes`;
  if (id === self) return `node ${self} cannot dial itself`;
  if (!parseHostPort(address)) return `"${address}" is not host:port (a host, then a port 1–65535)`;
  return null;
}

/**
 * `host:port`, `[v6-address]:port`. Null when it does not parse: no host, a port that is not
 * a whole number in 1–65535, or a bare IPv6 address (ambiguous without brackets).
 */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]\s]+)):([0-9]{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
export type NodeConfig = ClusterConfig['nodes'][number];

export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
    this.name = 'ConfigError';
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(top level)';
}

/** Validates parsed JSON. `source` names the file in messages. */
export function parseClusterConfig(json: unknown, source = 'cluster config'): ClusterConfig {
  const r = clusterConfigSchema.safeParse(json);
  if (r.success) return r.data;
  throw new ConfigError(source, r.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`));
}

export function loadClusterConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read: ${(e as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`not valid JSON: ${(e as Error).message}`]);
  }
  return parseClusterConfig(json, file);
}

/** Where a node dials each peer it has a `dialVia` route for; peers not in the map are dialed directly. */
export function dialRoutes(config: ClusterConfig, self: number): ReadonlyMap<number, { host: string; port: number }> {
  const routes = new Map<number, { host: string; port: number }>();
  for (const [peer, address] of Object.entries(nodeById(config, self).dialVia ?? {})) {
    // Validated by the schema; checked again for a config object that skipped the parser.
    const to = parseHostPort(address);
    if (!to) throw new ConfigError('dialVia', [`node ${self}: "${address}" is not host:port`]);
    routes.set(Number(peer), to);
  }
  return routes;
}

export function nodeById(config: ClusterConfig, id: number): NodeConfig {
  const n = config.nodes.find((x) => x.id === id);
  if (!n) throw new ConfigError('--id', [`node ${id} is not in the config (ids: ${config.nodes.map((x) => x.id).join(', ')})`]);
  return n;
}
