/**
 * The shape that makes linearizability searches explode (hardRegisterHistory in
 * src/history/synthetic.ts): one register, 5–20 clients, five values, reads / writes / CAS,
 * some operations with unknown outcomes; each linearizable, and with one violation injected
 * late (then provably not linearizable: see the generator): a read of an overwritten value,
 * given away by a completed write ('stale-read') or only by the order of reads
 * ('read-inversion'), or two successful CAS from one write ('lost-update', which no single
 * completed operation gives away: only the search finds it). Every history must get its
 * verdict, definite, within LIMIT_MS — a limit that turns a runaway search into UNKNOWN (and
 * so into a failure here), not a timing assertion. Times are printed for information only.
 *
 * The histories are fixed by their seeds, so a failure reproduces exactly; the figures for
 * more sizes and for the search without pruning come from `tsx bench/check-hard.ts`.
 */
import { expect } from 'chai';
import { checkHistory } from '../src/history/driver.js';
import { hardRegisterHistory, toHistory, type Violation } from '../src/history/synthetic.js';

/** The limit per history; HARD_LIMIT_MS overrides it (to see whether more time would help). */
const LIMIT_MS = Number(process.env.HARD_LIMIT_MS ?? 20_000);

interface Case { ops: number; clients: number; pInfo: number; violation: Violation; seed: number }
const CASES: Case[] = [
  { ops: 1_000, clients: 5, pInfo: 0.01, violation: 'stale-read', seed: 11 },
  { ops: 1_000, clients: 20, pInfo: 0.005, violation: 'lost-update', seed: 12 },
  { ops: 5_000, clients: 10, pInfo: 0.005, violation: 'read-inversion', seed: 13 },
  { ops: 5_000, clients: 10, pInfo: 0.005, violation: 'lost-update', seed: 13 },
  { ops: 10_000, clients: 5, pInfo: 0.002, violation: 'read-inversion', seed: 14 },
  { ops: 20_000, clients: 10, pInfo: 0.002, violation: 'lost-update', seed: 15 },
  { ops: 20_000, clients: 20, pInfo: 0.002, violation: 'stale-read', seed: 16 },
];

describe('checker on hard register histories', function () {
  this.timeout(LIMIT_MS + 30_000);
  for (const c of CASES) {
    for (const linearizable of [true, false]) {
      const expected = linearizable ? `LINEARIZABLE (twin of ${c.violation})` : `NOT LINEARIZABLE (${c.violation})`;
      it(`${c.ops} ops, ${c.clients} clients, p(info) ${c.pInfo}, seed ${c.seed}: ${expected}`, async () => {
        const generated = hardRegisterHistory({ ...c, linearizable });
        const history = toHistory(generated.events);
        const report = await checkHistory(history, { timeoutMs: LIMIT_MS });
        const key = report.keys[0]!;
        console.log(`      ops ${report.operations}, clients ${c.clients}, info ${report.indeterminate},`
          + ` verdict ${report.verdict}, ${report.elapsedMs.toFixed(0)} ms, ${key.configs} configurations`
          + (generated.injected ? `, ${generated.injected.change}` : ''));
        expect(report.verdict, `no definite verdict within ${LIMIT_MS} ms`).to.not.equal('UNKNOWN');
        expect(report.verdict).to.equal(linearizable ? 'LINEARIZABLE' : 'NOT LINEARIZABLE');
      });
    }
  }
});
