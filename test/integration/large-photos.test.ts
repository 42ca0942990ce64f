/**
 * Big JPEGs (12 MP) are decoded to a reduced copy and searched for the same faces as at
 * MAX_IMAGE_DIMENSION (src/pipeline/reduced-decode.ts). Photos are made in the test from real ones: a
 * portrait of the shared set on a real landscape with no people (edge/no_face/horses.jpg), 4000×3000.
 * - a large face takes the reduced path: decoded at 1333 px, box and landmarks in original pixels
 *   within a few pixels of the full decode's, and the same face (cosine ≥ 0.99);
 * - a face near the minimum size is decoded again at MAX_IMAGE_DIMENSION: the answer is exactly the
 *   full decode's (so a bug in the fallback, or a reduction applied to small faces, fails it).
 *
 * Time budget: 12 analyses of 12 MP photos, about 3–5 s on the development machine.
 */
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cosineSimilarity } from '../../src/core/similarity.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS } from '../../src/pipeline/decode.js';
import { FaceAnalyzer } from '../../src/pipeline/face-analyzer.js';
import { describeWithFaces, facePath } from '../support/faces.js';

const W = 4000;
const H = 3000;
const PORTRAITS = ['sanity/deepface/img57.jpg', 'sanity/deepface/img9.jpg', 'sanity/deepface/img14.jpg'];

/** The portrait scaled to `height` px on the landscape, as a 4000×3000 JPEG. */
async function onLandscape(portrait: string, height: number): Promise<Buffer> {
  const srgb = (s: Sharp) => s.rotate().removeAlpha().toColourspace('srgb');
  const background = await srgb(sharp(facePath('edge/no_face/horses.jpg')))
    .resize(W, H, { fit: 'cover' })
    .png()
    .toBuffer();
  const face = await srgb(sharp(facePath(portrait)))
    .resize({ height })
    .png()
    .toBuffer({ resolveWithObject: true });
  return sharp(background)
    .composite([{ input: face.data, left: Math.round((W - face.info.width) / 2), top: 400 }])
    .removeAlpha()
    .jpeg({ quality: 92 })
    .toBuffer();
}

describeWithFaces('big JPEGs: the reduced decode', () => {
  let reduced: FaceAnalyzer;
  let full: FaceAnalyzer;
  beforeAll(async () => {
    reduced = await FaceAnalyzer.create({ decode: { ...DEFAULT_DECODE_OPTIONS, minReducedDimension: 1280 } });
    full = await FaceAnalyzer.create({ decode: { ...DEFAULT_DECODE_OPTIONS, minReducedDimension: 0 } });
  });
  afterAll(async () => {
    await reduced?.close();
    await full?.close();
  });

  it('decodes a 12 MP JPEG at 1333 px, with the scale to original pixels and the reduction', async () => {
    const image = await decodeImage(await onLandscape(PORTRAITS[0] as string, 2400), {
      ...DEFAULT_DECODE_OPTIONS,
      minReducedDimension: 1280,
    });
    expect([image.width, image.height]).toEqual([1333, 1000]);
    expect(image.scale).toBeCloseTo(4000 / 1333, 6);
    expect(image.reduction).toBeCloseTo(1333 / 1920, 3);
  });

  it.each(PORTRAITS)('finds the same large face in %s and embeds it the same', async (portrait) => {
    const bytes = await onLandscape(portrait, 2400);
    const a = await reduced.analyze(bytes, { facePolicy: 'largest' });
    const b = await full.analyze(bytes, { facePolicy: 'largest' });
    expect(a.timings.decode).toBeGreaterThan(0);
    expect([a.width, a.height]).toEqual([W, H]);
    expect(a.faceCount).toBe(b.faceCount);
    const side = b.face.box.width;
    expect(side).toBeGreaterThan(300);
    expect(Math.abs(a.face.box.x - b.face.box.x)).toBeLessThan(0.05 * side);
    expect(Math.abs(a.face.box.width - b.face.box.width)).toBeLessThan(0.05 * side);
    for (const [i, [x, y]] of a.face.landmarks.entries() as IterableIterator<[number, [number, number]]>) {
      const [bx, by] = b.face.landmarks[i] as [number, number];
      expect(Math.hypot(x - bx, y - by)).toBeLessThan(0.05 * side);
    }
    expect(cosineSimilarity(a.embedding, b.embedding)).toBeGreaterThanOrEqual(0.99);
  });

  it('analyses a face near the minimum size exactly as the full decode does', async () => {
    // About 210 px of face in the original: 100 px at 1920, under twice the 60 px minimum.
    const bytes = await onLandscape(PORTRAITS[0] as string, 700);
    const a = await reduced.analyze(bytes, { facePolicy: 'largest' });
    const b = await full.analyze(bytes, { facePolicy: 'largest' });
    expect(b.face.box.width).toBeLessThan(2 * 60 * (W / 1920));
    expect(a.face).toEqual(b.face);
    expect(Array.from(a.embedding)).toEqual(Array.from(b.embedding));
  });
});
