/**
 * The analysis of one image as an ordered list of stages over one state: decode → detect → look for a
 * too-small face when none was found → choose the face → align and embed. Each stage reads what the
 * earlier ones left and adds its part, either to the working state (pixels, detections) or to the
 * answer (`state.out`, which becomes the {@link FaceAnalysis}). A new step — a second look with the
 * image turned, a quality measure — is a new stage in {@link ANALYSIS_STAGES}, not a retry path beside
 * detection.
 */
import type { Box } from '../core/box.js';
import { PRECISION, roundTo } from '../core/scoring.js';
import type { Point } from '../core/similarity-transform.js';
import { FaceVerifyError } from '../errors.js';
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
  image?: DecodedImage;
  /** Every face found, in decoded pixels, best score first. */
  faces?: DetectedFace[];
  /** The face chosen by the policy, in decoded pixels. */
  face?: DetectedFace;
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

/** FACE_TOO_SMALL for a face below the minimum size. */
function tooSmall(state: AnalysisState, face: DetectedFace): FaceVerifyError {
  const scale = need(state.image, 'image').scale;
  const side = Math.round(faceSide(face) * scale);
  const min = Math.round(state.settings.detect.minFaceSize * scale);
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
    const image = need(state.image, 'image');
    state.faces = await state.models.detector.detect({ ...image, channels: 3 }, state.settings.detect);
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
      { ...state.settings.detect, minFaceSize: floor, maxFaceSize: minFaceSize },
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
      all.map((f) => reportFace(f, image.scale)),
    );
    if (faceSide(face) < state.settings.detect.minFaceSize) throw tooSmall(state, face);
    state.face = face;
    state.out.face = reportFace(face, image.scale);
    state.out.faceCount = faces.length;
  },
};

/** Aligns the chosen face onto the model's template and embeds it (src/pipeline/embedder.ts). */
const embed: AnalysisStage = {
  name: 'embed',
  timing: 'embed',
  async run(state) {
    const image = need(state.image, 'image');
    const face = need(state.face, 'face');
    const [embedding] = await state.models.embedder.embed([
      { image: { ...image, channels: 3 }, landmarks: face.landmarks, box: face.box },
    ]);
    state.out.embedding = need(embedding, 'embedding');
  },
};

/** The stages, in order. */
export const ANALYSIS_STAGES: readonly AnalysisStage[] = [decode, detect, smallFaceSearch, select, embed];

/** The stages up to and including detection (`faceverify detect`). */
export const DETECTION_STAGES: readonly AnalysisStage[] = [decode, detect];

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
  const state: AnalysisState = { bytes, settings, models, out: { ...out, timings } };
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
