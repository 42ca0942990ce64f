/**
 * Exposure: how dark a photo is, and a brighter copy of a dark or backlit one for the detector and the
 * embedder. MTCNN's nets saw few underexposed faces in training, and a face in shadow against a bright
 * window is dark even when the photo's mean is not, so the measure is a low percentile of luma (Rec.
 * 601 weights) rather than the mean.
 *
 * The copy is a gamma curve through one lookup table for all three channels (hue kept, no pixel
 * clipped), chosen so that the given percentile of luma lands on `target`; a gamma is never above 1
 * (only brightening) nor below `minGamma`.
 *
 * The face itself, once found, is measured on its aligned crop (the mean luma of the face region, as
 * `quality.brightness`): a dark face is lifted by a gain before it is embedded ({@link faceExposureGain}),
 * whatever the detector needed to find it.
 */
import type { RgbPixels } from './rotate-image.js';

/** Histogram of luma (0–255) of an RGB image, sampled on a grid of at most ~65k pixels. */
function lumaHistogram(image: RgbPixels): { hist: Uint32Array; count: number } {
  const { data, width, height } = image;
  const hist = new Uint32Array(256);
  const step = Math.max(1, Math.floor(Math.sqrt((width * height) / 65_536)));
  let count = 0;
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      const i = (y * width + x) * 3;
      const luma =
        0.299 * (data[i] as number) + 0.587 * (data[i + 1] as number) + 0.114 * (data[i + 2] as number);
      hist[Math.round(luma)]! += 1;
      count++;
    }
  }
  return { hist, count };
}

/**
 * The luma (0–1) below which a fraction `p` of the pixels lie.
 *
 * @example
 * lumaPercentile(image, 0.5); // the median brightness
 */
export function lumaPercentile(image: RgbPixels, p: number): number {
  const { hist, count } = lumaHistogram(image);
  const want = p * count;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v] as number;
    if (seen >= want) return v / 255;
  }
  return 1;
}

export interface BrightenOptions {
  /** Which percentile of luma to lift (0.25: the darker quarter, where a backlit face sits). */
  percentile: number;
  /** Where that percentile should land (0–1). */
  target: number;
  /** The strongest curve allowed. */
  minGamma: number;
}

export const DEFAULT_BRIGHTEN: BrightenOptions = { percentile: 0.25, target: 0.35, minGamma: 0.3 };

/**
 * The gamma that lifts the photo's percentile to the target (1 when it is already bright enough).
 *
 * @example
 * brightenGamma(darkImage); // e.g. 0.45
 */
export function brightenGamma(image: RgbPixels, options: BrightenOptions = DEFAULT_BRIGHTEN): number {
  const level = Math.max(lumaPercentile(image, options.percentile), 1 / 255);
  if (level >= options.target) return 1;
  return Math.max(options.minGamma, Math.log(options.target) / Math.log(level));
}

/** A copy with every channel through one lookup table of `f` (rounded, clipped to 0–255). */
function applyCurve<T extends RgbPixels>(image: T, f: (v: number) => number): T {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.min(255, Math.max(0, Math.round(f(v))));
  const src = image.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i] as number] as number;
  return { ...image, data: out };
}

/**
 * A copy with every channel through v ↦ 255 · (v / 255)^gamma.
 *
 * @example
 * const bright = applyGamma(image, 0.5);
 */
export function applyGamma<T extends RgbPixels>(image: T, gamma: number): T {
  return applyCurve(image, (v) => 255 * (v / 255) ** gamma);
}

export interface GainOptions {
  /** Which percentile of luma to lift (0.9: the photo's highlights, so little is clipped). */
  percentile: number;
  /** Where that percentile should land (0–1). */
  target: number;
  /** The strongest gain allowed. */
  maxGain: number;
  /** Below this, the photo is bright enough: 1 is returned. */
  minGain: number;
}

export const DEFAULT_GAIN: GainOptions = { percentile: 0.9, target: 0.9, maxGain: 8, minGain: 1.5 };

/**
 * The gain that lifts a photo that is dark all over (its highlights included) for the detector: the
 * given percentile of luma lands on the target; 1 when the photo needs less than `minGain`.
 *
 * @example
 * brightenGain(darkImage); // e.g. 6.4
 */
export function brightenGain(image: RgbPixels, options: GainOptions = DEFAULT_GAIN): number {
  const level = Math.max(lumaPercentile(image, options.percentile), 1 / 255);
  const gain = Math.min(options.maxGain, options.target / level);
  return gain < options.minGain ? 1 : gain;
}

/**
 * A copy with every channel multiplied by `gain` (clipped at 255): undoes an underexposure, which
 * scales the sensor's values, with the face's tones kept in proportion (a gamma curve would flatten
 * them, and costs the embedding more: docs/robustness.md, "Dark faces").
 *
 * @example
 * const lifted = applyGain(image, 3.2);
 */
export function applyGain<T extends RgbPixels>(image: T, gain: number): T {
  return applyCurve(image, (v) => v * gain);
}

export interface FaceExposureOptions {
  /** Faces whose mean luma (0–255, the face region of the aligned crop) is below this are lifted. */
  below: number;
  /** The mean luma a lifted face gets: about the middle of plain LFW faces. */
  target: number;
  /** The strongest gain (a nearly black face has too few levels left to stretch further). */
  maxGain: number;
}

/**
 * Fitted on LFW (docs/robustness.md, "Dark faces"): `below` sits under all but about 0.1 % of plain
 * LFW faces, so normally lit faces are embedded exactly as before.
 */
export const DEFAULT_FACE_EXPOSURE: FaceExposureOptions = { below: 60, target: 120, maxGain: 8 };

/**
 * The gain that lifts a dark face's mean luma to the target (1: the face is bright enough, untouched).
 * Embedders were trained on well-exposed faces and normalise their input by fixed constants, not per
 * image, so a face at a fifth of its brightness is embedded away from the same face well lit.
 *
 * @example
 * faceExposureGain(30); // 4
 * faceExposureGain(130); // 1
 */
export function faceExposureGain(
  brightness: number,
  options: FaceExposureOptions = DEFAULT_FACE_EXPOSURE,
): number {
  if (!(brightness < options.below)) return 1;
  return Math.min(options.maxGain, options.target / Math.max(brightness, 1));
}
