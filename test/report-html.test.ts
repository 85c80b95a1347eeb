import { expect } from 'chai';
import { Script } from 'node:vm';
import { checkHistorySync, type CheckReport } from '../src/history/check-history.js';
import { checkHistory } from '../src/history/driver.js';
import { describeOperation } from '../src/history/kv-model.js';
import { parseHistory } from '../src/history/reader.js';
import { renderHtmlReport } from '../src/history/report-html.js';
import type { History, KeyValue } from '../src/history/types.js';
import { HistoryWriter } from '../src/history/writer.js';

/** Events as JSON lines; `time` defaults to 1000 × position. */
function historyOf(events: Record<string, unknown>[]): History {
  return parseHistory(events.map((e, i) => JSON.stringify({ time: (i + 1) * 1000, ...e })).join('\n'));
}

const DATA_OPEN = '<script type="application/json" id="kvsh-data">';

/** The JSON the page draws from, exactly as a browser would read it. */
function embedded(html: string): any {
  const start = html.indexOf(DATA_OPEN);
  expect(start, 'data block').to.be.greaterThan(0);
  const end = html.indexOf('</script>', start);
  return JSON.parse(html.slice(start + DATA_OPEN.length, end));
}

function scripts(html: string): string[] {
  return [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map(m => m[2]!);
}

/** Decodes a key's linearization steps into [op id, before, after] (the format in report-html.ts). */
function decodeSteps(data: any, key: any): [number, KeyValue, KeyValue][] {
  const val = (c: number): KeyValue => (c === -2 ? null : data.vals[c]);
  let cur: KeyValue = null;
  return key.lin.map((step: number[]) => {
    const op = key.ops[step[0]!];
    const before = step.length > 2 ? val(step[2]!) : cur;
    const after = step[1] === -3 ? before : step[1] === -4 ? (before ?? '') + val(op[6]) : val(step[1]!);
    cur = after;
    return [op[0], before, after];
  });
}

/** A stale read on x (it reads "1" after "2" was written) next to a linearizable key y. */
function staleRead(): History {
  return historyOf([
    { type: 'invoke', process: 0, id: 0, f: 'put', key: 'y', value: 'a' },
    { type: 'ok', process: 0, id: 0 },
    { type: 'invoke', process: 0, id: 1, f: 'put', key: 'x', value: '1' },
    { type: 'ok', process: 0, id: 1 },
    { type: 'invoke', process: 1, id: 2, f: 'put', key: 'x', value: '2' },
    { type: 'ok', process: 1, id: 2 },
    { type: 'invoke', process: 2, id: 3, f: 'get', key: 'x' },
    { type: 'ok', process: 2, id: 3, value: '1' },
    { type: 'invoke', process: 1, id: 4, f: 'get', key: 'y' },
    { type: 'ok', process: 1, id: 4, value: 'a' },
  ]);
}

describe('HTML report', () => {
  it('is one self-contained HTML document with no external resources', () => {
    const history = staleRead();
    const html = renderHtmlReport(history, checkHistorySync(history), { source: '/tmp/runs/stale.jsonl' });
    expect(html.startsWith('<!DOCTYPE html>')).to.equal(true);
    expect(html.match(/<html[\s>]/g)).to.have.length(1);
    expect(html.match(/<\/html>/g)).to.have.length(1);
    expect(html).not.to.match(/https?:\/\//i);
    expect(html).not.to.match(/\b(src|href)\s*=/i);
    expect(html).not.to.match(/@import|url\(/i);
    expect(html).not.to.match(/<link\b/i);
    expect(scripts(html)).to.have.length(2);
    expect(html.match(/<style>/g)).to.have.length(1);
  });

  it('shows the verdict, the counts, the source and the checking time', () => {
    const history = staleRead();
    const report = { ...checkHistorySync(history), elapsedMs: 12.5 };
    const html = renderHtmlReport(history, report, { source: '/tmp/runs/stale.jsonl' });
    expect(html).to.match(/<span class="verdict v-bad">NOT LINEARIZABLE<\/span>/);
    expect(html).to.contain('stale.jsonl');
    expect(html).to.contain('<dt>operations</dt><dd>5</dd>');
    expect(html).to.contain('12.5 ms');
    const ok = historyOf([{ type: 'invoke', process: 0, id: 0, f: 'get', key: 'k' }, { type: 'ok', process: 0, id: 0, value: null }]);
    expect(renderHtmlReport(ok, checkHistorySync(ok))).to.match(/class="verdict v-ok">LINEARIZABLE</);
  });

  it('the in-page script compiles', () => {
    const history = staleRead();
    const html = renderHtmlReport(history, checkHistorySync(history));
    const [, client] = scripts(html);
    expect(() => new Script(client!)).not.to.throw();
  });

  it('names the stuck operation and the rejected candidates of a non-linearizable key, failing keys first', () => {
    const history = staleRead();
    const report = checkHistorySync(history);
    const data = embedded(renderHtmlReport(history, report));
    expect(data.verdict).to.equal('NOT LINEARIZABLE');
    expect(data.keys.map((k: any) => [k.k, k.v])).to.deep.equal([['x', 'not-linearizable'], ['y', 'linearizable']]);
    const x = data.keys[0];
    const failure = report.keys.find(k => k.key === 'x')!.failure!;
    const stuck = history.operations[failure.stuck]!;
    expect(x.ops[x.fail.stuck][0], 'id of the stuck operation').to.equal(stuck.id);
    expect(x.fail.desc).to.equal(describeOperation(stuck));
    expect(x.fail.reason).to.equal(failure.reason);
    expect(x.fail.rej.map((r: [number, string]) => [x.ops[r[0]][0], r[1]]))
      .to.deep.equal(failure.rejected.map(r => [history.operations[r.op]!.id, r.reason]));
    // The prefix, with the value around each step.
    const prefix = report.keys.find(k => k.key === 'x')!.linearization;
    expect(prefix.length).to.be.greaterThan(0);
    expect(decodeSteps(data, x)).to.deep.equal(prefix.map(s => [history.operations[s.op]!.id, s.before, s.after]));
    expect(x.fail.state).to.equal(failure.state === null ? -2 : data.vals.indexOf(failure.state));
  });

  it('keeps every state of the linearization, and long values in full', () => {
    const long = 'L'.repeat(10_000);
    const history = historyOf([
      { type: 'invoke', process: 0, id: 0, f: 'append', key: 'a', value: 'x1;' },
      { type: 'ok', process: 0, id: 0 },
      { type: 'invoke', process: 1, id: 1, f: 'append', key: 'a', value: long },
      { type: 'ok', process: 1, id: 1 },
      { type: 'invoke', process: 0, id: 2, f: 'get', key: 'a' },
      { type: 'ok', process: 0, id: 2, value: `x1;${long}` },
      { type: 'invoke', process: 0, id: 3, f: 'put', key: 'a', value: 'p' },
      { type: 'ok', process: 0, id: 3 },
      { type: 'invoke', process: 0, id: 4, f: 'cas', key: 'a', expected: 'p', value: 'q' },
      { type: 'ok', process: 0, id: 4 },
      { type: 'invoke', process: 0, id: 5, f: 'delete', key: 'a' },
      { type: 'ok', process: 0, id: 5 },
    ]);
    const report = checkHistorySync(history);
    const html = renderHtmlReport(history, report);
    const data = embedded(html);
    const expected = report.keys[0]!.linearization.map(s => [history.operations[s.op]!.id, s.before, s.after]);
    expect(decodeSteps(data, data.keys[0])).to.deep.equal(expected);
    expect(data.vals).to.include(long);
    // The appended value and the read are embedded; the states they make are not repeated.
    expect(html.split(long).length - 1).to.equal(2);
  });

  it('a key named </script><b> cannot break out of the script', () => {
    const key = 'evil</script><b>bold</b><!--';
    const history = historyOf([
      { type: 'invoke', process: 0, id: 0, f: 'put', key, value: '</script><script>alert(1)</script>' },
      { type: 'ok', process: 0, id: 0 },
    ]);
    const html = renderHtmlReport(history, checkHistorySync(history), { title: '<i>t</i>', source: 'a<b>.jsonl' });
    expect(html).not.to.contain('</script><b>');
    expect(html).not.to.contain('<script>alert');
    expect(html).not.to.contain('<i>t</i>');
    expect(html).not.to.contain('a<b>');
    expect(html.match(/<\/script>/g)).to.have.length(2);
    const data = embedded(html);
    expect(data.keys[0].k).to.equal(key);
    expect(data.vals).to.include('</script><script>alert(1)</script>');
  });

  it('pairs nemesis faults with their ends and keeps leader changes', () => {
    const lines: string[] = [];
    let now = 0;
    const w = new HistoryWriter(line => lines.push(line), () => (now += 1_000_000));
    w.leader(1, { round: 1 });
    const id = w.invoke({ process: 0, f: 'put', key: 'k', value: 'v' });
    w.nemesis('partition', { groups: [[1, 2], [3]] });
    w.nemesis('pause', { node: 2 });
    w.nemesis('resume', { node: 3 }); // not the paused node: no match
    w.leader(null);
    w.nemesis('resume', { node: 2 });
    w.nemesis('heal');
    w.nemesis('kill', { nodes: [1] });
    w.ok(id);
    w.nemesis('compact', { node: 1 });
    const history = parseHistory(lines.join('\n'));
    const data = embedded(renderHtmlReport(history, checkHistorySync(history)));
    const ms = (t: number) => (t * data.unit) / 1e6 + 1; // times are relative to the first event, at 1 ms
    expect(data.ann.iv.map((v: any[]) => [ms(v[0]), ms(v[1]), v[2], v[3]])).to.deep.equal([
      [4, 7, 'pause', 'pause n2 … resume n2'],
      [3, 8, 'partition', 'partition {n1,n2} | {n3} … heal'],
    ]);
    expect(data.ann.mk.map((v: any[]) => [ms(v[0]), v[1], v[2]])).to.deep.equal([
      [5, 'resume', 'resume n3'],
      [9, 'kill', 'kill n1 (no end recorded)'],
      [11, 'compact', 'compact n1'],
    ]);
    expect(data.ann.ld.map((v: any[]) => [ms(v[0]), v[1], v[2]])).to.deep.equal([[1, 'n1', '{"round":1}'], [6, null, '']]);
  });

  it('shows skipped keys without linearization, and the elapsed time of a run', async () => {
    const history = staleRead();
    const checked = await checkHistory(history, { workers: 0 });
    // Whether y is reached before x settles the verdict depends on timing: make it skipped.
    const run = {
      ...checked,
      keys: checked.keys.map(k => (k.key === 'y'
        ? { key: 'y', verdict: 'skipped' as const, operations: 2, indeterminate: 0, searched: 0, linearization: [], configs: 0 }
        : k)),
    };
    const html = renderHtmlReport(history, run);
    const data = embedded(html);
    const y = data.keys.find((k: any) => k.k === 'y');
    expect(y.v).to.equal('skipped');
    expect(y.lin).to.deep.equal([]);
    expect(y.ops).to.have.length(2);
    expect(data.elapsedMs).to.equal(run.elapsedMs);
    expect(html).to.contain('<dt>checked in</dt>');
    expect(html).to.contain('1 not linearizable, 1 skipped');
  });

  it('renders 50,000 operations below 8 MB, each operation embedded once', () => {
    const lines: string[] = [];
    let now = 0;
    const w = new HistoryWriter(line => lines.push(line), () => (now += 1 + (now % 7) * 911));
    const values = new Map<string, string | null>();
    const open: { id: number; key: string; f: 'get' | 'put'; value: string }[] = [];
    // 50 clients, 200 keys; each client has one operation in flight, completing in invocation order.
    for (let n = 0; n < 50_000; n++) {
      const key = `key-${n % 200}`;
      const f = n % 3 === 0 ? 'put' : 'get';
      const value = `value-${n}`;
      const id = w.invoke(f === 'put' ? { process: n % 50, f, key, value } : { process: n % 50, f, key });
      open.push({ id, key, f, value });
      if (open.length === 50 || n === 49_999) {
        for (const o of open.splice(0)) {
          if (o.f === 'put') { values.set(o.key, o.value); w.ok(o.id); } else w.ok(o.id, values.get(o.key) ?? null);
        }
      }
    }
    const history = parseHistory(lines.join('\n'));
    expect(history.operations).to.have.length(50_000);
    const report: CheckReport = checkHistorySync(history);
    expect(report.verdict).to.equal('LINEARIZABLE');
    const html = renderHtmlReport(history, report, { source: 'big.jsonl' });
    expect(html.length).to.be.below(8 * 1024 * 1024);
    const data = embedded(html);
    const ids = data.keys.flatMap((k: any) => k.ops.map((o: number[]) => o[0]));
    expect(ids).to.have.length(50_000);
    expect(new Set(ids).size).to.equal(50_000);
    // Each written value is in the value table once, and nowhere else in the file.
    expect(data.vals.filter((v: string) => v === 'value-12345')).to.have.length(1);
    expect(html.split('"value-12345"').length - 1).to.equal(1);
    console.log(`      (50,000-operation report: ${(html.length / 1024 / 1024).toFixed(2)} MB)`);
  });
});
