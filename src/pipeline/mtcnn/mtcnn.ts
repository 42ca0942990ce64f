/**
 * Stage 2: face detection with MTCNN (Zhang, Zhang, Li, Qiao: "Joint Face Detection and Alignment
 * using Multi-task Cascaded Convolutional Networks", IEEE SPL 2016); the cascade follows the
 * authors' and facenet's `detect_face.py`.
 *
 * 1. P-Net runs fully convolutionally over an image pyramid (factor 0.709, first scale 12 / minFace):
 *    each output cell is a 12×12 window at stride 2 with a face probability and a box regression.
 *    Per-scale NMS (0.5), global NMS (0.7), regression, squaring.
 * 2. R-Net scores 24×24 crops of those boxes, NMS 0.7, regression, squaring.
 * 3. O-Net scores 48×48 crops and adds five landmarks; regression, NMS 0.7 on
 *    intersection-over-minimum.
 *
 * R-Net and O-Net run in batches of at most {@link MAX_BATCH} crops. ONNX Runtime's memory arena keeps
 * the largest run it has seen for the life of the session, so one crowded photo run as a single batch
 * would grow a thread for good (docs/performance.md). Each crop is computed on its
 * own, so the outputs do not depend on the batching (test/integration/mtcnn-batching.test.ts). For the
 * same reason a pyramid level larger than {@link MAX_PNET_PIXELS} runs through P-Net in strips that
 * overlap by its receptive field (12 pixels at stride 2; its convolutions are unpadded and a strip starts
 * on an even column and holds whole pooling windows), so every output cell is the one the whole level
 * gives, and a large level (MIN_FACE_SIZE=20 on a 1920-pixel photo) no longer needs its whole arena at once.
 *
 * Tensor layouts: the converted nets take NCHW with the image TRANSPOSED (Caffe heritage: the TFLite
 * graphs expect [N, W, H, 3]), i.e. element (c, x, y); pixel values (v − 127.5) / 128 in RGB. P-Net's
 * outputs are [N, 2, W', H'] (probability; channel 1 = face) and [N, 4, W', H'] (regression dx1, dy1,
 * dx2, dy2 in units of the window); R-Net gives [N, 2], [N, 4]; O-Net adds [N, 10] landmarks
 * (x1..x5 then y1..y5, relative to the box). Coordinates are pixels of the decoded image, x right,
 * y down, continuous (a pixel's centre at integer + 0.5 for boxes; crops sample at centres).
 *
 * Crops for R-Net and O-Net are sampled bilinearly from the pyramid level whose scale is closest above
 * the one needed, which approximates the area-averaging resize of the reference at a fraction of the
 * cost of a resize per box.
 */
import sharp from 'sharp';
import { squareBox, type Box } from '../../core/box.js';
import { nms } from '../../core/nms.js';
import type { Affine, Point } from '../../core/similarity-transform.js';
import { warpAffineToTensor, type InterleavedImage } from '../../core/warp-affine.js';
import { FaceVerifyError } from '../../errors.js';
import type { DetectorManifest } from '../../models/manifest.js';
import type { InferenceSession, PlainTensor } from '../../runtime/onnx-session.js';

export interface DetectedFace {
  box: Box;
  score: number;
  /** Left eye, right eye, nose, left mouth corner, right mouth corner (as seen in the image). */
  landmarks: Point[];
}

export interface DetectOptions {
  /** Smallest face side to look for, in decoded pixels. */
  minFaceSize: number;
  /** Probability thresholds of P-Net, R-Net, O-Net. */
  thresholds: readonly [number, number, number];
  /** Pyramid scale factor. */
  scaleFactor: number;
  /** Largest face side to look for (pyramid levels for bigger faces are skipped); 0 = no limit. */
  maxFaceSize?: number;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  minFaceSize: 60,
  thresholds: [0.6, 0.7, 0.9],
  scaleFactor: 0.709,
};

export interface MtcnnSessions {
  pnet: InferenceSession;
  rnet: InferenceSession;
  onet: InferenceSession;
}

interface Level {
  image: InterleavedImage;
  /** level = decoded · scale */
  scale: number;
}

/** R-Net or O-Net: its session, crop size, batch bound and threshold, and whether it gives landmarks. */
interface RefineStage {
  session: InferenceSession;
  size: number;
  maxBatch: number;
  threshold: number;
  withLandmarks: boolean;
}

interface Candidate {
  box: Box;
  score: number;
  reg: [number, number, number, number];
  landmarks?: Point[];
}

const STRIDE = 2;
const CELL = 12;

/** Most crops per R-Net or O-Net run (see the header); the cost per crop is the same from about 16 up. */
export const MAX_BATCH = { rnet: 64, onet: 16 } as const;

/**
 * Largest pyramid level P-Net sees in one run, in pixels; bigger levels run in strips (see the header).
 * The default minimum face (60 px) never needs strips (a 1920×1440 photo's largest level is 384×288);
 * the verifier's search for a face under the minimum (20 px, on photos where none was found) does from
 * about 1280×960 up.
 */
export const MAX_PNET_PIXELS = 512 * 512;

/** How much one net run may take: R-Net and O-Net crops, P-Net level pixels. */
export interface RunLimits {
  rnet: number;
  onet: number;
  pnetPixels?: number;
}

/** Pyramid scales for faces between minFace and maxFace (facenet: m = 12 / minsize, then · factor). */
export function pyramidScales(
  width: number,
  height: number,
  options: Pick<DetectOptions, 'minFaceSize' | 'scaleFactor' | 'maxFaceSize'>,
): number[] {
  const scales: number[] = [];
  const m = CELL / options.minFaceSize;
  const minSide = Math.min(width, height);
  const smallest = options.maxFaceSize ? CELL / options.maxFaceSize : 0;
  for (let s = m; minSide * s >= CELL; s *= options.scaleFactor) {
    if (s < smallest) break;
    scales.push(s);
  }
  return scales;
}

export class MtcnnDetector {
  constructor(
    readonly manifest: DetectorManifest,
    private readonly sessions: MtcnnSessions,
    private readonly maxBatch: RunLimits = MAX_BATCH,
  ) {
    if (!(maxBatch.rnet >= 1 && maxBatch.onet >= 1 && (maxBatch.pnetPixels ?? 1) >= 1)) {
      throw new FaceVerifyError('INTERNAL_ERROR', 'MTCNN batch bounds must be at least 1');
    }
  }

  /**
   * Detects faces in an RGB image; returns them sorted by descending score.
   *
   * @example
   * const faces = await detector.detect({ data, width, height, channels: 3 }, DEFAULT_DETECT_OPTIONS);
   */
  async detect(
    image: InterleavedImage,
    options: DetectOptions = DEFAULT_DETECT_OPTIONS,
  ): Promise<DetectedFace[]> {
    const scales = pyramidScales(image.width, image.height, options);
    if (scales.length === 0) return [];
    const levels = await buildPyramid(image, scales);
    const [t1, t2, t3] = options.thresholds;

    const perScale = await Promise.all(levels.map((level) => this.runPnet(level, t1)));
    let cands = perScale.flat();
    cands = suppress(cands, 0.7, 'union');
    cands = cands.map((c) => ({ ...c, box: squareBox(regress(c.box, c.reg)) }));
    if (cands.length === 0) return [];

    const rnet = { session: this.sessions.rnet, size: 24, maxBatch: this.maxBatch.rnet, threshold: t2 };
    cands = await this.refine({ ...rnet, withLandmarks: false }, cands, levels, image);
    cands = suppress(cands, 0.7, 'union');
    cands = cands.map((c) => ({ ...c, box: squareBox(regress(c.box, c.reg)) }));
    if (cands.length === 0) return [];

    const onet = { session: this.sessions.onet, size: 48, maxBatch: this.maxBatch.onet, threshold: t3 };
    cands = await this.refine({ ...onet, withLandmarks: true }, cands, levels, image);
    cands = cands.map((c) => ({ ...c, box: regress(c.box, c.reg) }));
    cands = suppress(cands, 0.7, 'min');
    return cands.map((c) => ({ box: c.box, score: c.score, landmarks: c.landmarks ?? [] }));
  }

  async release(): Promise<void> {
    await Promise.all([
      this.sessions.pnet.release(),
      this.sessions.rnet.release(),
      this.sessions.onet.release(),
    ]);
  }

  private async runPnet(level: Level, threshold: number): Promise<Candidate[]> {
    const { width: w, height: h } = level.image;
    // Output cells per strip: a strip of 2c + 10 columns gives exactly c cells (no partial pooling).
    const maxPixels = this.maxBatch.pnetPixels ?? MAX_PNET_PIXELS;
    const cells = w * h <= maxPixels ? w : Math.max(1, Math.floor((maxPixels / h - 10) / 2));
    const boxes: Box[] = [];
    const scores: number[] = [];
    const regs: [number, number, number, number][] = [];
    // The next strip starts where the last one's cells end; stop when no cell is left.
    for (let x0 = 0; pnetCells(w - x0) >= 1; x0 += 2 * cells) {
      const x1 = Math.min(w, x0 + 2 * cells + 10);
      await this.runPnetStrip(level, x0, x1, threshold, { boxes, scores, regs });
    }
    return nms(boxes, scores, 0.5, 'union').map((idx) => ({
      box: boxes[idx] as Box,
      score: scores[idx] as number,
      reg: regs[idx] as [number, number, number, number],
    }));
  }

  /** P-Net on columns x0..x1 of a level; appends the cells above the threshold (level coordinates). */
  private async runPnetStrip(
    { image, scale }: Level,
    x0: number,
    x1: number,
    threshold: number,
    out: { boxes: Box[]; scores: number[]; regs: [number, number, number, number][] },
  ): Promise<void> {
    const w = x1 - x0;
    const h = image.height;
    const input = new Float32Array(3 * w * h);
    // Transposed planar layout (c, x, y), normalised.
    const src = image.data;
    const plane = w * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = (y * image.width + x0 + x) * 3;
        const d = x * h + y;
        input[d] = ((src[s] as number) - 127.5) * 0.0078125;
        input[plane + d] = ((src[s + 1] as number) - 127.5) * 0.0078125;
        input[2 * plane + d] = ((src[s + 2] as number) - 127.5) * 0.0078125;
      }
    }
    const session = this.sessions.pnet;
    const result = await session.run({
      [session.inputNames[0] as string]: { data: input, dims: [1, 3, w, h] },
    });
    const [prob, reg] = outputs(session, result);
    const ow = prob.dims[2] as number; // along x
    const oh = prob.dims[3] as number; // along y
    const cells = ow * oh;
    for (let i = 0; i < ow; i++) {
      const cx = STRIDE * i + x0;
      for (let j = 0; j < oh; j++) {
        const k = i * oh + j;
        const p = prob.data[cells + k] as number;
        if (p < threshold) continue;
        out.boxes.push({
          x1: cx / scale,
          y1: (STRIDE * j) / scale,
          x2: (cx + CELL) / scale,
          y2: (STRIDE * j + CELL) / scale,
        });
        out.scores.push(p);
        out.regs.push([
          reg.data[k] as number,
          reg.data[cells + k] as number,
          reg.data[2 * cells + k] as number,
          reg.data[3 * cells + k] as number,
        ]);
      }
    }
  }

  /** Runs R-Net or O-Net on crops of the candidates, `maxBatch` at a time; keeps those above the threshold. */
  private async refine(
    stage: RefineStage,
    cands: Candidate[],
    levels: Level[],
    image: InterleavedImage,
  ): Promise<Candidate[]> {
    const kept: Candidate[] = [];
    for (let start = 0; start < cands.length; start += stage.maxBatch) {
      const chunk = cands.slice(start, start + stage.maxBatch);
      kept.push(...(await this.refineBatch(stage, chunk, levels, image)));
    }
    return kept;
  }

  private async refineBatch(
    { session, size, threshold, withLandmarks }: RefineStage,
    cands: Candidate[],
    levels: Level[],
    image: InterleavedImage,
  ): Promise<Candidate[]> {
    const n = cands.length;
    const per = 3 * size * size;
    const input = new Float32Array(n * per);
    cands.forEach((c, k) => {
      const side = Math.max(c.box.x2 - c.box.x1, c.box.y2 - c.box.y1);
      const level = pickLevel(levels, image, size / side);
      const s = level.scale;
      // Map level pixel (x, y) to tensor position (col = y', row = x'): the nets want the image
      // transposed. Pixel centres: level x ↔ box x1·s + (u + 0.5)·side·s/size − 0.5.
      const f = size / (side * s);
      const ox = c.box.x1 * s - 0.5 + 0.5 / f;
      const oy = c.box.y1 * s - 0.5 + 0.5 / f;
      const m: Affine = [0, f, -f * oy, f, 0, -f * ox];
      warpAffineToTensor(level.image, m, size, size, {
        mean: 127.5,
        std: 128,
        out: input,
        offset: k * per,
      });
    });
    const out = await session.run({
      [session.inputNames[0] as string]: { data: input, dims: [n, 3, size, size] },
    });
    const [prob, reg, marks] = outputs(session, out);
    const kept: Candidate[] = [];
    for (let k = 0; k < n; k++) {
      const p = prob.data[2 * k + 1] as number;
      if (p < threshold) continue;
      const c = cands[k] as Candidate;
      const r: [number, number, number, number] = [
        reg.data[4 * k] as number,
        reg.data[4 * k + 1] as number,
        reg.data[4 * k + 2] as number,
        reg.data[4 * k + 3] as number,
      ];
      const cand: Candidate = { box: c.box, score: p, reg: r };
      if (withLandmarks && marks) {
        const w = c.box.x2 - c.box.x1;
        const h = c.box.y2 - c.box.y1;
        cand.landmarks = [0, 1, 2, 3, 4].map((j): Point => [
          c.box.x1 + (marks.data[10 * k + j] as number) * w,
          c.box.y1 + (marks.data[10 * k + j + 5] as number) * h,
        ]);
      }
      kept.push(cand);
    }
    return kept;
  }
}

function outputs(
  session: InferenceSession,
  out: Record<string, PlainTensor>,
): [PlainTensor, PlainTensor, PlainTensor | undefined] {
  const [prob, reg, marks] = session.outputNames.map((name) => out[name]);
  if (!prob || !reg) throw new FaceVerifyError('INFERENCE_FAILED', 'MTCNN stage returned too few outputs');
  return [prob, reg, marks];
}

/** P-Net's output cells along a side of n pixels: unpadded 3×3 convolutions and a 2×2 ceil-mode pool. */
function pnetCells(n: number): number {
  return Math.ceil((n - 4) / 2) - 3;
}

/** Applies a box regression (offsets in units of the box's width and height). */
function regress(b: Box, r: readonly [number, number, number, number]): Box {
  const w = b.x2 - b.x1;
  const h = b.y2 - b.y1;
  return { x1: b.x1 + r[0] * w, y1: b.y1 + r[1] * h, x2: b.x2 + r[2] * w, y2: b.y2 + r[3] * h };
}

function suppress(cands: Candidate[], threshold: number, mode: 'union' | 'min'): Candidate[] {
  const keep = nms(
    cands.map((c) => c.box),
    cands.map((c) => c.score),
    threshold,
    mode,
  );
  return keep.map((i) => cands[i] as Candidate);
}

/** The pyramid level with the smallest scale that is still ≥ the wanted one (less aliasing). */
function pickLevel(levels: Level[], image: InterleavedImage, wanted: number): Level {
  let best: Level = { image, scale: 1 };
  for (const level of levels) {
    if (level.scale >= wanted && level.scale < best.scale) best = level;
  }
  return best;
}

async function buildPyramid(image: InterleavedImage, scales: number[]): Promise<Level[]> {
  const raw = { width: image.width, height: image.height, channels: 3 as const };
  return Promise.all(
    scales.map(async (s) => {
      const w = Math.max(CELL, Math.ceil(image.width * s));
      const h = Math.max(CELL, Math.ceil(image.height * s));
      const data = await sharp(image.data, { raw })
        .resize(w, h, { fit: 'fill', kernel: 'linear' })
        .raw()
        .toBuffer();
      // The exact scale of the resized level, per axis (they differ by rounding); use the x one.
      return {
        image: {
          data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          width: w,
          height: h,
          channels: 3,
        },
        scale: w / image.width,
      };
    }),
  );
}
