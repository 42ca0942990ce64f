/**
 * The robustness benchmark behind `faceverify eval --degrade` (issue #15): a seeded sample of LFW
 * View 2 pairs (half same person, half different), the second photo of each pair degraded one way per
 * row (degrade-rows.ts), each pair answered as a user of the library gets it — `analyze()` of both
 * photos and the verifier's own `compare()` at the SHIPPED threshold (no threshold fitted here; this
 * is what `verify()` does, without analysing the unchanged first photo again for every row).
 *
 * An image the verifier refuses (NO_FACE, FACE_TOO_SMALL, …) is an error, and an error is not a
 * match: for a same-person pair it is a false rejection, for a different-person pair a correct
 * rejection. Both readings are reported (`accuracy` counts errors as "not a match";
 * `accuracyErrorsWrong` counts every error as a wrong answer, as `faceverify eval` does on LFW).
 *
 * Per-pair records keep both photos' analyses (everything but the embedding), so a later quality
 * filter's error-versus-reject curve can be computed from report.json alone.
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { FaceVerifyError, isFaceVerifyError, type ErrorCode } from '../errors.js';
import type { Comparison } from '../core/scoring.js';
import type { FaceAnalysis, FacePolicy } from '../pipeline/face-analysis.js';
import type { AnalyzeOptions } from '../pipeline/face-analyzer.js';
import { degrade, type Degradation } from './degrade.js';
import { DEGRADE_ROWS, needsLandmarks, type DegradeRow } from './degrade-rows.js';
import { haveHeicEncoder } from './heic-encoder.js';
import { readLfwPairs, type LfwPair } from './lfw-pairs.js';
import { forEachConcurrent } from './run-eval.js';
import { seededSample } from './seeded-random.js';

/** What the benchmark needs of a verifier (`createVerifier()`'s `Verifier` satisfies it). */
export interface DegradeVerifier {
  readonly modelName: string;
  analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<FaceAnalysis>;
  compare(a: Float32Array, b: Float32Array): Comparison;
}

/** An analysis without its embedding: the face, its size, and whatever else the verifier reports. */
export type AnalysisRecord = Omit<FaceAnalysis, 'embedding' | 'timings'>;

export type Outcome =
  | { kind: 'scored'; cosine: number; isMatch: boolean; confidence: number }
  | { kind: 'error'; code: ErrorCode; image: 1 | 2; message: string };

export interface PairRecord {
  row: string;
  pair: number;
  same: boolean;
  outcome: Outcome;
  /** The degraded second photo's analysis (null when it failed); the first's is in `images`. */
  analysisB: AnalysisRecord | null;
}

export interface RowResult {
  id: string;
  label: string;
  degradation: Degradation;
  table: boolean;
  sweep: DegradeRow['sweep'] | null;
  /** Why the row was not run (e.g. no HEIC encoder), or null. */
  skipped: string | null;
  pairs: number;
  samePairs: number;
  differentPairs: number;
  /** Pairs left out because the degradation needs landmarks the original photo did not give. */
  notBuilt: number;
  /** Errors count as "not a match" (right for a different pair, wrong for a same pair). */
  accuracy: number;
  /** Every error counts as a wrong answer. */
  accuracyErrorsWrong: number;
  /** Same-person pairs accepted / same-person pairs. */
  tar: number;
  /** Different-person pairs accepted / different-person pairs. */
  far: number;
  /** Pairs with an error, by code. */
  errorsByCode: Partial<Record<ErrorCode, number>>;
  sameErrors: number;
  differentErrors: number;
  /** Mean cosine of the scored same-person pairs (how far the degradation moves genuine scores). */
  meanSameCosine: number | null;
  seconds: number;
}

export interface DegradeReport {
  createdAt: string;
  pairsFile: string;
  imagesDir: string;
  model: string;
  /** The cosine threshold every answer used (the model's shipped one unless configured otherwise). */
  threshold: number;
  facePolicy: FacePolicy;
  seed: number;
  pairsPerRow: number;
  rows: RowResult[];
  environment: { node: string; platform: string; cpus: number; cpuModel: string };
  totalSeconds: number;
}

export interface DegradeRun {
  report: DegradeReport;
  /** The sampled pairs (index = `PairRecord.pair`). */
  pairs: LfwPair[];
  /** Analyses of the original photos by path (null: the verifier refused it, with the code). */
  images: Record<string, AnalysisRecord | { error: ErrorCode }>;
  records: PairRecord[];
}

export interface RunDegradeOptions {
  pairsFile: string;
  imagesDir: string;
  verifier: DegradeVerifier;
  /** Pairs per row (half same, half different), sampled with `seed` from the whole list. */
  pairsPerRow?: number;
  seed?: number;
  /** Row ids to run (default: all). */
  rows?: readonly string[];
  facePolicy?: FacePolicy;
  /** Images in flight at once (match the verifier's threads). */
  concurrency?: number;
  onRow?: (row: RowResult, index: number, total: number) => void;
  signal?: AbortSignal;
}

interface Analysed {
  analysis: FaceAnalysis | null;
  error: { code: ErrorCode; message: string } | null;
}

async function analyse(
  verifier: DegradeVerifier,
  bytes: Uint8Array,
  facePolicy: FacePolicy,
): Promise<Analysed> {
  try {
    return { analysis: await verifier.analyze(bytes, { facePolicy }), error: null };
  } catch (err) {
    // Only the verifier's typed refusals are answers; anything else means the setup is broken.
    if (!isFaceVerifyError(err)) throw err;
    return { analysis: null, error: { code: err.code, message: err.message } };
  }
}

function record(a: FaceAnalysis): AnalysisRecord {
  const rest: Partial<FaceAnalysis> = { ...a };
  delete rest.embedding;
  delete rest.timings;
  return rest as AnalysisRecord;
}

/** The row's figures from its pairs' outcomes. */
export function summariseRow(
  row: DegradeRow,
  outcomes: readonly { same: boolean; outcome: Outcome }[],
  notBuilt: number,
  seconds: number,
): RowResult {
  let sameAccepted = 0;
  let diffAccepted = 0;
  let diffScoredRejected = 0;
  let sameErrors = 0;
  let differentErrors = 0;
  let sameCosSum = 0;
  let sameScored = 0;
  const errorsByCode: Partial<Record<ErrorCode, number>> = {};
  for (const { same, outcome } of outcomes) {
    if (outcome.kind === 'error') {
      errorsByCode[outcome.code] = (errorsByCode[outcome.code] ?? 0) + 1;
      if (same) sameErrors++;
      else differentErrors++;
      continue;
    }
    if (same) {
      sameScored++;
      sameCosSum += outcome.cosine;
      if (outcome.isMatch) sameAccepted++;
    } else if (outcome.isMatch) diffAccepted++;
    else diffScoredRejected++;
  }
  const samePairs = outcomes.filter((o) => o.same).length;
  const differentPairs = outcomes.length - samePairs;
  const n = Math.max(1, outcomes.length);
  return {
    id: row.id,
    label: row.label,
    degradation: row.degradation,
    table: row.table,
    sweep: row.sweep ?? null,
    skipped: null,
    pairs: outcomes.length,
    samePairs,
    differentPairs,
    notBuilt,
    accuracy: (sameAccepted + differentPairs - diffAccepted) / n,
    accuracyErrorsWrong: (sameAccepted + diffScoredRejected) / n,
    tar: samePairs > 0 ? sameAccepted / samePairs : 0,
    far: differentPairs > 0 ? diffAccepted / differentPairs : 0,
    errorsByCode,
    sameErrors,
    differentErrors,
    meanSameCosine: sameScored > 0 ? sameCosSum / sameScored : null,
    seconds,
  };
}

/**
 * Runs the benchmark.
 *
 * @example
 * const verifier = await createVerifier({ threads: 2 });
 * const run = await runDegrade({
 *   pairsFile: '../shared/faces/lfw/pairs.txt',
 *   imagesDir: '../shared/faces/lfw/images',
 *   verifier,
 *   pairsPerRow: 300,
 * });
 * for (const r of run.report.rows) console.log(r.label, r.accuracy);
 */
export async function runDegrade(options: RunDegradeOptions): Promise<DegradeRun> {
  const started = performance.now();
  const facePolicy = options.facePolicy ?? 'center';
  const seed = options.seed ?? 1;
  const perRow = options.pairsPerRow ?? 300;
  const concurrency = options.concurrency ?? 4;
  const { verifier } = options;
  const rows = options.rows
    ? options.rows.map((id) => {
        const found = DEGRADE_ROWS.find((r) => r.id === id);
        if (!found) {
          throw new FaceVerifyError(
            'INVALID_INPUT',
            `Unknown row "${id}"; rows: ${DEGRADE_ROWS.map((r) => r.id).join(', ')}`,
          );
        }
        return found;
      })
    : DEGRADE_ROWS;

  const list = await readLfwPairs(options.pairsFile, options.imagesDir);
  const same = seededSample(
    list.pairs.filter((p) => p.same),
    Math.ceil(perRow / 2),
    seed,
  );
  const different = seededSample(
    list.pairs.filter((p) => !p.same),
    Math.floor(perRow / 2),
    seed + 1,
  );
  const pairs = [...same, ...different];

  // The original photos, read and analysed once.
  const bytes = new Map<string, Buffer>();
  const originals = new Map<string, Analysed>();
  const paths = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  await forEachConcurrent(
    paths,
    concurrency,
    async (path) => {
      let b: Buffer;
      try {
        b = await readFile(path);
      } catch (err) {
        throw new FaceVerifyError('INVALID_INPUT', `Cannot read image ${path}`, { path }, { cause: err });
      }
      bytes.set(path, b);
      originals.set(path, await analyse(verifier, b, facePolicy));
    },
    options.signal,
  );

  const heic = await haveHeicEncoder();
  const results: RowResult[] = [];
  const records: PairRecord[] = [];
  for (const [rowIndex, row] of rows.entries()) {
    const rowStart = performance.now();
    if (row.degradation.kind === 'heic' && !heic) {
      const skipped = {
        ...summariseRow(row, [], 0, 0),
        skipped: 'no HEIC encoder (apt-get install libheif-examples)',
      };
      results.push(skipped);
      options.onRow?.(skipped, rowIndex, rows.length);
      continue;
    }
    const outcomes: { same: boolean; outcome: Outcome }[] = [];
    const rowRecords: PairRecord[] = [];
    let notBuilt = 0;
    await forEachConcurrent(
      pairs.map((p, i) => [p, i] as const),
      concurrency,
      async ([pair, index]) => {
        const a = originals.get(pair.a)!;
        const bOriginal = originals.get(pair.b)!;
        const landmarks = bOriginal.analysis?.face.landmarks;
        if (needsLandmarks(row.degradation) && !landmarks) {
          notBuilt++;
          return;
        }
        // A different seed per pair and row, the same on every run.
        const degraded = await degrade(bytes.get(pair.b)!, row.degradation, {
          seed: seed * 1_000_003 + rowIndex * 10_007 + index,
          landmarks,
        });
        const b = await analyse(verifier, degraded, facePolicy);
        let outcome: Outcome;
        if (a.error) outcome = { kind: 'error', code: a.error.code, image: 1, message: a.error.message };
        else if (b.error) outcome = { kind: 'error', code: b.error.code, image: 2, message: b.error.message };
        else {
          const c = verifier.compare(a.analysis!.embedding, b.analysis!.embedding);
          outcome = {
            kind: 'scored',
            cosine: c.metrics.cosine_similarity,
            isMatch: c.is_match,
            confidence: c.confidence,
          };
        }
        outcomes.push({ same: pair.same, outcome });
        rowRecords.push({
          row: row.id,
          pair: index,
          same: pair.same,
          outcome,
          analysisB: b.analysis ? record(b.analysis) : null,
        });
      },
      options.signal,
    );
    records.push(...rowRecords.sort((x, y) => x.pair - y.pair));
    const result = summariseRow(row, outcomes, notBuilt, (performance.now() - rowStart) / 1000);
    results.push(result);
    options.onRow?.(result, rowIndex, rows.length);
  }

  const probe = [...originals.values()].find((o) => o.analysis);
  const threshold = probe?.analysis
    ? verifier.compare(probe.analysis.embedding, probe.analysis.embedding).threshold.cosine_similarity
    : Number.NaN;
  const images: DegradeRun['images'] = {};
  for (const [path, o] of originals)
    images[path] = o.analysis ? record(o.analysis) : { error: o.error!.code };
  return {
    report: {
      createdAt: new Date().toISOString(),
      pairsFile: options.pairsFile,
      imagesDir: options.imagesDir,
      model: verifier.modelName,
      threshold,
      facePolicy,
      seed,
      pairsPerRow: pairs.length,
      rows: results,
      environment: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
      },
      totalSeconds: (performance.now() - started) / 1000,
    },
    pairs,
    images,
    records,
  };
}
