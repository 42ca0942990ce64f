/**
 * 1:N identification figures from search answers (ISO/IEC 19795-1 terms, as NIST FRVT 1:N reports
 * them). Pure: the searches are run by src/eval/run-identify.ts.
 *
 * - Closed set (mated probes: the person is enrolled): rank-k identification rate = share of probes
 *   whose own subject is among the first k answers of a search that ignores the threshold; rank-1 at
 *   the threshold = share whose first answer at the threshold in force is their own subject.
 * - Open set (non-mated probes: the person is not enrolled): false-positive identification rate
 *   FPIR(t) = share of non-mated probes with any answer at t; detection-and-identification rate
 *   DIR(t) = share of mated probes whose first answer is their own subject at a score ≥ t. DIR at a
 *   target FPIR takes t from the non-mated probes' best scores.
 *
 * Nothing is dropped: a mated probe with no face, or whose person could not be enrolled, is a miss; a
 * non-mated probe with no face is not a false positive (it identified nobody) but is counted under
 * its error code.
 */
import type { ErrorCode } from '../errors.js';

export interface Candidate {
  subject: string;
  score: number;
}

export interface MatedProbe {
  subject: string;
  path: string;
  /** The probe's own analysis error (NO_FACE…), or null. */
  error: ErrorCode | null;
  /** Whether the probe's person is in the gallery (their enrolment photo gave a face). */
  enrolled: boolean;
  /** The best subjects ignoring the threshold, best first (at least 5 when the gallery has them). */
  candidates: Candidate[];
  /** The first answer of the search at the threshold in force, or null (unknown person). */
  accepted: string | null;
}

export interface NonMatedProbe {
  subject: string;
  path: string;
  error: ErrorCode | null;
  /** The best subject ignoring the threshold, or null (no face). */
  best: Candidate | null;
  accepted: string | null;
}

/** Why a mated probe is not identified at rank 1 at the threshold. */
export type MissReason = 'probe_error' | 'not_enrolled' | 'wrong_person' | 'below_threshold';

export interface OpenSetPoint {
  targetFpir: number;
  /** The lowest score threshold whose FPIR is at most the target (−1 when every probe may pass). */
  threshold: number;
  fpir: number;
  falsePositives: number;
  dir: number;
}

export interface IdentificationMetrics {
  mated: {
    probes: number;
    rank1: number;
    rank5: number;
    rank1AtThreshold: number;
    hits: { rank1: number; rank5: number; rank1AtThreshold: number };
    /** Misses at rank 1 at the threshold, by reason (they add up to probes − hits.rank1AtThreshold). */
    misses: Record<MissReason, number>;
    /** Mated probes answered with another person at the threshold (a wrong identification). */
    wrongAccepted: number;
    errorsByCode: Partial<Record<ErrorCode, number>>;
  };
  nonMated: {
    probes: number;
    errorsByCode: Partial<Record<ErrorCode, number>>;
    falsePositivesAtThreshold: number;
    fpirAtThreshold: number;
  };
  /** DIR at the threshold in force (= mated rank-1 at the threshold). */
  dirAtThreshold: number;
  openSet: OpenSetPoint[];
}

const ratio = (n: number, d: number): number => (d > 0 ? n / d : 0);

function countCodes(errors: readonly (ErrorCode | null)[]): Partial<Record<ErrorCode, number>> {
  const out: Partial<Record<ErrorCode, number>> = {};
  for (const e of errors) if (e) out[e] = (out[e] ?? 0) + 1;
  return out;
}

/** Why a mated probe missed at the threshold, or null when it was identified. */
export function missReason(p: MatedProbe): MissReason | null {
  if (p.error) return 'probe_error';
  if (!p.enrolled) return 'not_enrolled';
  if (p.candidates[0]?.subject !== p.subject) return 'wrong_person';
  if (p.accepted !== p.subject) return 'below_threshold';
  return null;
}

/**
 * The lowest threshold t (taken among the scores) at which at most ⌊target · probes⌋ of the
 * non-mated probes score ≥ t. `scores` are the best scores of the probes that had one; `probes`
 * counts every non-mated probe (failed ones can never be false positives).
 *
 * @example
 * thresholdForFpir([0.9, 0.5, 0.4, 0.3], 4, 0.25); // 0.9 : one of four probes passes
 */
export function thresholdForFpir(scores: readonly number[], probes: number, target: number): number {
  const allowed = Math.floor(target * probes + 1e-9);
  const sorted = [...scores].sort((a, b) => b - a);
  if (allowed >= sorted.length) return -1;
  const firstRejected = sorted[allowed] as number;
  // The smallest score above the first one that must be rejected; none: reject everything seen.
  let t = Number.POSITIVE_INFINITY;
  for (const s of sorted) if (s > firstRejected && s < t) t = s;
  return Number.isFinite(t) ? t : firstRejected + Math.max(1e-9, Math.abs(firstRejected) * 1e-9);
}

/**
 * @example
 * const m = identificationMetrics(mated, nonMated, [0.001, 0.01]);
 * m.mated.rank1; m.openSet[1].dir; // DIR at 1 % FPIR
 */
export function identificationMetrics(
  mated: readonly MatedProbe[],
  nonMated: readonly NonMatedProbe[],
  targetFpirs: readonly number[] = [0.001, 0.01, 0.1],
): IdentificationMetrics {
  const misses: Record<MissReason, number> = {
    probe_error: 0,
    not_enrolled: 0,
    wrong_person: 0,
    below_threshold: 0,
  };
  let rank1 = 0;
  let rank5 = 0;
  let atThreshold = 0;
  let wrongAccepted = 0;
  for (const p of mated) {
    const own = p.error || !p.enrolled ? -1 : p.candidates.findIndex((c) => c.subject === p.subject);
    if (own === 0) rank1++;
    if (own >= 0 && own < 5) rank5++;
    const reason = missReason(p);
    if (reason) misses[reason]++;
    else atThreshold++;
    if (p.accepted !== null && p.accepted !== p.subject) wrongAccepted++;
  }
  const falsePositives = nonMated.filter((p) => p.accepted !== null).length;
  const best = nonMated.flatMap((p) => (p.best ? [p.best.score] : []));
  const openSet = targetFpirs.map((targetFpir): OpenSetPoint => {
    const threshold = thresholdForFpir(best, nonMated.length, targetFpir);
    const fp = best.filter((s) => s >= threshold).length;
    const dir = mated.filter((p) => {
      const top = p.candidates[0];
      return !p.error && p.enrolled && top?.subject === p.subject && top.score >= threshold;
    }).length;
    return {
      targetFpir,
      threshold,
      fpir: ratio(fp, nonMated.length),
      falsePositives: fp,
      dir: ratio(dir, mated.length),
    };
  });
  return {
    mated: {
      probes: mated.length,
      rank1: ratio(rank1, mated.length),
      rank5: ratio(rank5, mated.length),
      rank1AtThreshold: ratio(atThreshold, mated.length),
      hits: { rank1, rank5, rank1AtThreshold: atThreshold },
      misses,
      wrongAccepted,
      errorsByCode: countCodes(mated.map((p) => p.error)),
    },
    nonMated: {
      probes: nonMated.length,
      errorsByCode: countCodes(nonMated.map((p) => p.error)),
      falsePositivesAtThreshold: falsePositives,
      fpirAtThreshold: ratio(falsePositives, nonMated.length),
    },
    dirAtThreshold: ratio(atThreshold, mated.length),
    openSet,
  };
}
