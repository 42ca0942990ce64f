/**
 * Downscaling by area averaging (OpenCV's INTER_AREA, which MTCNN's reference code uses for its image
 * pyramid): each output pixel is the mean of the source area it covers, partly covered source pixels
 * weighted by the fraction covered. Separable — a horizontal pass into float rows, then a vertical
 * pass — so the cost is about three multiply-adds per source value, with no per-call allocation beyond
 * the output and one float buffer.
 *
 * Why by hand: the MTCNN pyramid needs 5–9 small levels per image; one `sharp` pipeline per level cost
 * about 1 ms of overhead each plus a hop to libuv's pool, more than the levels' own arithmetic (see
 * docs/performance.md). Only downscaling (output ≤ input on each axis) is supported.
 */
import type { InterleavedImage } from './warp-affine.js';

/** For each output index: the first source index and the weights of the source indices it covers. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  /** Taps per output index (the widest footprint), the stride of `weights`. */
  stride: number;
}

function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize; // source pixels per output pixel, ≥ 1
  const stride = Math.ceil(scale) + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    const x0 = o * scale;
    const x1 = Math.min(inSize, (o + 1) * scale);
    const first = Math.floor(x0);
    let n = 0;
    for (let i = first; i < x1 && n < stride; i++, n++) {
      const covered = Math.min(i + 1, x1) - Math.max(i, x0);
      weights[o * stride + n] = covered / (x1 - x0);
    }
    start[o] = first;
    count[o] = n;
  }
  return { start, count, weights, stride };
}

/**
 * Resizes an 8-bit interleaved image down to `outWidth` × `outHeight` by area averaging.
 *
 * @example
 * const level = resizeArea({ data, width: 640, height: 480, channels: 3 }, 128, 96);
 */
export function resizeArea(
  src: Readonly<InterleavedImage>,
  outWidth: number,
  outHeight: number,
): InterleavedImage {
  const { width, height, channels: c, data } = src;
  if (!(outWidth >= 1 && outHeight >= 1 && outWidth <= width && outHeight <= height)) {
    throw new RangeError(`resizeArea only downscales: ${width}×${height} → ${outWidth}×${outHeight}`);
  }
  const h = taps(width, outWidth);
  const v = taps(height, outHeight);
  // Horizontal pass: every source row → outWidth pixels (float, HWC). Accumulating in locals per
  // pixel keeps the inner loop in registers (3× faster than updating the float rows in place).
  const rows = new Float32Array(height * outWidth * c);
  const acc = new Float64Array(c);
  for (let y = 0; y < height; y++) {
    const srcRow = y * width * c;
    const dstRow = y * outWidth * c;
    for (let o = 0; o < outWidth; o++) {
      const n = h.count[o] as number;
      const w0 = o * h.stride;
      const s0 = srcRow + (h.start[o] as number) * c;
      const d = dstRow + o * c;
      if (c === 3) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0, s = s0; k < n; k++, s += 3) {
          const w = h.weights[w0 + k] as number;
          r += w * (data[s] as number);
          g += w * (data[s + 1] as number);
          b += w * (data[s + 2] as number);
        }
        rows[d] = r;
        rows[d + 1] = g;
        rows[d + 2] = b;
      } else {
        acc.fill(0);
        for (let k = 0, s = s0; k < n; k++, s += c) {
          const w = h.weights[w0 + k] as number;
          for (let ch = 0; ch < c; ch++) acc[ch] = (acc[ch] as number) + w * (data[s + ch] as number);
        }
        for (let ch = 0; ch < c; ch++) rows[d + ch] = acc[ch] as number;
      }
    }
  }
  // Vertical pass: output value i of row o is a weighted sum down the source rows it covers.
  const out = new Uint8Array(outHeight * outWidth * c);
  const rowLen = outWidth * c;
  for (let o = 0; o < outHeight; o++) {
    const n = v.count[o] as number;
    const w0 = v.stride * o;
    const r0 = (v.start[o] as number) * rowLen;
    const d = o * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let sum = 0;
      for (let k = 0, r = r0 + i; k < n; k++, r += rowLen)
        sum += (v.weights[w0 + k] as number) * (rows[r] as number);
      out[d + i] = Math.round(sum);
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels: c };
}
