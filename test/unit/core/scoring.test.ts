// Time budget: arithmetic only (< 5 ms).
import { describe, expect, it } from 'vitest';
import { rocTable } from '../../../src/core/operating-point.js';
import { plattProbability, resolveThreshold, roundTo, Scoring } from '../../../src/core/scoring.js';
import { cosineToEuclidean } from '../../../src/core/similarity.js';

const model = {
  name: 'ours',
  threshold: 0.4,
  calibration: { method: 'platt' as const, a: 10, b: -4, fittedOn: 'test' },
};
/** A ROC from 100 same (scores 0.30–0.99) and 100 different pairs (−0.2–0.49): thresholds cut both. */
const pairs = (shift: number) => [
  ...Array.from({ length: 100 }, (_, i) => ({ same: true, score: 0.3 + 0.0069 * i + shift })),
  ...Array.from({ length: 100 }, (_, i) => ({ same: false, score: -0.2 + 0.0069 * i + shift })),
];
const withRoc = { ...model, roc: rocTable(pairs(0), 'test pairs', 0.01) };
const theirRoc = rocTable(pairs(0.3), 'their pairs', 0.01);
const a = Float32Array.of(1, 0);
const b = Float32Array.of(Math.cos(1), Math.sin(1)); // cos = 0.5403

describe('Scoring', () => {
  it('decides on cosine ≥ threshold and reports the equivalent euclidean threshold (d² = 2 − 2cos)', () => {
    // Failing means is_match and the reported thresholds disagree with the metrics.
    const r = new Scoring(model).compare(a, b, 0.5);
    expect(r.is_match).toBe(true);
    expect(r.metrics.cosine_similarity).toBeCloseTo(Math.cos(1), 5);
    expect(r.metrics.euclidean_distance ** 2).toBeCloseTo(2 - 2 * Math.cos(1), 4);
    expect(r.threshold).toEqual({
      metric: 'cosine_similarity',
      cosine_similarity: 0.5,
      euclidean_distance: 1,
      source: 'request',
    });
    expect(new Scoring(model).compare(a, b, 0.6).is_match).toBe(false);
  });

  it('confidence is the Platt sigmoid: 0.5 where a·cos + b = 0, rising with similarity', () => {
    // Failing means confidence is not the calibrated probability docs/accuracy.md describes.
    const s = new Scoring(model);
    expect(s.confidence(0.4)).toBeCloseTo(0.5, 9);
    expect(s.confidence(0.8)).toBeGreaterThan(0.98);
    expect(s.confidence(0)).toBeLessThan(0.02);
  });

  it('MIN_CONFIDENCE_THRESHOLD: a match must also reach it, and the answer says so', () => {
    // Failing means the minimum confidence is ignored, or silently changes is_match.
    const s = new Scoring(model, { minConfidence: 0.9 });
    // cos 0.5403: above the threshold 0.4, confidence 1/(1+e^-1.403) = 0.803 < 0.9.
    const r = s.compare(a, b);
    expect(r.is_match).toBe(false);
    expect(r.threshold.min_confidence).toBe(0.9);
    expect(new Scoring(model, { minConfidence: 0.8 }).compare(a, b).is_match).toBe(true);
  });

  it('the threshold in force: per call, else cosine setting, else euclidean setting, else the model', () => {
    // Failing means EUCLIDEAN_DISTANCE_THRESHOLD (the reference's name) is ignored or wins wrongly.
    const t = (settings: Parameters<typeof resolveThreshold>[0], perCall?: number) =>
      resolveThreshold(settings, model, perCall).threshold;
    expect(t({})).toBe(0.4);
    expect(t({ euclideanThreshold: 1 })).toBeCloseTo(0.5, 12);
    expect(t({ euclideanThreshold: 1, cosineThreshold: 0.3 })).toBe(0.3);
    expect(t({ cosineThreshold: 0.3 }, 0.7)).toBe(0.7);
    expect(resolveThreshold({ cosineThreshold: 0.3, thresholdModel: 'ours' }, model).source).toBe(
      'configured',
    );
    const s = new Scoring(model, { euclideanThreshold: cosineToEuclidean(0.55) });
    expect(s.threshold()).toBeCloseTo(0.55, 12);
    expect(s.compare(a, b).is_match).toBe(false);
  });

  it('MATCH_FAR picks the lowest threshold whose LFW FAR is at most the target, and answers say so', () => {
    // Failing means MATCH_FAR is ignored or picks a threshold with more false matches than asked.
    const s = new Scoring(withRoc, { matchFar: 0.05 });
    expect(s.choice()).toMatchObject({ source: 'match_far' });
    const point = s.operatingPoint(s.threshold());
    expect(point?.far).toBeLessThanOrEqual(0.05);
    expect(s.operatingPoint(s.threshold() - 0.01)?.far).toBeGreaterThan(0.05);
    expect(s.compare(a, b).threshold).toMatchObject({
      source: 'match_far',
      operating_point: { far: point?.far },
    });
  });

  it("another model's threshold moves to the same LFW FAR, or is not applied without that model's ROC", () => {
    // Failing means a reference .env's FaceNet threshold (0.7) is applied to a model it was never fitted
    // for: most genuine pairs rejected while confidence says > 99 %.
    const moved = resolveThreshold(
      { cosineThreshold: 0.6, thresholdModel: 'theirs', referenceRoc: theirRoc },
      withRoc,
    );
    expect(moved.source).toBe('translated');
    expect(moved.threshold).toBeCloseTo(0.3, 1); // their scores are ours + 0.3
    const dropped = resolveThreshold({ cosineThreshold: 0.7, thresholdModel: 'facenet' }, withRoc);
    expect(dropped).toMatchObject({ threshold: 0.4, source: 'model' });
    expect(dropped.note).toMatch(/not applied/);
  });

  it('plattProbability never overflows to NaN, at either end', () => {
    // Failing means an extreme calibration or score answers confidence NaN.
    expect(plattProbability(1, { a: 1e6, b: 0 })).toBe(1);
    expect(plattProbability(-1, { a: 1e6, b: 0 })).toBe(0);
    expect(plattProbability(0.5, { a: 12, b: -6 })).toBe(0.5);
  });

  it('rounds answers to fixed places', () => {
    // Failing means answers carry float noise (0.30000000000000004) or lose precision.
    expect(roundTo(0.1 + 0.2, 4)).toBe(0.3);
    expect(roundTo(0.1234567, 6)).toBe(0.123457);
  });
});
