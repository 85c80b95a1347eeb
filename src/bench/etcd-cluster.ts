/**
 * A throw-away etcd cluster on loopback for the side-by-side benchmark (issue 7): N members
 * (default 3) of the installed `etcd` binary (Debian: package etcd-server, 3.4), each with its
 * own data directory in a temp dir, free client and peer ports, one `--initial-cluster`, etcd's
 * defaults otherwise (fsync on every commit, 100 ms heartbeat, 1 000 ms election timeout).
 * Logs go to one file per member, not to the terminal.
 *
 * Cleanup: `stop()` stops the members (SIGTERM, SIGKILL after a grace period) and deletes the
 * directory; `killAllNow()` is for a process 'exit' handler (stopAllOnExit in src/cluster
 * takes an EtcdCluster for Ctrl-C). etcd does not watch its stdin, so for the case where this
 * process dies without running any handler (kill -9), a small `sh` guard process holds a pipe
 * from us: when the pipe reaches EOF without having been told "stop", it SIGKILLs the members.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { Etcd3 } from 'etcd3';
import { stopAllOnExit } from '../cluster/exit-cleanup.js';
import { freePorts } from '../cluster/ports.js';
import { etcdClientOptions, findEtcdLeader } from './etcd-target.js';

export const ETCD_INSTALL_HINT = 'apt-get install etcd-server (Debian)';

export interface EtcdClusterOptions {
  /** Default 3. */
  readonly members?: number;
  /** Parent directory of the cluster's temp dir; default the OS temp directory. */
  readonly baseDir?: string;
  /** The etcd binary; default `etcd` found on PATH. */
  readonly binary?: string;
  /** How long the members may take to elect a leader and answer; default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL; default 5 000 ms. */
  readonly stopGraceMs?: number;
  /** Keep the directory (data and logs) after stop. Default false. */
  readonly keepDir?: boolean;
  /** More flags for every member. */
  readonly extraArgs?: readonly string[];
  /**
   * Stop the cluster on SIGINT / SIGTERM / SIGHUP (then exit) and SIGKILL it on process exit,
   * until `stop()`; default true. false: the caller registers its own (stopAllOnExit).
   */
  readonly exitHandlers?: boolean;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
}

export type EtcdStart =
  | { readonly kind: 'started'; readonly cluster: EtcdCluster }
  | { readonly kind: 'not-installed'; readonly message: string };

/** The absolute path of an executable `name` on PATH, or undefined. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The etcd binary to use, or the message to print when it is missing. */
export function locateEtcd(binary?: string): { readonly binary: string } | { readonly missing: string } {
  if (binary !== undefined) {
    try {
      accessSync(binary, constants.X_OK);
      return { binary: resolve(binary) };
    } catch {
      return { missing: `etcd not installed (${binary} is not executable): ${ETCD_INSTALL_HINT} — skipping` };
    }
  }
  const found = findOnPath('etcd');
  return found ? { binary: found } : { missing: `etcd not installed (no etcd on PATH): ${ETCD_INSTALL_HINT} — skipping` };
}

/** `etcd --version`'s first line, e.g. "etcd Version: 3.4.23". */
export async function etcdVersion(binary: string): Promise<string> {
  const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise<void>((ok, fail) => { child.once('error', fail); child.once('close', () => ok()); });
  const m = /etcd Version:\s*(\S+)/.exec(out);
  return m ? m[1]! : out.split('\n')[0]!.trim();
}

/**
 * Starts the cluster and resolves once every member answers and agrees on a leader, and a
 * linearizable read through the leader succeeds. Returns `not-installed` (and starts nothing)
 * when there is no etcd binary; rejects if a member exits or the cluster is not ready in time
 * (after stopping whatever it started).
 */
export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdStart> {
  const located = locateEtcd(opts.binary);
  if ('missing' in located) return { kind: 'not-installed', message: located.missing };
  const n = opts.members ?? 3;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`startEtcdCluster: members ${n} is not a whole number ≥ 1`);
  const base = opts.baseDir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'kvsh-etcd-'));
  const ports = await freePorts(2 * n);
  const members: EtcdMember[] = Array.from({ length: n }, (_, i) => ({
    name: `m${i + 1}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(dir, `m${i + 1}.etcd`),
    logFile: join(dir, `m${i + 1}.log`),
  }));
  const cluster = new EtcdCluster(located.binary, dir, members, opts);
  if (opts.exitHandlers ?? true) {
    cluster.onStopped(stopAllOnExit(cluster, {
      onSignal: (sig) => process.stderr.write(`${sig}: stopping etcd (${dir})…\n`),
    }));
  }
  try {
    cluster.spawnAll(opts.extraArgs ?? []);
    await cluster.waitReady(opts.startTimeoutMs ?? 30_000);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return { kind: 'started', cluster };
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export class EtcdCluster {
  readonly binary: string;
  /** The temp dir: member data directories and logs. */
  readonly dir: string;
  readonly members: readonly EtcdMember[];
  private readonly running = new Map<string, Running>();
  private guard: ChildProcess | undefined;
  private readonly stopGraceMs: number;
  private readonly keepDir: boolean;
  private stopping: Promise<void> | undefined;
  private readonly afterStop: (() => void)[] = [];

  constructor(binary: string, dir: string, members: readonly EtcdMember[], opts: EtcdClusterOptions) {
    this.binary = binary;
    this.dir = dir;
    this.members = members;
    this.stopGraceMs = opts.stopGraceMs ?? 5000;
    this.keepDir = opts.keepDir ?? false;
  }

  /** Client URLs of all members. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Process ids of the members that have not exited. */
  get pids(): number[] {
    return [...this.running.values()].filter((r) => !r.exit && r.child.pid !== undefined).map((r) => r.child.pid!);
  }

  /** @internal */
  spawnAll(extraArgs: readonly string[]): void {
    const initialCluster = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `kvsh-bench-${process.pid}-${Date.now().toString(36)}`;
    // ETCD_* variables would override flags or clash with them ("conflicting environment variable").
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    for (const m of this.members) {
      const args = [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--logger', 'zap',
        '--log-outputs', 'stderr',
        ...extraArgs,
      ];
      const log = openSync(m.logFile, 'a');
      let child: ChildProcess;
      try {
        child = spawn(this.binary, args, { stdio: ['ignore', log, log], env });
      } finally {
        closeSync(log);
      }
      const running: Running = {
        child,
        exit: undefined,
        exited: new Promise<void>((ok) => {
          child.once('exit', (code, signal) => { running.exit = { code, signal }; ok(); });
          child.once('error', (e) => { running.exit = { code: null, signal: null }; this.spawnError = e; ok(); });
        }),
      };
      this.running.set(m.name, running);
    }
    this.startGuard();
  }

  private spawnError: Error | undefined;

  /** See the file comment: SIGKILLs the members if our end of its stdin closes without "stop". */
  private startGuard(): void {
    const pids = this.pids;
    if (pids.length === 0) return;
    const script = 'read -r line; [ "$line" = stop ] && exit 0; kill -KILL "$@" 2>/dev/null; exit 0';
    const guard = spawn('/bin/sh', ['-c', script, 'kvsh-etcd-guard', ...pids.map(String)], { stdio: ['pipe', 'ignore', 'ignore'] });
    guard.on('error', () => { /* no /bin/sh: only the in-process handlers remain */ });
    guard.stdin?.on('error', () => { /* guard gone */ });
    guard.unref();
    (guard.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.guard = guard;
  }

  /** The last `lines` lines of member `name`'s log. */
  logTail(name: string, lines = 20): string {
    const m = this.members.find((x) => x.name === name);
    if (!m) return '';
    try {
      return readFileSync(m.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  private exitedMembers(): string[] {
    return this.members.flatMap((m) => {
      const r = this.running.get(m.name);
      if (!r?.exit) return [];
      const how = r.exit.signal ? `signal ${r.exit.signal}` : `code ${r.exit.code}`;
      return [`${m.name} exited (${how})${this.spawnError ? `: ${this.spawnError.message}` : ''}\n${this.logTail(m.name, 10)}`];
    });
  }

  /** @internal Resolves once every member reports the same leader and a linearizable read works. */
  async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = 'no answer yet';
    const clients = this.members.map((m) => new Etcd3(etcdClientOptions([m.clientUrl], 1000)));
    try {
      for (;;) {
        const exited = this.exitedMembers();
        if (exited.length) throw new Error(`etcd did not start:\n${exited.join('\n')}`);
        try {
          const deadline = Date.now() + 1000;
          const statuses = await Promise.all(clients.map((c) => c.maintenance.status({ deadline })));
          const leaders = new Set(statuses.map((s) => s.leader));
          const leader = statuses[0]!.leader;
          if (leaders.size === 1 && leader !== '0' && leader !== '') {
            const i = statuses.findIndex((s) => s.header.member_id === leader);
            if (i >= 0) {
              await clients[i]!.kv.range({ key: Buffer.from('kvsh-bench-ready'), serializable: false }, { deadline });
              return;
            }
            last = `leader ${leader} is not one of our members`;
          } else {
            last = `leaders reported: ${[...leaders].join(', ')}`;
          }
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() >= until) {
          throw new Error(`etcd: no healthy cluster with a leader within ${timeoutMs} ms (${last}); logs in ${this.dir}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      for (const c of clients) c.close();
    }
  }

  /** The client URL of the current leader (asks the members). */
  async leaderEndpoint(timeoutMs = 5000): Promise<string> {
    return findEtcdLeader(this.endpoints, timeoutMs);
  }

  /** SIGTERM to every member, SIGKILL after the grace period; deletes the directory unless keepDir. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** @internal Runs `f` once the cluster has stopped (e.g. to remove exit handlers). */
  onStopped(f: () => void): void {
    this.afterStop.push(f);
  }

  /** Stoppable (src/cluster/exit-cleanup.ts). */
  stopAll(): Promise<void> {
    return this.stop();
  }

  private async doStop(): Promise<void> {
    // One at a time: a leader told to stop first hands its leadership to the longest-connected
    // peer and waits for it; if that peer is stopping at the same moment, the hand-over hangs
    // until etcd's request timeout (7 s). In sequence every hand-over goes to a live member,
    // and the last member, with no connected peer, skips it.
    for (const r of this.running.values()) {
      if (r.exit) continue;
      r.child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!r.exit) r.child.kill('SIGKILL'); }, this.stopGraceMs);
      await r.exited;
      clearTimeout(timer);
    }
    this.releaseGuard();
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true });
    for (const f of this.afterStop.splice(0)) f();
  }

  private releaseGuard(): void {
    const g = this.guard;
    this.guard = undefined;
    if (!g?.stdin || g.stdin.destroyed) return;
    g.stdin.end('stop\n');
  }

  /** SIGKILL to every member without waiting: for a process 'exit' handler. Leaves the directory. */
  killAllNow(): void {
    for (const r of this.running.values()) {
      if (!r.exit) {
        try {
          r.child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.releaseGuard();
  }
}
