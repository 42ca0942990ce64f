/**
 * The aligned face crop as 8-bit RGB: the same five-point similarity alignment the embedder uses
 * (src/pipeline/embedder.ts, `alignmentTransform` onto the ArcFace template, bilinear warp with
 * OpenCV's conventions), but kept as pixels instead of a normalised tensor, for the quality measures
 * (src/core/face-quality.ts) and for looking at what the model saw.
 *
 * Layout: interleaved RGB (HWC), `size × size × 3` bytes; pixels outside the source are 0 (black), as
 * in the embedder's input.
 */
import { ARCFACE_TEMPLATE_112, scaleTemplate, type Point } from '../core/similarity-transform.js';
import { warpAffine, type InterleavedImage } from '../core/warp-affine.js';
import { alignmentTransform } from './embedder.js';

/**
 * Warps the face with these landmarks (continuous pixel coordinates of `image`, as the detector
 * gives them) onto the ArcFace template scaled to `size`, rounded to 8 bits.
 *
 * @example
 * const crop = alignedFaceCrop({ ...decoded, channels: 3 }, face.landmarks); // 112×112 RGB
 */
export function alignedFaceCrop(
  image: Readonly<InterleavedImage>,
  landmarks: readonly Point[],
  size = 112,
): InterleavedImage {
  const template = size === 112 ? ARCFACE_TEMPLATE_112 : scaleTemplate(ARCFACE_TEMPLATE_112, 112, size);
  const warped = warpAffine(image, alignmentTransform(landmarks, template), size, size);
  const data = new Uint8Array(warped.length);
  for (let i = 0; i < warped.length; i++) data[i] = Math.round(warped[i]!);
  return { data, width: size, height: size, channels: image.channels };
}
