/**
 * The 1:N figures from search answers: ranks, misses by reason, FPIR and DIR, and the threshold at a
 * target FPIR. If these fail, `faceverify eval --identify` and docs/identities.md report wrong rates.
 */
import { describe, expect, it } from 'vitest';
import {
  identificationMetrics,
  missReason,
  thresholdForFpir,
  type MatedProbe,
  type NonMatedProbe,
} from '../../../src/eval/identification-metrics.js';

const mated = (
  subject: string,
  candidates: [string, number][],
  extra: Partial<MatedProbe> = {},
): MatedProbe => ({
  subject,
  path: `${subject}.jpg`,
  error: null,
  enrolled: true,
  candidates: candidates.map(([s, score]) => ({ subject: s, score })),
  accepted: null,
  ...extra,
});

const nonMated = (best: number | null, accepted: string | null = null): NonMatedProbe => ({
  subject: 'x',
  path: 'x.jpg',
  error: best === null ? 'NO_FACE' : null,
  best: best === null ? null : { subject: 'a', score: best },
  accepted,
});

describe('thresholdForFpir', () => {
  it('lets at most ⌊target · probes⌋ non-mated probes through', () => {
    expect(thresholdForFpir([0.9, 0.5, 0.4, 0.3], 4, 0.25)).toBe(0.9);
    expect(thresholdForFpir([0.9, 0.5, 0.4, 0.3], 4, 0.5)).toBe(0.5);
    // Nobody may pass: just above the best score.
    const t = thresholdForFpir([0.9, 0.5], 2, 0.01);
    expect(t).toBeGreaterThan(0.9);
    expect(t).toBeLessThan(0.9 + 1e-6);
  });

  it('never splits tied scores (all of them or none pass)', () => {
    // Two probes allowed, but three tie at 0.7: the threshold must reject all three.
    expect(thresholdForFpir([0.8, 0.7, 0.7, 0.7, 0.1], 5, 0.4)).toBe(0.8);
  });

  it('counts failed probes in the denominator only', () => {
    // Ten probes, only two with a score: 10 % allows one of them.
    expect(thresholdForFpir([0.6, 0.2], 10, 0.1)).toBe(0.6);
    expect(thresholdForFpir([0.6, 0.2], 10, 0.5)).toBe(-1);
  });
});

describe('identificationMetrics', () => {
  const probes: MatedProbe[] = [
    mated(
      'a',
      [
        ['a', 0.8],
        ['b', 0.3],
      ],
      { accepted: 'a' },
    ), // hit
    mated('a', [
      ['a', 0.35],
      ['b', 0.3],
    ]), // right, below the threshold
    mated(
      'b',
      [
        ['c', 0.5],
        ['d', 0.45],
        ['b', 0.44],
      ],
      { accepted: 'c' },
    ), // wrong person, rank 3
    mated('b', [
      ['c', 0.2],
      ['d', 0.19],
      ['e', 0.1],
      ['f', 0.05],
      ['g', 0.01],
      ['b', 0.0],
    ]), // rank 6
    mated('c', [], { error: 'NO_FACE' }),
    mated('d', [['a', 0.9]], { enrolled: false, accepted: 'a' }),
  ];
  const impostors = [nonMated(0.6, 'a'), nonMated(0.3), nonMated(0.1), nonMated(null)];

  it('ranks and misses', () => {
    const m = identificationMetrics(probes, impostors, [0.25]);
    expect(m.mated.hits).toEqual({ rank1: 2, rank5: 3, rank1AtThreshold: 1 });
    expect(m.mated.rank1).toBeCloseTo(2 / 6);
    expect(m.mated.misses).toEqual({ probe_error: 1, not_enrolled: 1, wrong_person: 2, below_threshold: 1 });
    expect(m.mated.wrongAccepted).toBe(2);
    expect(m.mated.errorsByCode).toEqual({ NO_FACE: 1 });
    expect(probes.map(missReason)).toEqual([
      null,
      'below_threshold',
      'wrong_person',
      'wrong_person',
      'probe_error',
      'not_enrolled',
    ]);
  });

  it('open set: FPIR from accepted answers, DIR at the FPIR threshold', () => {
    const m = identificationMetrics(probes, impostors, [0.25, 0.5]);
    expect(m.nonMated).toMatchObject({ probes: 4, falsePositivesAtThreshold: 1, fpirAtThreshold: 0.25 });
    expect(m.nonMated.errorsByCode).toEqual({ NO_FACE: 1 });
    expect(m.dirAtThreshold).toBeCloseTo(1 / 6);
    // 25 %: one impostor (0.6) may pass, so t = 0.6: only the 0.8 hit counts; the unenrolled
    // person's 0.9 never does.
    expect(m.openSet[0]).toMatchObject({ threshold: 0.6, falsePositives: 1, fpir: 0.25 });
    expect(m.openSet[0]?.dir).toBeCloseTo(1 / 6);
    // 50 %: two may pass, t = 0.3: both right answers (0.8 and 0.35) count.
    expect(m.openSet[1]).toMatchObject({ threshold: 0.3, falsePositives: 2, fpir: 0.5 });
    expect(m.openSet[1]?.dir).toBeCloseTo(2 / 6);
  });
});
