/**
 * One kvsh session: the nodes it talks to, the local cluster it may own, the status poller,
 * the recording, the client workloads, and the commands that act on them. Front ends (the Ink
 * app, the plain runner for -e / -f / stdin) feed it command lines and show what it emits.
 */
import { formatAddr, type NodeAddr } from '../client/addr.js';
import { connect, type ClientOptions, type KvClient } from '../client/client.js';
import { HistoryRecorder, processCounter, type RecordedProcess } from '../client/recorder.js';
import type { LocalCluster } from '../cluster/index.js';
import { formatBallot, type Ballot } from '../replica/ballot.js';
import { COMMANDS, findCommand } from './commands/index.js';
import { CommandFailed, UsageError } from './commands/types.js';
import type { OutputEntry, ShellOutput } from './output.js';
import { Recording } from './recording.js';
import { parseScript, ScriptSyntaxError, type CommandLine } from './script.js';
import { StatusPoller, type NodeTarget } from './status-poller.js';
import type { WorkloadRun } from './workloads.js';

export interface ShellSessionOptions {
  /** Client ports of the nodes (from --nodes, or the local cluster). */
  readonly nodes: readonly NodeTarget[];
  /** The local cluster kvsh started: fault commands act on it. */
  readonly cluster?: LocalCluster | undefined;
  readonly output: ShellOutput;
  /** Multiplies `sleep` and `for <duration>` (drills run shorter in tests). Default 1. */
  readonly timeScale?: number;
  readonly clientOptions?: ClientOptions;
  /** Status poll interval; default 400 ms. */
  readonly pollMs?: number;
  /** Relative file names (record, check, source) resolve against it; default process.cwd(). */
  readonly cwd?: string;
  /** Lines typed at the prompt, for `history` (interactive only). */
  readonly lineHistory?: { entries(): readonly string[] };
  /** Worker threads for `check` (default 'auto': hard histories move off the main thread). */
  readonly checkWorkers?: number | 'auto';
}

const RECENT_KEYS = 50;

export class ShellSession {
  readonly cluster: LocalCluster | undefined;
  readonly output: ShellOutput;
  readonly poller: StatusPoller;
  readonly recording = new Recording();
  readonly processes = processCounter(0);
  readonly workloads: WorkloadRun[] = [];
  readonly timeScale: number;
  readonly cwd: string;
  readonly clientOptions: ClientOptions;
  readonly lineHistory: { entries(): readonly string[] } | undefined;
  readonly checkWorkers: number | 'auto';
  timing = false;
  /** Commands that failed so far: the exit status is non-zero when any did. */
  failures = 0;
  quitRequested = false;
  private targetList: NodeTarget[];
  private kvClient: KvClient;
  private shellProcess: RecordedProcess;
  private readonly recent: string[] = [];
  private readonly quitListeners = new Set<() => void>();
  /** Nested `source` depth, to stop a file that sources itself. */
  sourceDepth = 0;
  /**
   * The leader's ballot just before the last fault command (kill, pause, partition, …):
   * `wait new-leader` waits for a leader above it. Right after a fault the old leader may still
   * look elected for a moment (its followers back it until their next election round).
   */
  ballotAtLastFault: Ballot | undefined;

  constructor(opts: ShellSessionOptions) {
    if (opts.nodes.length === 0) throw new Error('kvsh: no nodes to connect to');
    this.cluster = opts.cluster;
    this.output = opts.output;
    this.timeScale = opts.timeScale ?? 1;
    this.cwd = opts.cwd ?? process.cwd();
    this.clientOptions = opts.clientOptions ?? {};
    this.lineHistory = opts.lineHistory;
    this.checkWorkers = opts.checkWorkers ?? 'auto';
    this.targetList = [...opts.nodes];
    this.kvClient = connect(this.targetList.map((t) => t.addr), this.clientOptions);
    this.shellProcess = new HistoryRecorder(this.kvClient, this.recording.target, this.processes).process();
    this.poller = new StatusPoller({ targets: () => this.targetList, cluster: this.cluster, intervalMs: opts.pollMs });
    this.poller.onLeaderChange((l) => this.recording.leader(l ? l.leaderId : null, l ? formatBallot(l.ballot) : undefined));
  }

  /** Remembers the leader's ballot before a fault, for `wait new-leader`. */
  async noteFault(): Promise<void> {
    const view = await this.poller.refresh();
    const known = view.leader ?? this.poller.lastLeader;
    if (known) this.ballotAtLastFault = known.ballot;
  }

  /** Starts the status poller. */
  start(): void {
    this.poller.start();
  }

  get targets(): readonly NodeTarget[] {
    return this.targetList;
  }

  get client(): KvClient {
    return this.kvClient;
  }

  /** The prompt's own virtual client (one operation at a time), recorded when recording is on. */
  get process(): RecordedProcess {
    return this.shellProcess;
  }

  /** Switches to other nodes (`connect`). Workloads already running keep their clients. */
  reconnect(nodes: readonly NodeTarget[]): void {
    if (nodes.length === 0) throw new UsageError('give at least one node');
    const old = this.kvClient;
    this.targetList = [...nodes];
    this.kvClient = connect(nodes.map((t) => t.addr), this.clientOptions);
    this.shellProcess = new HistoryRecorder(this.kvClient, this.recording.target, this.processes).process();
    old.close();
  }

  /** Node id of a target, from the config or learned from its status answer. */
  idOf(t: NodeTarget): number | undefined {
    return t.id ?? this.poller.idOf(t.addr);
  }

  /** Client address of node `id`, if the session knows it. */
  addrOf(id: number): NodeAddr | undefined {
    return this.targetList.find((t) => this.idOf(t) === id)?.addr;
  }

  /** Node ids known to the session (local cluster: all configured nodes). */
  knownNodeIds(): number[] {
    if (this.cluster) return this.cluster.nodeIds;
    return this.targetList.map((t) => this.idOf(t)).filter((id): id is number => id !== undefined).sort((a, b) => a - b);
  }

  describeTarget(t: NodeTarget): string {
    const id = this.idOf(t);
    return id === undefined ? formatAddr(t.addr) : `${id}`;
  }

  noteKey(key: string): void {
    const i = this.recent.indexOf(key);
    if (i >= 0) this.recent.splice(i, 1);
    this.recent.unshift(key);
    if (this.recent.length > RECENT_KEYS) this.recent.pop();
  }

  get recentKeys(): readonly string[] {
    return this.recent;
  }

  emit(entry: OutputEntry): void {
    this.output.emit(entry);
  }

  info(text: string, json?: Record<string, unknown>): void {
    this.output.emit(json ? { kind: 'info', text, json } : { kind: 'info', text });
  }

  result(text: string, json: Record<string, unknown>, tone: OutputEntry['tone'] = 'plain'): void {
    this.output.emit({ kind: 'result', text, json, tone });
  }

  /** A drill's duration after `--time-scale`. */
  scaled(ms: number): number {
    return Math.max(0, Math.round(ms * this.timeScale));
  }

  requireCluster(what: string): LocalCluster {
    if (!this.cluster) {
      throw new CommandFailed(`${what} needs the local cluster kvsh started (kvsh --start); with --nodes kvsh only talks to the nodes`);
    }
    return this.cluster;
  }

  onQuit(fn: () => void): () => void {
    this.quitListeners.add(fn);
    return () => this.quitListeners.delete(fn);
  }

  requestQuit(): void {
    this.quitRequested = true;
    for (const fn of this.quitListeners) fn();
  }

  /** Runs one command. Returns false when it failed (the error was emitted). */
  async run(line: CommandLine): Promise<boolean> {
    const [name, ...args] = line.words;
    if (name === undefined) return true;
    const spec = findCommand(name);
    try {
      if (!spec) {
        throw new UsageError(`unknown command "${name}"${suggest(name)} — type help for the list`);
      }
      await spec.run(this, args, line);
      return true;
    } catch (e) {
      this.failures++;
      const where = line.where === 'prompt' ? '' : `${line.where}: `;
      const err = e as Error;
      const usage = e instanceof UsageError && spec ? ` (usage: ${spec.usage})` : '';
      const message = e instanceof UsageError || e instanceof CommandFailed ? err.message : `${err.name}: ${err.message}`;
      this.output.emit({
        kind: 'error', text: `${where}${name}: ${message}${usage}`,
        json: { command: line.text, where: line.where, error: message + usage },
      });
      return false;
    }
  }

  /** Runs every command of a script in order (failures do not stop it; `quit` does). */
  async runScript(text: string, source: string): Promise<boolean> {
    let commands: CommandLine[];
    try {
      commands = parseScript(text, source);
    } catch (e) {
      if (!(e instanceof ScriptSyntaxError)) throw e;
      this.failures++;
      this.output.emit({ kind: 'error', text: e.message, json: { where: e.where, error: e.message } });
      return false;
    }
    let ok = true;
    for (const c of commands) {
      if (this.quitRequested) break;
      ok = (await this.run(c)) && ok;
    }
    return ok;
  }

  /**
   * Ends the session: stops workloads (waiting for their operations), finishes a recording in
   * progress, stops polling, closes the client. Does not stop the local cluster (its owner does).
   */
  async close(): Promise<void> {
    for (const w of this.workloads) w.stop();
    await Promise.allSettled(this.workloads.map((w) => w.done));
    if (this.recording.active) {
      try {
        const s = await this.recording.stop(2000);
        this.info(`recording stopped: ${s.events} events in ${s.file}`);
      } catch (e) {
        this.output.emit({ kind: 'error', text: `record: ${(e as Error).message}` });
      }
    }
    this.poller.stop();
    this.kvClient.close();
  }
}

function suggest(name: string): string {
  const lower = name.toLowerCase();
  const near = COMMANDS.map((c) => c.name).filter((n) => n.startsWith(lower.slice(0, 2)));
  return near.length > 0 && near.length <= 3 ? ` (did you mean ${near.join(', ')}?)` : '';
}
