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

  emit(entry: OutputEntry): void {
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
