/**
 * The interactive kvsh: the status pane on top (always visible, live), the output below it
 * (the most recent lines that fit; PageUp / PageDown scroll), the prompt at the bottom.
 * Commands typed while one runs wait their turn, in order.
 */
import React, { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { shellCandidates } from '../complete-args.js';
import type { LineHistory } from '../line-history.js';
import type { OutputEntry } from '../output.js';
import { parseScript, ScriptSyntaxError } from '../script.js';
import type { ShellSession } from '../session.js';
import type { ClusterView } from '../status-poller.js';
import type { OutputStore } from './output-store.js';
import { Prompt } from './prompt.js';
import { StatusPane } from './status-pane.js';

export interface AppProps {
  readonly session: ShellSession;
  readonly store: OutputStore;
  readonly history: LineHistory;
  /** Shown in the status pane: "local cluster (5 nodes)", "3 nodes (--nodes)". */
  readonly label: string;
  /** Terminal size; default from stdout (tests pass their own). */
  readonly rows?: number | undefined;
  readonly columns?: number | undefined;
  /** Refresh of counters and clocks in the status pane; default 500 ms. */
  readonly tickMs?: number;
}

const COLOR: Record<string, string | undefined> = { ok: 'green', fail: 'yellow', unknown: 'magenta', plain: undefined };

interface Line {
  readonly key: string;
  readonly text: string;
  readonly color: string | undefined;
  readonly dim: boolean;
}

function linesOf(entries: readonly (OutputEntry & { seq: number })[]): Line[] {
  const out: Line[] = [];
  for (const e of entries) {
    const color = e.kind === 'error' ? 'red' : e.kind === 'warn' ? 'yellow' : e.kind === 'result' ? COLOR[e.tone ?? 'plain'] : undefined;
    const dim = e.kind === 'info';
    e.text.split('\n').forEach((t, i) => out.push({ key: `${e.seq}.${i}`, text: t === '' ? ' ' : t, color, dim }));
  }
  return out;
}

export function App({ session, store, history, label, rows, columns, tickMs = 500 }: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const entries = useSyncExternalStore(store.subscribe, store.snapshot);
  const [view, setView] = useState<ClusterView>(session.poller.latest);
  const [now, setNow] = useState(Date.now());
  const [running, setRunning] = useState<string | null>(null);
  const [scroll, setScroll] = useState(0);
  const queue = useRef<string[]>([]);
  const busy = useRef(false);
  const lastInterrupt = useRef(0);

  useEffect(() => session.poller.subscribe(setView), [session]);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), tickMs);
    return () => clearInterval(t);
  }, [tickMs]);
  useEffect(() => session.onQuit(() => exit()), [session, exit]);

  const drain = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      while (queue.current.length > 0 && !session.quitRequested) {
        const line = queue.current.shift()!;
        // Echoed when it runs, not when typed: a line typed during a long command shows up
        // after that command's output.
        session.emit({ kind: 'info', text: `kvsh> ${line}` });
        let commands;
        try {
          commands = parseScript(line, 'prompt');
        } catch (e) {
          if (!(e instanceof ScriptSyntaxError)) throw e;
          session.emit({ kind: 'error', text: e.message.replace(/^prompt: /, '') });
          continue;
        }
        for (const c of commands) {
          if (session.quitRequested) break;
          setRunning(c.text);
          await session.run(c);
        }
      }
    } finally {
      busy.current = false;
      setRunning(null);
    }
  }, [session]);

  const onSubmit = useCallback((line: string) => {
    setScroll(0);
    if (line.trim() === '') {
      if (!busy.current) session.emit({ kind: 'info', text: 'kvsh>' });
      return;
    }
    queue.current.push(line);
    void drain();
  }, [session, drain]);

  const onInterrupt = useCallback(() => {
    const t = Date.now();
    if (t - lastInterrupt.current < 2000) {
      session.requestQuit();
      return;
    }
    lastInterrupt.current = t;
    session.emit({ kind: 'info', text: busy.current
      ? '(a command is running and cannot be interrupted; Ctrl-C again within 2 s leaves kvsh)'
      : '(Ctrl-C again within 2 s, Ctrl-D or quit leaves kvsh)' });
  }, [session]);

  useInput((_input, key) => {
    if (key.pageUp) setScroll((s) => s + 10);
    if (key.pageDown) setScroll((s) => Math.max(0, s - 10));
  }, { isActive: isRawModeSupported });

  const height = rows ?? process.stdout.rows ?? 30;
  const runningWorkloads = session.workloads.filter((w) => w.running || (w.finishedAt !== undefined && now - w.finishedAt < 10_000)).slice(-3);
  const statusHeight = view.nodes.length + runningWorkloads.length + 4;
  // One row for the prompt, one for the "running" line, one spare so the frame never fills the
  // terminal (Ink clears the whole screen on every frame that does, which flickers).
  const outputHeight = Math.max(3, height - statusHeight - 3);
  const lines = linesOf(entries);
  const maxScroll = Math.max(0, lines.length - outputHeight);
  const offset = Math.min(scroll, maxScroll);
  const visible = lines.slice(Math.max(0, lines.length - outputHeight - offset), lines.length - offset);
  const recording = session.recording.active ? { file: session.recording.path ?? '', events: session.recording.events } : null;

  return (
    <Box flexDirection="column" width={columns}>
      <StatusPane view={view} label={label} workloads={session.workloads} recording={recording} timing={session.timing} now={now} />
      <Box flexDirection="column" height={outputHeight}>
        {visible.map((l) => (
          <Text key={l.key} wrap="truncate-end" color={l.color} dimColor={l.dim}>{l.text}</Text>
        ))}
      </Box>
      <Text dimColor>{running ? `running: ${running}${queue.current.length ? ` (+${queue.current.length} queued)` : ''}` : offset > 0 ? `scrolled up ${offset} lines (PageDown)` : ' '}</Text>
      <Prompt history={history} candidatesFor={shellCandidates(session)} onSubmit={onSubmit} onExit={() => session.requestQuit()} onInterrupt={onInterrupt} />
    </Box>
  );
}
