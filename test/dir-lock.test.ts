/**
 * The data-directory lock (src/storage/dir-lock.ts): held → an error naming the holder's pid;
 * a dead, reused, zombie or previous-boot holder → taken over; release removes only our own
 * lock, also on process exit; kill -9 leaves a lock the next starter takes at once; starters
 * racing on one stale lock → exactly one wins. Real processes for holders
 * (test/support/dir-lock-child.ts); every one is stopped by the test that starts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { acquireDirLock, DirLockHeldError, LOCK_FILE, lockHolder, type LockRecord } from '../src/storage/dir-lock.js';
import { projectRoot } from './support/paths.js';

const CHILD = resolve(projectRoot, 'test', 'support', 'dir-lock-child.ts');

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** A lock record as another process would write it. */
function record(over: Partial<LockRecord>): LockRecord {
  return {
    pid: process.pid, by: 'test', host: hostname(), boot: bootId(), start: null,
    token: Math.random().toString(16).slice(2).padEnd(12, '0'), since: new Date().toISOString(), ...over,
  };
}

function writeRecord(file: string, r: LockRecord): void {
  writeFileSync(file, JSON.stringify(r) + '\n');
}

function lockOf(dir: string): LockRecord {
  return JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockRecord;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '']);
  await new Promise((ok) => p.once('exit', ok));
  return p.pid!;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((ok) => setTimeout(ok, 20));
}

interface Child {
  readonly proc: ChildProcess;
  /** Its JSON line. */
  readonly said: Promise<{ won: boolean; pid?: number; holder?: number; message?: string }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => proc.once('exit', (code, signal) => ok({ code, signal })));
  const said = new Promise<{ won: boolean; pid?: number; holder?: number }>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', (l) => ok(JSON.parse(l) as { won: boolean }));
    void exited.then((e) => fail(new Error(`dir-lock-child exited (${e.code ?? e.signal}) before saying anything`)));
  });
  return { proc, said, exited };
}

describe('data directory lock', function () {
  this.timeout(60_000);
  let dir: string;
  const children: Child[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvsh-dir-lock-'));
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await c.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function child(...args: string[]): Child {
    const c = startChild(args);
    children.push(c);
    return c;
  }

  it('takes a free directory, records this process, and release removes the lock (twice is fine)', () => {
    const lock = acquireDirLock(dir, { by: 'test' });
    expect(lockOf(dir)).to.include({ pid: process.pid, by: 'test', token: lock.record.token });
    expect(lockHolder(dir)?.pid).to.equal(process.pid);
    lock.release();
    lock.release();
    expect(lock.held).to.equal(false);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a directory held by a live process: the error names its pid and the lock file, and the lock is left alone', async () => {
    const holder = child(dir);
    const { won, pid } = await holder.said;
    expect(won).to.equal(true);
    const before = readFileSync(join(dir, LOCK_FILE), 'utf8');
    let err: unknown;
    try {
      acquireDirLock(dir, { what: "node 2's data directory" });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DirLockHeldError);
    expect((err as DirLockHeldError).holder.pid).to.equal(pid);
    expect((err as Error).message).to.equal(
      `node 2's data directory ${dir} is in use by process ${pid} (lock file ${join(dir, LOCK_FILE)}); stop that process first`);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).to.equal(before);
    expect(readdirSync(dir)).to.deep.equal([LOCK_FILE]);
  });

  it('the same process twice: the second is refused too (two nodes in one process are two owners)', () => {
    const lock = acquireDirLock(dir);
    try {
      expect(() => acquireDirLock(dir)).to.throw(DirLockHeldError, `in use by process ${process.pid}`);
    } finally {
      lock.release();
    }
  });

  it('a lock whose process is gone is taken over', async () => {
    writeRecord(join(dir, LOCK_FILE), record({ pid: await deadPid() }));
    const lock = acquireDirLock(dir);
    expect(lockOf(dir).token).to.equal(lock.record.token);
    lock.release();
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a lock whose pid now belongs to another process (another start time), or from an earlier boot, is taken over', function () {
    if (!existsSync('/proc/self/stat')) this.skip();
    // This process is alive, but it is not the one that wrote these.
    writeRecord(join(dir, LOCK_FILE), record({ start: '1' }));
    acquireDirLock(dir).release();
    writeRecord(join(dir, LOCK_FILE), record({ boot: 'an-earlier-boot' }));
    acquireDirLock(dir).release();
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a zombie holder (killed, not reaped) counts as dead', async function () {
    if (!existsSync('/proc/self/stat')) this.skip();
    // sh starts a short sleep in the background, then becomes a long sleep that never reaps it.
    // The short sleep must outlive the exec: one that ends first may be reaped by sh (seen in CI:
    // its /proc entry was gone).
    const sh = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const shExit = new Promise((ok) => sh.once('exit', ok));
    try {
      const zombie = Number(await new Promise<string>((ok) => createInterface({ input: sh.stdout! }).once('line', ok)));
      const state = (): string => { const s = readFileSync(`/proc/${zombie}/stat`, 'utf8'); return s.slice(s.lastIndexOf(')') + 2)[0]!; };
      await until(() => state() === 'Z');
      writeRecord(join(dir, LOCK_FILE), record({ pid: zombie }));
      acquireDirLock(dir).release();
    } finally {
      sh.kill('SIGKILL');
      await shExit;
    }
  });

  it('a lock from another host cannot be checked and counts as held', () => {
    writeRecord(join(dir, LOCK_FILE), record({ pid: 4242, host: 'elsewhere.example' }));
    expect(() => acquireDirLock(dir)).to.throw(DirLockHeldError, 'in use by process 4242 on host elsewhere.example');
  });

  it('release removes only our own lock: one taken over meanwhile stays', () => {
    const lock = acquireDirLock(dir);
    const theirs = record({ pid: 4242 });
    writeRecord(join(dir, LOCK_FILE), theirs);
    lock.release();
    expect(lockOf(dir).token).to.equal(theirs.token);
  });

  it('on exit the lock goes with the process; after kill -9 it stays and the next starter takes it at once', async () => {
    const clean = child(dir);
    expect((await clean.said).won).to.equal(true);
    clean.proc.stdin!.end(); // it exits without calling release: the exit handler must
    expect(await clean.exited).to.deep.equal({ code: 0, signal: null });
    expect(readdirSync(dir)).to.deep.equal([]);

    const killed = child(dir);
    const { pid } = await killed.said;
    killed.proc.kill('SIGKILL');
    await killed.exited;
    expect(lockOf(dir).pid, 'the dead process\'s lock is still there').to.equal(pid);
    const lock = acquireDirLock(dir);
    expect(lockOf(dir).pid).to.equal(process.pid);
    lock.release();
  });

  it('a takeover abandoned by a killed process does not block; one by a live process is waited for, then reported', async () => {
    const stale = record({ pid: await deadPid() });
    writeRecord(join(dir, LOCK_FILE), stale);
    const claim = join(dir, `${LOCK_FILE}.takeover-${stale.token}`);
    writeRecord(claim, record({ pid: await deadPid() }));
    const lock = acquireDirLock(dir);
    expect(readdirSync(dir)).to.deep.equal([LOCK_FILE]);
    lock.release();

    writeRecord(join(dir, LOCK_FILE), stale);
    writeRecord(claim, record({})); // this process: alive, "taking it over" and never finishing
    expect(() => acquireDirLock(dir, { takeoverWaitMs: 100 })).to.throw(`process ${process.pid} has been taking over its stale lock`);
    expect(lockOf(dir).token).to.equal(stale.token);
  });

  it('a lock file that holds no record is an error naming it, and is left alone', () => {
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    expect(() => acquireDirLock(dir)).to.throw(`the lock file ${join(dir, LOCK_FILE)} holds no lock record`);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).to.equal('garbage');
  });

  it('a lock that cannot be written is an error naming the lock file', () => {
    const missing = join(dir, 'no-such-dir');
    expect(() => acquireDirLock(missing)).to.throw(`cannot create the lock file ${join(missing, LOCK_FILE)}: ENOENT`);
  });

  // 'together': all take over at once. 'in turn': each goes once the one before has said whether
  // it won — the late ones act on a stale record that has since been replaced (the case a plain
  // "remove the stale file, create ours" gets wrong: it would remove the winner's lock).
  for (const order of ['together', 'in turn'] as const) {
    it(`starters racing on one stale lock: exactly one wins, the others name it (${order})`, async () => {
      const starters = 4;
      const barrier = join(dir, 'barrier');
      const data = join(dir, 'data');
      for (const d of [barrier, data]) rmSync(d, { recursive: true, force: true });
      for (const d of [barrier, data]) mkdirSync(d);
      writeRecord(join(data, LOCK_FILE), record({ pid: await deadPid() }));
      const racers = Array.from({ length: starters }, (_, i) => child(data, barrier, String(i)));
      // Every starter has read the stale record before any of them may take it over.
      await until(() => readdirSync(barrier).length === starters);
      if (order === 'together') {
        writeFileSync(join(barrier, 'go'), '');
      } else {
        for (let i = 0; i < starters; i++) {
          writeFileSync(join(barrier, `go-${i}`), '');
          await racers[i]!.said;
        }
      }
      const said = await Promise.all(racers.map((r) => r.said));
      const winners = said.filter((s) => s.won);
      expect(winners, JSON.stringify(said)).to.have.length(1);
      for (const s of said.filter((x) => !x.won)) expect(s.holder, JSON.stringify(said)).to.equal(winners[0]!.pid);
      expect(lockOf(data).pid).to.equal(winners[0]!.pid);
      expect(readdirSync(data)).to.deep.equal([LOCK_FILE]);
      for (const r of racers) r.proc.stdin!.end();
      await Promise.all(racers.map((r) => r.exited));
      expect(readdirSync(data)).to.deep.equal([]);
    });
  }
});
