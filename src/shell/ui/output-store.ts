/**
 * The interactive shell's output: entries the session emits, kept (the last few thousand) for
 * the output pane, with a subscription React can use (`useSyncExternalStore`).
 */
import type { OutputEntry, ShellOutput } from '../output.js';

const KEEP = 5000;

export interface StoredEntry extends OutputEntry {
  readonly seq: number;
}

export class OutputStore implements ShellOutput {
  private entries: readonly StoredEntry[] = [];
  private seq = 0;
  private readonly listeners = new Set<() => void>();

  private forward: ShellOutput | null = null;

  /** From now on, entries go to `out` instead (the app has unmounted; nothing draws the store). */
  redirect(out: ShellOutput): void {
    this.forward = out;
  }

  emit(entry: OutputEntry): void {
    if (this.forward) {
      this.forward.emit(entry);
      return;
    }
    const next = [...this.entries, { ...entry, seq: this.seq++ }];
    this.entries = next.length > KEEP ? next.slice(next.length - KEEP) : next;
    for (const l of this.listeners) l();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly snapshot = (): readonly StoredEntry[] => this.entries;
}
