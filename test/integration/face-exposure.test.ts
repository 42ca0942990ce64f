/**
 * Dark faces lifted before embedding (FACE_EXPOSURE_NORMALISE, src/core/exposure.ts), on real LFW
 * photos darkened in the test. With the setting on, a dark face is embedded closer to the same photo
 * well lit than with it off, for the default model and for the ensemble (each member aligns its own
 * way, so the gain must reach both); a normally lit face is embedded bit for bit as with it off. The
 * quality report still says how dark the photo is.
 *
 * Time budget: ~26 analyses of 250×250 photos with MobileFaceNet, 6 with the ensemble; a few seconds.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyGamma, brightenGamma, DEFAULT_FACE_EXPOSURE } from '../../src/core/exposure.js';
import { cosineSimilarity } from '../../src/core/similarity.js';
import { decodeImage } from '../../src/pipeline/decode.js';
import { FaceAnalyzer } from '../../src/pipeline/face-analyzer.js';
import { describeWithFaces, readFace } from '../support/faces.js';

const PHOTOS = [
  'lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg',
  'lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg',
  'lfw/images/Aaron_Sorkin/Aaron_Sorkin_0001.jpg',
];

/** Every channel scaled by `factor`: an underexposed copy, bright enough for the detector to find. */
const darkened = async (bytes: Buffer, factor: number) =>
  sharp(bytes).linear(factor, 0).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();

describeWithFaces('dark faces are lifted before embedding', () => {
  const analyzers: Record<'on' | 'off' | 'accurateOn' | 'accurateOff', FaceAnalyzer> = {} as never;

  beforeAll(async () => {
    const base = { facePolicy: 'center' as const };
    [analyzers.on, analyzers.off, analyzers.accurateOn, analyzers.accurateOff] = await Promise.all([
      FaceAnalyzer.create(base),
      FaceAnalyzer.create({ ...base, faceExposure: false }),
      FaceAnalyzer.create({ ...base, model: 'accurate' }),
      FaceAnalyzer.create({ ...base, model: 'accurate', faceExposure: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(Object.values(analyzers).map((a) => a?.close()));
  });

  it('a normally lit face is not touched: same embedding bit for bit, no exposure_gain', async () => {
    // Failing means plain photos (LFW) are embedded differently with the setting on.
    for (const p of PHOTOS) {
      const [on, off] = await Promise.all([
        analyzers.on.analyze(readFace(p)),
        analyzers.off.analyze(readFace(p)),
      ]);
      expect(on.face.exposure_gain).toBeUndefined();
      expect(on.face.quality?.brightness).toBeGreaterThanOrEqual(DEFAULT_FACE_EXPOSURE.below);
      expect(Buffer.from(on.embedding.buffer).equals(Buffer.from(off.embedding.buffer))).toBe(true);
    }
  });

  it('mobilefacenet: a face at 25 % brightness is lifted and embedded closer to the well-lit photo', async () => {
    // Failing means the lift is not applied, or it no longer helps the default model.
    let cosOn = 0;
    let cosOff = 0;
    for (const p of PHOTOS) {
      const lit = await analyzers.on.analyze(readFace(p));
      const dark = await darkened(readFace(p), 0.25);
      const [a, b] = await Promise.all([analyzers.on.analyze(dark), analyzers.off.analyze(dark)]);
      expect(a.face.exposure_gain).toBeGreaterThan(2);
      expect(b.face.exposure_gain).toBeUndefined();
      // The report still describes the photo as it is: dark.
      expect(a.face.quality?.brightness).toBeLessThan(DEFAULT_FACE_EXPOSURE.below);
      expect(a.face.quality?.reasons).toContain('LOW_BRIGHTNESS');
      cosOn += cosineSimilarity(a.embedding, lit.embedding) / PHOTOS.length;
      cosOff += cosineSimilarity(b.embedding, lit.embedding) / PHOTOS.length;
    }
    expect(cosOn).toBeGreaterThan(cosOff + 0.01);
  });

  it('accurate: the lift reaches both members (each aligns the face its own way)', async () => {
    // Failing means one member of the ensemble embeds the dark pixels while the other gets the lift.
    const p = PHOTOS[0] as string;
    const lit = await analyzers.accurateOn.analyze(readFace(p));
    const dark = await darkened(readFace(p), 0.25);
    const [a, b] = await Promise.all([
      analyzers.accurateOn.analyze(dark),
      analyzers.accurateOff.analyze(dark),
    ]);
    expect(a.face.exposure_gain).toBeGreaterThan(2);
    const first = analyzers.accurateOn.members[0]?.manifest.embeddingSize as number;
    const differs = (x: Float32Array, y: Float32Array) => x.some((v, i) => v !== y[i]);
    expect(differs(a.embedding.subarray(0, first), b.embedding.subarray(0, first))).toBe(true);
    expect(differs(a.embedding.subarray(first), b.embedding.subarray(first))).toBe(true);
    // dlib's descriptor (most of the fused score) hardly depends on brightness: the lift must not cost it.
    expect(cosineSimilarity(a.embedding, lit.embedding)).toBeGreaterThan(
      cosineSimilarity(b.embedding, lit.embedding) - 0.01,
    );
  });

  it('a photo dark all over that the gamma copy misses is found on the gain copy, and lifted', async () => {
    // Failing means the low-light retry lost its second copy (dark photos answer NO_FACE again).
    const dark = await darkened(readFace('lfw/images/Faye_Dunaway/Faye_Dunaway_0002.jpg'), 0.22);
    const image = await decodeImage(dark, analyzers.on.settings.decode);
    const gammaCopy = applyGamma(image, brightenGamma(image));
    const onGamma = await analyzers.on.models.detector.detect(
      { ...gammaCopy, channels: 3 },
      analyzers.on.settings.detect,
    );
    expect(onGamma, 'the gamma copy alone finds nothing').toHaveLength(0);
    const a = await analyzers.on.analyze(dark);
    expect(a.face.exposure_gain).toBeGreaterThan(2);
    const lit = await analyzers.on.analyze(readFace('lfw/images/Faye_Dunaway/Faye_Dunaway_0002.jpg'));
    expect(cosineSimilarity(a.embedding, lit.embedding)).toBeGreaterThan(0.8);
  });
});
