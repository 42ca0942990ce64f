/**
 * The analysis of one image as an ordered list of stages over one state: decode → detect → when no
 * face is found, look again on a brighter copy (dark, backlit) and with the pixels turned (a sideways
 * or upside-down photo without EXIF), then for a too-small face → choose the face → align and embed. Each stage reads what the
 * earlier ones left and adds its part, either to the working state (pixels, detections) or to the
 * answer (`state.out`, which becomes the {@link FaceAnalysis}). A new step — a second look with the
 * image turned, a quality measure — is a new stage in {@link ANALYSIS_STAGES}, not a retry path beside
 * detection.
 */
import type { Box } from '../core/box.js';
import { applyGain, applyGamma, brightenGain, brightenGamma, faceExposureGain } from '../core/exposure.js';
import { faceDeblurSigma, sharpenFace } from '../core/deblur.js';
import {
  cropStatistics,
  faceQuality,
  qualityScore,
  type CropStatistics,
  type QualityLevel,
} from '../core/face-quality.js';
import { interocularDistance } from '../core/head-pose.js';
import { recognitionScore, scoreLevel, scoreModelFor } from '../core/quality-score.js';
import { rotateImage, unrotatePoint, type QuarterTurn } from '../core/rotate-image.js';
import { PRECISION, roundTo } from '../core/scoring.js';
import type { Point } from '../core/similarity-transform.js';
import type { InterleavedImage } from '../core/warp-affine.js';
import { FaceVerifyError } from '../errors.js';
import { alignedFaceCrop } from './align-crop.js';
import { decodeImage, type DecodedImage, type DecodeOptions } from './decode.js';
import type { FaceEmbedder } from './ensemble-embedder.js';
import type { FaceAnalysis, FacePolicy, FaceReport, StageTimings } from './face-analysis.js';
import type { DetectedFace, DetectOptions, MtcnnDetector } from './mtcnn/mtcnn.js';
import { selectFace } from './select-face.js';

/** The settings that change what an analysis finds (and so belong in a cache key). */
export interface AnalysisSettings {
  /** Embedding model name (see `faceverify models list`). */
  model: string;
  detector: string;
  decode: DecodeOptions;
  detect: DetectOptions;
  /**
   * When no face of at least `detect.minFaceSize` is found, look again down to this size and answer
   * `FACE_TOO_SMALL` instead of `NO_FACE` if a smaller face is there (0 turns the check off).
   */
  tooSmallFloor: number;
  facePolicy: FacePolicy;
  /** When no face is found, look again with the pixels turned 90°, 270° and 180° (ORIENTATION_SEARCH). */
  orientationSearch: boolean;
  /** When no face is found in a dark or backlit photo, look again on a brighter copy (LOW_LIGHT_RETRY). */
  lowLightRetry: boolean;
  /** Lift a dark face by a gain before embedding it (FACE_EXPOSURE_NORMALISE; src/core/exposure.ts). */
  faceExposure: boolean;
  /** Sharpen a blurred face before embedding it (FACE_DEBLUR; src/core/deblur.ts). */
  faceDeblur: boolean;
  /** Refuse faces below this quality with LOW_QUALITY (QUALITY_FILTER). */
  qualityFilter: 'none' | 'low' | 'medium' | 'high';
}

/** The loaded models a stage may use. */
export interface AnalysisModels {
  detector: MtcnnDetector;
  embedder: FaceEmbedder;
}

/** What the stages share while one image is analysed. */
export interface AnalysisState {
  readonly bytes: Uint8Array;
  readonly settings: AnalysisSettings;
  readonly models: AnalysisModels;
  /** The pixels the later stages work on: decoded, then maybe brightened and turned. */
  image?: DecodedImage;
  /** How far (clockwise) `image` is turned from the decoded photo. */
  orientation: QuarterTurn;
  /** When `image` is a brightened copy: the same pixels (turned alike) as decoded. */
  unbrightened?: DecodedImage;
  /** Every face found, in decoded pixels, best score first. */
  faces?: DetectedFace[];
  /** The face chosen by the policy, in decoded pixels. */
  face?: DetectedFace;
  /** The chosen face's aligned 112×112 crop of the photo's own pixels (`unbrightened ?? image`). */
  crop?: InterleavedImage;
  /** The crop's sharpness, brightness and contrast (gain and deblur decide on them, quality reports them). */
  cropStats?: CropStatistics;
  /** The embedder's raw output norm for the face (src/pipeline/embedder.ts, `Embedded`). */
  embeddingNorm?: number;
  /** The pixels the embedder was given (the photo's own, maybe lifted by a gain): a face chip's source. */
  embedded?: DecodedImage;
  /** The answer being built. */
  out: Partial<FaceAnalysis>;
}

export interface AnalysisStage {
  name: string;
  /** The timing its milliseconds count towards. */
  timing: keyof StageTimings;
  run(state: AnalysisState): Promise<void>;
}

/** The longer side of a face's box, in decoded pixels. */
function faceSide(f: DetectedFace): number {
  return Math.max(f.box.x2 - f.box.x1, f.box.y2 - f.box.y1);
}

/**
 * A detected face in original pixels, rounded as answers are.
 *
 * @example
 * reportFace(face, image.scale).box; // { x, y, width, height }
 */
export function reportFace(face: DetectedFace, scale: number): FaceReport {
  const b: Box = face.box;
  const px = (v: number) => roundTo(v * scale, PRECISION.pixels);
  return {
    box: { x: px(b.x1), y: px(b.y1), width: px(b.x2 - b.x1), height: px(b.y2 - b.y1) },
    score: roundTo(face.score, PRECISION.score),
    landmarks: face.landmarks.map(([x, y]: Point): [number, number] => [px(x), px(y)]),
  };
}

/** A face found in the working pixels, reported in the original photo's pixels. */
export function reportIn(state: AnalysisState, face: DetectedFace): FaceReport {
  const image = need(state.image, 'image');
  const turn = state.orientation;
  const back = (p: Point): Point => unrotatePoint(p, turn, image.width, image.height);
  const [a, b] = [back([face.box.x1, face.box.y1]), back([face.box.x2, face.box.y2])];
  const box = {
    x1: Math.min(a[0], b[0]),
    y1: Math.min(a[1], b[1]),
    x2: Math.max(a[0], b[0]),
    y2: Math.max(a[1], b[1]),
  };
  const original = { box, score: face.score, landmarks: face.landmarks.map(back) };
  return { ...reportFace(original, image.scale), orientation: turn };
}

/**
 * The detector's options for some pixels. Face sizes are settings in `maxDimension` pixels; a big JPEG
 * decoded smaller (`reduction` < 1, src/pipeline/reduced-decode.ts) is searched for the same faces.
 */
function detectOptions(image: DecodedImage, options: DetectOptions): DetectOptions {
  if (image.reduction === 1) return options;
  const { minFaceSize, maxFaceSize } = options;
  return {
    ...options,
    minFaceSize: minFaceSize * image.reduction,
    ...(maxFaceSize ? { maxFaceSize: maxFaceSize * image.reduction } : {}),
  };
}

/** Runs the detector on some pixels with the settings' options. */
function detectIn(state: AnalysisState, image: DecodedImage): Promise<DetectedFace[]> {
  return state.models.detector.detect({ ...image, channels: 3 }, detectOptions(image, state.settings.detect));
}

/** FACE_TOO_SMALL for a face below the minimum size. */
function tooSmall(state: AnalysisState, face: DetectedFace): FaceVerifyError {
  const { scale, reduction } = need(state.image, 'image');
  const side = Math.round(faceSide(face) * scale);
  const min = Math.round(state.settings.detect.minFaceSize * reduction * scale);
  return new FaceVerifyError(
    'FACE_TOO_SMALL',
    `The face is about ${side} px; faces of at least ${min} px are needed`,
    {
      face_size: side,
      min_face_size: min,
    },
  );
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new FaceVerifyError('INTERNAL_ERROR', `analysis stage order: no ${what} yet`);
  return value;
}

const decode: AnalysisStage = {
  name: 'decode',
  timing: 'decode',
  async run(state) {
    const image = await decodeImage(state.bytes, state.settings.decode);
    state.image = image;
    state.out.width = image.originalWidth;
    state.out.height = image.originalHeight;
  },
};

const detect: AnalysisStage = {
  name: 'detect',
  timing: 'detect',
  async run(state) {
    state.faces = await detectIn(state, need(state.image, 'image'));
  },
};

/**
 * How much larger than the minimum every face in a reduced copy of a big JPEG must be for the analysis
 * to go on with the copy. Faces near the minimum are found and aligned at fewer pixels in the copy, so
 * their embeddings drift from the `maxDimension` decode (docs/performance.md, "Large photos").
 */
const REDUCED_FACE_MARGIN = 2;

/**
 * A big JPEG decoded to a reduced copy (src/pipeline/reduced-decode.ts) is decoded again at
 * `maxDimension` and searched again when the copy shows no face, or a face under
 * {@link REDUCED_FACE_MARGIN} times the minimum size: the later stages then see exactly what they see
 * without the reduction, and only photos whose faces are all comfortably large take the cheaper path.
 */
const referenceDecode: AnalysisStage = {
  name: 'reference-decode',
  timing: 'detect',
  async run(state) {
    const image = need(state.image, 'image');
    if (image.reduction === 1) return;
    const limit = REDUCED_FACE_MARGIN * state.settings.detect.minFaceSize * image.reduction;
    const faces = need(state.faces, 'faces');
    if (faces.length > 0 && faces.every((f) => faceSide(f) >= limit)) return;
    const reference = await decodeImage(state.bytes, { ...state.settings.decode, minReducedDimension: 0 });
    state.image = reference;
    state.faces = await detectIn(state, reference);
  },
};

/**
 * A dark or backlit photo where nothing was found: look again on a copy brightened by a gamma curve,
 * then on one brightened by a gain (src/core/exposure.ts). The gamma lifts the shadows of a photo
 * whose darker quarter is dark; the gain lifts a photo that is dark all over, which MTCNN finds more
 * often than on the gamma copy (seed 1: 9 of 10 faces of a 15 %-brightness photo the gamma copy
 * missed; docs/robustness.md, "Dark faces"). If a face is there, the later stages use the brighter
 * copy; the embedder uses the photo's own pixels lifted by a gain instead (the embed stage), unless
 * FACE_EXPOSURE_NORMALISE is off.
 */
const lowLightRetry: AnalysisStage = {
  name: 'low-light-retry',
  timing: 'detect',
  async run(state) {
    if (!state.settings.lowLightRetry || need(state.faces, 'faces').length > 0) return;
    const image = need(state.image, 'image');
    const gamma = brightenGamma(image);
    const gain = brightenGain(image);
    const copies = [
      ...(gamma < 1 ? [() => applyGamma(image, gamma)] : []),
      ...(gain > 1 ? [() => applyGain(image, gain)] : []),
    ];
    for (const copy of copies) {
      const bright = copy();
      const faces = await detectIn(state, bright);
      if (faces.length === 0) continue;
      state.unbrightened = image;
      state.image = bright;
      state.faces = faces;
      return;
    }
  },
};

/**
 * Below this detector score the best face found is not trusted to be upright: MTCNN also finds many
 * faces turned 90° or 180°, but with scores of 0.91–0.995, while upright LFW faces score 0.998 or more
 * (docs/robustness.md).
 */
const UPRIGHT_SCORE = 0.995;

/**
 * A photo saved sideways or upside down without an EXIF tag (EXIF is honoured at decode): when nothing
 * was found, or only faces scored below {@link UPRIGHT_SCORE}, look again with the pixels turned 90°,
 * 270° and 180° clockwise (and on a brightened copy too, unturned included, when the photo is dark),
 * and keep the turn — none included — whose best face scores highest. Faces are reported in the
 * original photo's pixels with `orientation`, the turn that shows them upright.
 */
const orientationSearch: AnalysisStage = {
  name: 'orientation-search',
  timing: 'detect',
  async run(state) {
    const found = need(state.faces, 'faces');
    const current = Math.max(0, ...found.map((f) => f.score));
    if (!state.settings.orientationSearch || current >= UPRIGHT_SCORE) return;
    // The decoded pixels, even if the low-light retry found a (doubtful) face on a brightened copy.
    const image = state.unbrightened ?? need(state.image, 'image');
    const gamma = state.settings.lowLightRetry ? brightenGamma(image) : 1;
    const sources = gamma < 1 ? [image, applyGamma(image, gamma)] : [image];
    type Found = {
      image: DecodedImage;
      faces: DetectedFace[];
      turn: QuarterTurn;
      score: number;
      brightened: boolean;
    };
    let best: Found | undefined;
    for (const turn of [0, 90, 270, 180] as const) {
      for (const [i, source] of sources.entries()) {
        if (turn === 0 && i === 0) continue; // what detect already saw
        const turnedImage = rotateImage(source, turn);
        const faces = await detectIn(state, turnedImage);
        const score = Math.max(0, ...faces.map((f) => f.score));
        if (faces.length > 0 && score > current && (!best || score > best.score)) {
          best = { image: turnedImage, faces, turn, score, brightened: i > 0 };
        }
      }
    }
    if (!best) return;
    state.image = best.image;
    state.faces = best.faces;
    state.orientation = best.turn;
    state.unbrightened = best.brightened ? rotateImage(image, best.turn) : undefined;
  },
};

/**
 * When nothing of the minimum size was found, a second look down to `tooSmallFloor` tells
 * FACE_TOO_SMALL (a face is there, too small) from NO_FACE.
 */
const smallFaceSearch: AnalysisStage = {
  name: 'small-face-search',
  timing: 'detect',
  async run(state) {
    const { minFaceSize } = state.settings.detect;
    const floor = state.settings.tooSmallFloor;
    if (need(state.faces, 'faces').length > 0 || floor <= 0 || floor >= minFaceSize) return;
    const image = need(state.image, 'image');
    const [small] = await state.models.detector.detect(
      { ...image, channels: 3 },
      detectOptions(image, { ...state.settings.detect, minFaceSize: floor, maxFaceSize: minFaceSize }),
    );
    if (small) throw tooSmall(state, small);
  },
};

/**
 * Picks the face to compare. Every face the detector finds counts for the strict one-face rule; the
 * face chosen must be at least `minFaceSize` on its longer side (MTCNN also finds faces somewhat below
 * its minimum), else FACE_TOO_SMALL.
 */
const select: AnalysisStage = {
  name: 'select',
  timing: 'detect',
  async run(state) {
    const image = need(state.image, 'image');
    const faces = need(state.faces, 'faces');
    const face = selectFace(faces, state.settings.facePolicy, image, (all) =>
      all.map((f) => reportIn(state, f)),
    );
    if (faceSide(face) < state.settings.detect.minFaceSize * image.reduction) throw tooSmall(state, face);
    state.face = face;
    state.out.face = reportIn(state, face);
    state.out.faceCount = faces.length;
  },
};

/**
 * Aligns the chosen face onto the model's template and embeds it (src/pipeline/embedder.ts). A dark
 * face (mean luma of its aligned crop below DEFAULT_FACE_EXPOSURE.below: underexposed, or in shadow
 * against a bright window) is first lifted by a gain, for every embedder alike, and the gain is
 * reported as `exposure_gain`; a blurred face (sharpness of its aligned crop below
 * DEFAULT_FACE_DEBLUR.below) is sharpened for the blur its sharpness says it has, reported as
 * `deblur_sigma`. Other faces are embedded from the pixels as they are.
 */
const embed: AnalysisStage = {
  name: 'embed',
  timing: 'embed',
  async run(state) {
    const image = need(state.image, 'image');
    const face = need(state.face, 'face');
    // The photo's own pixels (turned alike), never a brightened copy: the quality stage measures this
    // crop, so a dark photo is reported dark, and the exposure gain is decided on it.
    const base = state.unbrightened ?? image;
    const crop = alignedFaceCrop({ ...base, channels: 3 }, face.landmarks);
    state.crop = crop;
    const measured = cropStatistics(crop);
    state.cropStats = measured;
    let pixels = image;
    if (state.settings.faceExposure) {
      // A face found only on a gamma-brightened copy (low-light retry) is embedded from the photo's
      // own pixels with a gain instead: the gamma curve flattens the face's tones, which costs the
      // embedding more (docs/robustness.md, "Dark faces").
      const gain = faceExposureGain(measured.brightness);
      pixels = base;
      if (gain > 1) {
        // The whole image, not the crop: each embedder aligns the face its own way (box or landmarks).
        pixels = applyGain(base, gain);
        need(state.out.face, 'face report').exposure_gain = roundTo(gain, 2);
      }
    }
    // The face as it is, when it is sharpened below: its embedding's norm feeds the quality score.
    let unsharpened: DecodedImage | undefined;
    if (state.settings.faceDeblur) {
      // Sharpness does not depend on the gain (it is divided by the contrast), so the order is free.
      const sigma = faceDeblurSigma(measured.sharpness, interocularDistance(face.landmarks));
      if (sigma > 0) {
        unsharpened = pixels;
        pixels = sharpenFace(pixels, face.box, sigma);
        need(state.out.face, 'face report').deblur_sigma = roundTo(sigma, 2);
      }
    }
    state.embedded = pixels;
    const toEmbed = (p: DecodedImage) => ({
      image: { ...p, channels: 3 },
      landmarks: face.landmarks,
      box: face.box,
    });
    const [embedded, asIs] = await state.models.embedder.embedWithNorms(
      unsharpened ? [toEmbed(pixels), toEmbed(unsharpened)] : [toEmbed(pixels)],
    );
    state.out.embedding = need(embedded, 'embedding').embedding;
    // The quality score was fitted on the norms of faces as they are; a sharpened face's norm is
    // higher (blur σ 4: 52.9 → 57.9 on average), which would lift blurred faces' levels and let
    // QUALITY_FILTER pass them. The quality report describes the photo, so it takes the face as it is
    // (one more face in the same batch, only for sharpened faces).
    state.embeddingNorm = (asIs ?? embedded)?.norm;
  },
};

/**
 * Face quality with reasons (src/core/face-quality.ts) from the aligned crop of the chosen face — with
 * any brightening undone (the detector's gamma; the embedder's gain never touches the crop), so a dark
 * photo is reported dark — and the landmarks in original pixels.
 * With QUALITY_FILTER, a face below the level is refused with LOW_QUALITY and its reasons.
 */
const quality: AnalysisStage = {
  name: 'quality',
  timing: 'embed',
  async run(state) {
    const report = need(state.out.face, 'face report');
    const measured = faceQuality(
      need(state.crop, 'crop'),
      report.landmarks as Point[],
      undefined,
      need(state.cropStats, 'crop statistics'),
    );
    const norm = roundTo(need(state.embeddingNorm, 'embedding norm'), 3);
    // The measures' bounds give the reasons; the level follows the fitted score where the model has
    // one (src/core/quality-score.ts), else the bounds.
    const model = scoreModelFor(state.settings.model);
    const score = model ? recognitionScore({ ...measured, embedding_norm: norm }, model) : undefined;
    const q = {
      ...measured,
      ...(model && score !== undefined ? { level: scoreLevel(score, model), score: roundTo(score, 4) } : {}),
    };
    const finite = (v: number): number | null => (Number.isFinite(v) ? roundTo(v, 1) : null);
    report.quality = {
      ...q,
      embedding_norm: norm,
      pose: { yaw: finite(q.pose.yaw), pitch: finite(q.pose.pitch), roll: finite(q.pose.roll) },
    };
    const filter = state.settings.qualityFilter;
    // Among the worst faces: a score below the model's `worst`, or without one, far below the low bounds.
    const worst = model && score !== undefined ? score < model.worst : qualityScore(measured) <= -1;
    if (filter !== 'none' && refusedBy(filter, q.level, worst)) {
      throw new FaceVerifyError(
        'LOW_QUALITY',
        `The face's quality is ${q.level} (${q.reasons.join(', ') || 'no single reason'}); QUALITY_FILTER is ${filter}`,
        { quality: report.quality },
      );
    }
  },
};

/**
 * Whether QUALITY_FILTER refuses a face (AWS's QualityFilter names, 'none' by default): `low` refuses
 * only the worst faces, `medium` every `low` face, `high` everything but `high`.
 */
function refusedBy(filter: 'low' | 'medium' | 'high', level: QualityLevel, worst: boolean): boolean {
  if (filter === 'high') return level !== 'high';
  if (filter === 'medium') return level === 'low';
  return worst;
}

/** The stages, in order. */
export const ANALYSIS_STAGES: readonly AnalysisStage[] = [
  decode,
  detect,
  referenceDecode,
  lowLightRetry,
  orientationSearch,
  smallFaceSearch,
  select,
  embed,
  quality,
];

/** The stages up to and including detection, the second looks included (`faceverify detect`). */
export const DETECTION_STAGES: readonly AnalysisStage[] = [
  decode,
  detect,
  referenceDecode,
  lowLightRetry,
  orientationSearch,
];

/**
 * Runs stages over a fresh state, timing each.
 *
 * @example
 * const state = await runStages(DETECTION_STAGES, bytes, settings, models);
 */
export async function runStages(
  stages: readonly AnalysisStage[],
  bytes: Uint8Array,
  settings: AnalysisSettings,
  models: AnalysisModels,
  out: Partial<FaceAnalysis> = {},
): Promise<AnalysisState> {
  const timings: StageTimings = { decode: 0, detect: 0, embed: 0 };
  const state: AnalysisState = {
    bytes,
    settings,
    models,
    orientation: 0,
    out: { ...out, timings },
  };
  for (const stage of stages) {
    const t = performance.now();
    await stage.run(state);
    timings[stage.timing] += performance.now() - t;
  }
  return state;
}

/** The finished analysis; an INTERNAL_ERROR if a stage left a required part out. */
export function finishAnalysis(state: AnalysisState): FaceAnalysis {
  const { face, faceCount, width, height, modelId, timings, embedding } = state.out;
  return {
    ...state.out,
    face: need(face, 'face'),
    faceCount: need(faceCount, 'faceCount'),
    width: need(width, 'width'),
    height: need(height, 'height'),
    modelId: need(modelId, 'modelId'),
    timings: need(timings, 'timings'),
    embedding: need(embedding, 'embedding'),
  };
}
