/**
 * A data directory's identity: which cluster and node it belongs to, and its incarnation — a
 * random id made when the directory is created, durable before the node says anything to
 * anyone (identity.json, replaced atomically like meta.json).
 *
 * The cluster records, in its replicated membership (src/replica/membership.ts), which
 * incarnation speaks for each node id; a directory that was deleted and created again gets a
 * new incarnation, so its votes are refused instead of counted with an empty memory.
 *
 * What a start finds in the directory, and what it does (`inspectDataDir`):
 *
 * | identity.json | meta.json | wal.log | what it is                                 | start                         |
 * |---------------|-----------|---------|--------------------------------------------|-------------------------------|
 * | –             | –         | –       | a new directory                            | new identity, check in        |
 * | ✓             | –         | –/✓     | created, not booted yet (or meta lost)     | check in again (the WAL kept) |
 * | ✓             | ✓         | ✓       | a node that has booted                     | recover and run               |
 * | ✓             | ✓         | –       | the log was lost                           | refused: it could vote twice  |
 * | –             | ✓ or –    | ✓ or –  | files without an identity (lost, or older) | refused                       |
 *
 * Refusals name the directory and say what to do: move the directory away and start the node
 * with an empty one and `--replace` (README, "Replacing a node's data directory").
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { NodeId } from '../replica/ballot.js';
import { META_FILE, readMeta, writeMeta, WAL_FILE } from '../storage/index.js';

export const IDENTITY_FILE = 'identity.json';

export interface DataDirIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly incarnation: string;
}

const identitySchema = z.object({
  clusterId: z.string().min(1),
  nodeId: z.number().int().min(1),
  incarnation: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 hex digits'),
}).strict();

/** A start that must not go on; `exitCode` 2 (the operator's to fix), message says what to do. */
export class DataDirError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

export function newIncarnation(): string {
  return randomBytes(8).toString('hex');
}

export interface DataDirState {
  readonly identity: DataDirIdentity;
  /** The identity was made by this start (the directory was new). */
  readonly created: boolean;
}

/**
 * Reads the directory's identity and checks it against the config (`clusterId`, `nodeId`), or
 * gives a new directory one (durable before this returns). Throws DataDirError for every row of
 * the table above that is refused.
 */
export async function inspectDataDir(dir: string, expect: { clusterId: string; nodeId: NodeId }): Promise<DataDirState> {
  const identity = await readMeta(dir, (j) => identitySchema.parse(j), { file: IDENTITY_FILE });
  const hasMeta = existsSync(join(dir, META_FILE));
  const hasWal = existsSync(join(dir, WAL_FILE));
  const fix = `move ${dir} away, then start node ${expect.nodeId} with an empty data directory and --replace`;
  if (!identity) {
    if (hasMeta || hasWal) {
      const found = [hasMeta && META_FILE, hasWal && WAL_FILE].filter(Boolean).join(' and ');
      throw new DataDirError(`${dir} has ${found} but no ${IDENTITY_FILE}: it was written by an older kvnode or has lost files, `
        + `and its votes cannot be trusted — ${fix}`);
    }
    const created: DataDirIdentity = { clusterId: expect.clusterId, nodeId: expect.nodeId, incarnation: newIncarnation() };
    await writeMeta(dir, created, { file: IDENTITY_FILE });
    return { identity: created, created: true };
  }
  if (identity.clusterId !== expect.clusterId) {
    throw new DataDirError(`${dir} belongs to cluster "${identity.clusterId}", but the config says cluster "${expect.clusterId}": `
      + `give this node its own data directory (or fix clusterId in the config)`);
  }
  if (identity.nodeId !== expect.nodeId) {
    throw new DataDirError(`${dir} belongs to node ${identity.nodeId}, not node ${expect.nodeId}: check --id and --data-dir`);
  }
  if (hasMeta && !hasWal) {
    throw new DataDirError(`${dir} has ${META_FILE} but its log (${WAL_FILE}) is missing: this node has voted and forgot what, `
      + `so it must not vote again as incarnation ${identity.incarnation} — ${fix}`);
  }
  return { identity, created: false };
}
