/**
 * The face chip kept for re-embedding (src/pipeline/face-chip.ts), with real LFW photos and the real
 * models: a model re-embeds from the chip what it embeds from the photo, whatever its alignment
 * (MobileFaceNet's ArcFace 112×112, dlib's 150×150 chip), also for a photo that had to be turned; the
 * chip crosses inference threads; and bytes that are not a chip are refused.
 *
 * Time budget: loading two models (~3 s) and about 15 analyses.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import sharp from 'sharp';
import { cosineSimilarity } from '../../src/core/similarity.js';
import { decodeFaceChip, FACE_CHIP_SIZE } from '../../src/pipeline/face-chip.js';
import { FaceAnalyzer } from '../../src/pipeline/face-analyzer.js';
import { AnalyzerPool } from '../../src/runtime/analyzer-pool.js';
import { describeWithFaces, readFace } from '../support/faces.js';
import { rejection } from '../support/rejection.js';

const lfw = (name: string, n: number): string =>
  `lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`;
const PHOTOS = [
  lfw('George_W_Bush', 7),
  lfw('Colin_Powell', 40),
  lfw('Tony_Blair', 18),
  lfw('Serena_Williams', 1),
];

let mobile: FaceAnalyzer;
let dlib: FaceAnalyzer;

beforeAll(async () => {
  [mobile, dlib] = await Promise.all([
    FaceAnalyzer.create({ model: 'mobilefacenet' }),
    FaceAnalyzer.create({ model: 'dlib-resnet' }),
  ]);
});

afterAll(async () => {
  await Promise.all([mobile?.close(), dlib?.close()]);
});

describeWithFaces('face chip', () => {
  it('re-embeds with each model what that model embeds from the photo', async () => {
    // Wrong if it fails: a gallery moved to another model would hold templates that do not match
    // the new model's embeddings of new photos of the same people.
    for (const photo of PHOTOS) {
      const bytes = readFace(photo);
      const { faceChip } = await mobile.analyze(bytes, { faceChip: true });
      if (!faceChip) throw new Error('no chip');
      for (const analyzer of [mobile, dlib]) {
        const fromPhoto = (await analyzer.analyze(bytes)).embedding;
        const fromChip = await analyzer.embedFaceChip(faceChip);
        expect(fromChip).toHaveLength(analyzer.model.embeddingSize);
        // 60 LFW photos: min 0.9994 (mobilefacenet), 0.9999 (dlib) — docs/identities.md.
        expect(cosineSimilarity(fromPhoto, fromChip), `${photo} ${analyzer.model.name}`).toBeGreaterThan(
          0.999,
        );
      }
    }
  });

  it('is cut from the pixels the embedder saw: a photo turned sideways re-embeds the same', async () => {
    // Wrong if it fails: the chip would be cut from the unturned photo (a face lying on its side),
    // and a re-embedding of a sideways-saved photo would not match its person.
    const turned = await sharp(readFace(PHOTOS[0] as string))
      .rotate(90)
      .jpeg({ quality: 95 })
      .toBuffer();
    const analysis = await mobile.analyze(turned, { faceChip: true });
    expect(analysis.face.orientation).toBe(270);
    const fromChip = await dlib.embedFaceChip(analysis.faceChip as Uint8Array);
    expect(cosineSimilarity((await dlib.analyze(turned)).embedding, fromChip)).toBeGreaterThan(0.999);
  });

  it('is a lossless 256×256 image with its landmarks, only when asked, also from inference threads', async () => {
    // Wrong if it fails: chips would be computed (and cached) on every analysis, or lost on the way
    // back from an inference thread, so enrolling through the service would keep none.
    const bytes = readFace(PHOTOS[1] as string);
    expect('faceChip' in (await mobile.analyze(bytes))).toBe(false);
    const pool = await AnalyzerPool.create({ model: 'mobilefacenet', threads: 1 });
    try {
      const { faceChip } = await pool.analyze(bytes, { faceChip: true });
      const chip = await decodeFaceChip(faceChip as Uint8Array);
      expect(chip.image).toMatchObject({ width: FACE_CHIP_SIZE, height: FACE_CHIP_SIZE, channels: 3 });
      expect(chip.landmarks).toHaveLength(5);
      // The same chip as in this thread, byte for byte (lossless, deterministic).
      expect(Buffer.from(faceChip as Uint8Array)).toEqual(
        Buffer.from((await mobile.analyze(bytes, { faceChip: true })).faceChip as Uint8Array),
      );
    } finally {
      await pool.close();
    }
  });

  it('refuses bytes that are not a chip with TEMPLATE_UNREADABLE', async () => {
    // Wrong if it fails: a corrupt or foreign crop would be embedded as noise, or crash the job.
    const { faceChip } = await mobile.analyze(readFace(PHOTOS[2] as string), { faceChip: true });
    const chip = faceChip as Uint8Array;
    for (const bad of [
      readFace(PHOTOS[2] as string),
      chip.subarray(0, 40),
      chip.subarray(0, chip.length - 100),
    ]) {
      expect((await rejection(decodeFaceChip(bad))).code).toBe('TEMPLATE_UNREADABLE');
    }
  });
});
