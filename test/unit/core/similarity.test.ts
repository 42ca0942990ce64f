// Time budget: a few hundred dot products of 512-d vectors (< 5 ms).
import { describe, expect, it } from 'vitest';
import {
  cosineSimilarity,
  cosineToEuclidean,
  euclideanDistance,
  euclideanToCosine,
  l2Normalize,
} from '../../../src/core/similarity.js';
import { prng } from '../../support/prng.js';

/** A Gaussian vector (Box–Muller), the distribution of directions of a random embedding. */
function gaussian(rand: () => number, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return v;
}

const f32 = (...xs: number[]): Float32Array => Float32Array.from(xs);

describe('l2Normalize', () => {
  it('scales to length 1 keeping direction ([3, 4] → [0.6, 0.8])', () => {
    const v = l2Normalize(f32(3, 4));
    expect(v[0]).toBeCloseTo(0.6, 6);
    expect(v[1]).toBeCloseTo(0.8, 6);
  });

  it('returns a new array and leaves the input alone (embeddings may be cached)', () => {
    const input = f32(3, 4);
    const out = l2Normalize(input);
    expect(out).not.toBe(input);
    expect(Array.from(input)).toEqual([3, 4]);
  });

  it('gives unit length for random 512-d vectors', () => {
    const rand = prng(1);
    for (let k = 0; k < 20; k++) {
      const v = l2Normalize(gaussian(rand, 512));
      expect(Math.hypot(...v)).toBeCloseTo(1, 6);
    }
  });

  it('keeps a zero vector zero instead of producing NaN', () => {
    expect(Array.from(l2Normalize(new Float32Array(4)))).toEqual([0, 0, 0, 0]);
  });
});

describe('cosineSimilarity and euclideanDistance', () => {
  it('give the known values: parallel 1, orthogonal 0, opposite −1, 45° → 1/√2', () => {
    expect(cosineSimilarity(f32(1, 2, 3), f32(2, 4, 6))).toBeCloseTo(1, 12);
    expect(cosineSimilarity(f32(1, 0), f32(0, 5))).toBe(0);
    expect(cosineSimilarity(f32(1, 2), f32(-1, -2))).toBeCloseTo(-1, 12);
    expect(cosineSimilarity(f32(1, 0), f32(1, 1))).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('cosine ignores length (un-normalised embeddings must compare the same as normalised ones)', () => {
    const rand = prng(5);
    const a = gaussian(rand, 128);
    const b = gaussian(rand, 128);
    expect(cosineSimilarity(a, b)).toBeCloseTo(cosineSimilarity(l2Normalize(a), l2Normalize(b)), 6);
  });

  it('cosine stays within [−1, 1] for identical vectors and is 0 with a zero vector', () => {
    const rand = prng(9);
    const a = gaussian(rand, 512);
    expect(cosineSimilarity(a, a)).toBeLessThanOrEqual(1);
    expect(cosineSimilarity(a, new Float32Array(512))).toBe(0);
  });

  it('euclidean distance is the plain L2 norm of the difference (3-4-5)', () => {
    expect(euclideanDistance(f32(0, 0), f32(3, 4))).toBe(5);
    expect(euclideanDistance([1, 1, 1], [1, 1, 1])).toBe(0);
  });

  it('satisfy d² = 2 − 2·cos on random unit vectors (else thresholds convert wrongly)', () => {
    const rand = prng(2024);
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const a = l2Normalize(gaussian(rand, 512));
      const b = l2Normalize(gaussian(rand, 512));
      const cos = cosineSimilarity(a, b);
      const d = euclideanDistance(a, b);
      worst = Math.max(
        worst,
        Math.abs(d * d - (2 - 2 * cos)),
        Math.abs(cosineToEuclidean(cos) - d),
        Math.abs(euclideanToCosine(d) - cos),
      );
    }
    // float32 storage of the unit vectors limits agreement to ~1e-7.
    expect(worst).toBeLessThan(1e-5);
  });

  it('throw on vectors of different length (embeddings from two different models)', () => {
    expect(() => cosineSimilarity(f32(1, 2), f32(1, 2, 3))).toThrow(/differ in length/);
    expect(() => euclideanDistance(f32(1, 2), f32(1, 2, 3))).toThrow(/differ in length/);
  });
});

describe('cosineToEuclidean and euclideanToCosine', () => {
  it('are inverse to each other over the whole range [−1, 1] ↔ [0, 2]', () => {
    for (let cos = -1; cos <= 1; cos += 0.125) {
      expect(euclideanToCosine(cosineToEuclidean(cos))).toBeCloseTo(cos, 12);
    }
    expect(cosineToEuclidean(1)).toBe(0);
    expect(cosineToEuclidean(-1)).toBe(2);
    expect(cosineToEuclidean(0)).toBeCloseTo(Math.SQRT2, 12);
  });

  it('clamp a cosine rounded past 1 to distance 0 rather than NaN', () => {
    expect(cosineToEuclidean(1 + 1e-7)).toBe(0);
  });
});
