/**
 * Storage faults under a real kvnode process (cli/kvnode.ts via src/cluster), fsync on. A
 * one-node cluster, so the node's own disk holds the only copy of what it acknowledged: a
 * write that survives is there because that disk kept it.
 *
 *  1. A byte damaged in a record in the middle of a stopped node's wal.log: the node refuses to
 *     start — exit status 1, its output names the file and the record's offset — and leaves the
 *     file as it was; with the byte restored it starts and has every write.
 *  2. A partial record appended to a stopped node's wal.log (a torn tail): the node starts, logs
 *     that it cut the tail (file, offset, bytes dropped), and every acknowledged write is there.
 *  3. Disk full: the node's data directory on a tiny tmpfs. Writes until the disk is full: the
 *     node logs "disk full (ENOSPC)" naming its wal.log and exits with status 1, the write in
 *     flight is indeterminate, the log on the disk is intact; once the tmpfs is grown (space
 *     returns) the node restarts and every acknowledged write reads back. Needs root (mount);
 *     skipped, saying why, where it cannot mount. storage-enospc.test.ts covers the same
 *     without mounting, through an injected file-system layer.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createCluster, writeTestConfig, type LocalCluster, type NodeExit, type OutputLine } from '../src/cluster/index.js';
import { connect, type KvClient, type OpResult } from '../src/client/index.js';
import { RECORD_HEADER_BYTES, WAL_HEADER_BYTES } from '../src/storage/wal-format.js';
import { WAL_FILE, readWal } from '../src/storage/wal.js';

const ID = 1;

/** Where each record of a log image starts (the first is the checkpoint). */
function recordStarts(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let p = WAL_HEADER_BYTES; p + RECORD_HEADER_BYTES <= bytes.length; p += RECORD_HEADER_BYTES + view.getUint32(p, false)) {
    starts.push(p);
  }
  return starts;
}

/** Runs a command; null when it worked, else its first line of complaint. */
function tryRun(cmd: string, args: readonly string[]): string | null {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim() || err.message).split('\n')[0]!;
  }
}

describe('storage faults with a real kvnode process (fsync on)', function () {
  this.timeout(120_000);

  let dir: string;
  let cluster: LocalCluster | undefined;
  const clients: KvClient[] = [];
  /** Every output line of the node since the test began. */
  let lines: OutputLine[] = [];
  let exits: NodeExit[] = [];
  let exitWaiters: ((e: NodeExit) => void)[] = [];
  let lineWaiters: { readonly event: string; readonly ok: () => void }[] = [];
  const mounted: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-storage-faults-'));
    lines = [];
    exits = [];
    exitWaiters = [];
    lineWaiters = [];
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster?.stopAll();
    cluster = undefined;
    for (const m of mounted.splice(0)) {
      if (tryRun('umount', [m]) !== null) tryRun('umount', ['-l', m]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A one-node cluster (not started); `walPath` is its log. */
  async function oneNode(): Promise<{ c: LocalCluster; nodeDir: string; walPath: string }> {
    const { file } = await writeTestConfig({ nodes: 1, dir, fsync: true, snapshotEntries: 0 });
    const c = createCluster({ configFile: file, fsync: true });
    cluster = c;
    c.subscribe((e) => {
      if (e.type === 'output' && e.nodeId === ID) {
        lines.push(e);
        lineWaiters = lineWaiters.filter((w) => (e.record?.event === w.event ? (w.ok(), false) : true));
      }
      if (e.type === 'exit' && e.nodeId === ID) {
        exits.push(e.exit);
        for (const w of exitWaiters.splice(0)) w(e.exit);
      }
    });
    const nodeDir = c.nodeDataDir(ID);
    return { c, nodeDir, walPath: join(nodeDir, WAL_FILE) };
  }

  /** Resolves with the node's next exit. */
  function nextExit(): Promise<NodeExit> {
    return new Promise((ok) => exitWaiters.push(ok));
  }

  /** Resolves when the node next logs `event`. */
  function nextRecord(event: string): Promise<void> {
    return new Promise((ok) => lineWaiters.push({ event, ok }));
  }

  function client(c: LocalCluster): KvClient {
    const kv = connect([c.addr(ID)]);
    clients.push(kv);
    return kv;
  }

  /** Puts `n` keys, all acknowledged; returns key → value. */
  async function putAll(c: LocalCluster, n: number): Promise<Map<string, string>> {
    const kv = client(c);
    const written = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const r = await kv.put(`key-${i}`, `value-${i}`);
      expect(r, `put key-${i}`).to.deep.equal({ status: 'ok' });
      written.set(`key-${i}`, `value-${i}`);
    }
    return written;
  }

  async function expectAll(c: LocalCluster, written: ReadonlyMap<string, string>): Promise<void> {
    const kv = client(c);
    for (const [key, value] of written) expect(await kv.get(key), `get ${key}`).to.deep.equal({ status: 'ok', value });
  }

  /** The node's log records of `event` since line `from`. */
  const records = (event: string, from = 0) => lines.slice(from).flatMap((l) => (l.record?.event === event ? [l.record] : []));
  const stderr = (from = 0) => lines.slice(from).filter((l) => l.stream === 'stderr').map((l) => l.line);

  it('a damaged record in the middle of the log: the node refuses to start, exits 1 naming the file and the offset, and leaves the file alone', async () => {
    const { c, walPath } = await oneNode();
    await c.startAll();
    await c.waitForLeader();
    const written = await putAll(c, 20);
    await c.stop(ID);

    const image = readFileSync(walPath);
    const starts = recordStarts(image);
    expect(starts.length, 'records in the log').to.be.at.least(10);
    const middle = starts[Math.floor(starts.length / 2)]!;
    const damaged = Buffer.from(image);
    damaged[middle + RECORD_HEADER_BYTES + 2]! ^= 0x40; // a payload byte: the checksum no longer matches
    writeFileSync(walPath, damaged);

    const from = lines.length;
    const exited = nextExit();
    const recovered = nextRecord('recovered').then(() => 'it recovered from the damaged log' as const);
    // A joined node recovers its log before it listens: the start itself fails, and the node
    // never said it was listening.
    const started = await c.start(ID).then(() => 'started' as const, (e: Error) => e.message);
    expect(started, 'the start fails').to.not.equal('started');
    const exit = await Promise.race([exited, recovered]);
    expect(lines.slice(from).some((l) => l.record?.event === 'listening'), 'no "listening" line').to.equal(false);
    expect(exit, 'exit status').to.deep.equal({ code: 1, signal: null });
    expect(c.state(ID)).to.equal('exited(1)');
    const refusal = stderr(from).find((l) => l.includes('cannot start'));
    expect(refusal, `stderr: ${stderr(from).join('\n')}`).to.be.a('string');
    expect(refusal).to.include(`kvnode ${ID}: cannot start: ${walPath}: byte ${middle}: batch record `);
    expect(refusal).to.match(/is damaged \(checksum mismatch .*\), yet a valid record follows at byte \d+: damage in the middle of the log/);
    expect(refusal).to.include('Refusing to start');
    expect(readFileSync(walPath).equals(damaged), 'the log is left as it was').to.equal(true);

    // The refusal was about that byte only: restored, the node starts with every write.
    writeFileSync(walPath, image);
    await c.start(ID);
    await c.waitForLeader();
    await expectAll(c, written);
  });

  it('a torn tail: the node cuts it, logs the file, offset and bytes dropped, and every acknowledged write is there', async () => {
    const { c, walPath } = await oneNode();
    await c.startAll();
    await c.waitForLeader();
    const written = await putAll(c, 20);
    await c.stop(ID);

    const image = readFileSync(walPath);
    const last = recordStarts(image).at(-1)!;
    // The first 13 bytes of a copy of the last record: a whole record header, part of a payload.
    const partial = image.subarray(last, last + 13);
    appendFileSync(walPath, partial);

    const from = lines.length;
    const exitsBefore = exits.length;
    await c.start(ID);
    await c.waitForLeader();
    const cut = records('wal-torn-tail-cut', from);
    expect(cut, 'wal-torn-tail-cut log lines').to.have.length(1);
    expect(cut[0]).to.deep.include({ level: 'warn', file: walPath, offset: image.length, droppedBytes: 13 });
    expect(cut[0]!.problem).to.match(/incomplete record: \d+ payload bytes announced, 5 present/);
    const recovered = records('recovered', from);
    expect(recovered[0], 'recovered log line').to.deep.include({ bytes: image.length });
    await expectAll(c, written);
    expect(exits.length, 'no exit after the restart').to.equal(exitsBefore);
  });

  it('disk full (a tiny tmpfs): the node logs "disk full (ENOSPC)" naming its log and exits 1; once space returns it restarts with every acknowledged write', async function () {
    const { c, nodeDir, walPath } = await oneNode();
    mkdirSync(nodeDir, { recursive: true });
    const cannot = process.platform !== 'linux' ? `${process.platform} has no tmpfs mount`
      : process.getuid?.() !== 0 ? 'mounting a tmpfs needs root'
      : tryRun('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', nodeDir]);
    if (cannot !== null) {
      console.log(`      skipped: cannot mount a tmpfs for the disk-full test (${cannot})`);
      this.skip();
    }
    mounted.push(nodeDir);

    await c.startAll();
    await c.waitForLeader();
    const kv = client(c);
    const exited = nextExit();
    const acked = new Map<string, string>();
    const big = (i: number) => `${i}:${'x'.repeat(16 * 1024)}`;
    let last: { key: string; value: string; result: OpResult } | undefined;
    // 512 KiB holds about 30 of these; the bound only stops a test whose disk never fills.
    for (let i = 0; i < 200; i++) {
      const key = `big-${i}`;
      const result = await kv.put(key, big(i));
      if (result.status !== 'ok') {
        last = { key, value: big(i), result };
        break;
      }
      acked.set(key, big(i));
    }
    expect(last, 'a put that did not succeed (the disk filled)').to.not.equal(undefined);
    expect(last!.result.status, JSON.stringify(last!.result).slice(0, 300)).to.equal('indeterminate');
    expect(acked.size, 'puts acknowledged before the disk filled').to.be.at.least(5);

    const exit = await exited;
    expect(exit, 'exit status').to.deep.equal({ code: 1, signal: null });
    const failed = records('wal-failed');
    expect(failed, 'wal-failed log lines').to.have.length(1);
    expect(failed[0]).to.deep.include({ level: 'error', file: walPath, diskFull: 'ENOSPC' });
    expect(failed[0]!.error).to.include(`${walPath}: the write-ahead log failed: disk full (ENOSPC) while appending`);
    expect(failed[0]!.error).to.match(/Free space on the disk, then restart the node/);
    expect(stderr().some((l) => l.startsWith(`kvnode ${ID}: ${walPath}: the write-ahead log failed: disk full (ENOSPC)`)),
      `stderr: ${stderr().join('\n')}`).to.equal(true);

    // Nothing is corrupted: the log reads back, every acknowledged put in it.
    const onDisk = await readWal(nodeDir);
    expect(onDisk.tornTail, 'the failed append was cut').to.equal(null);
    const logged = new Set(onDisk.state.log.flatMap((e) => (e.kind === 'command' && e.command.op.kind === 'put' ? [e.command.op.key] : [])));
    for (const key of acked.keys()) expect(logged.has(key), `${key} in the log`).to.equal(true);

    // Space returns.
    const grown = tryRun('mount', ['-o', 'remount,size=16m', nodeDir]);
    expect(grown, 'remount with more space').to.equal(null);
    const from = lines.length;
    await c.start(ID);
    await c.waitForLeader();
    expect(records('recovered', from), 'recovered log line').to.have.length(1);
    await expectAll(c, acked);
    const maybe = await client(c).get(last!.key);
    expect(maybe.status).to.equal('ok');
    if (maybe.status === 'ok') expect([null, last!.value], `${last!.key} (indeterminate)`).to.deep.include(maybe.value);
    expect(await client(c).put('after', 'space returned')).to.deep.equal({ status: 'ok' });
    expect(exits, 'one exit only: the disk-full one').to.have.length(1);
  });
});
