/**
 * Several kvnodes in this test process, on fresh loopback ports and a temporary directory.
 * Real TCP and real WALs, but no child processes: quick to start, and the tests can read each
 * node's log lines. (Tests that need kill -9 use src/cluster instead.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fetchStatus } from '../../src/client/admin.js';
import { writeTestConfig, type TestTiming } from '../../src/cluster/ports.js';
import type { ClusterConfig } from '../../src/node/config.js';
import { resolveClusterSecret } from '../../src/node/cluster-secret.js';
import { KvNode, type KvNodeOptions } from '../../src/node/kv-node.js';
import { createLogger } from '../../src/node/logger.js';
import type { StatusResponse } from '../../src/wire/messages.js';

export interface LogLine { readonly node: number; readonly level: string; readonly event: string; readonly [k: string]: unknown }

export class InProcessCluster {
  readonly nodes = new Map<number, KvNode>();
  readonly lines: LogLine[] = [];
  readonly fatal: unknown[] = [];
  /** Per node: options that replace the defaults at its next start (a secret of its own, a short auth timeout…). */
  readonly overrides = new Map<number, Partial<KvNodeOptions>>();

  private constructor(readonly dir: string, readonly file: string, readonly config: ClusterConfig) {}

  /** `options.snapshotEntries`: the config's log compaction threshold (absent: the default). */
  static async create(size: number, timing: Partial<TestTiming> = {}, fsync = false, options: { snapshotEntries?: number } = {}): Promise<InProcessCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'kvsh-inproc-'));
    const { file, config } = await writeTestConfig({ nodes: size, dir, timing, fsync, ...options });
    return new InProcessCluster(dir, file, config);
  }

  clientAddr(id: number): string {
    const n = this.config.nodes.find((x) => x.id === id)!;
    return `${n.host}:${n.clientPort}`;
  }

  peerAddr(id: number): { host: string; port: number } {
    const n = this.config.nodes.find((x) => x.id === id)!;
    return { host: n.host, port: n.peerPort };
  }

  async start(...ids: number[]): Promise<void> {
    const which = ids.length > 0 ? ids : this.config.nodes.map((n) => n.id);
    for (const id of which) {
      const node = new KvNode({
        config: this.config, configDir: dirname(this.file), id,
        // The config's secret (writeTestConfig writes a fresh one), not the test process's environment.
        secret: resolveClusterSecret(this.config, dirname(this.file), {})?.key ?? null,
        logger: createLogger({ node: id, format: 'json', out: (line) => this.lines.push(JSON.parse(line) as LogLine) }),
        onFatal: (err) => this.fatal.push(err),
        ...this.overrides.get(id),
      });
      this.nodes.set(id, node);
      await node.start();
    }
  }

  async stop(...ids: number[]): Promise<void> {
    const which = ids.length > 0 ? ids : [...this.nodes.keys()];
    await Promise.all(which.map(async (id) => {
      await this.nodes.get(id)?.stop();
      this.nodes.delete(id);
    }));
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Polls the running nodes until one leads in accept phase and every running node has
   * promised its ballot and replicates in it. (A majority is enough for a leader to serve, but
   * right after boot the first rounds can still change the leader — BLE's first ballots race —
   * and tests that send requests without retrying want the settled one.)
   */
  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const majority = Math.floor(this.config.nodes.length / 2) + 1;
    let last: (StatusResponse | string)[] = [];
    while (Date.now() < deadline) {
      last = await Promise.all([...this.nodes.keys()].map((id) =>
        fetchStatus(this.clientAddr(id), { timeoutMs: 500 }).catch((e: Error) => `node ${id}: ${e.message}`)));
      const statuses = last.filter((s): s is StatusResponse => typeof s !== 'string');
      const leader = statuses.find((s) => s.role === 'leader' && s.phase === 'accept');
      if (leader && statuses.length === this.nodes.size && statuses.length >= majority) {
        const b = leader.leaderBallot;
        const same = (x: StatusResponse['promised']): boolean => x.n === b.n && x.pid === b.pid && x.priority === b.priority;
        if (statuses.every((s) => same(s.electedBallot) && same(s.promised) && s.phase === 'accept')) return leader.nodeId;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  events(event: string, node?: number): LogLine[] {
    return this.lines.filter((l) => l.event === event && (node === undefined || l.node === node));
  }
}
