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
import { impostorTail, openSetThreshold, type ImpostorTail } from './open-set.js';
import { atThreshold, thresholdForFar, type OperatingPoint, type RocTable } from './operating-point.js';
import { cosineSimilarity, cosineToEuclidean, euclideanDistance, euclideanToCosine } from './similarity.js';

/** The probability of "same person" as a function of cosine similarity: 1 / (1 + exp(−(a·cos + b))). */
export interface PlattCalibration {
  method: 'platt';
  a: number;
  b: number;
  /** Where the fit came from (e.g. "LFW View 2, 6000 pairs, 10-fold"). */
  fittedOn: string;
}

/** What a model brings to scoring: its calibrated threshold and calibration, and its LFW ROC. */
export interface ModelScoring {
  name: string;
  threshold: number;
  calibration: PlattCalibration;
  roc?: RocTable;
}

/**
 * What settings bring: an explicit threshold (cosine, or euclidean as the reference names it), a
 * target false-match rate (`MATCH_FAR`) and a minimum confidence a match must also reach
 * (`MIN_CONFIDENCE_THRESHOLD`).
 */
export interface ScoringSettings {
  cosineThreshold?: number;
  euclideanThreshold?: number;
  /**
   * The model an explicit threshold was fitted for (THRESHOLD_MODEL; absent: the running one). For
   * another model the threshold is moved to the running model's threshold at the same LFW FAR, given
   * both ROCs ({@link referenceRoc}); without the other's ROC it is not applied.
   */
  thresholdModel?: string;
  /** The LFW ROC of {@link thresholdModel}, when it is known here. */
  referenceRoc?: RocTable;
  /** Pick the model's threshold for this false-match rate on LFW. */
  matchFar?: number;
  minConfidence?: number;
}

/** Where the threshold in force came from. */
export type ThresholdSource = 'request' | 'configured' | 'translated' | 'match_far' | 'model';

/** A search's threshold: a verification threshold choice, or one raised for the gallery's size. */
export type SearchThreshold =
  ThresholdChoice | { threshold: number; source: 'open-set'; open_set: { fpir: number; subjects: number } };

export interface ThresholdChoice {
  threshold: number;
  source: ThresholdSource;
  /** Why an explicit threshold was moved or not applied (for the start-up log). */
  note?: string;
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
    source: ThresholdSource;
    /** What this threshold gave on LFW, when the model has a ROC table. */
    operating_point?: { far: number; tar: number; data: string };
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
 * The cosine threshold in force, and where it came from: a per-call one; else a configured cosine or
 * euclidean threshold (cos = 1 − d²/2) — as is when it was fitted for this model, else moved to this
 * model's threshold at the same LFW false-match rate, else not applied; else MATCH_FAR on this model's
 * LFW ROC; else the model's calibrated threshold.
 *
 * @example
 * resolveThreshold({ euclideanThreshold: 1.1 }, model).threshold; // 0.395
 */
export function resolveThreshold(
  settings: ScoringSettings,
  model: ModelScoring,
  perCall?: number,
): ThresholdChoice {
  if (perCall !== undefined) return { threshold: perCall, source: 'request' };
  const explicit =
    settings.cosineThreshold ??
    (settings.euclideanThreshold !== undefined ? euclideanToCosine(settings.euclideanThreshold) : undefined);
  let note: string | undefined;
  if (explicit !== undefined) {
    const fittedFor = settings.thresholdModel ?? model.name;
    if (fittedFor === model.name) return { threshold: explicit, source: 'configured' };
    const theirs = settings.referenceRoc ? atThreshold(settings.referenceRoc, explicit) : undefined;
    const ours = theirs && model.roc ? thresholdForFar(model.roc, theirs.far) : undefined;
    if (theirs && ours) {
      return {
        threshold: ours.threshold,
        source: 'translated',
        note: `${explicit} for ${fittedFor} (FAR ${theirs.far} on LFW) is ${ours.threshold} for ${model.name}`,
      };
    }
    note = `${explicit} was fitted for ${fittedFor}, whose LFW ROC is not known here: not applied to ${model.name} (set THRESHOLD_MODEL=${model.name} to apply it as is)`;
  }
  if (settings.matchFar !== undefined && model.roc) {
    const point = thresholdForFar(model.roc, settings.matchFar);
    if (point) return { threshold: point.threshold, source: 'match_far', ...(note ? { note } : {}) };
  }
  return { threshold: model.threshold, source: 'model', ...(note ? { note } : {}) };
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
  ) {
    this.configured = resolveThreshold(settings, model);
  }

  /** The configured threshold choice (no per-call threshold), worked out once. */
  private readonly configured: ThresholdChoice;

  /** The model's impostor-score tail, fitted once from its ROC (none without one). */
  private tail: ImpostorTail | undefined | null = null;

  /**
   * The threshold of a search among `subjects` enrolled people (src/core/open-set.ts): a per-call
   * threshold as given; else the verification threshold raised, when the model has a ROC, until an
   * unknown person matches someone with probability at most `fpir` (0 = the verification threshold).
   */
  searchThreshold(subjects: number, fpir: number, perCall?: number): SearchThreshold {
    const base = this.choice(perCall);
    if (perCall !== undefined || !(fpir > 0)) return base;
    if (this.tail === null) this.tail = this.model.roc ? impostorTail(this.model.roc) : undefined;
    if (!this.tail) return base;
    const openSet = openSetThreshold(this.tail, subjects, fpir);
    if (openSet <= base.threshold) return base;
    return { threshold: roundTo(openSet, PRECISION.score), source: 'open-set', open_set: { fpir, subjects } };
  }

  /** The cosine threshold in force for a call. */
  threshold(perCall?: number): number {
    return this.choice(perCall).threshold;
  }

  /** The threshold in force for a call, and where it came from. */
  choice(perCall?: number): ThresholdChoice {
    return perCall !== undefined ? { threshold: perCall, source: 'request' } : this.configured;
  }

  /** What a threshold gave on LFW, when the model has a ROC table. */
  operatingPoint(threshold: number): OperatingPoint | undefined {
    return this.model.roc ? atThreshold(this.model.roc, threshold) : undefined;
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
    const { threshold, source } = this.choice(perCallThreshold);
    const min = this.settings.minConfidence;
    const point = this.operatingPoint(threshold);
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
        source,
        ...(point && this.model.roc
          ? { operating_point: { far: point.far, tar: point.tar, data: this.model.roc.fittedOn } }
          : {}),
      },
    };
  }

  /** Compares two unit embeddings. */
  compare(a: Float32Array, b: Float32Array, perCallThreshold?: number): Comparison {
    return this.score(cosineSimilarity(a, b), euclideanDistance(a, b), perCallThreshold);
  }
}
