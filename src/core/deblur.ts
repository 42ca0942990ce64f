/**
 * Sharpening a blurred face before it is embedded: an unsharp mask whose radius follows the blur
 * estimated from the face's own sharpness. Pure: no image library, no model. Images are 8-bit RGB,
 * interleaved (HWC), rows packed.
 *
 * The blur estimate: for a natural image (power spectrum ∝ 1/f²) blurred by a Gaussian of σ, the
 * variance of the Laplacian falls as σ⁻⁴ while the variance of the grey levels hardly moves, so the
 * face's measured sharpness s (src/core/face-quality.ts, on the 112-px aligned crop) is about
 * C / (σ₀² + σ²)², where σ₀ is the blur every photo has (lens, demosaicing, resampling to the crop).
 * With σ₀ and the sharpness of a typical face fitted on LFW, σ follows from s ({@link blurSigmaEstimate}).
 * On seed 1 of the degraded benchmark the estimate's median for blur σ 2.5 was 2.5 image pixels
 * (10–90 %: 2.1–3.1); docs/robustness.md, "Blurred faces".
 *
 * Why an unsharp mask and not a deconvolution: Richardson–Lucy with a Gaussian PSF of the true σ
 * (10 and 30 iterations) brought the embedding less far back than the mask (mean same-person cosine
 * 0.678 / 0.687 against 0.695 on blur σ 2.5) and cost 3–20 times as much.
 */
import type { RgbPixels } from './rotate-image.js';

/** A rectangle [x0, x1) × [y0, y1) of an image, in pixels. */
export interface PixelRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The normalised 1-D Gaussian of σ, radius ⌈3σ⌉. */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/**
 * Separable convolution of a planar float image (w × h) with a symmetric kernel, edges clamped.
 * `tmp` and `out` are w·h scratch and result buffers (not `src`).
 */
function convolve(
  src: Float32Array,
  w: number,
  h: number,
  k: Float32Array,
  tmp: Float32Array,
  out: Float32Array,
): void {
  const r = (k.length - 1) / 2;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        const xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
        acc += k[i + r]! * src[row + xx]!;
      }
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        const yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
        acc += k[i + r]! * tmp[yy * w + x]!;
      }
      out[y * w + x] = acc;
    }
  }
}

/**
 * An unsharp mask of a region: x + amount · (x − G_σ ∗ x), per RGB channel.
 *
 * @example
 * const crisper = unsharpRegion(image, region, 2, 1.5);
 */
export function unsharpRegion<T extends RgbPixels>(
  image: T,
  region: PixelRegion,
  sigma: number,
  amount: number,
): T {
  const { width, height, data } = image;
  const x0 = Math.max(0, Math.floor(region.x0));
  const y0 = Math.max(0, Math.floor(region.y0));
  const x1 = Math.min(width, Math.ceil(region.x1));
  const y1 = Math.min(height, Math.ceil(region.y1));
  const out = Uint8Array.from(data);
  const w = x1 - x0;
  const h = y1 - y0;
  if (w < 3 || h < 3 || !(sigma > 0)) return { ...image, data: out };
  const k = gaussianKernel(sigma);
  const plane = new Float32Array(w * h);
  const tmp = new Float32Array(w * h);
  const low = new Float32Array(w * h);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) plane[y * w + x] = data[((y0 + y) * width + x0 + x) * 3 + c]!;
    }
    convolve(plane, w, h, k, tmp, low);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const v = plane[i]! + amount * (plane[i]! - low[i]!);
        out[((y0 + y) * width + x0 + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
  }
  return { ...image, data: out };
}

export interface FaceDeblurOptions {
  /** Faces whose sharpness is below this are sharpened (plain LFW: 0.1 % / 1 % quantiles 0.01 / 0.03). */
  below: number;
  /** The sharpness of a typical unblurred face (plain LFW's median). */
  typicalSharpness: number;
  /** σ₀, the blur of a typical unblurred face, in 112-px crop pixels. */
  baseSigma: number;
  /** The mask's radius as a share of the estimated blur σ. */
  radius: number;
  /** The mask's amount. */
  amount: number;
  /** The largest blur σ (image pixels) the radius follows; blurrier faces get this one's. */
  maxSigma: number;
  /** How far around the face box (a share of its size, each side) the mask reaches. */
  margin: number;
}

/**
 * σ₀ = 1.4 crop px and the typical sharpness 0.12 are fitted on seed 1's plain and blurred LFW photos
 * (σ 1.5 and 2.5 give σ₀ 1.37 and 1.43); `radius` and `amount` were chosen on seed 1's blur σ 2.5 and 4
 * rows (a broad optimum: radius 0.4–0.8 × σ, amount 3–5 within 0.003 of mean cosine) and confirmed on
 * seed 7 and on σ 2 and 3 (docs/robustness.md, "Blurred faces").
 */
export const DEFAULT_FACE_DEBLUR: FaceDeblurOptions = {
  below: 0.02,
  typicalSharpness: 0.12,
  baseSigma: 1.4,
  radius: 0.6,
  amount: 3,
  maxSigma: 4,
  margin: 0.6,
};

/**
 * The eye distance of the 112-px ArcFace template (src/core/similarity-transform.ts: 35.2377), rounded
 * as when σ₀ was fitted; the fitted constants go with this value.
 */
const TEMPLATE_EYE_DISTANCE = 35.24;

/**
 * The Gaussian blur σ (image pixels) a face of this sharpness has beyond a typical photo's: σ₀ · √(√(s₀/s) − 1)
 * in crop pixels, turned into image pixels by the eye distance.
 *
 * @example
 * blurSigmaEstimate(0.012, 42); // ≈ 2.5
 * blurSigmaEstimate(0.2, 42); // 0
 */
export function blurSigmaEstimate(
  sharpness: number,
  eyeDistance: number,
  options: FaceDeblurOptions = DEFAULT_FACE_DEBLUR,
): number {
  const ratio = Math.sqrt(options.typicalSharpness / Math.max(sharpness, 1e-4));
  if (!(ratio > 1) || !(eyeDistance > 0)) return 0;
  const cropSigma = options.baseSigma * Math.sqrt(ratio - 1);
  return (cropSigma * eyeDistance) / TEMPLATE_EYE_DISTANCE;
}

/**
 * The blur σ (image pixels) a face is sharpened for: 0 (untouched) unless its sharpness is below
 * `options.below`, else the estimate, at most `maxSigma`.
 *
 * @example
 * faceDeblurSigma(0.12, 42); // 0: a normally sharp face
 * faceDeblurSigma(0.006, 42); // ≈ 3.7
 */
export function faceDeblurSigma(
  sharpness: number,
  eyeDistance: number,
  options: FaceDeblurOptions = DEFAULT_FACE_DEBLUR,
): number {
  if (!(sharpness < options.below)) return 0;
  return Math.min(options.maxSigma, blurSigmaEstimate(sharpness, eyeDistance, options));
}

/**
 * A copy of the image with the face (its box and `margin` around it) sharpened for a blur of σ image
 * pixels: an unsharp mask of radius `radius · σ` and amount `amount`.
 *
 * @example
 * const sharper = sharpenFace(image, face.box, faceDeblurSigma(sharpness, eyeDistance));
 */
export function sharpenFace<T extends RgbPixels>(
  image: T,
  box: { x1: number; y1: number; x2: number; y2: number },
  sigma: number,
  options: FaceDeblurOptions = DEFAULT_FACE_DEBLUR,
): T {
  const mw = (box.x2 - box.x1) * options.margin;
  const mh = (box.y2 - box.y1) * options.margin;
  const region = { x0: box.x1 - mw, y0: box.y1 - mh, x1: box.x2 + mw, y1: box.y2 + mh };
  return unsharpRegion(image, region, options.radius * sigma, options.amount);
}
