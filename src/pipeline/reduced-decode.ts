/**
 * How large to decode a big JPEG: a copy reduced below `maxDimension` when that lets libjpeg decode at
 * 1/2, 1/4 or 1/8 scale (JPEG shrink-on-load: the inverse DCT of a scaled decode is much cheaper, and
 * the photo is never held at full size).
 *
 * sharp only shrinks a JPEG on load by k when the whole resize factor is at least k + 1 (it halves k
 * when the integer part of the factor equals k, a guard against libjpeg's rounding), so a 4000×3000
 * photo resized to 1920 (factor 2.08) is decoded at full size. Asking for 1333 instead (factor 3)
 * decodes at 2000×1500 and reduces that. The copy never goes below `minReducedDimension`; the detector
 * then looks for faces of `minFaceSize · reduction` in it (src/pipeline/analysis-stages.ts), the same
 * faces as in the `maxDimension` copy, and small faces are aligned from `maxDimension`-scale pixels of
 * their region (src/pipeline/decode-region.ts). Measured in docs/performance.md ("Large photos").
 */

/** libjpeg's scaled decodes, largest first. */
const JPEG_SHRINKS = [8, 4, 2] as const;

/**
 * The longest side to decode an image to: `maxDimension`, or a smaller side of at least
 * `minReducedDimension` that lets sharp shrink a JPEG on load (0 turns the reduction off).
 *
 * @example
 * reducedSide('jpeg', 4000, 1920, 1280); // 1333: decoded at 1/2 (2000 px), then reduced
 * reducedSide('jpeg', 1000, 1920, 1280); // 1920: not reduced (no larger than maxDimension)
 */
export function reducedSide(
  format: string,
  longSide: number,
  maxDimension: number,
  minReducedDimension: number,
): number {
  if (format !== 'jpeg' || minReducedDimension <= 0 || longSide <= maxDimension) return maxDimension;
  for (const k of JPEG_SHRINKS) {
    const side = Math.min(maxDimension, Math.floor(longSide / (k + 1)));
    if (side >= minReducedDimension) return side;
  }
  return maxDimension;
}
