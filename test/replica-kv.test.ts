import { expect } from 'chai';
import type { Entry, KvResult } from '../src/replica/entry.js';
import { KvStateMachine } from '../src/replica/kv-state-machine.js';
import { cas, command, del, get, put } from './support/replica-harness.js';

const c = (clientId: string, seq: number, op: ReturnType<typeof put>): Entry => ({ kind: 'command', command: command(clientId, seq, op) });

/** Applies `entries` in order and returns each result (null for a skipped old duplicate). */
function applyAll(kv: KvStateMachine, entries: Entry[]): (KvResult | null)[] {
  return entries.map((e) => kv.apply(e)?.result ?? null);
}

describe('replica: KV state machine', () => {
  describe('operations', () => {
    it('get returns the value or not-found; put returns ok', () => {
      const kv = new KvStateMachine();
      expect(applyAll(kv, [
        c('a', 1, get('x')),
        c('a', 2, put('x', '1')),
        c('a', 3, get('x')),
        c('a', 4, put('x', '2')),
        c('a', 5, get('x')),
        c('a', 6, get('y')),
      ])).to.deep.equal([
        { kind: 'not-found' }, { kind: 'ok' }, { kind: 'value', value: '1' }, { kind: 'ok' },
        { kind: 'value', value: '2' }, { kind: 'not-found' },
      ]);
      expect(kv.get('x')).to.equal('2');
      expect(kv.size).to.equal(1);
      expect(kv.appliedIdx).to.equal(6);
    });

    it('cas succeeds only on a match and reports the current value (null when absent) on a mismatch', () => {
      const kv = new KvStateMachine();
      expect(applyAll(kv, [
        c('a', 1, cas('x', '0', '1')), // absent, expected a value
        c('a', 2, put('x', '5')),
        c('a', 3, cas('x', '4', '6')), // wrong value
        c('a', 4, cas('x', '5', '6')), // right value
        c('a', 5, get('x')),
      ])).to.deep.equal([
        { kind: 'mismatch', current: null }, { kind: 'ok' }, { kind: 'mismatch', current: '5' }, { kind: 'ok' },
        { kind: 'value', value: '6' },
      ]);
    });

    it('cas with expected null means only-if-absent', () => {
      const kv = new KvStateMachine();
      expect(applyAll(kv, [
        c('a', 1, cas('x', null, 'first')),
        c('a', 2, cas('x', null, 'second')),
        c('a', 3, get('x')),
        c('a', 4, del('x')),
        c('a', 5, cas('x', null, 'third')),
      ])).to.deep.equal([
        { kind: 'ok' }, { kind: 'mismatch', current: 'first' }, { kind: 'value', value: 'first' },
        { kind: 'deleted', existed: true }, { kind: 'ok' },
      ]);
      expect(kv.get('x')).to.equal('third');
    });

    it('cas does not treat the empty string as absent', () => {
      const kv = new KvStateMachine();
      expect(applyAll(kv, [
        c('a', 1, put('x', '')),
        c('a', 2, cas('x', null, 'v')),
        c('a', 3, cas('x', '', 'v')),
      ])).to.deep.equal([{ kind: 'ok' }, { kind: 'mismatch', current: '' }, { kind: 'ok' }]);
    });

    it('delete reports whether the key existed, and removes it', () => {
      const kv = new KvStateMachine();
      expect(applyAll(kv, [
        c('a', 1, del('x')),
        c('a', 2, put('x', '1')),
        c('a', 3, del('x')),
        c('a', 4, get('x')),
        c('a', 5, del('x')),
      ])).to.deep.equal([
        { kind: 'deleted', existed: false }, { kind: 'ok' }, { kind: 'deleted', existed: true }, { kind: 'not-found' },
        { kind: 'deleted', existed: false },
      ]);
      expect(kv.size).to.equal(0);
      expect(kv.entries()).to.deep.equal([]);
    });
  });

  describe('sessions (exactly-once)', () => {
    it('a command applied twice (same clientId, seq) executes once and the copy gets the cached result', () => {
      const kv = new KvStateMachine();
      const first = kv.apply(c('a', 1, cas('x', null, '1')))!;
      const again = kv.apply(c('a', 1, cas('x', null, '1')))!;
      expect(first).to.deep.include({ duplicate: false, result: { kind: 'ok' } });
      // Executed again, the CAS would have answered mismatch.
      expect(again).to.deep.include({ duplicate: true, result: { kind: 'ok' } });
      expect(kv.get('x')).to.equal('1');
      expect(kv.appliedIdx).to.equal(2);
      expect(kv.cachedResult('a', 1)).to.deep.equal({ kind: 'ok' });
    });

    it('a duplicate does not overwrite a later write by another client', () => {
      const kv = new KvStateMachine();
      applyAll(kv, [c('a', 1, put('x', 'a1')), c('b', 1, put('x', 'b1')), c('a', 1, put('x', 'a1'))]);
      expect(kv.get('x')).to.equal('b1');
    });

    it('an older seq is skipped with result null; the session keeps its latest result', () => {
      const kv = new KvStateMachine();
      applyAll(kv, [c('a', 1, put('x', '1')), c('a', 2, put('x', '2'))]);
      const old = kv.apply(c('a', 1, put('x', '1')))!;
      expect(old).to.deep.include({ duplicate: true, result: null });
      expect(kv.get('x')).to.equal('2');
      expect(kv.cachedResult('a', 1)).to.equal('older');
      expect(kv.cachedResult('a', 2)).to.deep.equal({ kind: 'ok' });
      expect(kv.cachedResult('a', 3)).to.equal(null);
      expect(kv.cachedResult('nobody', 1)).to.equal(null);
    });

    it('an unknown session with seq > 1 is session-expired and not executed', () => {
      const kv = new KvStateMachine();
      const out = kv.apply(c('a', 7, put('x', '1')))!;
      expect(out).to.deep.include({ duplicate: false, result: { kind: 'session-expired' } });
      expect(kv.get('x')).to.equal(undefined);
      expect(kv.sessionCount).to.equal(0);
      // Still unknown: a retry gets the same answer, and seq 1 starts a session.
      expect(kv.apply(c('a', 7, put('x', '1')))!.result).to.deep.equal({ kind: 'session-expired' });
      expect(kv.apply(c('a', 1, put('x', '1')))!.result).to.deep.equal({ kind: 'ok' });
      expect(kv.sessionCount).to.equal(1);
    });

    it('expire-sessions drops exactly the sessions idle before its index', () => {
      const kv = new KvStateMachine();
      applyAll(kv, [
        c('a', 1, put('x', '1')), // idx 0
        c('b', 1, put('y', '1')), // idx 1
        c('c', 1, put('z', '1')), // idx 2
        c('b', 2, put('y', '2')), // idx 3
      ]);
      expect(kv.oldestSessionIdx()).to.equal(0);
      expect(kv.apply({ kind: 'expire-sessions', idleBefore: 3 })).to.equal(null); // drops a (0) and c (2)
      expect(kv.sessionCount).to.equal(1);
      expect(kv.oldestSessionIdx()).to.equal(3);
      expect(kv.appliedIdx).to.equal(5);
      // a's next command finds no session: expired, not executed. b is still known.
      expect(kv.apply(c('a', 2, put('x', '2')))!.result).to.deep.equal({ kind: 'session-expired' });
      expect(kv.get('x')).to.equal('1');
      expect(kv.apply(c('b', 3, put('y', '3')))!.result).to.deep.equal({ kind: 'ok' });
      expect(kv.apply(c('b', 3, put('y', '3')))!.duplicate).to.equal(true);
      // The data itself is not touched by expiry.
      expect(kv.get('z')).to.equal('1');
    });

    // A retry of a command applied before its session expired is answered session-expired and
    // not executed again. The answer does not say "not applied": for a retry it is indeterminate
    // (entry.ts, protocol.md), and clients record it so (src/sim/clients.ts).
    it('a retry of a command applied before its session expired is not executed again', () => {
      const kv = new KvStateMachine();
      kv.apply(c('a', 1, put('x', '1'))); // idx 0
      kv.apply(c('a', 2, put('x', '2'))); // idx 1: applied; say its reply was lost
      kv.apply(c('b', 1, put('y', '1'))); // idx 2
      kv.apply(c('b', 2, put('x', '3'))); // idx 3
      kv.apply({ kind: 'expire-sessions', idleBefore: 2 }); // drops a
      const retry = kv.apply(c('a', 2, put('x', '2')))!;
      expect(retry.result).to.deep.equal({ kind: 'session-expired' });
      expect(kv.get('x')).to.equal('3'); // a#2 took effect once, and was overwritten since
    });

    it('with no sessions oldestSessionIdx is null', () => {
      expect(new KvStateMachine().oldestSessionIdx()).to.equal(null);
    });

    it('skipDeduplication (planted BUG-13) executes a retried command twice', () => {
      const kv = new KvStateMachine({ skipDeduplication: true });
      const first = kv.apply(c('a', 1, cas('x', null, '1')))!;
      const again = kv.apply(c('a', 1, cas('x', null, '1')))!;
      expect(first.result).to.deep.equal({ kind: 'ok' });
      expect(again).to.deep.include({ duplicate: false, result: { kind: 'mismatch', current: '1' } });
    });
  });
});
