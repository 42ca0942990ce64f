/**
 * Draws a surgical-mask-like shape over nose and mouth (light blue, three pleats, ear loops), placed
 * and turned with the face's five landmarks, for the occlusion measurements of bench/quality-fit.ts.
 *
 * The shape is given in a face frame: origin at the eye midpoint, u along the eye line, v down the
 * face, both in units of the eye distance (nose tip at v ≈ 0.57, mouth at v ≈ 1.15 on a frontal face).
 */
import sharp from 'sharp';
import type { Point } from '../../src/core/similarity-transform.js';

const OUTLINE: Point[] = [
  [-1.05, 0.45],
  [-0.5, 0.3],
  [0, 0.26],
  [0.5, 0.3],
  [1.05, 0.45],
  [1.0, 1.25],
  [0.6, 1.75],
  [0, 1.9],
  [-0.6, 1.75],
  [-1.0, 1.25],
];
const PLEATS = [0.75, 1.05, 1.35];

/** The photo with a mask drawn on the face whose landmarks (in the photo's pixels) are given. */
export async function drawMask(bytes: Uint8Array, landmarks: readonly Point[]): Promise<Buffer> {
  const [le, re, nose, lm, rm] = landmarks as [Point, Point, Point, Point, Point];
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  const ex = (le[0] + re[0]) / 2;
  const ey = (le[1] + re[1]) / 2;
  const w = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const ux = (re[0] - le[0]) / w;
  const uy = (re[1] - le[1]) / w;
  // Centred between the nose and the mouth, so a turned face gets its mask where its nose is.
  const cx =
    ((nose[0] + (lm[0] + rm[0]) / 2) / 2 - ex) * ux + ((nose[1] + (lm[1] + rm[1]) / 2) / 2 - ey) * uy;
  const at = ([u, v]: Point): string => {
    const x = ex + (u * w + cx) * ux - v * w * uy;
    const y = ey + (u * w + cx) * uy + v * w * ux;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  };
  const pleats = PLEATS.map(
    (v) =>
      `<polyline points="${at([-0.98, v])} ${at([0, v + 0.05])} ${at([0.98, v])}" fill="none" stroke="#7fa9c4" stroke-width="${(w * 0.04).toFixed(1)}"/>`,
  ).join('');
  const loops = [-1, 1]
    .map(
      (s) =>
        `<polyline points="${at([s * 1.05, 0.45])} ${at([s * 1.3, 0.35])}" fill="none" stroke="#f0f0f0" stroke-width="${(w * 0.05).toFixed(1)}"/>` +
        `<polyline points="${at([s * 1.0, 1.25])} ${at([s * 1.3, 1.0])}" fill="none" stroke="#f0f0f0" stroke-width="${(w * 0.05).toFixed(1)}"/>`,
    )
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<polygon points="${OUTLINE.map(at).join(' ')}" fill="#a9cfe6" stroke="#8fb8d2" stroke-width="1"/>` +
    `${pleats}${loops}</svg>`;
  return sharp(bytes)
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png({ compressionLevel: 1 })
    .toBuffer();
}
