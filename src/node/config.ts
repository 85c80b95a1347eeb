/**
 * cluster.config.json: the nodes of a cluster, the bootstrap server, timing, the data directory
 * and the fsync policy. Every field is validated; an error names the field and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

const nodeSchema = z.object({
  id: z.number().int().min(1).max(0xffff_ffff),
  host: z.string().min(1),
  peerPort: port,
  clientPort: port,
  /** Leader priority: among ballots with the same round, a higher one wins. */
  priority: z.number().int().min(0).max(0xffff_ffff).optional(),
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
  nodes: z.array(nodeSchema).min(1),
}).strict().superRefine((c, ctx) => {
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
  if (!ids.has(c.bootstrap)) ctx.addIssue({ code: 'custom', path: ['bootstrap'], message: `node ${c.bootstrap} is not in nodes` });
  if (c.bootThreshold > c.nodes.length) {
    ctx.addIssue({ code: 'custom', path: ['bootThreshold'], message: `${c.bootThreshold} is more than the ${c.nodes.length} nodes` });
  }
});

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

export function nodeById(config: ClusterConfig, id: number): NodeConfig {
  const n = config.nodes.find((x) => x.id === id);
  if (!n) throw new ConfigError('--id', [`node ${id} is not in the config (ids: ${config.nodes.map((x) => x.id).join(', ')})`]);
  return n;
}
