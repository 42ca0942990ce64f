/**
 * Face quality with reasons: a few measures of the aligned face crop and of the landmarks, and a level
 * `low | medium | high` with the reasons that lowered it. Pure (no image library, no model).
 *
 * Inputs: the aligned crop the embedder sees (src/pipeline/align-crop.ts: 112×112 RGB on the ArcFace
 * template, HWC, 8-bit) and the five landmarks in original image pixels.
 *
 * Measures, all on the luma Y = 0.299 R + 0.587 G + 0.114 B (BT.601) of the face region of the crop
 * ({@link FACE_REGION_112}: eyebrows to chin, cheek to cheek, little hair or background):
 * - `sharpness`: variance of the 4-neighbour Laplacian of Y divided by the variance of Y. Dividing by
 *   the contrast makes it a property of the detail alone: a darker or flatter photo of the same face
 *   keeps its sharpness, so darkness is reported as LOW_BRIGHTNESS and not also as LOW_SHARPNESS. Blur
 *   and upscaling of a small face lower it; sensor noise raises it (it cannot tell noise from detail).
 * - `brightness`: mean of Y, 0..255. `contrast`: standard deviation of Y.
 * - `interocular_px`: eye-to-eye distance in original pixels (how much detail the photo had).
 * - `pose`: yaw, pitch, roll in degrees (src/core/head-pose.ts; rough).
 *
 * Levels: each measure has a `medium` bound (below it, the level is at most medium) and a `low` bound
 * (below it, low); the reasons list every measure past its medium bound. The bounds are fitted on LFW
 * and degraded LFW (docs/quality.md): `low` catches under 1 % of plain LFW photos. Roll does not
 * count: alignment undoes it.
 */
import { headPose, interocularDistance, type HeadPose } from './head-pose.js';
import type { Point } from './similarity-transform.js';
import type { InterleavedImage } from './warp-affine.js';

export type QualityLevel = 'low' | 'medium' | 'high';

/** Why a face is not `high`, in a fixed order (the order of this list). */
export const QUALITY_REASONS = [
  'LOW_SHARPNESS',
  'LOW_BRIGHTNESS',
  'OVEREXPOSED',
  'LOW_CONTRAST',
  'SMALL_FACE',
  'EXTREME_POSE',
  'OCCLUDED',
] as const;
export type QualityReason = (typeof QUALITY_REASONS)[number];

/** The quality of one face, as the API reports it (snake_case). */
export interface FaceQuality {
  level: QualityLevel;
  reasons: QualityReason[];
  sharpness: number;
  brightness: number;
  contrast: number;
  interocular_px: number;
  /**
   * How different the colour of the lower face (nose to chin) is from the upper face (brows to under
   * the eyes): the distance of their mean (Cb, Cr). A mask, a scarf or a hand over the mouth shifts it.
   */
  occlusion: number;
  /** Degrees; yaw and pitch are NaN (null in JSON) when the mouth is not below the eyes. */
  pose: HeadPose;
}

/** The measures a level is decided from. */
export type QualityMeasures = Omit<FaceQuality, 'level' | 'reasons'>;

/** A rectangle [x0, x1) × [y0, y1) of the crop, in pixels. */
export interface CropRegion {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Eyebrows to chin and cheek to cheek on the 112×112 ArcFace template (eyes at y ≈ 52, mouth ≈ 92). */
export const FACE_REGION_112: CropRegion = { x0: 24, y0: 32, x1: 88, y1: 104 };

/** Bounds of one measure: below `medium` caps the level at medium, below `low` makes it low. */
export interface Bounds {
  medium: number;
  low: number;
}

export interface QualityThresholds {
  sharpness: Bounds;
  brightness: Bounds;
  /** Upper bounds: above `medium` / `low`. */
  overexposure: Bounds;
  contrast: Bounds;
  interocularPx: Bounds;
  /** Upper bounds on |yaw| and |pitch| in degrees. */
  yaw: Bounds;
  pitch: Bounds;
  /** Chroma shift above which the face counts as OCCLUDED (caps the level at medium). */
  occlusion: number;
}

/** Fitted on LFW and degraded LFW with the default models (docs/quality.md). */
export const DEFAULT_QUALITY_THRESHOLDS: QualityThresholds = {
  sharpness: { medium: 0.035, low: 0.015 },
  brightness: { medium: 80, low: 55 },
  overexposure: { medium: 200, low: 225 },
  contrast: { medium: 20, low: 14 },
  interocularPx: { medium: 28, low: 22 },
  yaw: { medium: 45, low: 62 },
  pitch: { medium: 40, low: 55 },
  occlusion: 16.9,
};

export interface CropStatistics {
  sharpness: number;
  brightness: number;
  contrast: number;
  /** Variance of the Laplacian of Y, not divided by the variance of Y. */
  laplacianVariance: number;
}

/**
 * Sharpness, brightness and contrast of a region of an RGB (or grey) crop.
 *
 * @example
 * const flat = { data: new Uint8Array(112 * 112 * 3).fill(128), width: 112, height: 112, channels: 3 };
 * cropStatistics(flat); // { sharpness: 0, brightness: 128, contrast: 0, laplacianVariance: 0 }
 */
export function cropStatistics(
  crop: Readonly<InterleavedImage>,
  region: CropRegion = scaleRegion(FACE_REGION_112, crop.width),
): CropStatistics {
  const { width: w, channels: ch, data } = crop;
  const x0 = Math.max(0, region.x0);
  const y0 = Math.max(0, region.y0);
  const x1 = Math.min(w, region.x1);
  const y1 = Math.min(crop.height, region.y1);
  const rw = x1 - x0;
  const rh = y1 - y0;
  const grey = new Float64Array(rw * rh);
  for (let y = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++) {
      const p = ((y0 + y) * w + x0 + x) * ch;
      grey[y * rw + x] = ch >= 3 ? 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]! : data[p]!;
    }
  }
  const [mean, variance] = meanVariance(grey);
  const lap = new Float64Array(Math.max(0, (rw - 2) * (rh - 2)));
  let k = 0;
  for (let y = 1; y < rh - 1; y++) {
    for (let x = 1; x < rw - 1; x++) {
      const i = y * rw + x;
      lap[k++] = grey[i - 1]! + grey[i + 1]! + grey[i - rw]! + grey[i + rw]! - 4 * grey[i]!;
    }
  }
  const [, lapVar] = meanVariance(lap);
  // Below a grey level of spread there is no detail to speak of (and the ratio would be noise / noise).
  const sharpness = variance >= 1 ? lapVar / variance : 0;
  return {
    sharpness: round(sharpness, 3),
    brightness: round(mean, 1),
    contrast: round(Math.sqrt(variance), 1),
    laplacianVariance: round(lapVar, 1),
  };
}

/** Upper face (brows to under the eyes) and lower face (nose tip to chin) on the 112×112 template. */
const UPPER_FACE_112: CropRegion = { x0: 24, y0: 32, x1: 88, y1: 60 };
const LOWER_FACE_112: CropRegion = { x0: 32, y0: 74, x1: 80, y1: 104 };

/** Mean chroma (BT.601 Cb, Cr) of a region of an RGB crop. */
function meanChroma(crop: Readonly<InterleavedImage>, r: CropRegion): [number, number] {
  const { width: w, channels: ch, data } = crop;
  let cb = 0;
  let cr = 0;
  let n = 0;
  for (let y = Math.max(0, r.y0); y < Math.min(crop.height, r.y1); y++) {
    for (let x = Math.max(0, r.x0); x < Math.min(w, r.x1); x++) {
      const p = (y * w + x) * ch;
      const R = data[p]!;
      const G = ch >= 3 ? data[p + 1]! : R;
      const B = ch >= 3 ? data[p + 2]! : R;
      cb += -0.168736 * R - 0.331264 * G + 0.5 * B;
      cr += 0.5 * R - 0.418688 * G - 0.081312 * B;
      n++;
    }
  }
  return n > 0 ? [cb / n, cr / n] : [0, 0];
}

/**
 * The distance between the mean chroma of the lower and the upper face of an aligned crop.
 *
 * @example
 * chromaShift(alignedFaceCrop(image, landmarks)); // ~5 for a bare face, ~40 with a blue mask
 */
export function chromaShift(crop: Readonly<InterleavedImage>): number {
  const [ub, ur] = meanChroma(crop, scaleRegion(UPPER_FACE_112, crop.width));
  const [lb, lr] = meanChroma(crop, scaleRegion(LOWER_FACE_112, crop.width));
  return Math.hypot(lb - ub, lr - ur);
}

function meanVariance(v: Float64Array): [number, number] {
  const n = v.length;
  if (n === 0) return [0, 0];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += v[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (v[i]! - mean) ** 2;
  return [mean, sq / n];
}

function scaleRegion(r: CropRegion, size: number): CropRegion {
  const s = size / 112;
  return {
    x0: Math.round(r.x0 * s),
    y0: Math.round(r.y0 * s),
    x1: Math.round(r.x1 * s),
    y1: Math.round(r.y1 * s),
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f + 0;
}

/** How far each measure is from its `low` bound, as a fraction of the low→medium span (≤ 0: low). */
function margins(m: QualityMeasures, t: QualityThresholds): [QualityReason, number][] {
  const above = (v: number, b: Bounds): number => (v - b.low) / (b.medium - b.low);
  const below = (v: number, b: Bounds): number => (b.low - v) / (b.low - b.medium);
  const pose = Math.min(below(Math.abs(m.pose.yaw), t.yaw), below(Math.abs(m.pose.pitch), t.pitch));
  return [
    ['LOW_SHARPNESS', above(m.sharpness, t.sharpness)],
    ['LOW_BRIGHTNESS', above(m.brightness, t.brightness)],
    ['OVEREXPOSED', below(m.brightness, t.overexposure)],
    ['LOW_CONTRAST', above(m.contrast, t.contrast)],
    ['SMALL_FACE', above(m.interocular_px, t.interocularPx)],
    // NaN (no readable geometry) counts as extreme.
    ['EXTREME_POSE', Number.isNaN(pose) ? -Infinity : pose],
    // Only ever medium: the signal was fitted on drawn masks, not on photos of real ones (docs/quality.md).
    ['OCCLUDED', m.occlusion >= t.occlusion ? 0.5 : Infinity],
  ];
}

/**
 * One number to rank faces by (for error-versus-reject curves): the smallest margin of any measure
 * above its `low` bound, in units of that measure's low→medium span. ≤ 0 is `low`, < 1 `medium`.
 *
 * @example
 * qualityScore(measures); // 2.4 — every measure well above its medium bound
 */
export function qualityScore(m: QualityMeasures, t: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS): number {
  return Math.min(...margins(m, t).map(([, v]) => v));
}

/**
 * The level and the reasons for a face's measures.
 *
 * @example
 * qualityLevel({ ...measures, interocular_px: 12 }); // { level: 'low', reasons: ['SMALL_FACE'] }
 */
export function qualityLevel(
  m: QualityMeasures,
  t: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
): { level: QualityLevel; reasons: QualityReason[] } {
  const all = margins(m, t);
  const reasons = all.filter(([, v]) => v < 1).map(([r]) => r);
  const level = all.some(([, v]) => v <= 0) ? 'low' : reasons.length > 0 ? 'medium' : 'high';
  return { level, reasons };
}

/**
 * The quality of a face from its aligned crop and its landmarks in original pixels.
 *
 * @example
 * const q = faceQuality(alignedFaceCrop(image, face.landmarks), originalLandmarks);
 * q.level; // 'high'
 */
export function faceQuality(
  crop: Readonly<InterleavedImage>,
  landmarks: readonly Point[],
  thresholds: QualityThresholds = DEFAULT_QUALITY_THRESHOLDS,
  /** The crop's {@link cropStatistics} when the caller has them already. */
  statistics: CropStatistics = cropStatistics(crop),
): FaceQuality {
  const { sharpness, brightness, contrast } = statistics;
  const measures: QualityMeasures = {
    sharpness,
    brightness,
    contrast,
    interocular_px: round(interocularDistance(landmarks), 1),
    occlusion: round(chromaShift(crop), 1),
    pose: headPose(landmarks),
  };
  return { ...qualityLevel(measures, thresholds), ...measures };
}
