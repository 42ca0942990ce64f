/**
 * Stages 4–5: alignment and embedding.
 *
 * Alignment: a least-squares similarity transform (Umeyama 1991) maps the five detected landmarks onto
 * the model's template (for MobileFaceNet the standard ArcFace 112×112 template), and the face is
 * warped bilinearly into the model's input — rotation and scale are undone, not just cropped.
 * Landmarks arrive in continuous coordinates (pixel i spans [i, i+1]); the template and the warp use
 * OpenCV's pixel-centre indices, hence the −0.5.
 *
 * Embedding: NCHW float input normalised as (v − mean) / std in the manifest's channel order; output
 * [N, D]. With `flip`, the mirrored crop is embedded in the same batch and the two unit vectors are
 * averaged (test-time augmentation), then the sum is L2-normalised.
 */
import type { Box } from '../core/box.js';
import { l2Normalize } from '../core/similarity.js';
import {
  composeAffine,
  estimateSimilarity,
  invertAffine,
  type Affine,
  type Point,
} from '../core/similarity-transform.js';
import { warpAffineToTensor, type InterleavedImage } from '../core/warp-affine.js';
import { FaceVerifyError } from '../errors.js';
import type { EmbedderManifest } from '../models/manifest.js';
import type { InferenceSession } from '../runtime/onnx-session.js';

/** An embedding and how strongly the model responded to the face. */
export interface Embedded {
  /** Unit vector. */
  embedding: Float32Array;
  /**
   * The L2 norm of the model's raw output before normalisation (mean over the face and its mirror):
   * lower for faces the model finds hard to recognise (blurred, occluded, tiny), as MagFace (Meng et
   * al. 2021) makes explicit. Model-specific in scale.
   */
  norm: number;
}

export interface FaceToEmbed {
  image: InterleavedImage;
  landmarks: readonly Point[];
  /** The detector's box (continuous pixel coordinates), for models aligned by box. */
  box?: Box;
  /**
   * When `image` is a face chip cut from the frame the landmarks and box are in (src/pipeline/face-chip.ts):
   * the transform from that frame to the chip. The model's alignment is computed in the frame as
   * usual, then sampled from the chip through it, so every alignment (landmarks or box) carries over.
   */
  frame?: Affine;
}

/**
 * The transform of a box crop: the box grown by `margin` output pixels (facenet-pytorch's
 * `extract_face`: margin · box size / (size − margin), half on each side), stretched onto size × size.
 */
export function boxTransform(box: Box, margin: number, size: number): Affine {
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  const mx = (margin * w) / (size - margin) / 2;
  const my = (margin * h) / (size - margin) / 2;
  const x1 = box.x1 - mx;
  const y1 = box.y1 - my;
  const sx = size / (w + 2 * mx);
  const sy = size / (h + 2 * my);
  // Continuous box coordinates → OpenCV pixel-centre indices on both sides.
  return [sx, 0, (0.5 - x1) * sx - 0.5, 0, sy, (0.5 - y1) * sy - 0.5];
}

/** The transform from image pixels to the model's input pixels for a face's landmarks. */
export function alignmentTransform(landmarks: readonly Point[], template: readonly Point[]): Affine {
  if (landmarks.length !== template.length) {
    throw new FaceVerifyError(
      'INTERNAL_ERROR',
      `expected ${template.length} landmarks, got ${landmarks.length}`,
    );
  }
  return estimateSimilarity(
    landmarks.map(([x, y]): Point => [x - 0.5, y - 0.5]),
    template,
  );
}

export class Embedder {
  constructor(
    readonly manifest: EmbedderManifest,
    private readonly session: InferenceSession,
  ) {}

  release(): Promise<void> {
    return this.session.release();
  }

  /** Writes the aligned, normalised crops of the faces (and their mirrors) into one NCHW batch. */
  alignBatch(faces: readonly FaceToEmbed[]): { data: Float32Array; dims: number[] } {
    const { inputSize: size, normalization: norm, template, flip } = this.manifest;
    const copies = flip ? 2 : 1;
    const per = 3 * size * size;
    const n = faces.length * copies;
    const data = new Float32Array(n * per);
    const alignment = this.manifest.alignment ?? { kind: 'landmarks' };
    faces.forEach((face, i) => {
      if (alignment.kind === 'box' && !face.box) {
        throw new FaceVerifyError(
          'INTERNAL_ERROR',
          `${this.manifest.name} is aligned by box, but no box was given`,
        );
      }
      const inFrame =
        alignment.kind === 'box' && face.box
          ? boxTransform(face.box, alignment.margin, size)
          : alignmentTransform(face.landmarks, template);
      const m = face.frame ? composeAffine(inFrame, invertAffine(face.frame)) : inFrame;
      const offset = i * copies * per;
      warpAffineToTensor(face.image, m, size, size, { mean: norm.mean, std: norm.std, out: data, offset });
      if (norm.channels === 'BGR') swapPlanes(data, offset, size * size);
      // The mirror holds the same samples, each row reversed: copying them is exact and ~10× cheaper
      // than warping again (warpAffineToTensor's `flip` gives the same values).
      if (flip) mirrorRows(data, offset, offset + per, size, 3 * size);
    });
    return { data, dims: [n, 3, size, size] };
  }

  /**
   * Embeds faces in one batch; returns one unit vector per face.
   *
   * @example
   * const [e1, e2] = await embedder.embed([{ image: a, landmarks: fa }, { image: b, landmarks: fb }]);
   */
  async embed(faces: readonly FaceToEmbed[]): Promise<Float32Array[]> {
    return (await this.embedWithNorms(faces)).map((e) => e.embedding);
  }

  /** {@link embed}, with each face's raw output norm. */
  async embedWithNorms(faces: readonly FaceToEmbed[]): Promise<Embedded[]> {
    if (faces.length === 0) return [];
    const batch = this.alignBatch(faces);
    return this.embedAlignedWithNorms(batch, faces.length);
  }

  /** Runs the model on a batch made by {@link alignBatch}. */
  async embedAligned(batch: { data: Float32Array; dims: number[] }, count: number): Promise<Float32Array[]> {
    return (await this.embedAlignedWithNorms(batch, count)).map((e) => e.embedding);
  }

  private async embedAlignedWithNorms(
    batch: { data: Float32Array; dims: number[] },
    count: number,
  ): Promise<Embedded[]> {
    const name = this.session.inputNames[0] as string;
    const out = await this.session.run({ [name]: batch });
    const output = out[this.session.outputNames[0] as string];
    const d = this.manifest.embeddingSize;
    if (!output || output.data.length !== (batch.dims[0] as number) * d) {
      throw new FaceVerifyError('INFERENCE_FAILED', 'The embedding model returned an unexpected shape');
    }
    const copies = this.manifest.flip ? 2 : 1;
    const result: Embedded[] = [];
    for (let i = 0; i < count; i++) {
      const sum = new Float32Array(d);
      let norm = 0;
      for (let k = 0; k < copies; k++) {
        const raw = output.data.subarray((i * copies + k) * d, (i * copies + k + 1) * d);
        let sq = 0;
        for (let j = 0; j < d; j++) sq += (raw[j] as number) ** 2;
        norm += Math.sqrt(sq) / copies;
        const unit = l2Normalize(raw);
        for (let j = 0; j < d; j++) sum[j] = (sum[j] as number) + (unit[j] as number);
      }
      result.push({ embedding: l2Normalize(sum), norm });
    }
    return result;
  }
}

/** Writes `rows` rows of `width` values from `from` to `to`, each row reversed. */
function mirrorRows(data: Float32Array, from: number, to: number, width: number, rows: number): void {
  for (let r = 0; r < rows; r++) {
    const src = from + r * width;
    const dst = to + r * width + width - 1;
    for (let x = 0; x < width; x++) data[dst - x] = data[src + x] as number;
  }
}

function swapPlanes(data: Float32Array, offset: number, plane: number): void {
  for (let i = 0; i < plane; i++) {
    const r = data[offset + i] as number;
    data[offset + i] = data[offset + 2 * plane + i] as number;
    data[offset + 2 * plane + i] = r;
  }
}
