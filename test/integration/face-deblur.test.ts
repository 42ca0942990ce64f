/**
 * Blurred faces sharpened before embedding (FACE_DEBLUR, src/core/deblur.ts), on real LFW photos
 * blurred in the test as the benchmark blurs them. With the setting on, a face blurred by σ 3 is
 * embedded closer to the same photo unblurred than with it off, and its quality report is the same; a
 * plain photo is embedded bit for bit as with it off.
 *
 * Time budget: ~15 analyses of 250×250 photos with MobileFaceNet; a few seconds.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_FACE_DEBLUR } from '../../src/core/deblur.js';
import { cosineSimilarity } from '../../src/core/similarity.js';
import { FaceAnalyzer } from '../../src/pipeline/face-analyzer.js';
import { describeWithFaces, readFace } from '../support/faces.js';

const PHOTOS = [
  'lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg',
  'lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg',
  'lfw/images/Aaron_Sorkin/Aaron_Sorkin_0001.jpg',
];

/** Gaussian blur of σ, saved as the benchmark saves it (JPEG 95, 4:4:4). */
const blurred = async (bytes: Buffer, sigma: number) =>
  sharp(bytes).blur(sigma).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();

describeWithFaces('blurred faces are sharpened before embedding', () => {
  let on: FaceAnalyzer;
  let off: FaceAnalyzer;

  beforeAll(async () => {
    [on, off] = await Promise.all([
      FaceAnalyzer.create({ facePolicy: 'center' }),
      FaceAnalyzer.create({ facePolicy: 'center', faceDeblur: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([on?.close(), off?.close()]);
  });

  it('a sharp face is not touched: same embedding bit for bit, no deblur_sigma', async () => {
    // Failing means plain photos (LFW) are embedded differently with the setting on.
    for (const p of PHOTOS) {
      const [a, b] = await Promise.all([on.analyze(readFace(p)), off.analyze(readFace(p))]);
      expect(a.face.deblur_sigma).toBeUndefined();
      expect(a.face.quality?.sharpness).toBeGreaterThanOrEqual(DEFAULT_FACE_DEBLUR.below);
      expect(Buffer.from(a.embedding.buffer).equals(Buffer.from(b.embedding.buffer))).toBe(true);
    }
  });

  it('a face blurred by σ 3 is sharpened and embedded closer to the sharp photo', async () => {
    // Failing means the sharpening is not applied, or it no longer helps the default model.
    let cosOn = 0;
    let cosOff = 0;
    for (const p of PHOTOS) {
      const plain = await on.analyze(readFace(p));
      const blur = await blurred(readFace(p), 3);
      const [a, b] = await Promise.all([on.analyze(blur), off.analyze(blur)]);
      expect(a.face.deblur_sigma).toBeGreaterThan(1.5);
      expect(b.face.deblur_sigma).toBeUndefined();
      // The report still describes the photo as it is: blurred, with the quality score and level of
      // the face unsharpened (the score was fitted on such faces; QUALITY_FILTER must not move).
      expect(a.face.quality?.sharpness).toBeLessThan(DEFAULT_FACE_DEBLUR.below);
      expect(a.face.quality?.level).toBe(b.face.quality?.level);
      expect(a.face.quality?.embedding_norm).toBeCloseTo(b.face.quality?.embedding_norm ?? 0, 2);
      cosOn += cosineSimilarity(a.embedding, plain.embedding) / PHOTOS.length;
      cosOff += cosineSimilarity(b.embedding, plain.embedding) / PHOTOS.length;
    }
    expect(cosOn).toBeGreaterThan(cosOff + 0.02);
  });
});
