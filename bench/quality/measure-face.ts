/**
 * One photo through the real pipeline (decode → MTCNN → centre face → align → embed), plus what the
 * quality fit needs beside the embedding: the quality measures of src/core/face-quality.ts, O-Net's
 * score, the embedder's raw output norm and colour/texture statistics of the aligned crop that might
 * reveal a mask. Reads Verifier internals (the member embedder's session) but changes nothing.
 */
import { cropStatistics, type CropRegion } from '../../src/core/face-quality.js';
import { headPose, interocularDistance } from '../../src/core/head-pose.js';
import type { Point } from '../../src/core/similarity-transform.js';
import type { InterleavedImage } from '../../src/core/warp-affine.js';
import { FaceVerifyError } from '../../src/errors.js';
import { alignedFaceCrop } from '../../src/pipeline/align-crop.js';
import { Embedder } from '../../src/pipeline/embedder.js';
import { selectFace } from '../../src/pipeline/select-face.js';
import type { FaceAnalyzer } from '../../src/pipeline/face-analyzer.js';
import type { InferenceSession } from '../../src/runtime/onnx-session.js';

export interface FaceMeasures {
  sharpness: number;
  laplacianVariance: number;
  brightness: number;
  contrast: number;
  interocular_px: number;
  yaw: number;
  pitch: number;
  roll: number;
  /** (nose − eye line) / (mouth line − eye line) and (nose − midline) / eye distance, after roll. */
  noseDown: number;
  noseSide: number;
  onetScore: number;
  rawNorm: number;
  /** Occlusion candidates: lower face (nose tip to chin) against upper face (brows to under the eyes). */
  skinLower: number;
  skinUpper: number;
  chromaShift: number;
  blueShift: number;
  textureRatio: number;
  /** Landmarks in original pixels. */
  landmarks: Point[];
}

export type Outcome = { ok: true; m: FaceMeasures; embedding: Float32Array } | { ok: false; code: string };

const UPPER: CropRegion = { x0: 24, y0: 32, x1: 88, y1: 60 };
const LOWER: CropRegion = { x0: 32, y0: 74, x1: 80, y1: 104 };

/** Fraction of skin-coloured pixels (YCbCr box of Chai & Ngan 1999), mean Cb and Cr of a region. */
function colour(crop: InterleavedImage, r: CropRegion): { skin: number; cb: number; cr: number } {
  let skin = 0;
  let cbSum = 0;
  let crSum = 0;
  let n = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      const p = (y * crop.width + x) * 3;
      const R = crop.data[p]!;
      const G = crop.data[p + 1]!;
      const B = crop.data[p + 2]!;
      const cb = 128 - 0.168736 * R - 0.331264 * G + 0.5 * B;
      const cr = 128 + 0.5 * R - 0.418688 * G - 0.081312 * B;
      if (cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173) skin++;
      cbSum += cb;
      crSum += cr;
      n++;
    }
  }
  return { skin: skin / n, cb: cbSum / n, cr: crSum / n };
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

export async function measureFace(verifier: FaceAnalyzer, bytes: Uint8Array): Promise<Outcome> {
  try {
    const { image, faces } = await verifier.detectAll(bytes);
    const face = selectFace(faces, 'center', image);
    const side = Math.max(face.box.x2 - face.box.x1, face.box.y2 - face.box.y1);
    if (side < verifier.options.detect.minFaceSize) return { ok: false, code: 'FACE_TOO_SMALL' };
    const rgb = { ...image, channels: 3 };
    const [embedding] = await verifier.models.embedder.embed([
      { image: rgb, landmarks: face.landmarks, box: face.box },
    ]);
    const member = verifier.members[0] as Embedder;
    // Read-only use of the member's session: the raw (pre-normalisation) output is not exposed.
    const session = (member as unknown as { session: InferenceSession }).session;
    const batch = new Embedder({ ...member.manifest, flip: false }, session).alignBatch([
      { image: rgb, landmarks: face.landmarks, box: face.box },
    ]);
    const out = await session.run({ [session.inputNames[0] as string]: batch });
    const raw = out[session.outputNames[0] as string] as { data: Float32Array };
    const crop = alignedFaceCrop(rgb, face.landmarks);
    const stats = cropStatistics(crop);
    const landmarks = face.landmarks.map(([x, y]): Point => [x * image.scale, y * image.scale]);
    const pose = headPose(landmarks);
    const up = colour(crop, UPPER);
    const low = colour(crop, LOWER);
    const [le, re, nose, lm, rm] = landmarks as [Point, Point, Point, Point, Point];
    const roll = Math.atan2(re[1] - le[1], re[0] - le[0]);
    const ex = (le[0] + re[0]) / 2;
    const ey = (le[1] + re[1]) / 2;
    const loc = ([x, y]: Point): Point => [
      (x - ex) * Math.cos(roll) + (y - ey) * Math.sin(roll),
      -(x - ex) * Math.sin(roll) + (y - ey) * Math.cos(roll),
    ];
    const n = loc(nose);
    const m = loc([(lm[0] + rm[0]) / 2, (lm[1] + rm[1]) / 2]);
    const iod = interocularDistance(landmarks);
    const texUp = cropStatistics(crop, UPPER).laplacianVariance;
    const texLow = cropStatistics(crop, LOWER).laplacianVariance;
    return {
      ok: true,
      embedding: embedding as Float32Array,
      m: {
        sharpness: stats.sharpness,
        laplacianVariance: stats.laplacianVariance,
        brightness: stats.brightness,
        contrast: stats.contrast,
        interocular_px: iod,
        ...pose,
        noseDown: n[1] / m[1],
        noseSide: (n[0] - m[0] / 2) / iod,
        onetScore: face.score,
        rawNorm: norm(raw.data.subarray(0, member.manifest.embeddingSize)),
        skinLower: low.skin,
        skinUpper: up.skin,
        chromaShift: Math.hypot(low.cb - up.cb, low.cr - up.cr),
        blueShift: low.cb - low.cr - (up.cb - up.cr),
        textureRatio: texLow / Math.max(1, texUp),
        landmarks,
      },
    };
  } catch (err) {
    if (err instanceof FaceVerifyError) return { ok: false, code: err.code };
    throw err;
  }
}
