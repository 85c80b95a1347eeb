import { expect } from 'chai';
import {
  BOTTOM, ballotEq, ballotGt, ballotLt, compareBallots, formatBallot, isBottom, majority, maxBallot, type Ballot,
} from '../src/replica/ballot.js';

const b = (n: number, priority: number, pid: number): Ballot => ({ n, priority, pid });

describe('replica: ballots', () => {
  it('compares lexicographically on (n, priority, pid)', () => {
    // Each pair differs first in the component named; the other components point the other way.
    const pairs: [Ballot, Ballot, string][] = [
      [b(1, 9, 9), b(2, 0, 1), 'n'],
      [b(3, 1, 9), b(3, 2, 1), 'priority'],
      [b(3, 2, 4), b(3, 2, 5), 'pid'],
    ];
    for (const [lo, hi, what] of pairs) {
      expect(compareBallots(lo, hi), what).to.equal(-1);
      expect(compareBallots(hi, lo), what).to.equal(1);
      expect(ballotLt(lo, hi), what).to.equal(true);
      expect(ballotGt(hi, lo), what).to.equal(true);
      expect(ballotGt(lo, hi), what).to.equal(false);
      expect(maxBallot(lo, hi), what).to.deep.equal(hi);
      expect(maxBallot(hi, lo), what).to.deep.equal(hi);
    }
  });

  it('sorts a shuffled list into the lexicographic order', () => {
    const sorted = [b(0, 0, 3), b(0, 5, 1), b(1, 0, 1), b(1, 0, 2), b(1, 1, 1), b(2, 0, 1), b(2, 3, 7)];
    const shuffled = [sorted[4]!, sorted[0]!, sorted[6]!, sorted[2]!, sorted[5]!, sorted[1]!, sorted[3]!];
    expect(shuffled.slice().sort(compareBallots)).to.deep.equal(sorted);
  });

  it('equality is structural, not by identity', () => {
    expect(ballotEq(b(2, 1, 3), b(2, 1, 3))).to.equal(true);
    expect(compareBallots(b(2, 1, 3), { pid: 3, n: 2, priority: 1 })).to.equal(0);
    expect(ballotEq(b(2, 1, 3), b(2, 1, 4))).to.equal(false);
  });

  it('BOTTOM is below every ballot a node can issue, including round 0 after a restart', () => {
    for (const x of [b(0, 0, 1), b(0, 0, 2), b(1, 0, 1), b(0, 7, 1)]) {
      expect(ballotLt(BOTTOM, x), formatBallot(x)).to.equal(true);
      expect(maxBallot(BOTTOM, x)).to.deep.equal(x);
    }
    expect(isBottom(BOTTOM)).to.equal(true);
    expect(isBottom(b(0, 0, 1))).to.equal(false);
    expect(formatBallot(BOTTOM)).to.equal('⊥');
    expect(formatBallot(b(3, 1, 2))).to.equal('3.1.2');
    expect(Object.isFrozen(BOTTOM)).to.equal(true);
  });

  it('majority(n) is floor(n/2)+1: more than half, never N/2 (BUG-16)', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).to.deep.equal([1, 2, 2, 3, 3, 4, 4]);
    for (let n = 1; n <= 20; n++) {
      // Any two majorities intersect, and a majority is the smallest such size.
      expect(2 * majority(n) > n, `n=${n}`).to.equal(true);
      expect(2 * (majority(n) - 1) > n, `n=${n}`).to.equal(false);
    }
  });
});
