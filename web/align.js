/**
 * Face alignment for display: the 5-point similarity transform of detected landmarks onto the
 * ArcFace 112×112 template, as the service computes it before embedding (src/core/similarity-transform.ts).
 *
 * Least squares (Umeyama 1991). In 2-D, Umeyama's SVD solution without reflections has a closed form:
 * over the centred points, scale·cos θ = Σ(s·d) / Σ|s|² and scale·sin θ = Σ(s × d) / Σ|s|².
 *
 * Conventions: points are [x, y] pixels, x right, y down, OpenCV's (integer coordinates at pixel
 * centres), as the API reports landmarks. A matrix [a, b, tx, c, d, ty] means
 * x' = a·x + b·y + tx, y' = c·x + d·y + ty.
 */

/** InsightFace's `arcface_dst`: left eye, right eye, nose tip, left and right mouth corners. */
export const ARCFACE_TEMPLATE_112 = Object.freeze([
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
]);

/**
 * The similarity transform mapping `src` onto `dst` with the least sum of squared distances.
 *
 * @param {ReadonlyArray<readonly [number, number]>} src
 * @param {ReadonlyArray<readonly [number, number]>} dst
 * @returns {[number, number, number, number, number, number]} [a, b, tx, c, d, ty]
 * @example estimateSimilarity(face.landmarks, ARCFACE_TEMPLATE_112)
 */
export function estimateSimilarity(src, dst) {
  const n = src.length;
  if (n < 2 || n !== dst.length) throw new Error('need two equally long lists of at least 2 points');
  let msx = 0;
  let msy = 0;
  let mdx = 0;
  let mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += src[i][0] / n;
    msy += src[i][1] / n;
    mdx += dst[i][0] / n;
    mdy += dst[i][1] / n;
  }
  let dot = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i][0] - msx;
    const sy = src[i][1] - msy;
    const dx = dst[i][0] - mdx;
    const dy = dst[i][1] - mdy;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (!(norm > 0)) throw new Error('the source points are all equal');
  const p = dot / norm; // scale · cos θ
  const q = cross / norm; // scale · sin θ
  return [p, -q, mdx - (p * msx - q * msy), q, p, mdy - (q * msx + p * msy)];
}

/**
 * Draws the aligned face into a square canvas of any size (the template is scaled to it), using the
 * canvas's own transform: no per-pixel work in JavaScript.
 *
 * Canvas pixels are centred at i + 0.5, OpenCV's at i; the half-pixel shift keeps the crop exactly
 * where the service's warp puts it.
 *
 * @param {CanvasRenderingContext2D} ctx
 * @param {CanvasImageSource} image the photo, in the pixels the landmarks refer to
 * @param {ReadonlyArray<readonly [number, number]>} landmarks
 * @returns {[number, number, number, number, number, number]} the transform onto the 112×112 template
 */
export function drawAligned(ctx, image, landmarks) {
  const m = estimateSimilarity(landmarks, ARCFACE_TEMPLATE_112);
  const [a, b, tx, c, d, ty] = m;
  const k = ctx.canvas.width / 112;
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  // canvas' = k·(M·(canvas − ½) + ½): a matrix for setTransform(a, b, c, d, e, f) in its column order.
  ctx.setTransform(
    k * a,
    k * c,
    k * b,
    k * d,
    k * (tx + 0.5 - 0.5 * (a + b)),
    k * (ty + 0.5 - 0.5 * (c + d)),
  );
  ctx.drawImage(image, 0, 0);
  ctx.restore();
  return m;
}
