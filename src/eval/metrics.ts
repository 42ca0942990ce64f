/**
 * Verification metrics over scored pairs: k-fold accuracy, ROC, AUC, EER, TAR@FAR, Platt scaling and
 * its reliability. Pure functions of plain arrays; no I/O.
 *
 * Decision rule everywhere: a pair is accepted as "same person" when score ≥ threshold (as in
 * `compareEmbeddings`). Scores are similarities (higher = more alike), e.g. cosine.
 *
 * Failed pairs (`score: null`, a face not found in one of the images) are counted as WRONG at every
 * threshold: a failed same-person pair scores −∞ (always rejected: a false reject) and a failed
 * different-person pair scores +∞ (always accepted: a false accept). This is the worst case, so
 * accuracy, ROC, AUC, EER and TAR@FAR can only be flattered by the detector, never by dropping pairs
 * (LFW README: "a pair that fails counts as wrong"). Consequence: every failed different-person pair
 * puts a floor of 1/N_different under the attainable FAR. Platt scaling and its reliability table
 * use only the pairs with a score, because the service answers a failed image with an error, never
 * with a confidence. `accuracyDetectedOnly` reports the k-fold accuracy without the failed pairs for
 * comparison with tools that drop them.
 *
 * k-fold accuracy (the LFW View 2 protocol, as in facenet's and InsightFace's `lfw.py`): for each fold,
 * the threshold maximising accuracy on the other folds is chosen among the midpoints between
 * consecutive distinct scores (plus one just below the lowest and one just above the highest finite
 * score), and accuracy is measured on the held-out fold. When several thresholds tie, the median of
 * them (the lower one of the middle two) is taken, so the choice does not drift to either end of a
 * plateau. Reported: mean, POPULATION standard deviation (ddof = 0, numpy's `np.std` default, as
 * facenet and InsightFace report), the standard error of the mean (sample std, ddof = 1, / √k, as the
 * LFW results page asks), the per-fold thresholds and their mean (the recommended threshold).
 *
 * ROC: one point per distinct score (ties enter together, giving a diagonal step), from accepting only
 * +∞ (threshold +∞) to accepting everything. AUC integrates it with trapezoids from (0, 0), which
 * counts a tied same/different pair as half-correct (equal to the Mann–Whitney U / (n₊·n₋)). EER is
 * where FAR = FRR, interpolated linearly between the two ROC points that bracket it. TAR@FAR is the
 * highest TPR at an attainable operating point with FAR ≤ the target (no interpolation: the threshold
 * returned really achieves it on these pairs).
 *
 * Platt scaling (Platt 1999, with the robust Newton method and backtracking line search of Lin, Lin &
 * Weng 2007, "A note on Platt's probabilistic outputs for support vector machines"): p(same | s) =
 * 1 / (1 + exp(−(a·s + b))), fitted by maximum likelihood against Platt's smoothed targets
 * (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2). Deterministic: fixed start, no randomness.
 */
import { plattProbability } from '../core/scoring.js';
import { FaceVerifyError } from '../errors.js';

/** One pair's score, truth and fold. `score: null` marks a pair where detection failed. */
export interface ScoredPair {
  score: number | null;
  same: boolean;
  fold: number;
}

export interface ThresholdChoice {
  threshold: number;
  /** Accuracy at `threshold` on the pairs it was chosen on. */
  accuracy: number;
}

export interface FoldResult {
  fold: number;
  /** Threshold chosen on the other folds. */
  threshold: number;
  /** Accuracy of that threshold on this fold. */
  accuracy: number;
  pairs: number;
}

export interface KFoldAccuracy {
  folds: FoldResult[];
  mean: number;
  /** Population standard deviation of the fold accuracies (ddof = 0, numpy's default). */
  std: number;
  /** Standard error of the mean: sample standard deviation (ddof = 1) / √k. */
  standardError: number;
  /** Mean of the per-fold thresholds: the threshold to ship. */
  threshold: number;
}

export interface RocPoint {
  /** Accept when score ≥ threshold. +∞ accepts only +∞ scores; −∞ accepts everything. */
  threshold: number;
  far: number;
  tpr: number;
}

export interface EqualErrorRate {
  eer: number;
  /** Score at which FAR = FRR (interpolated). */
  threshold: number;
}

export interface TarAtFar {
  /** The FAR asked for. */
  targetFar: number;
  /** Highest TPR with FAR ≤ targetFar (0 when no threshold reaches that FAR). */
  tar: number;
  /** The FAR actually achieved at `threshold`. */
  far: number;
  /** Accept when score ≥ threshold; +∞ when the target is not attainable. */
  threshold: number;
  attainable: boolean;
}

export interface PlattParameters {
  a: number;
  b: number;
}

export interface PlattFit extends PlattParameters {
  iterations: number;
  converged: boolean;
  /** Pairs the fit used. */
  n: number;
}

export interface ReliabilityBin {
  /** The bin covers predicted probabilities in [lo, hi) ([lo, hi] for the last bin). */
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability of "same" in the bin (NaN when empty). */
  meanPredicted: number;
  /** Fraction of pairs in the bin that really are the same person (NaN when empty). */
  observedRate: number;
}

export interface CalibrationReport {
  /** True when every pair's probability came from a fit that did not see its fold. */
  crossValidated: boolean;
  /** Per-fold Platt parameters (fitted on the other folds), when cross-validated. */
  folds: { fold: number; a: number; b: number }[];
  bins: ReliabilityBin[];
  /** Expected calibration error: Σ (n_bin / n) · |meanPredicted − observedRate|. */
  ece: number;
  /** Mean squared error of the probabilities. */
  brier: number;
  /** Mean negative log-likelihood (natural log), probabilities clipped to [1e-12, 1 − 1e-12]. */
  logLoss: number;
  /** Pairs with a score (failed pairs get no confidence and are left out). */
  n: number;
}

export interface VerificationMetrics {
  pairs: number;
  samePairs: number;
  differentPairs: number;
  failedPairs: number;
  /** k-fold cross-validated accuracy (null with a single fold, e.g. a View 1 list). */
  accuracy: KFoldAccuracy | null;
  /** k-fold accuracy over the pairs with a score only (null when nothing failed or single fold). */
  accuracyDetectedOnly: KFoldAccuracy | null;
  /** The threshold maximising accuracy on all pairs, and that (optimistic) accuracy. */
  bestOnAll: ThresholdChoice;
  auc: number;
  eer: EqualErrorRate;
  tarAtFar: TarAtFar[];
  roc: RocPoint[];
  /** Platt parameters fitted on all pairs with a score: the calibration to ship. */
  platt: PlattFit;
  calibration: CalibrationReport;
}

/** Margin that places the outermost candidate thresholds just outside the finite scores. */
const END_MARGIN = 1e-6;

function invalid(message: string): FaceVerifyError {
  return new FaceVerifyError('INVALID_INPUT', message);
}

/** The score the metrics use: failed pairs are wrong at every threshold (see the header). */
export function effectiveScore(p: ScoredPair): number {
  if (p.score === null) return p.same ? -Infinity : Infinity;
  if (Number.isNaN(p.score)) throw invalid('A pair score is NaN');
  return p.score;
}

/**
 * Fraction of pairs decided correctly at a threshold (accept when score ≥ threshold).
 *
 * @example
 * accuracyAt([{ score: 0.8, same: true, fold: 0 }, { score: 0.1, same: false, fold: 0 }], 0.5); // 1
 */
export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) throw invalid('No pairs to measure accuracy on');
  let correct = 0;
  for (const p of pairs) if (effectiveScore(p) >= threshold === p.same) correct++;
  return correct / pairs.length;
}

/**
 * The threshold that maximises accuracy on these pairs (midpoints of sorted scores; ties → median
 * candidate).
 *
 * @example
 * bestThreshold([{ score: 0.8, same: true, fold: 0 }, { score: 0.2, same: false, fold: 0 }]);
 * // { threshold: 0.5, accuracy: 1 }
 */
export function bestThreshold(pairs: readonly ScoredPair[]): ThresholdChoice {
  const n = pairs.length;
  if (n === 0) throw invalid('No pairs to choose a threshold on');
  const sorted = pairs.map((p) => ({ s: effectiveScore(p), same: p.same })).sort((x, y) => x.s - y.s);
  let nSame = 0;
  for (const p of sorted) if (p.same) nSame++;
  // Split i rejects sorted[0..i) and accepts sorted[i..n): correct = different below + same at/above.
  let diffBelow = 0;
  let sameBelow = 0;
  let best = -1;
  let tied: number[] = [];
  for (let i = 0; i <= n; i++) {
    const lo = i > 0 ? sorted[i - 1]!.s : undefined;
    const hi = i < n ? sorted[i]!.s : undefined;
    // A split inside a group of equal scores, above +∞ or below −∞ is no attainable threshold.
    const valid = (lo === undefined || hi === undefined || lo < hi) && lo !== Infinity && hi !== -Infinity;
    if (valid) {
      const correct = diffBelow + (nSame - sameBelow);
      if (correct > best) {
        best = correct;
        tied = [i];
      } else if (correct === best) {
        tied.push(i);
      }
    }
    if (i < n) {
      if (sorted[i]!.same) sameBelow++;
      else diffBelow++;
    }
  }
  const split = tied[(tied.length - 1) >> 1]!;
  const lo = split > 0 ? sorted[split - 1]!.s : undefined;
  const hi = split < n ? sorted[split]!.s : undefined;
  const loFinite = lo !== undefined && Number.isFinite(lo);
  const hiFinite = hi !== undefined && Number.isFinite(hi);
  let threshold = 0;
  if (loFinite && hiFinite) threshold = (lo + hi) / 2;
  else if (hiFinite) threshold = hi - END_MARGIN;
  else if (loFinite) threshold = lo + END_MARGIN;
  return { threshold, accuracy: best / n };
}

function foldIds(pairs: readonly ScoredPair[]): number[] {
  return [...new Set(pairs.map((p) => p.fold))].sort((x, y) => x - y);
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/**
 * k-fold cross-validated accuracy: threshold chosen on the other folds, measured on the held-out one.
 *
 * @example
 * const { mean, std, threshold } = kFoldAccuracy(scoredPairs); // View 2: 10 folds of 600 pairs
 */
export function kFoldAccuracy(pairs: readonly ScoredPair[]): KFoldAccuracy {
  const ids = foldIds(pairs);
  if (ids.length < 2) throw invalid(`k-fold accuracy needs at least 2 folds, got ${ids.length}`);
  const folds: FoldResult[] = ids.map((fold) => {
    const train = pairs.filter((p) => p.fold !== fold);
    const test = pairs.filter((p) => p.fold === fold);
    const { threshold } = bestThreshold(train);
    return { fold, threshold, accuracy: accuracyAt(test, threshold), pairs: test.length };
  });
  const accs = folds.map((f) => f.accuracy);
  const m = mean(accs);
  const ss = accs.reduce((s, x) => s + (x - m) ** 2, 0);
  return {
    folds,
    mean: m,
    std: Math.sqrt(ss / accs.length),
    standardError: Math.sqrt(ss / (accs.length - 1)) / Math.sqrt(accs.length),
    threshold: mean(folds.map((f) => f.threshold)),
  };
}

function countClasses(pairs: readonly ScoredPair[]): { nPos: number; nNeg: number } {
  let nPos = 0;
  for (const p of pairs) if (p.same) nPos++;
  const nNeg = pairs.length - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw invalid(`ROC needs both same and different pairs (got ${nPos} same, ${nNeg} different)`);
  }
  return { nPos, nNeg };
}

/**
 * The ROC curve: (FAR, TPR) for every distinct threshold, in order of decreasing threshold.
 *
 * @example
 * rocCurve(pairs).at(-1); // { threshold: <lowest score>, far: 1, tpr: 1 }
 */
export function rocCurve(pairs: readonly ScoredPair[]): RocPoint[] {
  const { nPos, nNeg } = countClasses(pairs);
  const sorted = pairs.map((p) => ({ s: effectiveScore(p), same: p.same })).sort((x, y) => y.s - x.s);
  const points: RocPoint[] = [];
  let tp = 0;
  let fp = 0;
  let i = 0;
  const take = (): void => {
    if (sorted[i]!.same) tp++;
    else fp++;
    i++;
  };
  while (i < sorted.length && sorted[i]!.s === Infinity) take();
  points.push({ threshold: Infinity, far: fp / nNeg, tpr: tp / nPos });
  while (i < sorted.length) {
    const v = sorted[i]!.s;
    while (i < sorted.length && sorted[i]!.s === v) take();
    points.push({ threshold: v, far: fp / nNeg, tpr: tp / nPos });
  }
  return points;
}

/**
 * The ROC curve without the points that lie on a straight line between their neighbours (like
 * scikit-learn's `drop_intermediate`): the same curve, drawn and stored with far fewer points.
 *
 * @example
 * thinRoc(rocCurve(pairs)).length; // a few hundred instead of 6000
 */
export function thinRoc(roc: readonly RocPoint[]): RocPoint[] {
  if (roc.length <= 2) return [...roc];
  const out: RocPoint[] = [roc[0]!];
  for (let j = 1; j < roc.length - 1; j++) {
    const a = out[out.length - 1]!;
    const b = roc[j]!;
    const c = roc[j + 1]!;
    const cross = (b.far - a.far) * (c.tpr - a.tpr) - (b.tpr - a.tpr) * (c.far - a.far);
    if (Math.abs(cross) > 1e-12) out.push(b);
  }
  out.push(roc[roc.length - 1]!);
  return out;
}

/**
 * Area under the ROC curve by the trapezoid rule from (0, 0); tied scores count half.
 *
 * @example
 * rocAuc(rocCurve(pairs)); // 1 for perfectly separated scores
 */
export function rocAuc(roc: readonly RocPoint[]): number {
  let area = 0;
  let x0 = 0;
  let y0 = 0;
  for (const { far, tpr } of roc) {
    area += ((far - x0) * (tpr + y0)) / 2;
    x0 = far;
    y0 = tpr;
  }
  return area;
}

/**
 * Equal error rate: where FAR = FRR = 1 − TPR, interpolated between the bracketing ROC points.
 *
 * @example
 * equalErrorRate(rocCurve(pairs)); // { eer: 0.0067, threshold: 0.31 }
 */
export function equalErrorRate(roc: readonly RocPoint[]): EqualErrorRate {
  const gap = (p: RocPoint): number => 1 - p.tpr - p.far; // FRR − FAR, decreasing along the curve
  let prev = roc[0];
  if (!prev) throw invalid('Empty ROC curve');
  if (gap(prev) <= 0) return { eer: prev.far, threshold: prev.threshold };
  for (let j = 1; j < roc.length; j++) {
    const cur = roc[j]!;
    const g1 = gap(cur);
    if (g1 <= 0) {
      const g0 = gap(prev);
      const t = g0 / (g0 - g1);
      const eer = prev.far + t * (cur.far - prev.far);
      let threshold: number;
      if (Number.isFinite(prev.threshold) && Number.isFinite(cur.threshold)) {
        threshold = prev.threshold + t * (cur.threshold - prev.threshold);
      } else {
        threshold = Number.isFinite(cur.threshold) ? cur.threshold : prev.threshold;
      }
      return { eer, threshold };
    }
    prev = cur;
  }
  // Unreachable for a complete ROC (its last point is (1, 1), where the gap is −1).
  return { eer: prev.far, threshold: prev.threshold };
}

/**
 * True accept rate at a false accept rate: the best attainable operating point with FAR ≤ target.
 *
 * @example
 * tarAtFar(rocCurve(pairs), 1e-3); // { targetFar: 0.001, tar: 0.97, far: 0.00067, threshold: 0.42, … }
 */
export function tarAtFar(roc: readonly RocPoint[], targetFar: number): TarAtFar {
  let best: RocPoint | undefined;
  // FAR never decreases along the curve, so the last point within the target has the highest TPR.
  for (const p of roc) {
    if (p.far <= targetFar) best = p;
    else break;
  }
  if (!best) return { targetFar, tar: 0, far: 0, threshold: Infinity, attainable: false };
  return { targetFar, tar: best.tpr, far: best.far, threshold: best.threshold, attainable: true };
}

export { plattProbability };

/**
 * Fits p(same | s) = 1 / (1 + exp(−(a·s + b))) by Platt scaling (Newton's method with backtracking,
 * Lin, Lin & Weng 2007). Deterministic.
 *
 * @example
 * const { a, b } = fitPlatt([0.1, 0.2, 0.6, 0.7], [false, false, true, true]);
 */
export function fitPlatt(
  scores: readonly number[],
  labels: readonly boolean[],
  options: { maxIterations?: number; tolerance?: number } = {},
): PlattFit {
  const n = scores.length;
  if (n !== labels.length) throw invalid('fitPlatt: scores and labels differ in length');
  let nPos = 0;
  for (const l of labels) if (l) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw invalid('Platt scaling needs both same and different pairs');
  for (const s of scores) if (!Number.isFinite(s)) throw invalid('Platt scaling needs finite scores');
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-5;
  const hiTarget = (nPos + 1) / (nPos + 2);
  const loTarget = 1 / (nNeg + 2);
  const t = Float64Array.from(labels, (l) => (l ? hiTarget : loTarget));
  const f = Float64Array.from(scores);
  // Lin et al. use Platt's sign, P = 1 / (1 + exp(A·f + B)); we return a = −A, b = −B at the end.
  let A = 0;
  let B = Math.log((nNeg + 1) / (nPos + 1));
  const objective = (a: number, b: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const z = f[i]! * a + b;
      v += z >= 0 ? t[i]! * z + Math.log1p(Math.exp(-z)) : (t[i]! - 1) * z + Math.log1p(Math.exp(z));
    }
    return v;
  };
  let fval = objective(A, B);
  const sigma = 1e-12; // keeps the Hessian positive definite
  const minStep = 1e-10;
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations; iterations++) {
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      const z = f[i]! * A + B;
      let p: number;
      let q: number;
      if (z >= 0) {
        const e = Math.exp(-z);
        p = e / (1 + e);
        q = 1 / (1 + e);
      } else {
        const e = Math.exp(z);
        p = 1 / (1 + e);
        q = e / (1 + e);
      }
      const d2 = p * q;
      const fi = f[i]!;
      h11 += fi * fi * d2;
      h22 += d2;
      h21 += fi * d2;
      const d1 = t[i]! - p;
      g1 += fi * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < tolerance && Math.abs(g2) < tolerance) {
      converged = true;
      break;
    }
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= minStep) {
      const newA = A + step * dA;
      const newB = B + step * dB;
      const newF = objective(newA, newB);
      if (newF < fval + 1e-4 * step * gd) {
        A = newA;
        B = newB;
        fval = newF;
        break;
      }
      step /= 2;
    }
    if (step < minStep) break; // the line search failed: no further progress possible
  }
  return { a: -A, b: -B, iterations, converged, n };
}

/**
 * Reliability table of probabilities against outcomes, with ECE, Brier score and log loss.
 *
 * @example
 * const { bins, ece } = reliability([0.95, 0.1], [true, false], 10);
 */
export function reliability(
  probabilities: readonly number[],
  labels: readonly boolean[],
  binCount = 10,
): Omit<CalibrationReport, 'crossValidated' | 'folds'> {
  const n = probabilities.length;
  if (n === 0 || n !== labels.length)
    throw invalid('reliability: need equally many probabilities and labels');
  const count = new Array<number>(binCount).fill(0);
  const sumP = new Array<number>(binCount).fill(0);
  const sumY = new Array<number>(binCount).fill(0);
  let brier = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    const y = labels[i]! ? 1 : 0;
    const k = Math.min(binCount - 1, Math.max(0, Math.floor(p * binCount)));
    count[k]!++;
    sumP[k]! += p;
    sumY[k]! += y;
    brier += (p - y) ** 2;
    const pc = Math.min(1 - 1e-12, Math.max(1e-12, p));
    logLoss -= y * Math.log(pc) + (1 - y) * Math.log(1 - pc);
  }
  let ece = 0;
  const bins: ReliabilityBin[] = count.map((c, k) => {
    const meanPredicted = c > 0 ? sumP[k]! / c : NaN;
    const observedRate = c > 0 ? sumY[k]! / c : NaN;
    if (c > 0) ece += (c / n) * Math.abs(meanPredicted - observedRate);
    return { lo: k / binCount, hi: (k + 1) / binCount, count: c, meanPredicted, observedRate };
  });
  return { bins, ece, brier: brier / n, logLoss: logLoss / n, n };
}

/**
 * Platt calibration checked out of sample: each fold's probabilities come from a fit on the other
 * folds. With a single fold (or a fold whose complement lacks a class), the fit and the check use
 * the same pairs and `crossValidated` is false.
 *
 * @example
 * crossValidatedCalibration(pairs).ece; // 0.004
 */
export function crossValidatedCalibration(pairs: readonly ScoredPair[], binCount = 10): CalibrationReport {
  const scored = pairs.filter((p): p is ScoredPair & { score: number } => p.score !== null);
  const fitOn = (ps: readonly (ScoredPair & { score: number })[]): PlattFit =>
    fitPlatt(
      ps.map((p) => p.score),
      ps.map((p) => p.same),
    );
  const hasBothClasses = (ps: readonly ScoredPair[]): boolean =>
    ps.some((p) => p.same) && ps.some((p) => !p.same);
  const ids = foldIds(scored);
  const probabilities: number[] = [];
  const labels: boolean[] = [];
  const folds: CalibrationReport['folds'] = [];
  let crossValidated = ids.length >= 2;
  let inSample: PlattFit | undefined;
  for (const fold of crossValidated ? ids : [undefined]) {
    const train = scored.filter((p) => p.fold !== fold);
    let fit: PlattFit;
    if (fold !== undefined && hasBothClasses(train)) {
      fit = fitOn(train);
      folds.push({ fold, a: fit.a, b: fit.b });
    } else {
      // A single fold, or (on tiny lists) other folds without both classes: fall back to the
      // in-sample fit and say so.
      inSample ??= fitOn(scored);
      fit = inSample;
      crossValidated = false;
    }
    for (const p of scored) {
      if (fold !== undefined && p.fold !== fold) continue;
      probabilities.push(plattProbability(p.score, fit));
      labels.push(p.same);
    }
  }
  return { crossValidated, folds, ...reliability(probabilities, labels, binCount) };
}

/**
 * Every metric at once, as the evaluation report needs them.
 *
 * @example
 * const m = evaluateScores(pairs);
 * console.log(m.accuracy?.mean, m.auc, m.eer.eer, m.platt);
 */
export function evaluateScores(
  pairs: readonly ScoredPair[],
  options: { targetFars?: readonly number[]; bins?: number } = {},
): VerificationMetrics {
  const targetFars = options.targetFars ?? [1e-3, 1e-2];
  const { nPos, nNeg } = countClasses(pairs);
  const failedPairs = pairs.filter((p) => p.score === null).length;
  const multiFold = foldIds(pairs).length >= 2;
  const roc = rocCurve(pairs);
  const scored = pairs.filter((p): p is ScoredPair & { score: number } => p.score !== null);
  return {
    pairs: pairs.length,
    samePairs: nPos,
    differentPairs: nNeg,
    failedPairs,
    accuracy: multiFold ? kFoldAccuracy(pairs) : null,
    accuracyDetectedOnly:
      multiFold && failedPairs > 0 && foldIds(scored).length >= 2 ? kFoldAccuracy(scored) : null,
    bestOnAll: bestThreshold(pairs),
    auc: rocAuc(roc),
    eer: equalErrorRate(roc),
    tarAtFar: targetFars.map((far) => tarAtFar(roc, far)),
    roc,
    platt: fitPlatt(
      scored.map((p) => p.score),
      scored.map((p) => p.same),
    ),
    calibration: crossValidatedCalibration(pairs, options.bins ?? 10),
  };
}
