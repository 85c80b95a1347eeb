/**
 * A process that takes a directory's lock, for the lock tests (test/dir-lock.test.ts). Prints one
 * JSON line: `{"won":true,"pid":…}` and then holds the lock until its stdin closes (it then exits
 * without calling release: the exit handler must remove the lock), or `{"won":false,"holder":…}`
 * naming the pid the error named, and exits.
 *
 * With a barrier directory: when it finds a stale lock it creates `<barrier>/ready-<index>` and
 * waits for `<barrier>/go` (all at once) or `<barrier>/go-<index>` (this one) before taking it
 * over, so that the test can line up several starters that have all read the same stale record.
 *
 *   node --import tsx test/support/dir-lock-child.ts DIR [BARRIER INDEX]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireDirLock, DirLockHeldError } from '../../src/storage/dir-lock.js';

const [dir, barrier, index] = process.argv.slice(2);
if (!dir) throw new Error('usage: dir-lock-child.ts DIR [BARRIER INDEX]');

function waitForGo(): void {
  writeFileSync(join(barrier!, `ready-${index}`), '');
  const cell = new Int32Array(new SharedArrayBuffer(4));
  // The test creates `go` once every starter is ready; a bounded wait keeps a broken test from hanging.
  const go = (): boolean => existsSync(join(barrier!, 'go')) || existsSync(join(barrier!, `go-${index}`));
  for (let i = 0; i < 6000 && !go(); i++) Atomics.wait(cell, 0, 0, 5);
}

try {
  acquireDirLock(dir, { by: `dir-lock-child ${index ?? ''}`, ...(barrier ? { onStale: waitForGo } : {}) });
} catch (e) {
  if (!(e instanceof DirLockHeldError)) throw e;
  process.stdout.write(JSON.stringify({ won: false, holder: e.holder.pid, message: e.message }) + '\n');
  process.exit(0);
}
process.stdout.write(JSON.stringify({ won: true, pid: process.pid }) + '\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
