/**
 * The search threshold of an open set: how high a score must be before "the best of N enrolled
 * subjects" is believed rather than taken for chance.
 *
 * A verification threshold bounds the false-match rate of ONE comparison (FAR, about 0.3 % for the
 * shipped ones on LFW). A search compares an unknown person with every enrolled subject, so the chance
 * that at least one of N impostor scores passes is the false-positive identification rate
 * FPIR = 1 − (1 − FAR)^N: about 3 % at N = 10, 28 % at 100 and 92 % at 1 000 with the verification
 * threshold (measured on LFW, docs/identities.md). For a target FPIR the per-comparison FAR must be
 * 1 − (1 − FPIR)^(1/N) ≈ FPIR / N — far below the 1/3000 that LFW's ROC resolves at N ≥ 10 — so the
 * impostor scores' upper tail is modelled as a normal distribution fitted to the ROC where it is
 * measured (FAR 0.1 % to 10 %), and the threshold read from that tail.
 *
 * Checked against LFW identification (bench/identify-gallery-size.ts, unknown people's probes against
 * galleries of 10 to 1 559 people, data the fit never saw): for FPIR 1 % the tail gives 0.444, 0.528,
 * 0.600, 0.613 at N = 10, 100, 1000, 1559 with mobilefacenet, where the measured thresholds are
 * 0.448, 0.535, 0.595, 0.605 (accurate: 0.852, 0.877, 0.900, 0.903 against 0.852, 0.873, 0.892, 0.897).
 */
import type { RocTable } from './operating-point.js';

/** The impostor scores' tail as a normal distribution: mean and standard deviation of the fit. */
export interface ImpostorTail {
  mean: number;
  sd: number;
}

/** The ROC's FAR range the tail is fitted on: well measured (≥ 3 impostor pairs of 3000) and in the tail. */
const FIT_FAR: readonly [number, number] = [1e-3, 0.1];

/**
 * The standard normal quantile Φ⁻¹(p), by Acklam's rational approximation (relative error below
 * 1.2e-9 over (0, 1), far finer than the tail model it serves). Written here: a dozen lines, no
 * dependency.
 *
 * @example
 * normalQuantile(0.975); // 1.95996…
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lower = 0.02425;
  let x: number;
  if (p < lower || p > 1 - lower) {
    const q = Math.sqrt(-2 * Math.log(p < lower ? p : 1 - p));
    const num = ((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!;
    const den = (((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1;
    x = p < lower ? num / den : -num / den;
  } else {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  }
  return x;
}

/**
 * Least-squares fit of threshold = mean + sd · Φ⁻¹(1 − FAR) over the ROC points with FAR in
 * {@link FIT_FAR}; undefined when fewer than 3 such points exist.
 *
 * @example
 * impostorTail(LFW_ROC.mobilefacenet); // { mean: 0.034, sd: 0.133 }
 */
export function impostorTail(roc: RocTable): ImpostorTail | undefined {
  const pts = roc.points.filter(([, far]) => far >= FIT_FAR[0] && far <= FIT_FAR[1]);
  if (pts.length < 3) return undefined;
  const xs = pts.map(([, far]) => -normalQuantile(far));
  const ys = pts.map(([t]) => t);
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * ((ys[i] as number) - my);
    sxx += (x - mx) ** 2;
  });
  if (sxx === 0) return undefined;
  const sd = sxy / sxx;
  return sd > 0 ? { mean: my - sd * mx, sd } : undefined;
}

/**
 * The cosine threshold at which an unknown person is matched to one of `subjects` enrolled people with
 * probability `fpir` (impostor scores independent, tail from {@link impostorTail}).
 *
 * @example
 * openSetThreshold(tail, 1000, 0.01); // ≈ 0.600 for mobilefacenet
 */
export function openSetThreshold(tail: ImpostorTail, subjects: number, fpir: number): number {
  if (!(fpir > 0 && fpir < 1)) throw new RangeError(`fpir must be in (0, 1), got ${fpir}`);
  const n = Math.max(1, subjects);
  // 1 − (1 − fpir)^(1/n), computed without cancellation for large n.
  const far = -Math.expm1(Math.log1p(-fpir) / n);
  return tail.mean - tail.sd * normalQuantile(far);
}
