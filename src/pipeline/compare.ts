/**
 * Stage 6: compare two unit embeddings and decide.
 *
 * For unit vectors the two metrics carry the same information: d² = 2 − 2·cos. The decision is taken
 * on cosine similarity against the model's threshold; the equivalent euclidean threshold is reported
 * next to it so that callers who think in distances see the same boundary.
 *
 * `confidence` is a calibrated probability that the two faces belong to the same person:
 * p = 1 / (1 + exp(−(a·cos + b))), with a and b fitted by Platt scaling on LFW pair scores (see the
 * model's manifest and docs/accuracy.md). Among answers with confidence 0.9, about 90 % are matches —
 * on data like LFW; other photo conditions shift it.
 */
import { cosineSimilarity, cosineToEuclidean, euclideanDistance } from '../core/similarity.js';
import type { PlattCalibration } from '../models/manifest.js';

export interface Comparison {
  is_match: boolean;
  confidence: number;
  metrics: { cosine_similarity: number; euclidean_distance: number };
  threshold: { metric: 'cosine_similarity'; cosine_similarity: number; euclidean_distance: number };
}

/** Platt-scaled probability of a match for a cosine similarity. */
export function calibratedConfidence(cos: number, calibration: PlattCalibration): number {
  return 1 / (1 + Math.exp(-(calibration.a * cos + calibration.b)));
}

/**
 * Compares two unit embeddings.
 *
 * @example
 * compareEmbeddings(e1, e2, 0.4, MOBILEFACENET.calibration).is_match;
 */
export function compareEmbeddings(
  a: Float32Array,
  b: Float32Array,
  threshold: number,
  calibration: PlattCalibration,
): Comparison {
  const cos = cosineSimilarity(a, b);
  return {
    is_match: cos >= threshold,
    confidence: round(calibratedConfidence(cos, calibration), 4),
    metrics: { cosine_similarity: round(cos, 6), euclidean_distance: round(euclideanDistance(a, b), 6) },
    threshold: {
      metric: 'cosine_similarity',
      cosine_similarity: threshold,
      euclidean_distance: round(cosineToEuclidean(threshold), 6),
    },
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
