/**
 * How much disk a directory takes, as `du -s` counts it: the blocks allocated to every file
 * under it (st_blocks × 512), plus the apparent size (the bytes the files hold). Files that
 * vanish while it walks (a WAL checkpoint renames over the log) are skipped.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface DirSize {
  /** Allocated on disk, bytes (du). */
  readonly diskBytes: number;
  /** Sum of the files' lengths, bytes (du --apparent-size). */
  readonly apparentBytes: number;
  readonly files: number;
}

function gone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function dirSize(path: string): DirSize {
  let diskBytes = 0;
  let apparentBytes = 0;
  let files = 0;
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (gone(e)) return;
      throw e;
    }
    diskBytes += st.blocks * 512;
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p);
      } catch (e) {
        if (gone(e)) return;
        throw e;
      }
      for (const n of names) walk(join(p, n));
    } else {
      apparentBytes += st.size;
      files++;
    }
  };
  walk(path);
  return { diskBytes, apparentBytes, files };
}
