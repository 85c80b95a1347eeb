/**
 * Faults on real processes for docs/reliability.md: the kvsh fault drills (examples/drills: kill
 * -9, SIGSTOP pauses, partitions through the relays, rolling and full restarts) on a fresh
 * 5-node cluster with fsync on, each recording its clients' history and checking it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTestConfig } from '../cluster/index.js';
import { parseHistory } from '../history/reader.js';
import type { TrialResult } from './trial.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const FAULT_DRILLS = ['leader-kill-loop', 'partition-heal', 'pause-leader', 'restart-all', 'advanced'] as const;

function runKvsh(args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'cli', 'kvsh.ts'), ...args], {
      cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', KVSH_HISTFILE: '' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGTERM'), 300_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out });
    });
  });
}

/** Runs the drills at `timeScale` (1 = as written); one row for all of them. */
export async function drillsTrial(timeScale: number, drills: readonly string[] = FAULT_DRILLS): Promise<TrialResult> {
  const failures: string[] = [];
  const nemesis = new Map<string, number>();
  let ops = 0;
  let info = 0;
  for (const name of drills) {
    const dir = mkdtempSync(join(tmpdir(), `kvsh-reliability-${name}-`));
    try {
      const cfg = await writeTestConfig({ nodes: 5, dir, fsync: true });
      const run = await runKvsh(['--start', cfg.file, '--fresh', '--time-scale', String(timeScale), '-f', join(ROOT, 'examples', 'drills', `${name}.kvsh`)], dir);
      if (run.code !== 0 || !/^LINEARIZABLE$/m.test(run.out)) {
        failures.push(`${name}: exit ${run.code}; ${run.out.split('\n').filter((l) => /LINEARIZABLE|error|kvsh:/i.test(l)).slice(0, 3).join(' / ')}`);
        continue;
      }
      const history = parseHistory(readFileSync(join(dir, 'runs', `${name}.jsonl`), 'utf8'));
      ops += history.operations.length;
      info += history.operations.filter((o) => o.status === 'info').length;
      for (const a of history.annotations) if (a.type === 'nemesis') nemesis.set(a.f, (nemesis.get(a.f) ?? 0) + 1);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const faults = [...nemesis].sort(([a], [b]) => a.localeCompare(b)).map(([f, n]) => `${f} ×${n}`).join(', ');
  return {
    area: 'network', fault: `kvsh fault drills on 5 real nodes, fsync on (${drills.join(', ')}; time scale ${timeScale})`,
    tried: [...nemesis.values()].reduce((a, b) => a + b, 0), unit: 'faults injected',
    details: `${faults}; ${ops.toLocaleString('en-US')} client operations (${info} indeterminate)`,
    expected: 'every drill exits 0 and its history checks LINEARIZABLE', failures,
  };
}
