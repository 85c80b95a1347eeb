/**
 * The prompt line: `kvsh> ` followed by an editable line with history (↑/↓) and tab completion.
 * The editing itself is in line-editor.ts; this component only turns Ink input events into editor
 * steps, performs their effects and draws the result.
 *
 * Ink intercepts Ctrl-C itself unless the app is rendered with `exitOnCtrlC: false`; the shell must
 * do that for Ctrl-C to reach `onInterrupt`.
 */
import React, { useEffect, useRef, useState } from 'react';
import { Box, Text, useInput, useStdin, useStdout, type Key } from 'ink';
import { completeLine, type CandidatesFor } from '../completion.js';
import type { LineHistory } from '../line-history.js';
import { EMPTY_LINE, formatCandidates, keyToCommand, splitKeyChunk, step, type LineState } from './line-editor.js';

export interface PromptProps {
  prompt?: string;
  history: LineHistory;
  candidatesFor: CandidatesFor;
  /** Every Enter, blank lines included (the line has already been added to the history). */
  onSubmit(line: string): void;
  /** Ctrl-D on an empty line; also Ctrl-C on an empty line when there is no `onInterrupt`. */
  onExit?(): void;
  /** Ctrl-C on an empty line (on a non-empty line Ctrl-C just clears it). */
  onInterrupt?(): void;
  isActive?: boolean;
  /**
   * Rows the Tab candidate list may take under the prompt (default 3), for layouts that budget
   * their height: the prompt is 1 row (more if the line wraps) plus this while candidates show.
   */
  maxCandidateLines?: number;
}

interface View {
  line: LineState;
  candidates: string[] | null;
}

export function Prompt({
  prompt = 'kvsh> ', history, candidatesFor, onSubmit, onExit, onInterrupt, isActive = true, maxCandidateLines = 3,
}: PromptProps) {
  const { isRawModeSupported, internal_eventEmitter: events } = useStdin();
  const { stdout } = useStdout();
  const active = isActive && isRawModeSupported;
  const [view, setView] = useState<View>({ line: EMPTY_LINE, candidates: null });
  // Several input events can arrive before React re-renders (a fast typist, a paste split at
  // escape sequences), so each event must start from the previous event's result, not from the
  // state this render saw.
  const current = useRef(view);

  // Ink's `useInput` reports both Backspace (DEL, 0x7f) and Delete (ESC [3~) as `key.delete`; the
  // raw sequence tells them apart. Ink emits it on this internal emitter just before decoding it
  // for `useInput`, and prependListener makes sure we see it before our own input handler.
  const lastRaw = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!active || events === undefined) return;
    const remember = (data: unknown) => { lastRaw.current = typeof data === 'string' ? data : undefined; };
    events.prependListener('input', remember);
    return () => { events.removeListener('input', remember); };
  }, [active, events]);

  useInput((input: string, key: Key) => {
    const raw = lastRaw.current;
    lastRaw.current = undefined;
    const keys = splitKeyChunk(input, key);
    for (const k of keys) {
      // The raw sequence describes the event only when it was not split.
      const cmd = keyToCommand(k.input, k.key, keys.length === 1 ? raw : undefined);
      const r = step(current.current.line, cmd, {
        history: history.entries(),
        complete: (text, cursor) => {
          try {
            return completeLine(text, cursor, candidatesFor);
          } catch {
            return null; // a failing candidate source must not take the shell down
          }
        },
      });
      current.current = { line: r.line, candidates: r.candidates };
      for (const e of r.effects) {
        if (e.type === 'submit') {
          history.add(e.line);
          onSubmit(e.line);
        } else if (e.type === 'exit') {
          onExit?.();
        } else {
          (onInterrupt ?? onExit)?.();
        }
      }
    }
    setView(current.current);
  }, { isActive: active });

  const { text, cursor } = view.line;
  const at = cursor < text.length ? String.fromCodePoint(text.codePointAt(cursor)!) : ' ';
  // Keep one column spare: a line that exactly fills the terminal makes some terminals wrap early.
  const width = Math.max(20, (stdout?.columns || 80) - 1);
  return (
    <Box flexDirection="column">
      <Text>
        {prompt}{text.slice(0, cursor)}
        {/* No cursor while inactive (a command is running): it would invite typing that is not read. */}
        <Text inverse={active}>{at}</Text>
        {text.slice(cursor + (cursor < text.length ? at.length : 0))}
      </Text>
      {view.candidates !== null
        && formatCandidates(view.candidates, width, Math.max(1, maxCandidateLines)).map((l, i) => <Text key={i} dimColor>{l}</Text>)}
    </Box>
  );
}
