import { expect } from 'chai';
import { Readable } from 'node:stream';
import { parseHistory, readHistory } from '../src/history/reader.js';
import { HistoryWriter, formatEvent } from '../src/history/writer.js';
import { HistoryFormatError } from '../src/history/validate.js';

function errorOf(text: string): HistoryFormatError {
  try {
    parseHistory(text);
  } catch (e) {
    expect(e).to.be.instanceOf(HistoryFormatError);
    return e as HistoryFormatError;
  }
  throw new Error('expected the history to be rejected');
}

const put = '{"type":"invoke","process":1,"id":1,"f":"put","key":"a","value":"1","time":10}';

describe('history reader', () => {
  it('pairs invocations with completions and keeps annotations apart', () => {
    const h = parseHistory([
      put,
      '{"type":"nemesis","f":"kill","node":3,"time":11}',
      '{"type":"ok","process":1,"id":1,"time":20}',
      '{"type":"invoke","process":2,"id":2,"f":"get","key":"a","time":30}',
      '{"type":"ok","process":2,"id":2,"value":null,"time":40}',
      '{"type":"invoke","process":3,"id":3,"f":"cas","key":"a","expected":null,"value":"2","time":30}',
      '{"type":"info","process":3,"id":3,"time":45}',
      '{"type":"invoke","process":4,"id":4,"f":"delete","key":"a","time":50}',
      '{"type":"leader","node":2,"ballot":{"n":1},"time":60}',
      '',
    ].join('\n'));
    expect(h.operations.map(o => [o.id, o.status, o.returnTime])).to.deep.equal([
      [1, 'ok', 20], [2, 'ok', 40], [3, 'info', Infinity], [4, 'info', Infinity],
    ]);
    expect(h.operations[1]!.output).to.equal(null);
    expect(h.operations[2]!.expected).to.equal(null);
    expect(h.operations[2]!.completionTime).to.equal(45);
    expect(h.annotations.map(a => a.type)).to.deep.equal(['nemesis', 'leader']);
  });

  const cases: [string, string, number, RegExp][] = [
    ['bad JSON', `${put}\n{"type":"ok",`, 2, /not valid JSON/],
    ['not an object', '[1,2]', 1, /expected a JSON object/],
    ['unknown type', '{"type":"bogus","time":1}', 1, /unknown "type": "bogus"/],
    ['unknown f', '{"type":"invoke","process":1,"id":1,"f":"incr","key":"a","time":1}', 1, /unknown operation "f": "incr"/],
    ['completion without invocation', '{"type":"ok","process":1,"id":9,"time":1}', 1, /id 9, which was never invoked/],
    ['duplicate id', `${put}\n${put}`, 2, /duplicate id 1: already invoked on line 1/],
    ['completion before invocation', `${put}\n{"type":"ok","process":1,"id":1,"time":5}`, 2, /before its invocation at time 10/],
    ['second completion', `${put}\n{"type":"ok","process":1,"id":1,"time":15}\n{"type":"ok","process":1,"id":1,"time":16}`, 3, /completes a second time/],
    ['other process', `${put}\n{"type":"ok","process":2,"id":1,"time":15}`, 2, /names process 2/],
    ['put without value', '{"type":"invoke","process":1,"id":1,"f":"put","key":"a","time":1}', 1, /needs "value"/],
    ['cas without expected', '{"type":"invoke","process":1,"id":1,"f":"cas","key":"a","value":"1","time":1}', 1, /needs "expected"/],
    ['get ok without value', '{"type":"invoke","process":1,"id":1,"f":"get","key":"a","time":1}\n{"type":"ok","process":1,"id":1,"time":2}', 2, /needs "value"/],
    ['fractional time', '{"type":"invoke","process":1,"id":1,"f":"get","key":"a","time":1.5}', 1, /"time" must be an integer/],
    ['numeric key', '{"type":"invoke","process":1,"id":1,"f":"get","key":7,"time":1}', 1, /"key" as a string/],
    ['bad nemesis groups', '{"type":"nemesis","f":"partition","groups":[1,2],"time":1}', 1, /"groups" must be a list of lists/],
  ];
  for (const [name, text, line, message] of cases) {
    it(`rejects ${name}, naming line ${line}`, () => {
      const e = errorOf(text);
      expect(e.line).to.equal(line);
      expect(e.message).to.match(message);
      expect(e.message).to.match(new RegExp(`^line ${line}: `));
    });
  }

  it('streams from a Readable with CRLF line ends', async () => {
    const h = await readHistory(Readable.from([`${put}\r\n{"type":"ok","process":1,`, '"id":1,"time":20}\r\n']));
    expect(h.operations).to.have.length(1);
    expect(h.operations[0]!.status).to.equal('ok');
  });
});

describe('history writer', () => {
  it('writes what the reader reads back, with one id per operation', () => {
    const lines: string[] = [];
    let t = 100;
    const w = new HistoryWriter(l => lines.push(l), () => (t += 10));
    const a = w.invoke({ process: 0, f: 'put', key: 'k', value: 'v' });
    const b = w.invoke({ process: 1, f: 'cas', key: 'k', expected: null, value: 'w' });
    w.nemesis('partition', { groups: [[1, 2], [3]] });
    w.ok(a);
    w.fail(b);
    const c = w.invoke({ process: 0, f: 'get', key: 'k' });
    w.ok(c, 'v');
    w.leader(2, { n: 3, priority: 0, pid: 2 });
    const d = w.invoke({ process: 2, f: 'delete', key: 'k' });
    expect(w.pendingIds()).to.deep.equal([d]);
    w.info(d);
    const h = parseHistory(lines.join('\n'));
    expect(h.operations.map(o => [o.f, o.status])).to.deep.equal([['put', 'ok'], ['cas', 'fail'], ['get', 'ok'], ['delete', 'info']]);
    expect(h.operations[2]!.output).to.equal('v');
    expect(h.annotations).to.have.length(2);
    expect(lines[0]).to.equal('{"type":"invoke","process":0,"id":0,"f":"put","key":"k","value":"v","time":110}');
  });

  it('refuses to complete an id that is not pending', () => {
    const w = new HistoryWriter(() => {}, () => 1);
    expect(() => w.ok(42)).to.throw(/id 42 is not pending/);
  });

  it('refuses an event the reader would reject', () => {
    const w = new HistoryWriter(() => {}, () => 1);
    expect(() => w.nemesis('Not A Word')).to.throw(HistoryFormatError);
  });

  it('formats fields in a fixed order', () => {
    expect(formatEvent({ time: 5, type: 'ok', id: 1, process: 2, value: null } as never))
      .to.equal('{"type":"ok","process":2,"id":1,"value":null,"time":5}');
  });
});
