/**
 * Sideways, upside-down and dark photos (issue #15), made in the test from real LFW photos: the pixels
 * turned without an EXIF tag (a scan, a re-saved phone photo) and brightness scaled down. With the
 * default settings the face is found, reported in the photo's own pixels with the turn that shows it
 * upright, and embedded like the original; with ORIENTATION_SEARCH / LOW_LIGHT_RETRY off the same
 * photos give NO_FACE, so the tests fail if the second looks stop working.
 *
 * Time budget: ~25 analyses of 250×250 photos; a few seconds.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cosineSimilarity } from '../../src/core/similarity.js';
import type { FaceAnalysis } from '../../src/pipeline/face-analysis.js';
import { FaceAnalyzer } from '../../src/pipeline/face-analyzer.js';
import { describeWithFaces, readFace } from '../support/faces.js';

const PHOTOS = [
  'lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg',
  'lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg',
];

/** The photo's pixels turned clockwise, saved without metadata (no EXIF orientation). */
const turned = async (bytes: Buffer, degrees: number) =>
  sharp(bytes).rotate(degrees).jpeg({ quality: 92 }).toBuffer();
const darkened = async (bytes: Buffer, factor: number) =>
  sharp(bytes).linear(factor, 0).jpeg({ quality: 92 }).toBuffer();

/** Where a point of the upright 250×250 photo lands after sharp turns it clockwise. */
function turnPoint([x, y]: number[], degrees: number, w: number, h: number): [number, number] {
  if (degrees === 90) return [h - (y as number), x as number];
  if (degrees === 180) return [w - (x as number), h - (y as number)];
  return [y as number, w - (x as number)];
}

describeWithFaces('orientation search and low-light retry on real photos', () => {
  let on: FaceAnalyzer;
  let off: FaceAnalyzer;
  const upright = new Map<string, FaceAnalysis>();

  beforeAll(async () => {
    [on, off] = await Promise.all([
      FaceAnalyzer.create({ facePolicy: 'center' }),
      FaceAnalyzer.create({ facePolicy: 'center', orientationSearch: false, lowLightRetry: false }),
    ]);
    for (const p of PHOTOS) upright.set(p, await on.analyze(readFace(p)));
  });
  afterAll(async () => {
    await Promise.all([on?.close(), off?.close()]);
  });

  for (const degrees of [90, 180, 270]) {
    it(`a photo turned ${degrees}° without EXIF: found, turned back, same face and embedding`, async () => {
      for (const p of PHOTOS) {
        const bytes = await turned(readFace(p), degrees);
        await expect(off.analyze(bytes)).rejects.toMatchObject({ code: 'NO_FACE' });
        const a = await on.analyze(bytes);
        const u = upright.get(p) as FaceAnalysis;
        expect(u.face.orientation).toBe(0);
        expect(a.face.orientation, 'the turn that makes it upright').toBe((360 - degrees) % 360);
        // The landmarks, in the turned photo's own pixels, are the upright ones turned.
        a.face.landmarks.forEach((pt, i) => {
          const [ex, ey] = turnPoint(u.face.landmarks[i] as number[], degrees, u.width, u.height);
          expect(Math.hypot((pt[0] as number) - ex, (pt[1] as number) - ey), `landmark ${i}`).toBeLessThan(4);
        });
        expect(cosineSimilarity(a.embedding, u.embedding)).toBeGreaterThan(0.9);
      }
    });
  }

  it('a dark photo (7 % brightness): found on a brightened copy, embedded close to the original', async () => {
    const p = PHOTOS[0] as string;
    const bytes = await darkened(readFace(p), 0.07);
    await expect(off.analyze(bytes)).rejects.toMatchObject({ code: 'NO_FACE' });
    const a = await on.analyze(bytes);
    expect(a.face.orientation).toBe(0);
    expect(cosineSimilarity(a.embedding, (upright.get(p) as FaceAnalysis).embedding)).toBeGreaterThan(0.7);
  });

  it('a photo with no face still answers NO_FACE after every second look', async () => {
    const grey = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#202020' } })
      .jpeg()
      .toBuffer();
    await expect(on.analyze(grey)).rejects.toMatchObject({ code: 'NO_FACE' });
  });
});
