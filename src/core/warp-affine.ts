/**
 * Affine warp with bilinear sampling, matching OpenCV's `cv2.warpAffine(src, M, (w, h))` with the
 * defaults InsightFace uses (INTER_LINEAR, BORDER_CONSTANT with value 0).
 *
 * Conventions (OpenCV's): integer coordinates are pixel centres, with no half-pixel offset; the matrix
 * `m` maps SOURCE → DESTINATION, and each destination pixel (x, y) samples the source at m⁻¹·(x, y).
 * A neighbour outside the source counts as 0, so pixels next to the border blend towards black exactly
 * as in OpenCV.
 *
 * Layouts: the source is 8-bit, interleaved (HWC, `channels` values per pixel, no row padding).
 * `warpAffine` writes float HWC; `warpAffineToTensor` writes float planar CHW normalised as
 * (v − mean) / std, i.e. one image of an NCHW batch, optionally mirrored left ↔ right.
 *
 * Known difference from OpenCV: OpenCV quantises source positions to 1/32 pixel and rounds to 8 bits;
 * we interpolate in float64 and keep the float result (differences < 1 grey level, well below what an
 * embedder notices).
 */
import { FaceVerifyError } from '../errors.js';
import { invertAffine, type Affine } from './similarity-transform.js';

/** An 8-bit image with interleaved channels (HWC), rows packed without padding. */
export interface InterleavedImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

/** Options of {@link warpAffineToTensor}. */
export interface TensorWarpOptions {
  /** Subtracted from each value (0..255 scale); one number for all channels or one per channel. */
  mean: number | ArrayLike<number>;
  /** Divides each value after subtracting the mean; one number or one per channel. Must not be 0. */
  std: number | ArrayLike<number>;
  /** Mirror the output left ↔ right (for flip-augmented embeddings). Default false. */
  flip?: boolean;
  /** Where to write; allocated (exactly channels × outHeight × outWidth) when absent. */
  out?: Float32Array;
  /** Index in `out` of the first value, e.g. `n · C · H · W` for the n-th image of a batch. Default 0. */
  offset?: number;
}

/**
 * Warp an image by an affine transform, producing interleaved float values 0..255 (HWC).
 *
 * @param src the source image (HWC, 8-bit)
 * @param m the transform mapping source → destination coordinates (as from `estimateSimilarity`)
 * @param outWidth destination width in pixels
 * @param outHeight destination height in pixels
 * @param out optional buffer of at least outHeight × outWidth × channels values, reused to avoid allocation
 * @returns `out`, or a new Float32Array, holding the warped image (HWC)
 *
 * @example
 * const m = estimateSimilarity(landmarks, ARCFACE_TEMPLATE_112);
 * const crop = warpAffine({ data, width, height, channels: 3 }, m, 112, 112); // 112·112·3 floats
 */
export function warpAffine(
  src: Readonly<InterleavedImage>,
  m: Readonly<Affine>,
  outWidth: number,
  outHeight: number,
  out?: Float32Array,
): Float32Array {
  checkImage(src, outWidth, outHeight);
  const ch = src.channels;
  const needed = outWidth * outHeight * ch;
  const dst = out ?? new Float32Array(needed);
  if (dst.length < needed) {
    throw new FaceVerifyError('INTERNAL_ERROR', `warpAffine: out has ${dst.length} values, needs ${needed}`);
  }
  const scale = new Float64Array(ch).fill(1);
  const bias = new Float64Array(ch);
  sampleBilinear(src, invertAffine(m), outWidth, outHeight, dst, 0, 1, ch, outWidth * ch, scale, bias);
  return dst;
}

/**
 * Warp an image straight into a normalised planar tensor: value (c, y, x) of the output is
 * `(warped(x, y)[c] − mean[c]) / std[c]`, written at `offset + c·H·W + y·W + x` (or at column
 * `W − 1 − x` when `flip` is set). This fuses crop, HWC → CHW and normalisation into one pass.
 *
 * @param src the source image (HWC, 8-bit)
 * @param m the transform mapping source → destination coordinates
 * @param outWidth tensor width W
 * @param outHeight tensor height H
 * @param options normalisation, flip and where to write
 * @returns `options.out`, or a new Float32Array of C·H·W values
 *
 * @example
 * // A batch of two for an ArcFace model: the face and its mirror image, normalised to [-1, 1].
 * const batch = new Float32Array(2 * 3 * 112 * 112);
 * const opts = { mean: 127.5, std: 127.5, out: batch };
 * warpAffineToTensor(image, m, 112, 112, opts);
 * warpAffineToTensor(image, m, 112, 112, { ...opts, flip: true, offset: 3 * 112 * 112 });
 */
export function warpAffineToTensor(
  src: Readonly<InterleavedImage>,
  m: Readonly<Affine>,
  outWidth: number,
  outHeight: number,
  options: Readonly<TensorWarpOptions>,
): Float32Array {
  checkImage(src, outWidth, outHeight);
  const ch = src.channels;
  const plane = outWidth * outHeight;
  const offset = options.offset ?? 0;
  const dst = options.out ?? new Float32Array(offset + ch * plane);
  if (!Number.isInteger(offset) || offset < 0 || dst.length < offset + ch * plane) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `warpAffineToTensor: out has ${dst.length} values, needs ${ch * plane} from offset ${offset}`,
    );
  }
  const scale = new Float64Array(ch);
  const bias = new Float64Array(ch);
  for (let c = 0; c < ch; c++) {
    const mean = perChannel(options.mean, c, 'mean');
    const std = perChannel(options.std, c, 'std');
    if (std === 0) throw new FaceVerifyError('INTERNAL_ERROR', 'warpAffineToTensor: std must not be 0');
    scale[c] = 1 / std;
    bias[c] = -mean / std;
  }
  const flip = options.flip ?? false;
  // Flipping is just walking each output row backwards: start at its last column, step −1.
  const base = flip ? offset + outWidth - 1 : offset;
  sampleBilinear(
    src,
    invertAffine(m),
    outWidth,
    outHeight,
    dst,
    base,
    plane,
    flip ? -1 : 1,
    outWidth,
    scale,
    bias,
  );
  return dst;
}

function perChannel(v: number | ArrayLike<number>, c: number, name: string): number {
  if (typeof v === 'number') return v;
  const x = v[c];
  if (x === undefined) {
    throw new FaceVerifyError('INTERNAL_ERROR', `warpAffineToTensor: ${name} has no value for channel ${c}`);
  }
  return x;
}

function checkImage(src: Readonly<InterleavedImage>, outWidth: number, outHeight: number): void {
  const { width, height, channels, data } = src;
  const ok =
    Number.isInteger(width) &&
    Number.isInteger(height) &&
    Number.isInteger(channels) &&
    width > 0 &&
    height > 0 &&
    channels > 0 &&
    data.length >= width * height * channels &&
    Number.isInteger(outWidth) &&
    Number.isInteger(outHeight) &&
    outWidth > 0 &&
    outHeight > 0;
  if (!ok) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `warp: bad image ${width}×${height}×${channels} (${data.length} bytes) or output ${outWidth}×${outHeight}`,
    );
  }
}

/**
 * The one hot loop behind both warps. Output value (x, y, c) goes to
 * `out[base + y·yStride + x·xStride + c·cStride]` as `sample · scale[c] + bias[c]`, so the same code
 * writes HWC (cStride 1) or CHW (cStride H·W), normalised or not, mirrored or not (xStride −1).
 * `inv` maps destination → source.
 */
function sampleBilinear(
  src: Readonly<InterleavedImage>,
  inv: Readonly<Affine>,
  outW: number,
  outH: number,
  out: Float32Array,
  base: number,
  cStride: number,
  xStride: number,
  yStride: number,
  scale: Float64Array,
  bias: Float64Array,
): void {
  const { data, width: w, height: h, channels: ch } = src;
  const [ia, ib, itx, ic, id, ity] = inv;
  const rowStride = w * ch;
  for (let y = 0; y < outH; y++) {
    // Source position of (0, y); computed per pixel below rather than accumulated, so no drift.
    const rx = ib * y + itx;
    const ry = id * y + ity;
    let o = base + y * yStride;
    for (let x = 0; x < outW; x++, o += xStride) {
      const sx = ia * x + rx;
      const sy = ic * x + ry;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
        // All four neighbours inside: the common case for a face crop.
        const i = y0 * rowStride + x0 * ch;
        for (let c = 0; c < ch; c++) {
          const p = i + c;
          const v =
            w00 * data[p]! +
            w01 * data[p + ch]! +
            w10 * data[p + rowStride]! +
            w11 * data[p + rowStride + ch]!;
          out[o + c * cStride] = v * scale[c]! + bias[c]!;
        }
      } else if (x0 >= -1 && y0 >= -1 && x0 < w && y0 < h) {
        // On the border: missing neighbours are the constant 0. (Comparisons are false for NaN, so a
        // non-finite position falls through to the all-outside branch.)
        const in0x = x0 >= 0;
        const in1x = x0 + 1 < w;
        const in0y = y0 >= 0;
        const in1y = y0 + 1 < h;
        const i = y0 * rowStride + x0 * ch;
        for (let c = 0; c < ch; c++) {
          const p = i + c;
          let v = 0;
          if (in0y && in0x) v += w00 * data[p]!;
          if (in0y && in1x) v += w01 * data[p + ch]!;
          if (in1y && in0x) v += w10 * data[p + rowStride]!;
          if (in1y && in1x) v += w11 * data[p + rowStride + ch]!;
          out[o + c * cStride] = v * scale[c]! + bias[c]!;
        }
      } else {
        for (let c = 0; c < ch; c++) out[o + c * cStride] = bias[c]!;
      }
    }
  }
}
