/**
 * Where a node's cluster secret comes from: KVSH_CLUSTER_SECRET in the environment, else the
 * config's `secret` or `secretFile`. The secret's UTF-8 bytes are the HMAC key of peer
 * authentication (peer-auth.ts). It is never logged; only its source is.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, MIN_SECRET_CHARS, type ClusterConfig } from './config.js';

export const SECRET_ENV = 'KVSH_CLUSTER_SECRET';

export interface ClusterSecret {
  readonly key: Uint8Array;
  /** For log lines: where it came from (never the secret). */
  readonly source: 'environment' | 'config' | 'secretFile';
}

function check(secret: string, where: string): Uint8Array {
  // Characters as the user counts them (code points), not UTF-16 units.
  const chars = [...secret].length;
  if (chars < MIN_SECRET_CHARS) {
    throw new ConfigError(where, [`the cluster secret must be at least ${MIN_SECRET_CHARS} characters, got ${chars}`]);
  }
  return new Uint8Array(Buffer.from(secret, 'utf8'));
}

/**
 * The secret this node authenticates with, or null when none is configured. Throws ConfigError
 * on a secret that is too short or empty, or a secret file that cannot be read.
 * `configDir`: what a relative `secretFile` resolves against (the config file's directory).
 */
export function resolveClusterSecret(config: ClusterConfig, configDir: string, env: NodeJS.ProcessEnv = process.env): ClusterSecret | null {
  const fromEnv = env[SECRET_ENV];
  if (fromEnv !== undefined) return { key: check(fromEnv, SECRET_ENV), source: 'environment' };
  if (config.secret !== undefined) return { key: check(config.secret, 'secret'), source: 'config' };
  if (config.secretFile !== undefined) {
    const file = resolve(configDir, config.secretFile);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError('secretFile', [`cannot read ${file}: ${(e as Error).message}`]);
    }
    // An editor's final newline is not part of the secret.
    return { key: check(text.replace(/[\r\n]+$/, ''), `secretFile ${file}`), source: 'secretFile' };
  }
  return null;
}

/** A fresh random secret for a local cluster (256 bits, base64url: 43 characters). */
export function generateClusterSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether the config names a secret of its own (inline or in a file). */
export function configHasSecret(config: ClusterConfig): boolean {
  return config.secret !== undefined || config.secretFile !== undefined;
}
