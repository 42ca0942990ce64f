/**
 * The LFW evaluation: embed every image a pair list names, score the pairs by cosine similarity and
 * measure them (src/eval/metrics.ts). The tool behind `faceverify eval`.
 *
 * Each distinct image is read and analysed once (embeddings cached in memory by path); up to
 * `concurrency` images are in flight, which keeps both cores busy because ONNX Runtime runs inference
 * on native threads. An image whose analysis fails with a `FaceVerifyError` is recorded with its code
 * and every pair that uses it is a failed pair, counted as wrong (see metrics.ts); any other error
 * (an unreadable file, a bug) stops the run, since it means the setup, not the photo, is wrong.
 *
 * Fallback: with `fallbackVerifier` (typically the same models with a smaller `detect.minFaceSize`),
 * an image that fails with one of `fallbackOn` (default NO_FACE, FACE_TOO_SMALL) is tried once more
 * with it; the report counts how often that was tried and how often it found a face.
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { cosineSimilarity } from '../core/similarity.js';
import { FaceVerifyError, isFaceVerifyError, type ErrorCode } from '../errors.js';
import type { PlattCalibration } from '../core/scoring.js';
import type { FaceAnalysis, FacePolicy } from '../pipeline/face-analysis.js';
import { analysisIdentity } from '../pipeline/analysis-identity.js';
import type { Analyzer } from '../pipeline/face-analyzer.js';
import type { AnalysisFileCache } from './analysis-cache.js';
import { readLfwPairs, type LfwPair } from './lfw-pairs.js';
import { accuracyAt, evaluateScores, type VerificationMetrics } from './metrics.js';

/** What the evaluation needs of an analyzer (in this thread or a pool). */
export type EvalVerifier = Pick<Analyzer, 'model' | 'settings' | 'analyze'>;

export interface EvalProgress {
  /** Images analysed so far (including failures). */
  done: number;
  total: number;
  failed: number;
  fallbackRescued: number;
  elapsedMs: number;
  /** Estimated time left, from the rate so far. */
  etaMs: number;
}

export interface RunEvalOptions {
  pairsFile: string;
  imagesDir: string;
  verifier: EvalVerifier;
  /** Face choice when an image has several faces; `center` is InsightFace's LFW rule. */
  facePolicy?: FacePolicy;
  /** Images in flight at once. */
  concurrency?: number;
  /** Second attempt for images the main verifier finds no face in (e.g. a smaller minFaceSize). */
  fallbackVerifier?: EvalVerifier;
  /** Error codes that trigger the fallback. */
  fallbackOn?: readonly ErrorCode[];
  /** Analyses kept from earlier runs (and this one's, added as they finish). */
  cache?: AnalysisFileCache;
  onProgress?: (progress: EvalProgress) => void;
  signal?: AbortSignal;
}

/** A pair with its cosine score; `score: null` when an image of the pair failed. */
export interface PairScore extends LfwPair {
  score: number | null;
  /** Error codes of the failed image(s), in pair order. */
  errors: ErrorCode[];
}

export interface ImageFailure {
  path: string;
  code: ErrorCode;
  message: string;
  fallbackTried: boolean;
}

export interface EvalReport {
  createdAt: string;
  pairsFile: string;
  imagesDir: string;
  model: {
    name: string;
    embeddingSize: number;
    /** Null for an ensemble (each member has its own). */
    flip: boolean | null;
    sha256: string | null;
    /** The threshold and calibration the manifest had when this ran. */
    manifestThreshold: number;
    manifestCalibration: PlattCalibration;
  };
  facePolicy: FacePolicy;
  detection: {
    minFaceSize: number;
    thresholds: readonly [number, number, number];
    scaleFactor: number;
    /** minFaceSize of the fallback verifier, or null without one. */
    fallbackMinFaceSize: number | null;
  };
  counts: {
    pairs: number;
    samePairs: number;
    differentPairs: number;
    folds: number;
    images: number;
    failedImages: number;
    failuresByCode: Partial<Record<ErrorCode, number>>;
    /** Pairs with at least one failed image (counted as wrong). */
    failedPairs: number;
    fallbackTried: number;
    fallbackRescued: number;
    /** Images in which the detector found more than one face (the policy chose one). */
    imagesWithSeveralFaces: number;
  };
  metrics: VerificationMetrics;
  /** Accuracy over all pairs at the manifest's current threshold (what the service answers today). */
  accuracyAtManifestThreshold: number;
  /** The calibration to put in the model's manifest (Platt fit on all scored pairs). */
  calibration: PlattCalibration;
  /** The threshold to put in the manifest: the mean of the k-fold thresholds. */
  recommendedThreshold: number;
  timings: {
    totalSeconds: number;
    /** Wall-clock embedding time divided by the number of images (throughput, with concurrency). */
    msPerImage: number;
    /** Mean time of one image from read to embedding (latency, as one request sees it). */
    meanImageLatencyMs: number;
    /** Mean stage times of the successful primary analyses. */
    stageMeansMs: { decode: number; detect: number; embed: number };
    concurrency: number;
  };
  environment: { node: string; platform: string; cpus: number; cpuModel: string };
  failures: ImageFailure[];
  /** Images the fallback verifier was tried on, with the main verifier's error. */
  fallbacks: { path: string; primaryCode: ErrorCode; rescued: boolean }[];
}

export interface EvalRun {
  report: EvalReport;
  /** Every pair with its score, in list order (for scores.csv and score-fusion experiments). */
  pairs: PairScore[];
}

/** One image's analysis by the main verifier, and the permanent error (NO_FACE…) it gave. */
export interface ImageOutcome {
  /** The analysis that gave the embedding (the fallback's when it rescued the image). */
  analysis: FaceAnalysis | null;
  embedding: Float32Array | null;
  failure: ImageFailure | null;
  faceCount: number;
  fallbackTried: boolean;
  fallbackRescued: boolean;
  primaryCode: ErrorCode | null;
  ms: number;
  timings: FaceAnalysis['timings'] | null;
}

const DEFAULT_FALLBACK_ON: readonly ErrorCode[] = ['NO_FACE', 'FACE_TOO_SMALL'];

/** The main verifier's analysis, from the cache when it has it; photo errors (4xx) are kept too. */
async function primaryAnalysis(
  bytes: Uint8Array,
  opts: Pick<RunEvalOptions, 'verifier' | 'cache'> & { facePolicy: FacePolicy },
): Promise<FaceAnalysis> {
  const call = { facePolicy: opts.facePolicy };
  const { cache } = opts;
  if (!cache) return opts.verifier.analyze(bytes, call);
  const key = cache.key(bytes, analysisIdentity(opts.verifier, opts.facePolicy));
  const kept = cache.get(key);
  if (kept && 'analysis' in kept) return kept.analysis;
  if (kept) throw new FaceVerifyError(kept.error.code, kept.error.message);
  try {
    const analysis = await opts.verifier.analyze(bytes, call);
    await cache.put(key, { analysis });
    return analysis;
  } catch (err) {
    if (isFaceVerifyError(err) && !err.retryable && err.status < 500) {
      await cache.put(key, { error: { code: err.code, message: err.message } });
    }
    throw err;
  }
}

/**
 * Reads and analyses one image (see the header for errors and the fallback).
 *
 * @example
 * const o = await analyseImage('lfw/images/Ann/Ann_0001.jpg', { verifier, facePolicy: 'center' });
 * o.embedding ?? o.failure?.code;
 */
export async function analyseImage(
  path: string,
  opts: Pick<RunEvalOptions, 'verifier' | 'fallbackVerifier' | 'fallbackOn' | 'cache'> & {
    facePolicy: FacePolicy;
  },
): Promise<ImageOutcome> {
  const start = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FaceVerifyError('INVALID_INPUT', `Cannot read image ${path}`, { path }, { cause: err });
  }
  const call = { facePolicy: opts.facePolicy };
  const outcome: ImageOutcome = {
    analysis: null,
    embedding: null,
    failure: null,
    faceCount: 0,
    fallbackTried: false,
    fallbackRescued: false,
    primaryCode: null,
    ms: 0,
    timings: null,
  };
  try {
    const a = await primaryAnalysis(bytes, opts);
    outcome.analysis = a;
    outcome.embedding = a.embedding;
    outcome.faceCount = a.faceCount;
    outcome.timings = a.timings;
  } catch (err) {
    if (!isFaceVerifyError(err)) throw err;
    let failure: ImageFailure = { path, code: err.code, message: err.message, fallbackTried: false };
    const fallbackOn = opts.fallbackOn ?? DEFAULT_FALLBACK_ON;
    if (opts.fallbackVerifier && fallbackOn.includes(err.code)) {
      outcome.fallbackTried = true;
      outcome.primaryCode = err.code;
      try {
        const a = await opts.fallbackVerifier.analyze(bytes, call);
        outcome.analysis = a;
        outcome.embedding = a.embedding;
        outcome.faceCount = a.faceCount;
        outcome.fallbackRescued = true;
      } catch (err2) {
        if (!isFaceVerifyError(err2)) throw err2;
        failure = { path, code: err2.code, message: err2.message, fallbackTried: true };
      }
    }
    if (!outcome.embedding) outcome.failure = failure;
  }
  outcome.ms = performance.now() - start;
  return outcome;
}

/** Runs `fn` over the items with at most `concurrency` calls in flight; stops at the first error. */
export async function forEachConcurrent<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < items.length) {
      signal?.throwIfAborted();
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        stopped = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/**
 * Runs the evaluation of a verifier over an LFW pair list.
 *
 * @example
 * const verifier = await createVerifier();
 * const { report, pairs } = await runEval({
 *   pairsFile: '../shared/faces/lfw/pairs.txt',
 *   imagesDir: '../shared/faces/lfw/images',
 *   verifier,
 * });
 * console.log(report.metrics.accuracy?.mean, report.metrics.auc);
 */
export async function runEval(options: RunEvalOptions): Promise<EvalRun> {
  const started = performance.now();
  const facePolicy = options.facePolicy ?? 'center';
  const concurrency = options.concurrency ?? 4;
  const opts = { ...options, facePolicy };
  const list = await readLfwPairs(options.pairsFile, options.imagesDir);

  const paths = [...new Set(list.pairs.flatMap((p) => [p.a, p.b]))];
  const outcomes = new Map<string, ImageOutcome>();
  let failed = 0;
  let rescued = 0;
  const embedStart = performance.now();
  await forEachConcurrent(
    paths,
    concurrency,
    async (path) => {
      const o = await analyseImage(path, opts);
      outcomes.set(path, o);
      if (o.failure) failed++;
      if (o.fallbackRescued) rescued++;
      if (options.onProgress) {
        const elapsedMs = performance.now() - embedStart;
        const done = outcomes.size;
        options.onProgress({
          done,
          total: paths.length,
          failed,
          fallbackRescued: rescued,
          elapsedMs,
          etaMs: (elapsedMs / done) * (paths.length - done),
        });
      }
    },
    options.signal,
  );
  const embedMs = performance.now() - embedStart;

  const pairs: PairScore[] = list.pairs.map((p) => {
    const a = outcomes.get(p.a)!;
    const b = outcomes.get(p.b)!;
    const errors = [a.failure?.code, b.failure?.code].filter((c): c is ErrorCode => c !== undefined);
    const score = a.embedding && b.embedding ? cosineSimilarity(a.embedding, b.embedding) : null;
    return { ...p, score, errors };
  });
  const metrics = evaluateScores(pairs);

  const all = paths.map((path) => outcomes.get(path)!); // list order, not completion order
  const failures = all.flatMap((o) => (o.failure ? [o.failure] : []));
  const failuresByCode: Partial<Record<ErrorCode, number>> = {};
  for (const f of failures) failuresByCode[f.code] = (failuresByCode[f.code] ?? 0) + 1;
  const timed = all.flatMap((o) => (o.timings ? [o.timings] : []));
  const meanOf = (xs: number[]): number => (xs.length > 0 ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  const manifest = options.verifier.model;
  const detect = options.verifier.settings.detect;
  const threshold = metrics.accuracy?.threshold ?? metrics.bestOnAll.threshold;
  const report: EvalReport = {
    createdAt: new Date().toISOString(),
    pairsFile: options.pairsFile,
    imagesDir: options.imagesDir,
    model: {
      name: manifest.name,
      embeddingSize: manifest.embeddingSize,
      flip: manifest.flip ?? null,
      sha256: manifest.sha256 ?? null,
      manifestThreshold: manifest.threshold,
      manifestCalibration: manifest.calibration,
    },
    facePolicy,
    detection: {
      minFaceSize: detect.minFaceSize,
      thresholds: detect.thresholds,
      scaleFactor: detect.scaleFactor,
      fallbackMinFaceSize: options.fallbackVerifier?.settings.detect.minFaceSize ?? null,
    },
    counts: {
      pairs: list.pairs.length,
      samePairs: metrics.samePairs,
      differentPairs: metrics.differentPairs,
      folds: list.folds,
      images: paths.length,
      failedImages: failures.length,
      failuresByCode,
      failedPairs: metrics.failedPairs,
      fallbackTried: all.filter((o) => o.fallbackTried).length,
      fallbackRescued: rescued,
      imagesWithSeveralFaces: all.filter((o) => o.faceCount > 1).length,
    },
    metrics,
    accuracyAtManifestThreshold: accuracyAt(pairs, manifest.threshold),
    calibration: {
      method: 'platt',
      a: metrics.platt.a,
      b: metrics.platt.b,
      fittedOn: `LFW ${list.folds > 1 ? 'View 2' : 'pair list'} (${list.pairs.length} pairs, ${metrics.platt.n} scored; face policy ${facePolicy})`,
    },
    recommendedThreshold: threshold,
    timings: {
      totalSeconds: (performance.now() - started) / 1000,
      msPerImage: embedMs / paths.length,
      meanImageLatencyMs: meanOf(all.map((o) => o.ms)),
      stageMeansMs: {
        decode: meanOf(timed.map((t) => t.decode)),
        detect: meanOf(timed.map((t) => t.detect)),
        embed: meanOf(timed.map((t) => t.embed)),
      },
      concurrency,
    },
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
    },
    failures,
    fallbacks: all.flatMap((o, i) =>
      o.primaryCode ? [{ path: paths[i]!, primaryCode: o.primaryCode, rescued: o.fallbackRescued }] : [],
    ),
  };
  return { report, pairs };
}
