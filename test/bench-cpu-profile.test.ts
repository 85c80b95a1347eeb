/**
 * kvbench --cpu-prof: reading V8 CPU profiles and attributing self time over a window.
 * Synthetic profiles with known samples; the real-process run is in kvbench.test.ts.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCpuProfile, readCpuProfiles, sourceLabel, summarizeProfiles, type CpuProfile } from '../src/bench/cpu-profile.js';
import { projectRoot } from '../src/cluster/node-command.js';
import { formatProfiles, profileRecord } from '../src/bench/profile-report.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0, scriptId: '0' });
const codec = `file://${join(projectRoot, 'src', 'wire', 'codec.ts')}`;

/** Samples every 100 µs from t = 1000: idle, idle, encode, encode, encode, GC, (program), decode, idle, idle. */
function profile(): CpuProfile {
  const nodes = [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('encode', codec) },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('(program)') },
    { id: 6, callFrame: frame('decode', codec) },
  ];
  const samples = [2, 2, 3, 3, 3, 4, 5, 6, 2, 2];
  return { nodes, samples, startTime: 1000, endTime: 2000, timeDeltas: [0, ...Array(9).fill(100)] } as CpuProfile;
}

describe('kvbench CPU profiles', () => {
  it('attributes each sample the time until the next one: idle, GC, native and self time per function and file', () => {
    const s = summarizeProfiles([profile()]);
    expect(s.wallUs).to.equal(1000);
    expect(s.idleUs).to.equal(400);
    expect(s.gcUs).to.equal(100);
    expect(s.programUs).to.equal(100);
    expect(s.busyUs).to.equal(600);
    expect(s.functions).to.deep.equal([{ label: 'encode src/wire/codec.ts', us: 300 }, { label: 'decode src/wire/codec.ts', us: 100 }]);
    expect(s.files).to.deep.equal([{ label: 'src/wire/codec.ts', us: 400 }]);
  });

  it('a window takes only the samples inside it, cutting the ones at its edges', () => {
    // [1250, 1550): half of sample 2 (encode), samples 3, 4 (encode), half of sample 5 (GC).
    const s = summarizeProfiles([profile()], { fromUs: 1250, toUs: 1550 });
    expect(s.wallUs).to.equal(300);
    expect(s.functions).to.deep.equal([{ label: 'encode src/wire/codec.ts', us: 250 }]);
    expect(s.gcUs).to.equal(50);
    expect(s.idleUs).to.equal(0);
    // Outside the profile: nothing.
    expect(summarizeProfiles([profile()], { fromUs: 5000, toUs: 6000 }).wallUs).to.equal(0);
  });

  it('sums several profiles (a node restarted during the run writes one per process)', () => {
    const later = { ...profile(), startTime: 3000, endTime: 4000 };
    const s = summarizeProfiles([profile(), later]);
    expect(s.wallUs).to.equal(2000);
    expect(s.functions[0]).to.deep.equal({ label: 'encode src/wire/codec.ts', us: 600 });
  });

  it('labels sources: project files by path, dependencies by package, Node by module, natives as such', () => {
    expect(sourceLabel(codec)).to.equal('src/wire/codec.ts');
    expect(sourceLabel(`file://${join(projectRoot, 'node_modules', 'it-length-prefixed', 'dist', 'src', 'encode.js')}`)).to.equal('npm:it-length-prefixed');
    expect(sourceLabel(`file://${join(projectRoot, 'node_modules', '@scope', 'pkg', 'x.js')}`)).to.equal('npm:@scope/pkg');
    expect(sourceLabel('node:internal/encoding')).to.equal('node:internal/encoding');
    expect(sourceLabel('')).to.equal('(native)');
  });

  it('refuses what is not a profile, naming the file and the problem', () => {
    expect(() => parseCpuProfile('{', 'a.cpuprofile')).to.throw(/a\.cpuprofile: not a V8 CPU profile \(JSON/);
    expect(() => parseCpuProfile('[]', 'b')).to.throw(/b: .*no "nodes" array/);
    const p = profile();
    expect(() => parseCpuProfile(JSON.stringify({ ...p, samples: [2, 99, 2, 2, 2, 2, 2, 2, 2, 2] }), 'c')).to.throw(/c: .*samples\[1\] = 99 names no node/);
    expect(() => parseCpuProfile(JSON.stringify({ ...p, timeDeltas: [0] }), 'd')).to.throw(/10 samples but 1 time deltas/);
    expect(() => parseCpuProfile(JSON.stringify({ ...p, nodes: [{ id: 1 }] }), 'e')).to.throw(/nodes\[0\] lacks id \/ callFrame/);
    expect(parseCpuProfile(JSON.stringify(p), 'ok').samples).to.have.length(10);
  });

  it('a table per run: a row per node, then files by share of busy time; JSON records', () => {
    const s = summarizeProfiles([profile()]);
    const text = formatProfiles('put C=64', [{ node: 1, summary: s }, { node: 2, summary: s }]);
    const lines = text.split('\n');
    expect(lines[0]).to.equal('put C=64');
    expect(lines[3]!.trim().split(/\s{2,}/)).to.deep.equal(['1', '60.0%', '10.0%', '10.0%', 'encode src/wire/codec.ts 30.0% · decode src/wire/codec.ts 10.0%']);
    const fileRow = lines.find((l) => l.startsWith('src/wire/codec.ts'))!;
    expect(fileRow.split(/\s{2,}/)).to.deep.equal(['src/wire/codec.ts', '1', '66.7%']);
    expect(profileRecord({ workload: 'put', concurrency: 64 }, { node: 1, summary: s })).to.deep.include({
      type: 'profile', node: 1, wallMs: 1, busyMs: 0.6, idleMs: 0.4, gcMs: 0.1, programMs: 0.1,
    });
  });
});

describe('kvbench CPU profiles: files', () => {
  it('reads the main thread\'s profiles of a directory, not worker threads\' (tsx\'s loader thread)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-prof-test-'));
    try {
      const text = JSON.stringify(profile());
      writeFileSync(join(dir, 'CPU.20261124.140906.8643.0.001.cpuprofile'), text);
      writeFileSync(join(dir, 'CPU.20261124.140906.8643.1.002.cpuprofile'), text);
      writeFileSync(join(dir, 'CPU.20261124.141000.9000.0.003.cpuprofile'), text);
      writeFileSync(join(dir, 'notes.txt'), 'x');
      expect(readCpuProfiles(dir)).to.have.length(2);
      writeFileSync(join(dir, 'CPU.20261124.141000.9001.0.004.cpuprofile'), '{"nodes": 1}');
      expect(() => readCpuProfiles(dir)).to.throw(/9001\.0\.004\.cpuprofile: not a V8 CPU profile/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
