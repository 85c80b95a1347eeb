/**
 * The live fuzz campaign: a local cluster (fsync on) takes hostile frames on its client and
 * peer ports (frames.ts) from several connections at once, and connections opened and dropped,
 * while a recorded client workload runs on keys of its own. Afterwards: every node still runs
 * (no unexpected exit, each answers status), the workload saw no indeterminate or rejected
 * operation, no node's resident memory grew past the bound, and the history checks
 * linearizable. One seed decides every frame and connection (the workload has its own seed,
 * derived from it); the interleaving with the workload is up to the machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddr } from '../client/addr.js';
import { connect } from '../client/client.js';
import { runWorkload, type WorkloadReport } from '../client/workload.js';
import { startCluster, writeTestConfig, type LocalCluster } from '../cluster/index.js';
import { readRss } from '../bench/rss.js';
import { checkHistorySync, type Verdict } from '../history/check-history.js';
import { parseHistory } from '../history/reader.js';
import { HistoryWriter } from '../history/writer.js';
import { decodeMessage } from '../wire/codec.js';
import { FRAME_KINDS, FrameGenerator, loadCorpus, type FrameKind, type Port } from './frames.js';

export interface CampaignOptions {
  /** Frames to send in all; with `durationMs`, whichever ends first. */
  readonly frames: number;
  readonly durationMs?: number;
  readonly seed: number;
  /** Fuzzing connections open at once; default 8. */
  readonly concurrency?: number;
  /** Virtual clients of the workload; default 4. */
  readonly workloadClients?: number;
  /** Largest allowed growth of a node's VmRSS over its value before fuzzing; default 150 MB. */
  readonly rssGrowthLimitKb?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export interface NodeRss {
  readonly nodeId: number;
  readonly beforeKb: number;
  readonly maxKb: number;
  readonly afterKb: number;
}

export interface CampaignResult {
  readonly seed: number;
  readonly durationMs: number;
  readonly framesSent: number;
  readonly framesByKind: Record<FrameKind, number>;
  readonly connections: { readonly client: number; readonly peer: number; readonly churned: number };
  /**
   * How the node ended each fuzzing connection, by port: `client: malformed` — the error code
   * it sent; `closed` — closed without an error frame (after a truncated frame, or after our
   * end when every frame was valid); `open` — still open after 5 s, so we dropped it.
   */
  readonly closedWith: Record<string, number>;
  /** Node exits nobody asked for. */
  readonly nodeExits: number;
  /** Nodes that answered a status request at the end. */
  readonly nodesAnswering: number;
  readonly nodes: number;
  readonly rss: readonly NodeRss[];
  readonly rssGrowthLimitKb: number;
  readonly workload: WorkloadReport;
  readonly verdict: Verdict;
  /** The history, written to a file when it did not check linearizable. */
  readonly historyFile?: string;
  /** Empty when everything held. */
  readonly problems: readonly string[];
}

const CLIENT_FRAMES_PER_CONNECTION = 40;
const PEER_FRAMES_PER_CONNECTION = 3;
const CONNECTION_TIMEOUT_MS = 5000;

/** Sends `bytes` on a fresh connection, half-closes, and reports how the node ended it. */
function fuzzConnection(host: string, port: number, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (outcome: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome ?? firstErrorCode(Buffer.concat(chunks)) ?? 'closed');
    };
    const timer = setTimeout(() => finish('open'), CONNECTION_TIMEOUT_MS);
    socket.on('data', (d: Buffer) => { chunks.push(d); });
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('connect', () => { socket.end(bytes); });
  });
}

/** The code of the first error frame in what the node sent, if any. */
function firstErrorCode(b: Buffer): string | null {
  let at = 0;
  while (at < b.length) {
    let len = 0;
    let shift = 0;
    let i = at;
    for (; i < b.length && i - at < 8; i++) {
      len += (b[i]! & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b[i]! & 0x80) === 0) break;
    }
    const start = i + 1;
    if (start + len > b.length) return null;
    try {
      const m = decodeMessage(b.subarray(start, start + len));
      if (m.kind === 'error') return m.code;
    } catch {
      return 'unreadable-answer';
    }
    at = start + len;
  }
  return null;
}

/** Opens a connection and drops it at once (before or right after it is accepted). */
function churn(host: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('connect', () => s.destroy());
  });
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? (() => {});
  const concurrency = options.concurrency ?? 8;
  const rssGrowthLimitKb = options.rssGrowthLimitKb ?? 150 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'kvsh-fuzz-'));
  const gen = new FrameGenerator(options.seed, loadCorpus());
  const rng = gen.random;
  const framesByKind = Object.fromEntries(FRAME_KINDS.map((k) => [k, 0])) as Record<FrameKind, number>;
  const closedWith: Record<string, number> = {};
  const connections = { client: 0, peer: 0, churned: 0 };
  let framesSent = 0;
  let nodeExits = 0;
  const problems: string[] = [];
  let cluster: LocalCluster | undefined;
  try {
    const { file, config } = await writeTestConfig({ nodes: 3, dir, fsync: true });
    cluster = await startCluster({ configFile: file });
    const c = cluster;
    const unsubscribe = c.subscribe((e) => {
      if (e.type === 'exit' && !e.expected) {
        nodeExits++;
        problems.push(`node ${e.nodeId} exited (${JSON.stringify(e.exit)})`);
      }
    });
    await c.waitForLeader({ timeoutMs: 20_000 });
    log(`cluster of 3 up (fsync on), leader elected; fuzzing with seed ${options.seed}`);

    // The workload: its own keys, recorded in memory.
    const lines: string[] = [];
    const writer = new HistoryWriter((l) => { lines.push(l); });
    const client = connect(c.nodeIds.map((id) => formatAddr(c.addr(id))));
    const stop = new AbortController();
    const workload = runWorkload(client, writer, {
      clients: options.workloadClients ?? 4, keys: 5, keyPrefix: 'wl-', signal: stop.signal, seed: options.seed ^ 0x5eed,
    });

    const rss = new Map<number, { beforeKb: number; maxKb: number; afterKb: number }>();
    const sample = (): void => {
      for (const id of c.nodeIds) {
        const pid = c.pid(id);
        const r = pid === undefined ? undefined : readRss(pid);
        if (!r) continue;
        const x = rss.get(id);
        if (!x) rss.set(id, { beforeKb: r.rssKb, maxKb: r.rssKb, afterKb: r.rssKb });
        else { x.maxKb = Math.max(x.maxKb, r.rssKb); x.afterKb = r.rssKb; }
      }
    };
    sample();
    const sampler = setInterval(sample, 250);

    const started = performance.now();
    const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
    const more = (): boolean => framesSent < options.frames && performance.now() < deadline;
    let lastReport = 0;
    const worker = async (): Promise<void> => {
      while (more()) {
        const node = rng.pick(config.nodes);
        const port: Port = rng.chance(0.75) ? 'client' : 'peer';
        const portNo = port === 'client' ? node.clientPort : node.peerPort;
        if (rng.chance(0.05)) {
          connections.churned++;
          await churn(node.host, portNo);
          continue;
        }
        const n = Math.min(rng.int(1, port === 'client' ? CLIENT_FRAMES_PER_CONNECTION : PEER_FRAMES_PER_CONNECTION), options.frames - framesSent);
        const parts: Uint8Array[] = [];
        for (let i = 0; i < n; i++) {
          // On the client port most frames are valid, so the bad one lands behind some that
          // were read and answered; a connection ends at its first bad frame.
          const kind: FrameKind = port === 'client' && rng.chance(0.6) ? 'valid' : rng.pick(FRAME_KINDS);
          const f = gen.frame(kind, port);
          framesByKind[kind]++;
          parts.push(f.bytes);
        }
        framesSent += n;
        connections[port]++;
        const outcome = await fuzzConnection(node.host, portNo, Buffer.concat(parts));
        closedWith[`${port}: ${outcome}`] = (closedWith[`${port}: ${outcome}`] ?? 0) + 1;
        if (framesSent - lastReport >= 10_000) {
          lastReport = framesSent;
          log(`${framesSent} frames sent, ${connections.client + connections.peer} connections`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    const durationMs = performance.now() - started;
    stop.abort();
    const report = await workload;
    client.close();
    clearInterval(sampler);
    sample();

    let nodesAnswering = 0;
    for (const id of c.nodeIds) {
      try {
        await c.status(id, { timeoutMs: 5000 });
        nodesAnswering++;
      } catch (e) {
        problems.push(`node ${id} does not answer status: ${(e as Error).message}`);
      }
    }
    unsubscribe();

    const check = checkHistorySync(parseHistory(lines.join('\n')));
    let historyFile: string | undefined;
    if (check.verdict !== 'LINEARIZABLE') {
      historyFile = join(tmpdir(), `kvsh-fuzz-${options.seed}.jsonl`);
      writeFileSync(historyFile, lines.join('\n') + '\n');
      problems.push(`the workload's history is ${check.verdict}: npm run kvcheck -- ${historyFile}`);
    }
    if (report.info > 0) problems.push(`${report.info} workload operations were indeterminate`);
    if (report.rejected > 0) problems.push(`${report.rejected} workload operations were rejected`);
    if (report.ok === 0) problems.push('the workload completed no operation');
    const rssList = [...rss].map(([nodeId, x]) => ({ nodeId, ...x }));
    for (const r of rssList) {
      if (r.maxKb - r.beforeKb > rssGrowthLimitKb) problems.push(`node ${r.nodeId}'s RSS grew by ${r.maxKb - r.beforeKb} kB (limit ${rssGrowthLimitKb} kB)`);
    }
    if (nodeExits === 0 && nodesAnswering < c.nodeIds.length) problems.push('not every node answered at the end');
    return {
      seed: options.seed, durationMs, framesSent, framesByKind, connections, closedWith, nodeExits, nodesAnswering,
      nodes: c.nodeIds.length, rss: rssList, rssGrowthLimitKb, workload: report, verdict: check.verdict,
      ...(historyFile ? { historyFile } : {}), problems,
    };
  } finally {
    await cluster?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The summary table `npm run fuzz` prints. */
export function formatCampaign(r: CampaignResult): string {
  const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
  const out: string[] = [];
  out.push(`fuzz campaign, seed ${r.seed} (replay: npm run fuzz -- --seed ${r.seed} --frames ${r.framesSent})`);
  out.push(`${r.framesSent} frames in ${(r.durationMs / 1000).toFixed(1)} s over ${r.connections.client} client-port and ${r.connections.peer} peer-port connections; ${r.connections.churned} connections opened and dropped`);
  out.push('');
  out.push('  frame kind      sent');
  for (const [k, n] of Object.entries(r.framesByKind)) out.push(`  ${k.padEnd(14)} ${String(n).padStart(6)}`);
  out.push('');
  out.push('  connection ended with          count');
  for (const [k, n] of Object.entries(r.closedWith).sort((a, b) => b[1] - a[1])) out.push(`  ${k.padEnd(29)} ${String(n).padStart(6)}`);
  out.push('');
  out.push(`  node  RSS before  max        after      (growth limit ${mb(r.rssGrowthLimitKb)})`);
  for (const x of r.rss) out.push(`  ${String(x.nodeId).padEnd(5)} ${mb(x.beforeKb).padEnd(11)} ${mb(x.maxKb).padEnd(10)} ${mb(x.afterKb)}`);
  out.push('');
  out.push(`node exits: ${r.nodeExits}; nodes answering status: ${r.nodesAnswering}/${r.nodes}`);
  const w = r.workload;
  out.push(`workload: ${w.invoked} ops (ok ${w.ok}, fail ${w.fail}, indeterminate ${w.info}, rejected ${w.rejected}), seed ${w.seed}`);
  out.push(`history: ${r.verdict}${r.historyFile ? ` (${r.historyFile})` : ''}`);
  out.push(r.problems.length === 0 ? 'HELD' : `FAILED:\n  ${r.problems.join('\n  ')}`);
  return out.join('\n');
}
