/**
 * The benchmark's arithmetic: an error is "not a match" in `accuracy` (a false rejection for a
 * same-person pair, a correct rejection for a different-person pair) and a wrong answer in
 * `accuracyErrorsWrong`; TAR and FAR count accepted pairs only. Row ids are unique, so a report can
 * be joined on them.
 */
import { describe, expect, it } from 'vitest';
import { DEGRADE_ROWS } from '../../../src/eval/degrade-rows.js';
import { summariseRow, type Outcome } from '../../../src/eval/run-degrade.js';

const scored = (cosine: number, isMatch: boolean): Outcome => ({
  kind: 'scored',
  cosine,
  isMatch,
  confidence: 0.5,
});
const error = (code: 'NO_FACE' | 'FACE_TOO_SMALL'): Outcome => ({
  kind: 'error',
  code,
  image: 2,
  message: '',
});

describe('summariseRow', () => {
  it('counts an error as "not a match" in accuracy and as wrong in accuracyErrorsWrong', () => {
    const row = DEGRADE_ROWS.find((r) => r.id === 'rotate-90')!;
    const r = summariseRow(
      row,
      [
        { same: true, outcome: scored(0.8, true) },
        { same: true, outcome: error('NO_FACE') },
        { same: true, outcome: scored(0.2, false) },
        { same: false, outcome: scored(0.1, false) },
        { same: false, outcome: error('NO_FACE') },
        { same: false, outcome: error('FACE_TOO_SMALL') },
        { same: false, outcome: scored(0.5, true) },
        { same: true, outcome: scored(0.6, true) },
      ],
      1,
      2,
    );
    // Right: 2 same accepted + 3 different not accepted (1 scored, 2 errors) = 5 of 8.
    expect(r.accuracy).toBeCloseTo(5 / 8, 10);
    // Right with errors wrong: 2 same accepted + 1 different scored and rejected = 3 of 8.
    expect(r.accuracyErrorsWrong).toBeCloseTo(3 / 8, 10);
    expect(r.tar).toBeCloseTo(2 / 4, 10);
    expect(r.far).toBeCloseTo(1 / 4, 10);
    expect(r.errorsByCode).toEqual({ NO_FACE: 2, FACE_TOO_SMALL: 1 });
    expect([r.sameErrors, r.differentErrors, r.notBuilt]).toEqual([1, 2, 1]);
    expect(r.meanSameCosine).toBeCloseTo((0.8 + 0.2 + 0.6) / 3, 10);
  });

  it('has unique row ids, and every sweep has at least three points', () => {
    expect(new Set(DEGRADE_ROWS.map((r) => r.id)).size).toBe(DEGRADE_ROWS.length);
    const perSweep = new Map<string, number>();
    for (const r of DEGRADE_ROWS)
      if (r.sweep) perSweep.set(r.sweep.name, (perSweep.get(r.sweep.name) ?? 0) + 1);
    for (const [name, n] of perSweep) expect(n, name).toBeGreaterThanOrEqual(3);
  });
});
