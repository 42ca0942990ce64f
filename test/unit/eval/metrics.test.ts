// Time budget: the largest case is a Platt fit on 20 000 scores (~10 ms).
import { describe, expect, it } from 'vitest';
import {
  accuracyAt,
  bestThreshold,
  crossValidatedCalibration,
  equalErrorRate,
  evaluateScores,
  fitPlatt,
  kFoldAccuracy,
  plattProbability,
  reliability,
  rocAuc,
  rocCurve,
  tarAtFar,
  thinRoc,
  type ScoredPair,
} from '../../../src/eval/metrics.js';
import { prng } from '../../support/prng.js';

const pairs = (same: (number | null)[], diff: (number | null)[], fold = 0): ScoredPair[] => [
  ...same.map((score) => ({ score, same: true, fold })),
  ...diff.map((score) => ({ score, same: false, fold })),
];

/** The Mann–Whitney estimate of AUC: P(same > different) + ½ P(tie), by brute force. */
function mannWhitney(ps: readonly ScoredPair[]): number {
  const s = ps.filter((p) => p.same).map((p) => p.score ?? -Infinity);
  const d = ps.filter((p) => !p.same).map((p) => p.score ?? Infinity);
  let wins = 0;
  for (const x of s) for (const y of d) wins += x > y ? 1 : x === y ? 0.5 : 0;
  return wins / (s.length * d.length);
}

// Same 0.9, 0.6, 0.4; different 0.7, 0.3, 0.2 — worked out by hand in the comments below.
const SMALL = pairs([0.9, 0.6, 0.4], [0.7, 0.3, 0.2]);

describe('perfectly separable scores', () => {
  const ps = [...pairs([0.9, 0.8, 0.7], [0.1, 0.2, 0.3], 0), ...pairs([0.95, 0.75], [0.05, 0.35], 1)];

  it('give accuracy 1 on every fold, AUC 1, EER 0 and TAR 1 at any FAR', () => {
    const m = evaluateScores(ps);
    expect(m.accuracy!.mean).toBe(1);
    expect(m.accuracy!.std).toBe(0);
    expect(m.auc).toBeCloseTo(1, 12);
    expect(m.eer.eer).toBe(0);
    expect(m.tarAtFar.map((t) => t.tar)).toEqual([1, 1]);
    expect(m.failedPairs).toBe(0);
    expect(m.accuracyDetectedOnly, 'nothing failed, so there is nothing to compare against').toBeNull();
  });

  it('put the best threshold halfway between the classes (midpoint of the sorted scores)', () => {
    expect(bestThreshold(pairs([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]))).toEqual({ threshold: 0.5, accuracy: 1 });
  });
});

describe('a small ROC worked out by hand', () => {
  it('has one point per distinct score, from (0, 0) to (1, 1)', () => {
    // Descending: 0.9 S, 0.7 D, 0.6 S, 0.4 S, 0.3 D, 0.2 D.
    const roc = rocCurve(SMALL);
    expect(roc.map((p) => [p.threshold, p.far, p.tpr])).toEqual([
      [Infinity, 0, 0],
      [0.9, 0, 1 / 3],
      [0.7, 1 / 3, 1 / 3],
      [0.6, 1 / 3, 2 / 3],
      [0.4, 1 / 3, 1],
      [0.3, 2 / 3, 1],
      [0.2, 1, 1],
    ]);
  });

  it('AUC = 7/9 (1/3 · 1/3 + 2/3 · 1), equal to the Mann–Whitney count', () => {
    expect(rocAuc(rocCurve(SMALL))).toBeCloseTo(7 / 9, 12);
    expect(mannWhitney(SMALL)).toBeCloseTo(7 / 9, 12);
  });

  it('EER = 1/3 at threshold 0.6, where FAR = FRR = 1/3', () => {
    const { eer, threshold } = equalErrorRate(rocCurve(SMALL));
    expect(eer).toBeCloseTo(1 / 3, 12);
    expect(threshold).toBeCloseTo(0.6, 12);
  });

  it('TAR@FAR takes the best attainable point within the FAR budget, no interpolation', () => {
    const roc = rocCurve(SMALL);
    expect(tarAtFar(roc, 0.1)).toMatchObject({ tar: 1 / 3, far: 0, threshold: 0.9, attainable: true });
    expect(tarAtFar(roc, 0.5)).toMatchObject({ tar: 1, far: 1 / 3, threshold: 0.4 });
  });

  it('best threshold 0.35 with accuracy 5/6 (only 0.7 different is wrong)', () => {
    const { threshold, accuracy } = bestThreshold(SMALL);
    expect(threshold).toBeCloseTo(0.35, 12);
    expect(accuracy).toBeCloseTo(5 / 6, 12);
    expect(accuracyAt(SMALL, threshold)).toBeCloseTo(5 / 6, 12);
  });

  it('thinning drops only collinear points: the AUC and the end points are unchanged', () => {
    const rand = prng(3);
    const big = pairs(
      Array.from({ length: 300 }, () => 0.3 + rand()),
      Array.from({ length: 300 }, () => rand()),
    );
    const roc = rocCurve(big);
    const thin = thinRoc(roc);
    expect(thin.length).toBeLessThan(roc.length);
    expect(rocAuc(thin)).toBeCloseTo(rocAuc(roc), 12);
    expect(thin[0]).toEqual(roc[0]);
    expect(thin.at(-1)).toEqual(roc.at(-1));
  });
});

describe('ties', () => {
  it('a same and a different pair with equal scores count half in the AUC (diagonal ROC step)', () => {
    const ps = pairs([0.5, 0.9], [0.5, 0.1]);
    expect(rocAuc(rocCurve(ps))).toBeCloseTo(mannWhitney(ps), 12);
    expect(rocAuc(rocCurve(ps))).toBeCloseTo(0.875, 12);
  });

  it('no threshold splits a group of equal scores', () => {
    const roc = rocCurve(pairs([0.5, 0.5], [0.5]));
    expect(roc.map((p) => [p.far, p.tpr])).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });

  it('among equally good thresholds the median one is chosen, not the lowest', () => {
    // Ascending: 0.1 D, 0.2 S, 0.3 D, 0.4 S, 0.5 D, 0.6 S: thresholds 0.15, 0.35 and 0.55 all get 4/6.
    const { threshold, accuracy } = bestThreshold(pairs([0.2, 0.4, 0.6], [0.1, 0.3, 0.5]));
    expect(accuracy).toBeCloseTo(4 / 6, 12);
    expect(threshold).toBeCloseTo(0.35, 12);
  });
});

describe('k-fold accuracy', () => {
  // Folds 0 and 1 are clean; fold 2 has a different pair at 0.6.
  // Fold 2 tested: trained on 0.2 D, 0.2 D, 0.8 S, 0.8 S → threshold 0.5 → its 0.6 D is wrong: 1/2.
  // Folds 0, 1 tested: trained on 0.2 D, 0.6 D, 0.8 S, 0.8 S → threshold 0.7 → both right: 1.
  const ps = [...pairs([0.8], [0.2], 0), ...pairs([0.8], [0.2], 1), ...pairs([0.8], [0.6], 2)];

  it('chooses each fold threshold on the other folds only', () => {
    const k = kFoldAccuracy(ps);
    [0.7, 0.7, 0.5].forEach((t, i) => expect(k.folds[i]!.threshold).toBeCloseTo(t, 12));
    expect(k.folds.map((f) => f.accuracy)).toEqual([1, 1, 0.5]);
  });

  it('reports the mean, the population std (ddof 0), the standard error and the mean threshold', () => {
    const k = kFoldAccuracy(ps);
    expect(k.mean).toBeCloseTo(5 / 6, 12);
    expect(k.std).toBeCloseTo(Math.sqrt(1 / 18), 12); // deviations 1/6, 1/6, −1/3
    expect(k.standardError).toBeCloseTo(Math.sqrt(1 / 12) / Math.sqrt(3), 12);
    expect(k.threshold).toBeCloseTo((0.7 + 0.7 + 0.5) / 3, 12);
  });

  it('refuses a single fold (there is nothing to hold out)', () => {
    expect(() => kFoldAccuracy(SMALL)).toThrow(/at least 2 folds/);
    expect(evaluateScores(SMALL).accuracy).toBeNull();
  });
});

describe('failed pairs count as wrong at every threshold', () => {
  it('a failed same pair is a false reject, whatever the threshold', () => {
    const ps = pairs([0.9, null], [0.1, 0.2]);
    expect(bestThreshold(ps).accuracy).toBeCloseTo(3 / 4, 12);
    for (const t of [-1e9, 0, 1e9]) expect(accuracyAt(pairs([null], []), t), `threshold ${t}`).toBe(0);
    expect(rocAuc(rocCurve(ps))).toBeCloseTo(0.5, 12); // it loses to both different pairs
  });

  it('a failed different pair is a false accept, so FAR cannot go below 1/N_different', () => {
    const ps = pairs([0.9, 0.8], [0.1, 0.2, 0.3, null]);
    const roc = rocCurve(ps);
    expect(roc[0]).toEqual({ threshold: Infinity, far: 0.25, tpr: 0 });
    expect(tarAtFar(roc, 0.1)).toMatchObject({ attainable: false, tar: 0 });
    expect(tarAtFar(roc, 0.25)).toMatchObject({ attainable: true, tar: 1 });
    for (const t of [-1e9, 0, 1e9]) expect(accuracyAt(pairs([], [null]), t), `threshold ${t}`).toBe(0);
  });

  it('evaluateScores counts them and also reports accuracy without them, for comparison', () => {
    const ps = [...pairs([0.9, null], [0.1, 0.2], 0), ...pairs([0.8, 0.7], [0.3, 0.2], 1)];
    const m = evaluateScores(ps);
    expect(m.failedPairs).toBe(1);
    expect(m.accuracy!.folds[0]!.accuracy).toBeCloseTo(3 / 4, 12);
    expect(m.accuracyDetectedOnly!.mean).toBe(1);
    expect(m.platt.n, 'Platt scaling must use only pairs with a score').toBe(7);
  });
});

describe('Platt scaling', () => {
  // Scores like cosine similarities; labels drawn from a known sigmoid with a = 12, b = −5.
  const rand = prng(42);
  const n = 20_000;
  const truth = { a: 12, b: -5 };
  const scores = Array.from({ length: n }, () => -0.2 + 1.1 * rand());
  const labels = scores.map((s) => rand() < plattProbability(s, truth));

  it('recovers known a and b from data generated by them', () => {
    const fit = fitPlatt(scores, labels);
    expect(fit.converged).toBe(true);
    expect(fit.a).toBeGreaterThan(truth.a * 0.94);
    expect(fit.a).toBeLessThan(truth.a * 1.06);
    expect(fit.b).toBeGreaterThan(truth.b - 0.3);
    expect(fit.b).toBeLessThan(truth.b + 0.3);
    // The decision boundary −b/a (p = 0.5) is pinned down much tighter than a and b themselves.
    expect(-fit.b / fit.a).toBeCloseTo(-truth.b / truth.a, 2);
  });

  it('stops at the maximum likelihood for the smoothed targets (both gradients ≈ 0)', () => {
    const fit = fitPlatt(scores, labels);
    const nPos = labels.filter(Boolean).length;
    const hi = (nPos + 1) / (nPos + 2);
    const lo = 1 / (n - nPos + 2);
    let g1 = 0;
    let g2 = 0;
    scores.forEach((s, i) => {
      const r = (labels[i] ? hi : lo) - plattProbability(s, fit);
      g1 += s * r;
      g2 += r;
    });
    expect(Math.abs(g1)).toBeLessThan(1e-5);
    expect(Math.abs(g2)).toBeLessThan(1e-5);
  });

  it('is deterministic and stays finite on perfectly separated scores (target smoothing)', () => {
    expect(fitPlatt(scores, labels)).toEqual(fitPlatt(scores, labels));
    const sep = fitPlatt([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [false, false, false, true, true, true]);
    expect(Number.isFinite(sep.a) && Number.isFinite(sep.b)).toBe(true);
    expect(plattProbability(0.9, sep)).toBeGreaterThan(0.5);
    expect(plattProbability(0.1, sep)).toBeLessThan(0.5);
  });

  it('plattProbability does not overflow for extreme arguments', () => {
    expect(plattProbability(1e6, { a: 1, b: 0 })).toBe(1);
    expect(plattProbability(-1e6, { a: 1, b: 0 })).toBe(0);
  });
});

describe('reliability', () => {
  it('bins predictions and computes ECE and Brier as worked out by hand', () => {
    const r = reliability([0.05, 0.15, 0.95, 0.92], [false, true, true, true], 10);
    expect(r.bins[0]).toMatchObject({ count: 1, observedRate: 0 });
    expect(r.bins[0]!.meanPredicted).toBeCloseTo(0.05, 12);
    expect(r.bins[1]).toMatchObject({ count: 1, observedRate: 1 });
    expect(r.bins[9]!.count).toBe(2);
    expect(r.bins[9]!.meanPredicted).toBeCloseTo(0.935, 12);
    expect(r.bins[5]!.count).toBe(0);
    // ECE = ¼·0.05 + ¼·0.85 + ½·0.065; Brier = (0.05² + 0.85² + 0.05² + 0.08²) / 4.
    expect(r.ece).toBeCloseTo(0.2575, 12);
    expect(r.brier).toBeCloseTo(0.183475, 12);
    expect(r.bins.reduce((s, b) => s + b.count, 0)).toBe(4);
  });

  it('puts probability 1 in the last bin rather than past the end', () => {
    expect(reliability([1], [true], 10).bins[9]!.count).toBe(1);
  });

  it('is close to perfect for probabilities that come from the true model', () => {
    const rand = prng(7);
    const truth = { a: 12, b: -5 };
    const ps: ScoredPair[] = Array.from({ length: 4000 }, (_, i) => {
      const score = -0.2 + 1.1 * rand();
      return { score, same: rand() < plattProbability(score, truth), fold: i % 10 };
    });
    const cal = crossValidatedCalibration(ps);
    expect(cal.crossValidated).toBe(true);
    expect(cal.folds).toHaveLength(10);
    expect(cal.n).toBe(4000);
    expect(cal.ece, 'out-of-fold Platt on well-specified data should be calibrated').toBeLessThan(0.03);
  });

  it('falls back to an in-sample fit, and says so, when the other folds lack a class', () => {
    const cal = crossValidatedCalibration([...pairs([0.9], [0.1], 0), ...pairs([0.8], [], 1)]);
    expect(cal.crossValidated).toBe(false);
    expect(cal.n).toBe(3);
  });
});
