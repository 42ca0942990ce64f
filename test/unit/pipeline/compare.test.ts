import { describe, expect, it } from 'vitest';
import { calibratedConfidence, compareEmbeddings } from '../../../src/pipeline/compare.js';
import { selectFace } from '../../../src/pipeline/select-face.js';
import type { DetectedFace } from '../../../src/pipeline/mtcnn/mtcnn.js';

const platt = { method: 'platt' as const, a: 10, b: -4, fittedOn: 'test' };

describe('compareEmbeddings', () => {
  it('decides on cosine ≥ threshold and reports the equivalent euclidean threshold (d² = 2 − 2cos)', () => {
    const a = Float32Array.of(1, 0);
    const b = Float32Array.of(Math.cos(1), Math.sin(1)); // cos = 0.5403
    const r = compareEmbeddings(a, b, 0.5, platt);
    expect(r.is_match).toBe(true);
    expect(r.metrics.cosine_similarity).toBeCloseTo(Math.cos(1), 5);
    expect(r.metrics.euclidean_distance ** 2).toBeCloseTo(2 - 2 * Math.cos(1), 4);
    expect(r.threshold.euclidean_distance).toBeCloseTo(1, 6);
    expect(compareEmbeddings(a, b, 0.6, platt).is_match).toBe(false);
  });

  it('confidence is the Platt sigmoid: 0.5 where a·cos + b = 0, rising with similarity', () => {
    expect(calibratedConfidence(0.4, platt)).toBeCloseTo(0.5, 9);
    expect(calibratedConfidence(0.8, platt)).toBeGreaterThan(0.98);
    expect(calibratedConfidence(0, platt)).toBeLessThan(0.02);
  });
});

describe('selectFace', () => {
  const face = (x1: number, y1: number, side: number): DetectedFace => ({
    box: { x1, y1, x2: x1 + side, y2: y1 + side },
    score: 0.99,
    landmarks: [],
  });
  const image = { width: 400, height: 400 };
  const big = face(0, 0, 120); // largest, in a corner
  const central = face(150, 150, 100); // a bit smaller, centred

  it('strict: one face is fine, two give MULTIPLE_FACES with the faces listed, none gives NO_FACE', () => {
    expect(selectFace([central], 'strict', image)).toBe(central);
    expect(() => selectFace([big, central], 'strict', image, (f) => f.length)).toThrow(
      expect.objectContaining({ code: 'MULTIPLE_FACES', details: { faces: 2 } }),
    );
    expect(() => selectFace([], 'largest', image)).toThrow(expect.objectContaining({ code: 'NO_FACE' }));
  });

  it('largest picks the biggest box; center trades size for distance from the centre (InsightFace)', () => {
    expect(selectFace([central, big], 'largest', image)).toBe(big);
    expect(selectFace([big, central], 'center', image)).toBe(central);
  });
});
