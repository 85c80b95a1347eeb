/**
 * Process-wide cleanup for a program that owns a cluster (the CLI, a shell, a test runner): the
 * library never registers these by itself. kill -9 of the program is covered separately: the
 * nodes see EOF on stdin and exit (node-command.ts).
 */

export interface Stoppable {
  stopAll(): Promise<void>;
  killAllNow(): void;
}

export interface ExitCleanupOptions {
  /** Signals that stop the cluster cleanly and then exit; default SIGINT, SIGTERM, SIGHUP. [] for none. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Called on the first such signal, before stopping (e.g. to print "stopping…"). */
  readonly onSignal?: (signal: NodeJS.Signals) => void;
  /** Called when the clean stop is done (or failed), before exiting. */
  readonly onStopped?: (error: Error | undefined) => void;
  /** Exit status after a signal; default 0 (stopping on Ctrl-C is the normal way out). */
  readonly exitCode?: number;
}

/**
 * On the listed signals: stop the cluster cleanly, then exit. On process 'exit' (which cannot
 * wait): SIGKILL whatever is still running. Returns a function that removes the handlers.
 * Repeated signals during the stop are ignored: the stop is bounded by its grace period.
 */
export function stopAllOnExit(cluster: Stoppable, opts: ExitCleanupOptions = {}): () => void {
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let stopping = false;
  const onExit = (): void => cluster.killAllNow();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    opts.onSignal?.(sig);
    cluster.stopAll().then(
      () => opts.onStopped?.(undefined),
      (e: unknown) => opts.onStopped?.(e as Error),
    ).finally(() => process.exit(opts.exitCode ?? 0));
  };
  process.on('exit', onExit);
  for (const s of signals) process.on(s, onSignal);
  return () => {
    process.off('exit', onExit);
    for (const s of signals) process.off(s, onSignal);
  };
}
