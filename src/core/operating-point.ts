/**
 * Operating points: what a cosine threshold means for a model, as the false-match rate (FAR) and the
 * true-match rate (TAR) it gave on LFW View 2 (6000 pairs: 3000 same, 3000 different people). A model
 * ships a table of them (src/models/lfw-roc.ts), sampled on a grid of thresholds, so that
 *
 * - `MATCH_FAR=1e-3` picks the model's threshold for a target false-match rate, and
 * - every threshold in force — the model's, a configured or a requested one — can be stated with the
 *   FAR and TAR it had on LFW, in answers, at start-up and in `faceverify models list`.
 *
 * LFW has 3000 different-person pairs, so FARs below ~1e-3 rest on a handful of pairs; the table says
 * what it was fitted on, and answers quote it. On photos unlike LFW (dark, sideways, masked) both rates
 * move: docs/robustness.md.
 */

/** A model's ROC on a grid of thresholds, ascending: [threshold, far, tar]. */
export interface RocTable {
  fittedOn: string;
  points: readonly (readonly [number, number, number])[];
}

export interface OperatingPoint {
  threshold: number;
  /** False-match rate on the table's data at this threshold. */
  far: number;
  /** True-match rate on the table's data at this threshold. */
  tar: number;
}

/**
 * The rates at a threshold: those of the nearest grid threshold at or below it (conservative for FAR:
 * a threshold between grid points accepts at most what the lower grid point accepts).
 *
 * @example
 * atThreshold(table, 0.4); // { threshold: 0.4, far: 0.0027, tar: 0.99 }
 */
export function atThreshold(table: RocTable, threshold: number): OperatingPoint {
  const pts = table.points;
  let lo = 0;
  let hi = pts.length - 1;
  if (pts.length === 0) return { threshold, far: Number.NaN, tar: Number.NaN };
  if (threshold < (pts[0] as readonly number[])[0]!) return { threshold, far: 1, tar: 1 };
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((pts[mid] as readonly number[])[0]! <= threshold) lo = mid;
    else hi = mid - 1;
  }
  const [, far, tar] = pts[lo] as readonly [number, number, number];
  return { threshold, far, tar };
}

/**
 * The lowest grid threshold whose FAR is at most the target (the most matches for that FAR).
 *
 * @example
 * thresholdForFar(table, 1e-3); // { threshold: 0.43, far: 0.00067, tar: 0.985 }
 */
export function thresholdForFar(table: RocTable, targetFar: number): OperatingPoint | undefined {
  for (const [threshold, far, tar] of table.points) {
    if (far <= targetFar) return { threshold, far, tar };
  }
  return undefined;
}

/**
 * Samples a ROC from scored pairs on a grid (for src/models/lfw-roc.ts): pairs with no score (an image
 * failed) are left out.
 *
 * @example
 * rocTable([{ score: 0.7, same: true }, { score: 0.1, same: false }], 'test', 0.1);
 */
export function rocTable(
  pairs: readonly { score: number | null; same: boolean }[],
  fittedOn: string,
  step = 0.005,
  from = -0.2,
  to = 1,
): RocTable {
  const same = pairs.filter((p) => p.same && p.score !== null).map((p) => p.score as number);
  const different = pairs.filter((p) => !p.same && p.score !== null).map((p) => p.score as number);
  const points: [number, number, number][] = [];
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  for (let k = 0; from + k * step <= to + 1e-9; k++) {
    const t = round(from + k * step);
    const far = different.filter((s) => s >= t).length / Math.max(1, different.length);
    const tar = same.filter((s) => s >= t).length / Math.max(1, same.length);
    points.push([t, round(far), round(tar)]);
  }
  return { fittedOn, points };
}
