/**
 * A cluster of kvnode processes on this machine, managed as child processes: start it, find its
 * leader, inject process faults (kill -9, SIGSTOP, SIGCONT, restart) and stop it cleanly.
 * The library registers no process-wide handlers; see stopAllOnExit (exit-cleanup.ts).
 */
import { fetchStatus, type NodeAddr, type StatusResponse } from '../client/admin.js';
import { configHasSecret, generateClusterSecret, SECRET_ENV } from '../node/cluster-secret.js';
import { ConfigError, type ClusterConfig } from '../node/config.js';
import type { DirLock } from '../storage/dir-lock.js';
import {
  lockDataDir, nodeDataDir, nodeLogFile, removeNodeData, resolveClusterFiles, writeEffectiveConfig, type ClusterFiles, type ClusterSource,
} from './cluster-files.js';
import { ClusterRelays } from './cluster-relays.js';
import { isLive, type ClusterEvent, type ClusterListener, type NodeExit, type NodeState, type OutputLine } from './events.js';
import { pollForLeader, type ElectedLeader, type NodePoll, type WaitForLeaderOptions } from './leader.js';
import { kvnodeCommand, type NodeCommand } from './node-command.js';
import { NetworkFaults } from './network-faults.js';
import { NodeProcess } from './node-process.js';

export interface StartClusterOptions extends ClusterSource {
  /** Passed to every node as --fsync on|off; undefined: the config's `fsync`. */
  readonly fsync?: boolean;
  /** Nodes to start now (default: all); the others stay 'stopped' until `start(id)`. */
  readonly nodes?: readonly number[];
  /**
   * Added to the manager's environment for the nodes. Without KVSH_CLUSTER_SECRET there and
   * without a secret in the config, the nodes get a fresh random secret (cluster-secret.ts).
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives every event (also: `subscribe`). */
  readonly onEvent?: ClusterListener;
  /** Default: cli/kvnode.ts of this repository. */
  readonly nodeCommand?: NodeCommand;
  /** Also append each node's output to `<dataDir>/node-<id>.log`. */
  readonly logFiles?: boolean;
  /** Delete the data (node-<id> directories, log files) of every node in the config before starting. */
  readonly fresh?: boolean;
  /** How long a node may take to log "listening"; default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL; default 5 000 ms. */
  readonly stopGraceMs?: number;
  /** Output lines kept per node; default 200. */
  readonly outputLines?: number;
  /**
   * Put a relay on every directed peer link (the nodes get `dialVia` routes in the effective
   * config), so `cluster.network` can cut, heal or delay any link. Default false.
   */
  readonly relays?: boolean;
}

export interface NodeInfo {
  readonly id: number;
  readonly state: NodeState;
  readonly pid: number | undefined;
  /** The client port. */
  readonly addr: NodeAddr;
  readonly lastExit: NodeExit | undefined;
}

/**
 * The cluster's bookkeeping without any process yet: resolves the files, takes the data
 * directory (`<dataDir>/LOCK`: one manager per directory), writes the effective config, deletes
 * the data with `fresh`. Register exit handlers on it (stopAllOnExit) before `startAll`, so that
 * a Ctrl-C during startup stops what was started. Throws DirLockHeldError, having written
 * nothing, when another manager holds the directory.
 */
export function createCluster(opts: StartClusterOptions): LocalCluster {
  const files = resolveClusterFiles(opts, { effective: opts.relays === true });
  const all = files.config.nodes.map((n) => n.id);
  if (opts.relays) {
    // The relays own the routes: a route of the config's own would be silently replaced.
    const routed = files.config.nodes.filter((n) => n.dialVia && Object.keys(n.dialVia).length > 0).map((n) => n.id);
    if (routed.length) throw new ConfigError('relays', [`nodes ${routed.join(', ')} already have dialVia routes; relays set their own`]);
  }
  const unknown = (opts.nodes ?? []).filter((id) => !all.includes(id));
  if (unknown.length) {
    throw new ConfigError('nodes', unknown.map((id) => `node ${id} is not in the config (ids: ${all.join(', ')})`));
  }
  // Nothing is written into the data directory before this manager holds it: a second manager
  // must not replace the running one's effective config (its relay routes) or delete node data.
  const lock = lockDataDir(files.dataDir);
  try {
    if (files.effective) writeEffectiveConfig(files.dataDir, files.config);
    if (opts.fresh) removeNodeData(files.dataDir, all);
  } catch (e) {
    lock.release();
    throw e;
  }
  return new LocalCluster(files, opts, lock);
}

/** createCluster, then startAll: resolves once every node listens. Does not wait for a leader. */
export async function startCluster(opts: StartClusterOptions): Promise<LocalCluster> {
  const cluster = createCluster(opts);
  await cluster.startAll(opts.nodes);
  return cluster;
}

export class LocalCluster {
  readonly config: ClusterConfig;
  /** The file the nodes read (absolute). */
  readonly configFile: string;
  /** Absolute. */
  readonly dataDir: string;
  private readonly nodes = new Map<number, NodeProcess>();
  private readonly listeners = new Set<ClusterListener>();
  private readonly stopGraceMs: number;
  /**
   * The fault state of the relayed peer links (undefined without `relays`). It outlives the
   * relays themselves, which are started with the first node and closed by stopAll.
   */
  readonly network: NetworkFaults | undefined;
  /** The relays, once started (or starting); null when not running. */
  private relays: Promise<ClusterRelays> | null = null;
  /** Nodes started with `--replace` (setReplace). */
  private readonly replacing = new Set<number>();
  private readonly effective: boolean;
  /** This manager's hold on the data directory, from createCluster until stopAll; taken again by a later start. */
  private dirLock: DirLock | null;

  /** `lock`: the data directory, already taken (createCluster); without it the first start takes it. */
  constructor(files: ClusterFiles, opts: Omit<StartClusterOptions, keyof ClusterSource> = {}, lock: DirLock | null = null) {
    this.config = files.config;
    this.configFile = files.configFile;
    this.dataDir = files.dataDir;
    this.effective = files.effective;
    this.dirLock = lock;
    this.stopGraceMs = opts.stopGraceMs ?? 5000;
    this.network = opts.relays ? new NetworkFaults(files.config.nodes.map((n) => n.id)) : undefined;
    if (opts.onEvent) this.listeners.add(opts.onEvent);
    const command = opts.nodeCommand ?? kvnodeCommand;
    const env = { ...process.env, ...opts.env };
    // Peers authenticate (kvnode refuses to start without a secret): a config without one, as
    // the repository's cluster.config.json, gets a fresh random secret for this manager's
    // nodes, through their environment only — never written to a file.
    if (env[SECRET_ENV] === undefined && !configHasSecret(files.config)) env[SECRET_ENV] = generateClusterSecret();
    for (const n of files.config.nodes) {
      this.nodes.set(n.id, new NodeProcess({
        id: n.id,
        spawnSpec: () => command({ id: n.id, configFile: this.configFile, fsync: opts.fsync, replace: this.replacing.has(n.id) }),
        env,
        emit: (e) => this.emit(e),
        ringLines: opts.outputLines ?? 200,
        ...(opts.logFiles ? { logFile: nodeLogFile(this.dataDir, n.id) } : {}),
        startTimeoutMs: opts.startTimeoutMs ?? 30_000,
      }));
    }
  }

  /** Every node of the config, started or not. */
  get nodeIds(): number[] {
    return [...this.nodes.keys()];
  }

  /** Where node `id`'s client port listens. */
  addr(id: number): NodeAddr {
    const n = this.config.nodes.find((x) => x.id === id);
    if (!n) throw this.unknown(id);
    return { host: n.host, port: n.clientPort };
  }

  nodeDataDir(id: number): string {
    this.node(id);
    return nodeDataDir(this.dataDir, id);
  }

  state(id: number): NodeState {
    return this.node(id).state;
  }

  pid(id: number): number | undefined {
    return this.node(id).pid;
  }

  info(id: number): NodeInfo {
    const n = this.node(id);
    return { id, state: n.state, pid: n.pid, addr: this.addr(id), lastExit: n.lastExit };
  }

  /** Node `id`'s last output lines (across restarts), oldest first. */
  output(id: number): OutputLine[] {
    return this.node(id).output();
  }

  /** Adds a listener; returns its remover. */
  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  status(id: number, opts: { timeoutMs?: number } = {}): Promise<StatusResponse> {
    return fetchStatus(this.addr(id), opts);
  }

  /** Asks every running node for its status at once; the others are reported as skipped. */
  async pollStatuses(timeoutMs = 1000): Promise<Map<number, NodePoll>> {
    const entries = await Promise.all(this.nodeIds.map(async (id): Promise<[number, NodePoll]> => {
      const state = this.state(id);
      if (state !== 'running') return [id, { kind: 'skipped', reason: state }];
      try {
        return [id, { kind: 'status', status: await this.status(id, { timeoutMs }) }];
      } catch (e) {
        return [id, { kind: 'error', message: (e as Error).message }];
      }
    }));
    return new Map(entries);
  }

  /** Resolves with the elected leader (see leader.ts for what counts). */
  waitForLeader(opts: WaitForLeaderOptions = {}): Promise<ElectedLeader> {
    return pollForLeader((t) => this.pollStatuses(t), this.config.nodes.length, opts);
  }

  /**
   * Starts the given nodes (default: all) that have no process, at once, and resolves when every
   * one listens. If any fails, stops every node and rejects with all the failures.
   */
  async startAll(ids: readonly number[] = this.nodeIds): Promise<void> {
    const toStart = ids.filter((id) => !isLive(this.node(id).state));
    // allSettled: every start has finished (listening or gone) before we clean up or return.
    const results = await Promise.allSettled(toStart.map((id) => this.start(id)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failures.length) {
      await this.stopAll();
      throw new Error(`the cluster did not start:\n${failures.join('\n')}`);
    }
  }

  /** Spawns node `id` and resolves once it listens. Throws if it already has a process. */
  start(id: number): Promise<void> {
    const n = this.node(id);
    try {
      this.own();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (!this.network) return n.start();
    return this.ensureRelays().then(() => n.start());
  }

  /**
   * From the next start on, node `id` starts with `--replace` (or no longer does): its data
   * directory, lost, is replaced by the empty one it starts with (README, "Replacing a node").
   */
  setReplace(id: number, on: boolean): void {
    this.node(id);
    if (on) this.replacing.add(id);
    else this.replacing.delete(id);
  }

  /** kill -9, and wait until it is gone. */
  kill(id: number): Promise<void> {
    return this.node(id).kill();
  }

  /** SIGSTOP. */
  pause(id: number): void {
    this.node(id).pause();
  }

  /** SIGCONT. */
  resume(id: number): void {
    this.node(id).resume();
  }

  /** kill -9 if it has a process, then start it and wait until it listens. */
  async restart(id: number): Promise<void> {
    const n = this.node(id);
    await n.kill();
    this.own();
    if (this.network) await this.ensureRelays();
    await n.start();
  }

  /** SIGTERM, wait for the exit, SIGKILL after the grace period. */
  stop(id: number): Promise<void> {
    return this.node(id).stop(this.stopGraceMs);
  }

  /**
   * Stops every node that has a process (paused ones are continued first), then the relays, and
   * lets go of the data directory. Idempotent.
   */
  async stopAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop(this.stopGraceMs)));
    await this.closeRelays();
    this.dirLock?.release();
    this.dirLock = null;
  }

  /** SIGKILL to every node without waiting: for a process 'exit' handler. Closes the relays too. */
  killAllNow(): void {
    for (const n of this.nodes.values()) n.killNow();
    void this.closeRelays();
  }

  /**
   * Holds the data directory before a node starts: taken again after stopAll let it go, and the
   * effective config rewritten — another manager may have written its own meanwhile. Throws
   * DirLockHeldError when another manager has it now.
   */
  private own(): void {
    if (this.dirLock?.held) return;
    const lock = lockDataDir(this.dataDir);
    try {
      if (this.effective) writeEffectiveConfig(this.dataDir, this.config);
    } catch (e) {
      lock.release();
      throw e;
    }
    this.dirLock = lock;
  }

  /**
   * Starts the relays before the first node, and writes the routes to them into the effective
   * config the nodes read. Relays closed by stopAll are started again on new ports: the nodes
   * read their routes at every start, so a restarted cluster simply uses the new ones.
   */
  private ensureRelays(): Promise<unknown> {
    const faults = this.network;
    if (!faults) return Promise.resolve();
    if (this.relays) return this.relays;
    const starting = (async () => {
      const relays = await ClusterRelays.start(this.config, faults);
      try {
        writeEffectiveConfig(this.dataDir, relays.routedConfig(this.config));
      } catch (e) {
        await relays.close();
        throw e;
      }
      return relays;
    })();
    // A failed start is not kept: the next node start tries again.
    starting.catch(() => { if (this.relays === starting) this.relays = null; });
    this.relays = starting;
    return starting;
  }

  private async closeRelays(): Promise<void> {
    const relays = this.relays;
    this.relays = null;
    if (!relays) return;
    try {
      await (await relays).close();
    } catch {
      // They never started: nothing to close.
    }
  }

  private node(id: number): NodeProcess {
    const n = this.nodes.get(id);
    if (!n) throw this.unknown(id);
    return n;
  }

  private unknown(id: number): Error {
    return new Error(`node ${id} is not in the cluster (ids: ${this.nodeIds.join(', ')})`);
  }

  private emit(e: ClusterEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        // A listener's bug must not break the manager's bookkeeping; it still surfaces.
        queueMicrotask(() => { throw err; });
      }
    }
  }
}
