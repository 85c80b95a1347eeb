import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `../shared` sits beside the project in development and CI, but not in a user's clone.
 * Returns its path, or undefined (tests that need it skip with a one-line note).
 */
export function sharedDir(): string | undefined {
  const dir = process.env.KVSH_SHARED ?? resolve(projectRoot, '..', 'shared');
  return existsSync(resolve(dir, 'corpus', 'MANIFEST.tsv')) ? dir : undefined;
}
