/**
 * Scoring: how two embeddings become an answer. The one place that decides `is_match`, computes
 * `confidence`, works out the threshold in force and rounds the numbers of an answer; the library, the
 * CLI, the service, `faceverify eval` and gallery search all go through it.
 *
 * For unit vectors the two metrics carry the same information: d² = 2 − 2·cos. The decision is taken on
 * cosine similarity; the equivalent euclidean threshold is reported next to it so that callers who think
 * in distances see the same boundary. `confidence` is a calibrated probability of a match,
 * p = 1 / (1 + exp(−(a·cos + b))), with a and b fitted by Platt scaling on LFW pairs (docs/accuracy.md).
 */
import { cosineSimilarity, cosineToEuclidean, euclideanDistance, euclideanToCosine } from './similarity.js';

/** The probability of "same person" as a function of cosine similarity: 1 / (1 + exp(−(a·cos + b))). */
export interface PlattCalibration {
  method: 'platt';
  a: number;
  b: number;
  /** Where the fit came from (e.g. "LFW View 2, 6000 pairs, 10-fold"). */
  fittedOn: string;
}

/** What a model brings to scoring: its calibrated threshold and calibration. */
export interface ModelScoring {
  threshold: number;
  calibration: PlattCalibration;
}

/**
 * What settings bring: an explicit threshold (cosine, or euclidean as the reference names it) and a
 * minimum confidence a match must also reach (`MIN_CONFIDENCE_THRESHOLD`).
 */
export interface ScoringSettings {
  cosineThreshold?: number;
  euclideanThreshold?: number;
  minConfidence?: number;
}

export interface Comparison {
  is_match: boolean;
  confidence: number;
  metrics: { cosine_similarity: number; euclidean_distance: number };
  threshold: {
    metric: 'cosine_similarity';
    cosine_similarity: number;
    euclidean_distance: number;
    /** Present when a match must also reach this confidence. */
    min_confidence?: number;
  };
}

/** Decimal places of each kind of number in an answer. */
export const PRECISION = { pixels: 2, score: 4, confidence: 4, metric: 6, seconds: 4 } as const;

/**
 * Rounds to a number of decimal places (answers are rounded here and nowhere else).
 *
 * @example
 * roundTo(0.123456789, PRECISION.metric); // 0.123457
 */
export function roundTo(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * Platt's probability for a score, written both ways so that exp never overflows.
 *
 * @example
 * plattProbability(0.5, { a: 12, b: -6 }); // 0.5
 */
export function plattProbability(score: number, { a, b }: Pick<PlattCalibration, 'a' | 'b'>): number {
  const z = a * score + b;
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * The cosine threshold in force: a per-call one, else the configured cosine threshold, else the
 * configured euclidean one (converted: for unit vectors cos = 1 − d²/2), else the model's.
 *
 * @example
 * resolveThreshold({ euclideanThreshold: 1.1 }, 0.4); // 0.395
 */
export function resolveThreshold(
  settings: ScoringSettings,
  modelThreshold: number,
  perCall?: number,
): number {
  if (perCall !== undefined) return perCall;
  if (settings.cosineThreshold !== undefined) return settings.cosineThreshold;
  if (settings.euclideanThreshold !== undefined) return euclideanToCosine(settings.euclideanThreshold);
  return modelThreshold;
}

/**
 * A model's scoring under some settings.
 *
 * @example
 * const scoring = new Scoring(model, { minConfidence: 0.9 }); // model: { threshold, calibration }
 * scoring.compare(e1, e2).is_match;
 */
export class Scoring {
  constructor(
    readonly model: ModelScoring,
    readonly settings: ScoringSettings = {},
  ) {}

  /** The cosine threshold in force for a call. */
  threshold(perCall?: number): number {
    return resolveThreshold(this.settings, this.model.threshold, perCall);
  }

  /** The calibrated probability of a match for a cosine similarity. */
  confidence(cos: number): number {
    return plattProbability(cos, this.model.calibration);
  }

  /** Whether a cosine similarity is a match at a threshold (and the minimum confidence, if set). */
  decide(cos: number, threshold: number): boolean {
    const min = this.settings.minConfidence;
    return cos >= threshold && (min === undefined || this.confidence(cos) >= min);
  }

  /** The answer for a cosine similarity (and the euclidean distance, measured or derived). */
  score(cos: number, euclidean: number, perCallThreshold?: number): Comparison {
    const threshold = this.threshold(perCallThreshold);
    const min = this.settings.minConfidence;
    return {
      is_match: this.decide(cos, threshold),
      confidence: roundTo(this.confidence(cos), PRECISION.confidence),
      metrics: {
        cosine_similarity: roundTo(cos, PRECISION.metric),
        euclidean_distance: roundTo(euclidean, PRECISION.metric),
      },
      threshold: {
        metric: 'cosine_similarity',
        cosine_similarity: threshold,
        euclidean_distance: roundTo(cosineToEuclidean(threshold), PRECISION.metric),
        ...(min !== undefined ? { min_confidence: min } : {}),
      },
    };
  }

  /** Compares two unit embeddings. */
  compare(a: Float32Array, b: Float32Array, perCallThreshold?: number): Comparison {
    return this.score(cosineSimilarity(a, b), euclideanDistance(a, b), perCallThreshold);
  }
}
