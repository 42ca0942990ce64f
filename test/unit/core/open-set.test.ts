/**
 * The open-set search threshold (src/core/open-set.ts): the normal quantile against known values, the
 * tail fit recovering a known distribution from a ROC table, and the threshold's dependence on the
 * number of subjects. If these failed, a search of a large gallery would again match unknown people to
 * somebody most of the time (FPIR 92 % at 1 000 people with the verification threshold).
 */
import { describe, expect, it } from 'vitest';
import { impostorTail, normalQuantile, openSetThreshold } from '../../../src/core/open-set.js';
import { Scoring } from '../../../src/core/scoring.js';
import type { RocTable } from '../../../src/core/operating-point.js';
import { LFW_ROC } from '../../../src/models/lfw-roc.js';

describe('normalQuantile', () => {
  it('matches tabulated quantiles, in both tails and the middle', () => {
    const known: [number, number][] = [
      [0.5, 0],
      [0.975, 1.959963984540054],
      [0.841344746068543, 1],
      [1e-3, -3.090232306167813],
      [1e-6, -4.753424308822899],
      [1e-10, -6.361340902404056],
    ];
    for (const [p, z] of known) expect(normalQuantile(p)).toBeCloseTo(z, 7);
    expect(normalQuantile(1 - 1e-3)).toBeCloseTo(3.090232306167813, 7);
    expect(() => normalQuantile(0)).toThrow(RangeError);
  });
});

describe('impostorTail and openSetThreshold', () => {
  // A ROC table made from a known impostor distribution N(0.05, 0.12): FAR(t) = 1 − Φ((t − 0.05)/0.12).
  const upper = (z: number): number => 0.5 * erfcApprox(z / Math.SQRT2);
  const table: RocTable = {
    fittedOn: 'synthetic',
    points: Array.from({ length: 121 }, (_, i) => {
      const t = -0.2 + i * 0.005;
      return [t, upper((t - 0.05) / 0.12), 1] as const;
    }),
  };

  it('recovers the mean and spread of the impostor scores from the ROC', () => {
    const tail = impostorTail(table);
    expect(tail?.mean).toBeCloseTo(0.05, 3);
    expect(tail?.sd).toBeCloseTo(0.12, 3);
  });

  it('keeps an unknown person matched with probability fpir: FAR per comparison 1 − (1 − fpir)^(1/N)', () => {
    const tail = { mean: 0.05, sd: 0.12 };
    // One subject: the threshold where FAR = fpir.
    expect(openSetThreshold(tail, 1, 0.01)).toBeCloseTo(0.05 + 0.12 * 2.326347874, 6);
    // 1000 subjects: FAR = 1.00503e-5 per comparison.
    const t = openSetThreshold(tail, 1000, 0.01);
    expect(1 - (1 - upper((t - 0.05) / 0.12)) ** 1000).toBeCloseTo(0.01, 5);
    // More subjects, a higher threshold; a looser target, a lower one.
    expect(openSetThreshold(tail, 10_000, 0.01)).toBeGreaterThan(t);
    expect(openSetThreshold(tail, 1000, 0.1)).toBeLessThan(t);
  });

  it('gives what LFW identification measured for the built-in models (within 0.012)', () => {
    // bench/identify-gallery-size.ts: thresholds for 1 % FPIR with unknown LFW people as probes.
    const measured: Record<string, [number, number][]> = {
      mobilefacenet: [
        [10, 0.448],
        [100, 0.5353],
        [1000, 0.595],
        [1559, 0.6051],
      ],
      accurate: [
        [10, 0.8516],
        [100, 0.8731],
        [1000, 0.8922],
        [1559, 0.8968],
      ],
    };
    for (const [model, rows] of Object.entries(measured)) {
      const tail = impostorTail(LFW_ROC[model] as RocTable);
      if (!tail) throw new Error(`${model}: no tail`);
      for (const [n, t] of rows)
        expect(Math.abs(openSetThreshold(tail, n, 0.01) - t), `${model} N=${n}`).toBeLessThan(0.012);
    }
  });
});

describe('Scoring.searchThreshold', () => {
  const roc = LFW_ROC.mobilefacenet as RocTable;
  const scoring = new Scoring({
    threshold: 0.3989,
    calibration: { method: 'platt', a: 10, b: -4 },
    roc,
  } as never);

  it('keeps the verification threshold for a small gallery, raises it for a large one', () => {
    expect(scoring.searchThreshold(1, 0.01)).toMatchObject({ threshold: 0.3989 });
    const big = scoring.searchThreshold(1559, 0.01);
    expect(big).toMatchObject({ source: 'open-set', open_set: { fpir: 0.01, subjects: 1559 } });
    expect(big.threshold).toBeCloseTo(0.6134, 3);
  });

  it('takes a per-call threshold as given, and SEARCH_FPIR=0 turns the raise off', () => {
    expect(scoring.searchThreshold(1559, 0.01, 0.5)).toEqual({ threshold: 0.5, source: 'request' });
    expect(scoring.searchThreshold(1559, 0)).toMatchObject({ threshold: 0.3989 });
  });

  it('does not raise the threshold of a model without a ROC (nothing to fit)', () => {
    const bare = new Scoring({ threshold: 0.5, calibration: { method: 'platt', a: 10, b: -4 } } as never);
    expect(bare.searchThreshold(100_000, 0.01)).toMatchObject({ threshold: 0.5 });
  });
});

/** erfc to ~1e-7 (Numerical Recipes' erfcc), for making the synthetic table. */
function erfcApprox(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = [
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
    -0.82215223, 0.17087277,
  ];
  let acc = 0;
  for (let i = poly.length - 1; i >= 1; i--) acc = (acc + (poly[i] as number)) * t;
  const r = t * Math.exp(-z * z + (poly[0] as number) + acc);
  return x >= 0 ? r : 2 - r;
}
