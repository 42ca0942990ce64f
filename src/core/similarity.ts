/**
 * Comparing face embeddings. ArcFace-style models are trained with an angular margin, so the cosine of
 * the angle between two embeddings is the natural score; some tools (FaceNet, dlib, face_recognition)
 * report the Euclidean distance between L2-normalised embeddings instead. For unit vectors the two are
 * the same information: d² = |a|² + |b|² − 2·a·b = 2 − 2·cos, and the helpers below convert thresholds
 * between them.
 *
 * Sums are accumulated in float64 even for float32 inputs, so scores are reproducible to ~1e-7.
 */
import { FaceVerifyError } from '../errors.js';

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `${what}: vectors differ in length (${a.length} vs ${b.length})`,
    );
  }
}

/**
 * A new vector with the same direction and length 1. A zero vector stays zero (instead of becoming
 * NaN), so it compares as similarity 0 with everything rather than poisoning later arithmetic.
 *
 * @example
 * l2Normalize(new Float32Array([3, 4])); // Float32Array [0.6, 0.8]
 */
export function l2Normalize(v: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const out = new Float32Array(v.length);
  if (sum === 0) return out;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

/**
 * Cosine of the angle between two vectors, in [-1, 1]; they need not be normalised. Returns 0 when
 * either vector is zero.
 *
 * @example
 * cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 1])); // 0.7071…
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b, 'cosineSimilarity');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return 0;
  // Clamp: rounding can push the ratio of nearly parallel vectors just past ±1.
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}

/**
 * Euclidean (L2) distance between two vectors.
 *
 * @example
 * euclideanDistance(new Float32Array([0, 0]), new Float32Array([3, 4])); // 5
 */
export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b, 'euclideanDistance');
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/**
 * The Euclidean distance between two unit vectors whose cosine similarity is `cos`: √(2 − 2·cos).
 * Clamped at 0 so a cosine rounded slightly above 1 does not give NaN.
 *
 * @example
 * cosineToEuclidean(0); // 1.4142… (orthogonal unit vectors)
 */
export function cosineToEuclidean(cos: number): number {
  return Math.sqrt(Math.max(0, 2 - 2 * cos));
}

/**
 * The cosine similarity of two unit vectors at Euclidean distance `d`: 1 − d²/2.
 *
 * @example
 * euclideanToCosine(Math.SQRT2); // ≈ 0 (orthogonal unit vectors)
 */
export function euclideanToCosine(d: number): number {
  return 1 - (d * d) / 2;
}
