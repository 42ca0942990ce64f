// Time budget: closed-form estimates on 5-point sets, a few hundred of them (< 10 ms).
import { describe, expect, it } from 'vitest';
import {
  ARCFACE_TEMPLATE_112,
  applyAffine,
  composeAffine,
  estimateSimilarity,
  invertAffine,
  scaleTemplate,
  type Affine,
  type Point,
} from '../../../src/core/similarity-transform.js';
import { prng } from '../../support/prng.js';

function similarity(scale: number, theta: number, tx: number, ty: number): Affine {
  const p = scale * Math.cos(theta);
  const q = scale * Math.sin(theta);
  return [p, -q, tx, q, p, ty];
}

function residual(m: Affine, src: readonly Readonly<Point>[], dst: readonly Readonly<Point>[]): number {
  let sum = 0;
  src.forEach((s, i) => {
    const [x, y] = applyAffine(m, s);
    const [u, v] = dst[i]!;
    sum += (x - u) ** 2 + (y - v) ** 2;
  });
  return sum;
}

/** Largest absolute difference between two matrices (one `expect` per case keeps loops fast). */
function maxDiff(actual: readonly number[], expected: readonly number[]): number {
  return Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
}

function expectAffineClose(actual: Affine, expected: readonly number[], tol: number): void {
  expect(maxDiff(actual, expected)).toBeLessThan(tol);
}

// Plausible detected landmarks (left eye, right eye, nose, mouth corners) in a larger photo.
const LANDMARKS: Point[] = [
  [120.3, 140.8],
  [175.1, 135.2],
  [150.6, 170.4],
  [128.9, 205.7],
  [170.2, 201.3],
];

describe('ARCFACE_TEMPLATE_112', () => {
  it("holds InsightFace's arcface_dst values (a typo would misalign every crop)", () => {
    expect(ARCFACE_TEMPLATE_112).toEqual([
      [38.2946, 51.6963],
      [73.5318, 51.5014],
      [56.0252, 71.7366],
      [41.5493, 92.3655],
      [70.7299, 92.2041],
    ]);
  });

  it('is frozen, so no caller can corrupt it for everyone else', () => {
    expect(Object.isFrozen(ARCFACE_TEMPLATE_112)).toBe(true);
    expect(Object.isFrozen(ARCFACE_TEMPLATE_112[0])).toBe(true);
  });
});

describe('scaleTemplate', () => {
  it("multiplies coordinates by toSize / fromSize, as InsightFace's estimate_norm does", () => {
    const t = scaleTemplate(ARCFACE_TEMPLATE_112, 112, 224);
    t.forEach(([x, y], i) => {
      const [x0, y0] = ARCFACE_TEMPLATE_112[i]!;
      expect(x).toBeCloseTo(2 * x0, 12);
      expect(y).toBeCloseTo(2 * y0, 12);
    });
  });

  it('returns fresh, modifiable points', () => {
    const t = scaleTemplate(ARCFACE_TEMPLATE_112, 112, 112);
    expect(t).toEqual(ARCFACE_TEMPLATE_112);
    t[0]![0] = 0;
    expect(ARCFACE_TEMPLATE_112[0]![0]).toBe(38.2946);
  });

  it('rejects non-positive sizes', () => {
    expect(() => scaleTemplate(ARCFACE_TEMPLATE_112, 0, 112)).toThrow();
  });
});

describe('estimateSimilarity', () => {
  it('recovers random rotation/scale/translation exactly (to 1e-9), else the closed form is wrong', () => {
    const rand = prng(42);
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const truth = similarity(
        0.2 + rand() * 5,
        (rand() * 2 - 1) * Math.PI,
        (rand() * 2 - 1) * 500,
        (rand() * 2 - 1) * 500,
      );
      const dst = ARCFACE_TEMPLATE_112.map((p) => applyAffine(truth, p));
      worst = Math.max(worst, maxDiff(estimateSimilarity(ARCFACE_TEMPLATE_112, dst), truth));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('recovers the inverse direction too (landmarks → template, as alignment uses it)', () => {
    const rand = prng(7);
    for (let k = 0; k < 50; k++) {
      const truth = similarity(0.3 + rand() * 3, (rand() * 2 - 1) * Math.PI, rand() * 300, rand() * 300);
      const src = ARCFACE_TEMPLATE_112.map((p) => applyAffine(invertAffine(truth), p));
      expectAffineClose(estimateSimilarity(src, ARCFACE_TEMPLATE_112), truth, 1e-9);
    }
  });

  it("matches Umeyama's SVD solution (scikit-image's _umeyama, run in numpy) on noisy landmarks", () => {
    // Reference: the SVD-based algorithm that InsightFace's alignment calls, computed offline.
    const expected = [
      0.6342110437383247, -0.032097626402357145, -33.005546863530824, 0.03209762640235715, 0.6342110437383248,
      -41.12954923173652,
    ];
    expectAffineClose(estimateSimilarity(LANDMARKS, ARCFACE_TEMPLATE_112), expected, 1e-9);
  });

  it('never returns a reflection, even for mirrored landmarks (a mirrored face would embed differently)', () => {
    const mirrored = LANDMARKS.map(([x, y]): Point => [300 - x, y]);
    const m = estimateSimilarity(mirrored, ARCFACE_TEMPLATE_112);
    const [a, b, , c, d] = m;
    expect(a * d - b * c).toBeGreaterThan(0);
    expect(a).toBeCloseTo(d, 12);
    expect(b).toBeCloseTo(-c, 12);
    // Umeyama's reflection-guarded answer for the same input (numpy reference).
    expectAffineClose(
      m,
      [
        0.16436355992317084, -0.012245778699868412, 33.30065923129321, 0.012245778699868414,
        0.16436355992317087, 41.998339924207066,
      ],
      1e-9,
    );
  });

  it('gives the least-squares fit with noise: equals the normal-equations solution, and any nudge is worse', () => {
    const rand = prng(2024);
    for (let k = 0; k < 20; k++) {
      const truth = similarity(0.5 + rand() * 2, (rand() * 2 - 1) * Math.PI, rand() * 100, rand() * 100);
      const dst = ARCFACE_TEMPLATE_112.map((p): Point => {
        const [x, y] = applyAffine(truth, p);
        return [x + (rand() - 0.5) * 6, y + (rand() - 0.5) * 6];
      });
      const m = estimateSimilarity(ARCFACE_TEMPLATE_112, dst);

      // Independent solution: unknowns (p, q, tx, ty) with x' = p·x − q·y + tx, y' = q·x + p·y + ty.
      const rows: number[][] = [];
      const rhs: number[] = [];
      ARCFACE_TEMPLATE_112.forEach(([x, y], i) => {
        const [u, v] = dst[i]!;
        rows.push([x, -y, 1, 0]);
        rhs.push(u);
        rows.push([y, x, 0, 1]);
        rhs.push(v);
      });
      const [p, q, tx, ty] = solveNormalEquations(rows, rhs);
      expectAffineClose(m, [p!, -q!, tx!, q!, p!, ty!], 1e-9);

      // Nudge each similarity parameter (p, q, tx, ty) both ways: a least-squares optimum only gets worse.
      const best = residual(m, ARCFACE_TEMPLATE_112, dst);
      for (const eps of [1e-3, -1e-3]) {
        for (const nudged of [
          m.map((v, i) => v + (i === 0 || i === 4 ? eps : 0)),
          m.map((v, i) => v + (i === 1 ? -eps : i === 3 ? eps : 0)),
          m.map((v, i) => v + (i === 2 ? eps : 0)),
          m.map((v, i) => v + (i === 5 ? eps : 0)),
        ]) {
          expect(residual(nudged as Affine, ARCFACE_TEMPLATE_112, dst)).toBeGreaterThan(best);
        }
      }
    }
  });

  it('works with two points (the minimum that fixes a similarity)', () => {
    const truth = similarity(2, 0.3, 5, -7);
    const src: Point[] = [
      [0, 0],
      [10, 3],
    ];
    expectAffineClose(
      estimateSimilarity(
        src,
        src.map((p) => applyAffine(truth, p)),
      ),
      truth,
      1e-12,
    );
  });

  it('throws on coincident source points or mismatched lists instead of returning NaN', () => {
    const same: Point[] = [
      [1, 1],
      [1, 1],
      [1, 1],
    ];
    expect(() => estimateSimilarity(same, ARCFACE_TEMPLATE_112.slice(0, 3))).toThrow(/all equal/);
    expect(() => estimateSimilarity(LANDMARKS, ARCFACE_TEMPLATE_112.slice(0, 4))).toThrow(/equally long/);
    expect(() => estimateSimilarity(LANDMARKS.slice(0, 1), ARCFACE_TEMPLATE_112.slice(0, 1))).toThrow();
  });
});

describe('invertAffine and applyAffine', () => {
  it('invert ∘ apply is the identity for random general affine maps (else crops sample the wrong place)', () => {
    const rand = prng(99);
    let worst = 0;
    for (let k = 0; k < 100; k++) {
      const m: Affine = [
        rand() * 4 - 2,
        rand() * 4 - 2,
        rand() * 200 - 100,
        rand() * 4 - 2,
        rand() * 4 - 2,
        rand() * 200 - 100,
      ];
      const inv = invertAffine(m);
      const p: Point = [rand() * 500, rand() * 500];
      const back = applyAffine(inv, applyAffine(m, p));
      // Errors scaled by the conditioning of m (random matrices can be nearly singular).
      const det = Math.min(1, Math.abs(m[0] * m[4] - m[1] * m[3]));
      worst = Math.max(worst, maxDiff(back, p) * det, maxDiff(invertAffine(inv), m) * det ** 2);
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('computes a known inverse and applies in OpenCV row-major order', () => {
    expectAffineClose(invertAffine([2, 0, 10, 0, 2, 20]), [0.5, 0, -5, 0, 0.5, -10], 1e-15);
    // [[0, −1, 5], [1, 0, 0]] rotates (1, 0) to (0, 1), then shifts x by 5.
    expect(applyAffine([0, -1, 5, 1, 0, 0], [1, 0])).toEqual([5, 1]);
  });

  it('throws on a singular matrix instead of returning Infinity', () => {
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/singular/);
  });

  it('composes in the order applied: (outer ∘ inner)(p) = outer(inner(p)) (else chip crops go astray)', () => {
    const rand = prng(7);
    const m = (): Affine => [
      rand() * 4 - 2,
      rand() * 4 - 2,
      rand() * 50,
      rand() * 4 - 2,
      rand() * 4 - 2,
      rand() * 50,
    ];
    for (let k = 0; k < 50; k++) {
      const [outer, inner] = [m(), m()];
      const p: Point = [rand() * 300, rand() * 300];
      expect(
        maxDiff(applyAffine(composeAffine(outer, inner), p), applyAffine(outer, applyAffine(inner, p))),
      ).toBeLessThan(1e-9);
    }
    expect(composeAffine([1, 0, 5, 0, 1, 0], [2, 0, 0, 0, 2, 0])).toEqual([2, 0, 5, 0, 2, 0]);
  });
});

/** Least squares by the normal equations AᵀA·x = Aᵀb, Gaussian elimination with partial pivoting. */
function solveNormalEquations(rows: number[][], rhs: number[]): number[] {
  const n = rows[0]!.length;
  const m: number[][] = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0));
  rows.forEach((r, k) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) m[i]![j]! += r[i]! * r[j]!;
      m[i]![n]! += r[i]! * rhs[k]!;
    }
  });
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}
