/**
 * Verification: two images analysed (src/pipeline/face-analyzer.ts), their embeddings scored
 * (src/core/scoring.ts). The only verification code: the library, the CLI and the service's task
 * handlers all answer through {@link Verifier}, so settings, errors and rounding cannot differ.
 *
 * Errors: both images always settle before an answer (no work is left running after a call returns).
 * When both fail, a permanent error (a bad photo, a URL not allowed) wins over a transient one (a
 * download, a lost inference thread), so a task is not retried when it could never succeed; between
 * two of the same kind, image 1's. Every error names the image it is about (`details.image`).
 */
import { performance } from 'node:perf_hooks';
import { PRECISION, roundTo, Scoring, type Comparison, type ScoringSettings } from '../core/scoring.js';
import { FaceVerifyError, isFaceVerifyError } from '../errors.js';
import type { Analysis, Analyzer, AnalyzerModel, AnalyzerOptions, AnalyzeOptions } from './face-analyzer.js';
import { DEFAULT_ANALYZER_OPTIONS, modelRoc } from './face-analyzer.js';
import type { FaceAnalysis, FacePolicy } from './face-analysis.js';
import type { VerifyResult } from './verify-result.js';

export type { VerifyResult };

export interface VerifierOptions extends AnalyzerOptions {
  /** Cosine threshold to use instead of the model's calibrated one. */
  threshold?: number;
  /** The same as a euclidean distance (the reference's EUCLIDEAN_DISTANCE_THRESHOLD); `threshold` wins. */
  euclideanThreshold?: number;
  /** A match must also reach this calibrated confidence (the reference's MIN_CONFIDENCE_THRESHOLD). */
  minConfidence?: number;
  /** Pick the model's threshold for this false-match rate on LFW (MATCH_FAR). */
  matchFar?: number;
  /** The model `threshold` / `euclideanThreshold` were fitted for (THRESHOLD_MODEL; default: the running one). */
  thresholdModel?: string;
  /**
   * Inference threads: 0 runs the pipeline in the calling thread; n > 0 starts n worker threads, each
   * with its own copy of the models, and analyses up to n images at once.
   */
  threads: number;
}

export const DEFAULT_VERIFIER_OPTIONS: Omit<VerifierOptions, 'registry'> = {
  ...DEFAULT_ANALYZER_OPTIONS,
  threads: 0,
};

/** Per-call choices of a verification. */
export interface PerCallOptions extends AnalyzeOptions {
  facePolicy?: FacePolicy;
  threshold?: number;
}

/** The scoring settings among verifier options (`registry` finds the ROC of THRESHOLD_MODEL). */
export function scoringSettings(options: Partial<VerifierOptions>): ScoringSettings {
  const other = options.thresholdModel;
  const referenceRoc = other && options.registry ? modelRoc(options.registry, other) : undefined;
  return {
    ...(options.threshold !== undefined ? { cosineThreshold: options.threshold } : {}),
    ...(options.euclideanThreshold !== undefined ? { euclideanThreshold: options.euclideanThreshold } : {}),
    ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
    ...(options.matchFar !== undefined ? { matchFar: options.matchFar } : {}),
    ...(other !== undefined ? { thresholdModel: other } : {}),
    ...(referenceRoc ? { referenceRoc } : {}),
  };
}

/**
 * The error with the image it is about in its message and details (unchanged if it already has one).
 *
 * @example
 * labelImage(new FaceVerifyError('NO_FACE'), 2).message; // 'Image 2: No face detected in the image'
 */
export function labelImage(err: unknown, index: 1 | 2): unknown {
  if (!isFaceVerifyError(err) || err.details?.['image'] !== undefined) return err;
  return new FaceVerifyError(
    err.code,
    `Image ${index}: ${err.message}`,
    { ...(err.details ?? {}), image: index },
    { cause: err.cause },
  );
}

/**
 * Both values, or the error that matters most (see the header): each labelled with its image.
 *
 * @example
 * const [a, b] = await settlePair(load(ref1), load(ref2));
 */
export async function settlePair<T>(a: Promise<T>, b: Promise<T>): Promise<[T, T]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  const errors: unknown[] = [];
  if (ra.status === 'rejected') errors.push(labelImage(ra.reason, 1));
  if (rb.status === 'rejected') errors.push(labelImage(rb.reason, 2));
  throw errors.find((e) => !(isFaceVerifyError(e) && e.retryable)) ?? errors[0];
}

/**
 * Face verification over an {@link Analyzer} (in this thread or on a pool of threads) and a model's
 * {@link Scoring}.
 *
 * @example
 * const verifier = await createVerifier();
 * const r = await verifier.verify(await readFile('a.jpg'), await readFile('b.jpg'));
 * console.log(r.is_match, r.confidence);
 */
export class Verifier {
  readonly scoring: Scoring;

  constructor(
    readonly analyzer: Analyzer,
    settings: ScoringSettings = {},
  ) {
    this.scoring = new Scoring(analyzer.model, settings);
  }

  get model(): AnalyzerModel {
    return this.analyzer.model;
  }

  get modelName(): string {
    return this.analyzer.model.name;
  }

  /** The cosine threshold in force for a call. */
  threshold(perCall?: number): number {
    return this.scoring.threshold(perCall);
  }

  /** Compares two embeddings with this verifier's model, settings and calibration. */
  compare(a: Float32Array, b: Float32Array, threshold?: number): Comparison {
    return this.scoring.compare(a, b, threshold);
  }

  /** Analyses one image: the chosen face and its embedding. */
  analyze(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Analysis> {
    return this.analyzer.analyze(bytes, options);
  }

  /** Are the two photos the same person? Both images are analysed concurrently. */
  async verify(a: Uint8Array, b: Uint8Array, options: PerCallOptions = {}): Promise<VerifyResult> {
    const start = performance.now();
    const call = options.facePolicy ? { facePolicy: options.facePolicy } : {};
    const result = await this.verifyAnalyses(this.analyze(a, call), this.analyze(b, call), options.threshold);
    return { ...result, processing_time: roundTo((performance.now() - start) / 1000, PRECISION.seconds) };
  }

  /**
   * The answer for two analyses under way (from the pipeline or a cache), without `processing_time`:
   * the caller knows what its call included.
   */
  async verifyAnalyses(
    a: Promise<FaceAnalysis>,
    b: Promise<FaceAnalysis>,
    threshold?: number,
  ): Promise<Omit<VerifyResult, 'processing_time'>> {
    const [ea, eb] = await settlePair(a, b);
    for (const e of [ea, eb]) {
      if (e.modelId !== this.model.id) {
        throw new FaceVerifyError(
          'INTERNAL_ERROR',
          `an analysis by ${e.modelId} cannot be compared under ${this.model.id}`,
        );
      }
    }
    return {
      ...this.scoring.compare(ea.embedding, eb.embedding, threshold),
      model: this.modelName,
      faces: [ea.face, eb.face],
    };
  }

  status(): { ready: boolean; detail: string } {
    return this.analyzer.status();
  }

  close(): Promise<void> {
    return this.analyzer.close();
  }
}
