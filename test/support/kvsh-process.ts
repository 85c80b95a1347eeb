/** Runs the kvsh CLI as a child process (through tsx), as a user would, and collects its output. */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const KVSH = join(ROOT, 'cli', 'kvsh.ts');
/** tsx by absolute URL: kvsh may run in a temp directory, where a bare `--import tsx` would not resolve. */
export const TSX = import.meta.resolve('tsx');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kvsh (through tsx) and collects its output; kills it after `timeoutMs`. */
export function runKvsh(args: string[], opts: { cwd: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', TSX, KVSH, ...args], {
      cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', KVSH_HISTFILE: '', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 90_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

