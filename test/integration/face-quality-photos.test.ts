/**
 * Face quality on real photos through the real detector and alignment, with the photo changed in the
 * test: each change must move its own measure the right way. A failure means a measure no longer
 * tracks what it claims to (or the crop is not the face).
 */
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { faceQuality, type FaceQuality } from '../../src/core/face-quality.js';
import type { Point } from '../../src/core/similarity-transform.js';
import { alignedFaceCrop } from '../../src/pipeline/align-crop.js';
import { describeWithFaces, readFace } from '../support/faces.js';
import { useVerifier } from '../support/verifier.js';

const PHOTO = 'sanity/face_recognition/obama/obama-480p.jpg';
const LFW = 'lfw/images/George_W_Bush/George_W_Bush_0007.jpg';

describeWithFaces('face quality on real photos', () => {
  const verifier = useVerifier();

  async function quality(bytes: Uint8Array): Promise<FaceQuality> {
    const { image, faces } = await verifier.analyzer().detectAll(bytes);
    const face = faces[0];
    if (!face) throw new Error('no face found');
    const crop = alignedFaceCrop({ ...image, channels: 3 }, face.landmarks);
    const original = face.landmarks.map(([x, y]): Point => [x * image.scale, y * image.scale]);
    return faceQuality(crop, original);
  }

  it('rates the plain photos high, with a near-frontal pose', async () => {
    for (const file of [PHOTO, LFW]) {
      const q = await quality(readFace(file));
      expect(q.level, file).toBe('high');
      expect(Math.abs(q.pose.yaw), file).toBeLessThan(20);
      expect(Math.abs(q.pose.roll), file).toBeLessThan(15);
    }
  });

  it('loses sharpness monotonically as blur grows, and says LOW_SHARPNESS when it is strong', async () => {
    const plain = readFace(PHOTO);
    const values = [(await quality(plain)).sharpness];
    for (const sigma of [1, 2, 4])
      values.push((await quality(await sharp(plain).blur(sigma).png().toBuffer())).sharpness);
    for (let i = 1; i < values.length; i++)
      expect(values[i], `σ step ${i}`).toBeLessThan(values[i - 1] as number);
    const strong = await quality(await sharp(plain).blur(6).png().toBuffer());
    expect(strong.reasons).toContain('LOW_SHARPNESS');
  });

  it('loses brightness in proportion to darkening, and says LOW_BRIGHTNESS when dark', async () => {
    const plain = readFace(LFW);
    const base = await quality(plain);
    const half = await quality(await sharp(plain).linear(0.5, 0).png().toBuffer());
    const dark = await quality(await sharp(plain).linear(0.22, 0).png().toBuffer());
    expect(half.brightness / base.brightness).toBeCloseTo(0.5, 1);
    expect(dark.brightness).toBeLessThan(half.brightness);
    expect(dark.reasons).toContain('LOW_BRIGHTNESS');
    expect(dark.reasons).not.toContain('LOW_SHARPNESS');
  });

  it('gives a downscaled photo a proportionally smaller interocular distance', async () => {
    const plain = readFace(PHOTO);
    const { width = 0 } = await sharp(plain).metadata();
    const base = await quality(plain);
    const half = await quality(
      await sharp(plain)
        .resize(Math.round(width / 2))
        .png()
        .toBuffer(),
    );
    expect(half.interocular_px / base.interocular_px).toBeGreaterThan(0.45);
    expect(half.interocular_px / base.interocular_px).toBeLessThan(0.55);
  });

  it('gives a photo turned by 20° a roll 20° larger', async () => {
    const plain = readFace(PHOTO);
    const base = await quality(plain);
    const turned = await quality(await sharp(plain).rotate(20).png().toBuffer());
    expect(turned.pose.roll - base.pose.roll).toBeGreaterThan(17);
    expect(turned.pose.roll - base.pose.roll).toBeLessThan(23);
  });
});
