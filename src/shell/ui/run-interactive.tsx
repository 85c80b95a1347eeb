/**
 * Runs the Ink shell on the terminal until the user leaves: full screen (the terminal's
 * alternate screen, restored on exit), Ctrl-C handled by the prompt rather than by Ink.
 */
import React from 'react';
import { render } from 'ink';
import type { ClientOptions } from '../../client/client.js';
import type { LocalCluster } from '../../cluster/index.js';
import { LineHistory } from '../line-history.js';
import { PlainOutput } from '../plain.js';
import { ShellSession } from '../session.js';
import type { NodeTarget } from '../status-poller.js';
import { App } from './app.js';
import { OutputStore } from './output-store.js';

export interface InteractiveOptions {
  readonly targets: NodeTarget[];
  readonly cluster: LocalCluster | undefined;
  readonly color: boolean;
  readonly timeScale: number;
  readonly pollMs: number;
  readonly clientOptions: ClientOptions;
}

const ALT_SCREEN_ON = '\u001b[?1049h\u001b[H';
const ALT_SCREEN_OFF = '\u001b[?1049l';

export async function runInteractive(o: InteractiveOptions): Promise<number> {
  if (!o.color) process.env.FORCE_COLOR = '0';
  const history = LineHistory.load();
  const store = new OutputStore();
  const session = new ShellSession({
    nodes: o.targets, cluster: o.cluster, output: store, timeScale: o.timeScale, pollMs: o.pollMs,
    clientOptions: o.clientOptions, lineHistory: history,
    // The check runs off the main thread, so the screen, the poller and running clients go on.
    checkWorkers: 1,
  });
  if (history.warning) store.emit({ kind: 'warn', text: history.warning });
  store.emit({ kind: 'info', text: 'type help for the commands, quit (or Ctrl-D) to leave' });
  session.start();
  const label = o.cluster ? `local cluster (${o.cluster.nodeIds.length} nodes)` : `${o.targets.length} nodes`;
  process.stdout.write(ALT_SCREEN_ON);
  const leave = (): void => { process.stdout.write(ALT_SCREEN_OFF); };
  process.once('exit', leave);
  try {
    const app = render(<App session={session} store={store} history={history} label={label} />, { exitOnCtrlC: false });
    await app.waitUntilExit();
  } finally {
    leave();
    process.off('exit', leave);
  }
  // Closing prints what the user must not miss (where the recording went, workload summaries):
  // the screen is the normal one again, so plain lines.
  store.redirect(new PlainOutput({ json: false, color: o.color, stdout: process.stdout, stderr: process.stderr }));
  await session.close();
  return 0;
}
