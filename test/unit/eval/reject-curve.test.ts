/**
 * Error-versus-reject arithmetic on hand-made records. A failure means the curve ranks the wrong way,
 * counts refused photos or unscored pairs wrongly, or the QUALITY_FILTER rows refuse the wrong levels.
 * Time budget: microseconds.
 */
import { describe, expect, it } from 'vitest';
import type { QualityLevel } from '../../../src/core/face-quality.js';
import { errorRejectCurve, refusedShare } from '../../../src/eval/reject-curve.js';
import type { PairRecord } from '../../../src/eval/run-degrade.js';

function rec(score: number, level: QualityLevel, wrong: boolean, same = true): PairRecord {
  return {
    row: 'r',
    pair: 0,
    same,
    outcome: { kind: 'scored', cosine: 0.5, isMatch: wrong ? !same : same, confidence: 0.5 },
    analysisB: { face: { quality: { score, level } } } as unknown as PairRecord['analysisB'],
  };
}

describe('errorRejectCurve', () => {
  // 10 pairs: the two lowest scores are wrong, one wrong pair scores high.
  const records = [
    rec(0.1, 'low', true),
    rec(0.2, 'low', true),
    ...[0.5, 0.6, 0.7, 0.8, 0.9, 0.91, 0.92].map((s) => rec(s, s < 0.85 ? 'medium' : 'high', false)),
    rec(0.95, 'high', true, false),
  ];

  it('refuses the lowest scores first: 20 % refused removes 2 of 3 wrong answers', () => {
    const c = errorRejectCurve(records, [0, 0.1, 0.2])!;
    expect(c).toMatchObject({ pairs: 10, wrong: 3 });
    expect(c.points[0]).toEqual({ rejected: 0, errorRate: 0.3, wrongRemoved: 0 });
    expect(c.points[1]?.wrongRemoved).toBeCloseTo(1 / 3, 10);
    expect(c.points[2]?.rejected).toBeCloseTo(0.2, 10);
    expect(c.points[2]?.errorRate).toBeCloseTo(1 / 8, 10);
    expect(c.points[2]?.wrongRemoved).toBeCloseTo(2 / 3, 10);
  });

  it('QUALITY_FILTER=medium refuses the low faces, high everything but high', () => {
    const c = errorRejectCurve(records)!;
    expect(c.levels[0]?.filter).toBe('medium');
    expect(c.levels[0]?.rejected).toBeCloseTo(0.2, 10);
    expect(c.levels[0]?.wrongRemoved).toBeCloseTo(2 / 3, 10);
    expect(c.levels[1]?.filter).toBe('high');
    expect(c.levels[1]?.rejected).toBeCloseTo(0.6, 10);
  });

  it('leaves out pairs with an error and answers null without scores', () => {
    const error: PairRecord = {
      row: 'r',
      pair: 1,
      same: true,
      outcome: { kind: 'error', code: 'NO_FACE', image: 2, message: '' },
      analysisB: null,
    };
    expect(errorRejectCurve([...records, error])?.pairs).toBe(10);
    expect(errorRejectCurve([error])).toBeNull();
  });
});

describe('refusedShare', () => {
  it('counts low faces for medium, non-high for high, and skips photos with an error', () => {
    const a = (level: QualityLevel) => ({ face: { quality: { level } } });
    const all = [a('low'), a('medium'), a('high'), a('high'), { error: 'NO_FACE' }];
    expect(refusedShare(all, 'medium')).toEqual({ refused: 1, of: 4 });
    expect(refusedShare(all, 'high')).toEqual({ refused: 2, of: 4 });
  });
});
