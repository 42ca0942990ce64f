/**
 * Error-versus-reject curves (Grother & Tabassi 2007, as in ISO/IEC 29794-1): rank the degraded photos
 * of the robustness benchmark by a face-quality score, refuse the worst fraction, and see how the wrong
 * answers among the rest fall. A score that predicts errors removes most of them early; a score that
 * does not gives a flat curve.
 *
 * Input: the benchmark's per-pair records (src/eval/run-degrade.ts). Only pairs whose two faces were
 * found and scored count (a photo with no face is refused before any quality exists); a pair is wrong
 * when `isMatch` differs from `same`. The score is the degraded (second) photo's `quality.score`.
 */
import type { QualityLevel } from '../core/face-quality.js';
import type { PairRecord } from './run-degrade.js';

export interface RejectPoint {
  /** Share of the scored pairs refused (their second photo among the lowest scores). */
  rejected: number;
  /** Wrong answers among the pairs kept / pairs kept. */
  errorRate: number;
  /** Wrong answers refused / all wrong answers. */
  wrongRemoved: number;
}

export interface LevelPoint extends RejectPoint {
  /** QUALITY_FILTER value: refuses `low` faces for `medium`, all but `high` for `high`. */
  filter: 'medium' | 'high';
}

export interface RejectCurve {
  pairs: number;
  wrong: number;
  points: RejectPoint[];
  levels: LevelPoint[];
}

interface Rated {
  score: number;
  level: QualityLevel;
  wrong: boolean;
}

function rated(records: readonly PairRecord[]): Rated[] {
  const out: Rated[] = [];
  for (const r of records) {
    // Older reports (before quality.score) have no score: no curve.
    const q = r.analysisB?.face.quality;
    if (r.outcome.kind !== 'scored' || !q || typeof q.score !== 'number') continue;
    out.push({ score: q.score, level: q.level, wrong: r.outcome.isMatch !== r.same });
  }
  return out;
}

function point(kept: readonly Rated[], all: readonly Rated[], wrongTotal: number): RejectPoint {
  const keptWrong = kept.filter((p) => p.wrong).length;
  return {
    rejected: all.length > 0 ? 1 - kept.length / all.length : 0,
    errorRate: kept.length > 0 ? keptWrong / kept.length : 0,
    wrongRemoved: wrongTotal > 0 ? 1 - keptWrong / wrongTotal : 0,
  };
}

/**
 * The curve at the given reject fractions, and what QUALITY_FILTER=medium|high would refuse; null when
 * the records carry no quality score.
 *
 * @example
 * errorRejectCurve(run.records)?.points[2]; // { rejected: 0.1, errorRate: 0.012, wrongRemoved: 0.64 }
 */
export function errorRejectCurve(
  records: readonly PairRecord[],
  fractions: readonly number[] = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
): RejectCurve | null {
  const all = rated(records);
  if (all.length === 0) return null;
  // Lowest score first; ties in record order, so the curve is the same on every run.
  const sorted = [...all].sort((a, b) => a.score - b.score);
  const wrongTotal = all.filter((p) => p.wrong).length;
  const points = fractions.map((f) => point(sorted.slice(Math.round(f * sorted.length)), all, wrongTotal));
  const levels: LevelPoint[] = [
    {
      filter: 'medium',
      ...point(
        all.filter((p) => p.level !== 'low'),
        all,
        wrongTotal,
      ),
    },
    {
      filter: 'high',
      ...point(
        all.filter((p) => p.level === 'high'),
        all,
        wrongTotal,
      ),
    },
  ];
  return { pairs: all.length, wrong: wrongTotal, points, levels };
}

/**
 * The share of photos a QUALITY_FILTER would refuse, among analyses (e.g. the benchmark's undegraded
 * originals: plain LFW).
 *
 * @example
 * refusedShare(Object.values(run.images), 'medium'); // 0.005
 */
export function refusedShare(
  analyses: readonly ({ face?: { quality?: { level: QualityLevel } } } | { error: string })[],
  filter: 'medium' | 'high',
): { refused: number; of: number } {
  const levels = analyses.flatMap((a) => ('face' in a && a.face?.quality ? [a.face.quality.level] : []));
  const refused = levels.filter((l) => (filter === 'medium' ? l === 'low' : l !== 'high')).length;
  return { refused, of: levels.length };
}
