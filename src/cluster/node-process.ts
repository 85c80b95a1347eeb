/**
 * One node's process across its lifetimes: spawn it, read its output line by line, and send it
 * the signals of the fault drills (SIGKILL, SIGSTOP, SIGCONT) or of a clean stop (SIGTERM).
 * Every exit is reported once, marked expected or not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  describeExit, isLive, parseLogRecord, type ClusterListener, type NodeExit, type NodeState, type OutputLine,
} from './events.js';
import { LineRing } from './line-ring.js';
import type { SpawnSpec } from './node-command.js';

export interface NodeProcessOptions {
  readonly id: number;
  /** Called at every start, so a restart picks up nothing stale. */
  readonly spawnSpec: () => SpawnSpec;
  readonly env: NodeJS.ProcessEnv;
  readonly emit: ClusterListener;
  /** Output lines kept for `output()`. */
  readonly ringLines: number;
  /** Appends every output line here (created if missing). */
  readonly logFile?: string;
  /** How long `start` waits for the "listening" log record. */
  readonly startTimeoutMs: number;
}

/** One spawned process. */
interface Life {
  readonly child: ChildProcess;
  /** Resolves when the process has exited and its output is drained. Never rejects. */
  readonly closed: Promise<NodeExit>;
  /** Why the manager ended it, if it did. */
  intent: 'stop' | 'kill' | undefined;
  forced: boolean;
  /** This life's last few lines, for the message when it fails to start. */
  readonly recent: OutputLine[];
}

const RECENT_LINES = 12;

export class NodeProcess {
  readonly id: number;
  private life: Life | undefined;
  private current: NodeState = 'stopped';
  private stopping: Promise<void> | undefined;
  private readonly ring: LineRing<OutputLine>;
  private exit: NodeExit | undefined;
  /** Settles the start in progress when the node logs "listening". */
  private onListening: (() => void) | undefined;

  constructor(private readonly opts: NodeProcessOptions) {
    this.id = opts.id;
    this.ring = new LineRing(opts.ringLines);
  }

  get state(): NodeState {
    return this.current;
  }

  /** The live process's pid (undefined when there is none). */
  get pid(): number | undefined {
    return this.life && isLive(this.current) ? this.life.child.pid : undefined;
  }

  /** How the last process ended. */
  get lastExit(): NodeExit | undefined {
    return this.exit;
  }

  /** The last output lines, oldest first, across restarts. */
  output(): OutputLine[] {
    return this.ring.toArray();
  }

  /**
   * Spawns the node and resolves once it logs "listening". Rejects (the process gone) if it
   * exits first or does not listen within the start timeout; the message carries its last
   * output lines (kvnode explains a usage or config error on stderr).
   */
  async start(): Promise<void> {
    if (isLive(this.current)) throw new Error(`node ${this.id} is already ${this.current}`);
    const spec = this.opts.spawnSpec();
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: this.opts.env,
      // stdin stays an open pipe we never write: its EOF tells the node the manager is gone.
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the manager's terminal reaches the manager only,
      // which then stops the nodes in order instead of having them all die at once.
      detached: true,
    });
    child.stdin?.on('error', () => { /* EPIPE once the node is gone: nothing to do */ });
    const recent: OutputLine[] = [];
    const life: Life = { child, closed: this.watch(child, recent), intent: undefined, forced: false, recent };
    this.life = life;
    this.exit = undefined;
    this.setState('starting');

    let timer: NodeJS.Timeout | undefined;
    const listening = new Promise<void>((ok) => { this.onListening = ok; });
    const timeout = new Promise<'timeout'>((ok) => { timer = setTimeout(() => ok('timeout'), this.opts.startTimeoutMs); });
    try {
      const first = await Promise.race([listening.then(() => 'listening' as const), life.closed, timeout]);
      if (first === 'listening') return;
      if (first === 'timeout') {
        await this.kill();
        throw new Error(`node ${this.id} did not log "listening" within ${this.opts.startTimeoutMs} ms${tail(life)}`);
      }
      throw new Error(`node ${this.id} exited (${describeExit(first)}) before listening${tail(life)}`);
    } finally {
      clearTimeout(timer);
      this.onListening = undefined;
    }
  }

  /** SIGKILL (kill -9) and wait until the process is gone. No-op when there is none. */
  async kill(): Promise<void> {
    const life = this.life;
    if (!life || !isLive(this.current)) return;
    life.intent = 'kill';
    this.signal(life, 'SIGKILL');
    await life.closed;
  }

  /** SIGSTOP: the node freezes mid-whatever; peers and clients see silence. */
  pause(): void {
    if (this.current === 'paused') return;
    if (this.current !== 'running' || !this.life) throw new Error(`node ${this.id} is ${this.current}: only a running node can be paused`);
    this.signal(this.life, 'SIGSTOP');
    this.setState('paused');
  }

  /** SIGCONT after `pause`. */
  resume(): void {
    if (this.current === 'running') return;
    if (this.current !== 'paused' || !this.life) throw new Error(`node ${this.id} is ${this.current}: only a paused node can be resumed`);
    this.signal(this.life, 'SIGCONT');
    this.setState('running');
  }

  /**
   * SIGTERM (kvnode exits 0 after a clean shutdown), then SIGKILL if it is still there after
   * `graceMs`. A paused node is continued so it can act on the SIGTERM. Concurrent calls share
   * one stop; no-op when there is no process.
   */
  stop(graceMs: number): Promise<void> {
    if (this.stopping) return this.stopping;
    const life = this.life;
    if (!life || !isLive(this.current)) return Promise.resolve();
    if (life.intent === 'kill') return life.closed.then(() => undefined);
    const wasPaused = this.current === 'paused';
    life.intent = 'stop';
    this.setState('stopping');
    this.signal(life, 'SIGTERM');
    // SIGTERM stays pending on a stopped process; SIGCONT lets it be delivered.
    if (wasPaused) this.signal(life, 'SIGCONT');
    const timer = setTimeout(() => {
      life.forced = true;
      this.signal(life, 'SIGKILL');
    }, graceMs);
    this.stopping = life.closed.then(() => {
      clearTimeout(timer);
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /**
   * SIGKILL now, without waiting: for a process 'exit' handler, which cannot wait. The OS
   * delivers SIGKILL to a SIGSTOPped process too.
   */
  killNow(): void {
    if (this.life && isLive(this.current)) {
      this.life.intent ??= 'kill';
      this.signal(this.life, 'SIGKILL');
    }
  }

  private signal(life: Life, sig: NodeJS.Signals): void {
    try {
      life.child.kill(sig);
    } catch {
      // Already gone: its 'close' reports the exit.
    }
  }

  private setState(s: NodeState): void {
    const previous = this.current;
    if (s === previous) return;
    this.current = s;
    this.opts.emit({ type: 'state', nodeId: this.id, state: s, previous, pid: this.life?.child.pid });
  }

  /** Reads the output and turns the end of the process into one exit report. */
  private watch(child: ChildProcess, recent: OutputLine[]): Promise<NodeExit> {
    const log: WriteStream | undefined = this.opts.logFile ? createWriteStream(this.opts.logFile, { flags: 'a' }) : undefined;
    log?.on('error', () => { /* a log file problem must not take the node down with it */ });
    const read = (stream: Readable | null, name: 'stdout' | 'stderr') => {
      if (!stream) return;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.onLine(name, line, log, recent));
    };
    read(child.stdout, 'stdout');
    read(child.stderr, 'stderr');
    return new Promise<NodeExit>((resolve) => {
      let done = false;
      const finish = (exit: NodeExit) => {
        if (done) return;
        done = true;
        log?.end();
        this.onExit(child, exit);
        resolve(exit);
      };
      // 'close' comes after 'exit' once stdout and stderr are drained: no line is lost.
      child.on('close', (code, signal) => finish({ code, signal }));
      child.on('error', (e) => {
        // A spawn failure (no pid) gets no 'close' we can count on.
        if (child.pid === undefined) {
          this.opts.emit({ type: 'spawn-error', nodeId: this.id, message: e.message });
          finish({ code: null, signal: null });
        }
      });
    });
  }

  private onLine(stream: 'stdout' | 'stderr', line: string, log: WriteStream | undefined, recent: OutputLine[]): void {
    const record = stream === 'stdout' ? parseLogRecord(line) : undefined;
    const out: OutputLine = { nodeId: this.id, stream, line, time: Date.now(), ...(record ? { record } : {}) };
    this.ring.push(out);
    recent.push(out);
    if (recent.length > RECENT_LINES) recent.shift();
    log?.write(line + '\n');
    this.opts.emit({ type: 'output', ...out });
    if (record?.event === 'listening' && this.current === 'starting') {
      this.setState('running');
      this.onListening?.();
    }
  }

  private onExit(child: ChildProcess, exit: NodeExit): void {
    const life = this.life;
    if (!life || life.child !== child) return;
    this.exit = exit;
    const expected = life.intent !== undefined;
    this.setState(life.intent === 'stop' ? 'stopped' : life.intent === 'kill' ? 'killed' : `exited(${describeExit(exit)})`);
    this.opts.emit({ type: 'exit', nodeId: this.id, pid: child.pid, exit, expected, forced: life.forced });
  }
}

function tail(life: Life): string {
  const lines = life.recent.map((l) => `  ${l.stream === 'stderr' ? '!' : ' '} ${l.line}`);
  return lines.length ? `; its last output:\n${lines.join('\n')}` : '';
}
