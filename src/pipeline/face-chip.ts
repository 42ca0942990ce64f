/**
 * The face chip kept for re-embedding (RETAIN_FACE_CROPS, docs/identities.md): a loose, eyes-level
 * 256×256 cut of the face, from which ANY embedder can later compute its template as it would from the
 * photo — MobileFaceNet's 112×112 ArcFace crop, dlib's 150×150 chip, a box-aligned model's crop.
 *
 * Why not keep one model's aligned crop: each model aligns differently (another template, size and
 * margin), and a 112×112 ArcFace crop holds neither dlib's chip (it reaches further below the mouth)
 * nor its resolution (53 px between the eyes against 35). So the chip is cut once, wider and finer than
 * every built-in alignment needs, and is kept with the transform that cut it:
 *
 * - `frame`: the similarity from the analysed pixels (the "frame": decoded, maybe turned or brightened
 *   — exactly what the embedder saw) to the chip, fitted (Umeyama) from the five landmarks onto
 *   {@link FACE_CHIP_TEMPLATE}: the ArcFace template × 1.8 + (27, 19), so the eyes are level, about
 *   63 px apart and 112 px from the top. It holds the ArcFace crop (x 26–228, y 18–220) and dlib's
 *   chip (down to y ≈ 237) with room to spare.
 * - `landmarks`, `box`: the face in the frame's continuous pixel coordinates.
 *
 * An embedder computes its usual alignment from `landmarks`/`box` in the frame and samples the chip
 * through `frame⁻¹` (src/pipeline/embedder.ts, `FaceToEmbed.frame`): the same transform, one extra
 * bilinear resampling. Measured against embedding the photo itself: docs/identities.md.
 *
 * Bytes: `FVC1` ‖ u32 LE header length ‖ JSON header ‖ lossless PNG of the RGB chip (interleaved
 * HWC). The gallery seals these bytes like a template (AES-256-GCM when a key is set).
 */
import sharp, { type OutputInfo } from 'sharp';
import type { Box } from '../core/box.js';
import { type Affine, type Point } from '../core/similarity-transform.js';
import { warpAffine, type InterleavedImage } from '../core/warp-affine.js';
import { FaceVerifyError } from '../errors.js';
import { alignmentTransform, type FaceToEmbed } from './embedder.js';
import { ARCFACE_TEMPLATE_112 } from '../core/similarity-transform.js';

/** Side of the chip in pixels. */
export const FACE_CHIP_SIZE = 256;

/** Where the five landmarks go in the chip (pixel-centre coordinates): ArcFace's, × 1.8 + (27, 19). */
export const FACE_CHIP_TEMPLATE: readonly Readonly<Point>[] = Object.freeze(
  ARCFACE_TEMPLATE_112.map(([x, y]) => Object.freeze([x * 1.8 + 27, y * 1.8 + 19] as Point)),
);

const MAGIC = 'FVC1';
const FORMAT_VERSION = 1;

/** A face chip and where it came from. */
export interface FaceChip {
  /** RGB, interleaved, `FACE_CHIP_SIZE²·3` bytes. */
  image: InterleavedImage;
  /** Frame pixel centres → chip pixel centres. */
  frame: Affine;
  /** The five landmarks in the frame (continuous pixel coordinates). */
  landmarks: Point[];
  /** The detector's box in the frame (continuous pixel coordinates). */
  box: Box;
}

interface ChipHeader {
  version: number;
  size: number;
  frame: Affine;
  landmarks: Point[];
  box: Box;
}

/**
 * Cuts the chip of a face from the pixels it was found in.
 *
 * @example
 * const chip = cutFaceChip({ ...image, channels: 3 }, face); // 256×256 RGB
 */
export function cutFaceChip(
  image: Readonly<InterleavedImage>,
  face: { landmarks: readonly Point[]; box: Box },
): FaceChip {
  const frame = alignmentTransform(face.landmarks, FACE_CHIP_TEMPLATE as Point[]);
  const warped = warpAffine(image, frame, FACE_CHIP_SIZE, FACE_CHIP_SIZE);
  const data = new Uint8Array(warped.length);
  for (let i = 0; i < warped.length; i++) data[i] = Math.round(warped[i]!);
  return {
    image: { data, width: FACE_CHIP_SIZE, height: FACE_CHIP_SIZE, channels: 3 },
    frame,
    landmarks: face.landmarks.map(([x, y]): Point => [x, y]),
    box: { ...face.box },
  };
}

/**
 * The chip as bytes: header and lossless PNG.
 *
 * @example
 * const bytes = await encodeFaceChip(cutFaceChip(image, face));
 */
export async function encodeFaceChip(chip: FaceChip): Promise<Uint8Array> {
  const { data, width, height, channels } = chip.image;
  const png = await sharp(data, { raw: { width, height, channels: channels as 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: true })
    .toBuffer();
  const header: ChipHeader = {
    version: FORMAT_VERSION,
    size: width,
    frame: chip.frame,
    landmarks: chip.landmarks,
    box: chip.box,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + png.length);
  out.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(png, 8 + json.length);
  return out;
}

function unreadable(why: string): FaceVerifyError {
  return new FaceVerifyError('TEMPLATE_UNREADABLE', `A stored face crop is unreadable: ${why}`);
}

function isPoint(p: unknown): p is Point {
  return Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/**
 * Reads the bytes of {@link encodeFaceChip}; TEMPLATE_UNREADABLE if they are not a chip.
 *
 * @example
 * const chip = await decodeFaceChip(bytes);
 */
export async function decodeFaceChip(bytes: Uint8Array): Promise<FaceChip> {
  if (bytes.byteLength < 8 || Buffer.from(bytes.subarray(0, 4)).toString('ascii') !== MAGIC) {
    throw unreadable('not a face chip (an older or foreign format)');
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + length > bytes.byteLength) throw unreadable('truncated header');
  let header: ChipHeader;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8')) as ChipHeader;
  } catch {
    throw unreadable('bad header');
  }
  const { version, size, frame, landmarks, box } = header;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (
    version !== FORMAT_VERSION ||
    !Number.isInteger(size) ||
    !Array.isArray(frame) ||
    frame.length !== 6 ||
    !frame.every(finite) ||
    !Array.isArray(landmarks) ||
    !landmarks.every(isPoint) ||
    ![box?.x1, box?.y1, box?.x2, box?.y2].every(finite)
  ) {
    throw unreadable(`unknown header (version ${String(version)})`);
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes.subarray(8 + length))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new FaceVerifyError(
      'TEMPLATE_UNREADABLE',
      'A stored face crop is unreadable: bad image',
      undefined,
      {
        cause: err,
      },
    );
  }
  if (raw.info.width !== size || raw.info.height !== size || raw.info.channels !== 3) {
    throw unreadable(
      `image is ${raw.info.width}×${raw.info.height}×${raw.info.channels}, header says ${size}`,
    );
  }
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  return { image: { data, width: size, height: size, channels: 3 }, frame, landmarks, box };
}

/**
 * What an embedder needs to embed the face of a chip as it would from the frame.
 *
 * @example
 * const [embedding] = await embedder.embed([chipToEmbed(await decodeFaceChip(bytes))]);
 */
export function chipToEmbed(chip: FaceChip): FaceToEmbed {
  return { image: chip.image, landmarks: chip.landmarks, box: chip.box, frame: chip.frame };
}
