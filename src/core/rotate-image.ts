/**
 * Quarter turns of interleaved pixels, and the way back for points. Used to look again for a face in a
 * photo that was saved sideways or upside down without an EXIF tag that says so (a scan, a re-saved
 * phone photo): the pixels are turned, and what is found is mapped back to the photo's own pixels.
 *
 * `turn` is clockwise, in degrees. Points are continuous coordinates (pixel i spans [i, i+1]), so a
 * quarter turn of a W×H image maps (x, y) to (H − y, x) exactly, with no half-pixel shifts.
 */
import type { Point } from './similarity-transform.js';

export type QuarterTurn = 0 | 90 | 180 | 270;

/** Interleaved RGB pixels, row-major (`width · height · 3` bytes). */
export interface RgbPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/**
 * The image turned clockwise by `turn` degrees (a new buffer; 0 returns the image itself).
 *
 * @example
 * rotateImage({ data, width: 640, height: 480 }, 90).width; // 480
 */
export function rotateImage<T extends RgbPixels>(image: T, turn: QuarterTurn): T {
  if (turn === 0) return image;
  const { width: w, height: h, data: src } = image;
  const c = 3;
  const out = new Uint8Array(src.length);
  const ow = turn === 180 ? w : h;
  const oh = turn === 180 ? h : w;
  for (let v = 0; v < oh; v++) {
    for (let u = 0; u < ow; u++) {
      // The source pixel of output pixel (u, v), by the inverse turn on pixel indices.
      let x: number;
      let y: number;
      if (turn === 90) {
        x = v;
        y = h - 1 - u;
      } else if (turn === 180) {
        x = w - 1 - u;
        y = h - 1 - v;
      } else {
        x = w - 1 - v;
        y = u;
      }
      const s = (y * w + x) * c;
      const d = (v * ow + u) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k] as number;
    }
  }
  return { ...image, data: out, width: ow, height: oh };
}

/**
 * A point of the turned image back in the original image's coordinates.
 *
 * @example
 * unrotatePoint([10, 20], 90, 480, 640); // [20, 470]: the turned image is 480 wide
 */
export function unrotatePoint(
  [u, v]: Point,
  turn: QuarterTurn,
  turnedWidth: number,
  turnedHeight: number,
): Point {
  switch (turn) {
    case 0:
      return [u, v];
    case 90:
      return [v, turnedWidth - u];
    case 180:
      return [turnedWidth - u, turnedHeight - v];
    case 270:
      return [turnedHeight - v, u];
  }
}
