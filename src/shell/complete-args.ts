/**
 * What tab offers at each position of a command line: command names first, then per argument
 * what the command's spec says (node ids and node words, recent keys, workloads, files, …).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WORKLOADS } from '../client/workload.js';
import { commandNames, findCommand } from './commands/index.js';
import type { CandidatesFor } from './completion.js';
import { NODE_WORDS } from './node-refs.js';
import type { ShellSession } from './session.js';

const DURATIONS = ['500ms', '1s', '2s', '5s', '10s', '30s', '1m'];

export function shellCandidates(session: ShellSession): CandidatesFor {
  return (words, wordIndex) => {
    if (wordIndex === 0) return commandNames();
    const spec = findCommand(words[0] ?? '');
    const kind = spec?.args?.[Math.min(wordIndex - 1, (spec.args.length || 1) - 1)];
    if (kind === undefined) return [];
    if (typeof kind !== 'string') return [...kind];
    switch (kind) {
      case 'key': return [...session.recentKeys];
      case 'node':
      case 'nodes': return [...session.knownNodeIds().map(String), ...NODE_WORDS, ...(words[0] === 'partition' || words[0] === 'delay' ? ['rest'] : [])];
      case 'workload': return Object.keys(WORKLOADS);
      case 'command': return commandNames();
      case 'duration': return DURATIONS;
      case 'file': return files(session.cwd, words[wordIndex] ?? '');
      case 'none': return [];
    }
  };
}

/** Entries of the directory the typed prefix points into (directories end in /). */
function files(cwd: string, typed: string): string[] {
  const dirPart = typed.includes('/') ? typed.slice(0, typed.lastIndexOf('/') + 1) : '';
  const dir = resolve(cwd, dirPart || '.');
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .slice(0, 500)
      .map((n) => {
        let isDir = false;
        try {
          isDir = statSync(join(dir, n)).isDirectory();
        } catch {
          // A broken link still completes, as a plain name.
        }
        return `${dirPart}${n}${isDir ? '/' : ''}`;
      });
  } catch {
    return [];
  }
}

