/**
 * 2-D similarity transforms for face alignment: the least-squares rotation + uniform scale + translation
 * that maps detected landmarks onto a template (Umeyama 1991, "Least-squares estimation of
 * transformation parameters between two point patterns"), as InsightFace does with scikit-image's
 * `SimilarityTransform.estimate` before `cv2.warpAffine`.
 *
 * Conventions: points are `[x, y]` pixels, x right, y down, integer coordinates at pixel centres
 * (OpenCV's). An {@link Affine} `[a, b, tx, c, d, ty]` is OpenCV's row-major 2×3 matrix
 * `[[a, b, tx], [c, d, ty]]`: x' = a·x + b·y + tx, y' = c·x + d·y + ty.
 */
import { FaceVerifyError } from '../errors.js';

/** A 2-D point `[x, y]` in pixels. */
export type Point = [x: number, y: number];

/** A 2×3 affine matrix, row-major as OpenCV's: x' = a·x + b·y + tx, y' = c·x + d·y + ty. */
export type Affine = [a: number, b: number, tx: number, c: number, d: number, ty: number];

/**
 * The ArcFace / InsightFace five-point template for 112×112 crops (`arcface_dst` in InsightFace's
 * `face_align.py`): left eye, right eye, nose tip, left mouth corner, right mouth corner, where left and
 * right are as seen in the image.
 *
 * Typed `Point[]` so manifests can hold it as is, but frozen at run time: an accidental write throws
 * (modules are strict) instead of silently misaligning every later crop. Use {@link scaleTemplate} for a
 * modifiable copy.
 */
export const ARCFACE_TEMPLATE_112: Point[] = Object.freeze([
  Object.freeze([38.2946, 51.6963]),
  Object.freeze([73.5318, 51.5014]),
  Object.freeze([56.0252, 71.7366]),
  Object.freeze([41.5493, 92.3655]),
  Object.freeze([70.7299, 92.2041]),
]) as unknown as Point[];

/**
 * A template for a crop of `toSize` pixels made from one for `fromSize` pixels, by plain scaling of the
 * coordinates. That is what InsightFace's `estimate_norm` does for sizes that are multiples of 112, so
 * crops match those the models were trained on (a pixel-centre-exact resize would shift by half a pixel
 * times (ratio − 1), which the training data did not have).
 *
 * @example
 * scaleTemplate(ARCFACE_TEMPLATE_112, 112, 224)[0]; // [76.5892, 103.3926]
 */
export function scaleTemplate(
  template: readonly Readonly<Point>[],
  fromSize: number,
  toSize: number,
): Point[] {
  if (!(fromSize > 0) || !(toSize > 0)) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `scaleTemplate: sizes must be positive (${fromSize} → ${toSize})`,
    );
  }
  const r = toSize / fromSize;
  return template.map(([x, y]) => [x * r, y * r]);
}

/**
 * The similarity transform (rotation, uniform scale > 0, translation; never a reflection) that maps
 * `src` onto `dst` with the least sum of squared distances.
 *
 * In 2-D Umeyama's SVD solution has a closed form: writing points as complex numbers, the linear part
 * is z = Σ conj(s̃ᵢ)·d̃ᵢ / Σ |s̃ᵢ|² over the centred points, i.e. scale·cos θ = Σ(s̃·d̃) / Σ|s̃|² and
 * scale·sin θ = Σ(s̃ × d̃) / Σ|s̃|². Restricting to matrices [[p, −q], [q, p]] is exactly Umeyama's
 * reflection guard (his S = diag(1, −1) case), and needs no SVD.
 *
 * @param src at least two points, not all equal (for example detected landmarks)
 * @param dst the same number of target points (for example {@link ARCFACE_TEMPLATE_112})
 * @returns the matrix mapping src → dst, ready for `warpAffine`
 *
 * @example
 * const m = estimateSimilarity(landmarks, ARCFACE_TEMPLATE_112);
 * applyAffine(m, landmarks[0]!); // ≈ ARCFACE_TEMPLATE_112[0]
 */
export function estimateSimilarity(src: readonly Readonly<Point>[], dst: readonly Readonly<Point>[]): Affine {
  const n = src.length;
  if (n !== dst.length || n < 2) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `estimateSimilarity: need two equally long lists of at least 2 points (got ${n} and ${dst.length})`,
    );
  }
  let msx = 0;
  let msy = 0;
  let mdx = 0;
  let mdy = 0;
  for (let i = 0; i < n; i++) {
    const [sx, sy] = src[i]!;
    const [dx, dy] = dst[i]!;
    msx += sx;
    msy += sy;
    mdx += dx;
    mdy += dy;
  }
  msx /= n;
  msy /= n;
  mdx /= n;
  mdy /= n;

  let dot = 0; // Σ s̃·d̃
  let cross = 0; // Σ s̃ × d̃
  let norm = 0; // Σ |s̃|²
  for (let i = 0; i < n; i++) {
    const [sx0, sy0] = src[i]!;
    const [dx0, dy0] = dst[i]!;
    const sx = sx0 - msx;
    const sy = sy0 - msy;
    const dx = dx0 - mdx;
    const dy = dy0 - mdy;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (!(norm > 0)) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      'estimateSimilarity: source points are all equal (or not finite)',
    );
  }
  const p = dot / norm; // scale · cos θ
  const q = cross / norm; // scale · sin θ
  return [p, -q, mdx - (p * msx - q * msy), q, p, mdy - (q * msx + p * msy)];
}

/**
 * The inverse of an affine transform (maps destination back to source).
 *
 * @example
 * invertAffine([2, 0, 10, 0, 2, 20]); // [0.5, 0, -5, 0, 0.5, -10]
 */
export function invertAffine(m: Readonly<Affine>): Affine {
  const [a, b, tx, c, d, ty] = m;
  const det = a * d - b * c;
  if (!(det !== 0 && Number.isFinite(det))) {
    throw new FaceVerifyError('INTERNAL_ERROR', `invertAffine: matrix is singular (det = ${det})`);
  }
  const ia = d / det;
  const ib = -b / det;
  const ic = -c / det;
  const id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/**
 * Apply an affine transform to a point.
 *
 * @example
 * applyAffine([0, -1, 5, 1, 0, 0], [1, 0]); // [5, 1] (90° rotation, then x + 5)
 */
export function applyAffine(m: Readonly<Affine>, p: Readonly<Point>): Point {
  const [x, y] = p;
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/**
 * The transform that applies `inner` first, then `outer` (outer ∘ inner).
 *
 * @example
 * composeAffine([1, 0, 5, 0, 1, 0], [2, 0, 0, 0, 2, 0]); // [2, 0, 5, 0, 2, 0]: double, then x + 5
 */
export function composeAffine(outer: Readonly<Affine>, inner: Readonly<Affine>): Affine {
  const [a, b, tx, c, d, ty] = outer;
  const [e, f, ux, g, h, uy] = inner;
  return [
    a * e + b * g,
    a * f + b * h,
    a * ux + b * uy + tx,
    c * e + d * g,
    c * f + d * h,
    c * ux + d * uy + ty,
  ];
}
