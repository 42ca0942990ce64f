/**
 * The benchmark's degradations, checked on the pixels of a real LFW photo: a turned photo is turned
 * (and carries no EXIF unless asked), darkening darkens by the asked factor, noise has the asked spread
 * and repeats with its seed, the mask and the occluders cover the part of the face the landmarks say
 * and leave the rest alone. A wrong formula would move the benchmark's rows without anyone noticing.
 */
import sharp from 'sharp';
import { beforeAll, expect, it } from 'vitest';
import { decodeImage } from '../../../src/pipeline/decode.js';
import { degrade, faceFrame, maskPolygon, type Landmarks } from '../../../src/eval/degrade.js';
import { haveHeicEncoder } from '../../../src/eval/heic-encoder.js';
import { describeWithFaces, HAVE_FACES, readFace } from '../../support/faces.js';
import { useVerifier } from '../../support/verifier.js';

const photo = HAVE_FACES ? readFace('lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg') : Buffer.alloc(0);

interface Pixels {
  data: Buffer;
  width: number;
  height: number;
}

async function pixels(bytes: Uint8Array, autoOrient = false): Promise<Pixels> {
  const img = autoOrient ? sharp(bytes).autoOrient() : sharp(bytes);
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function meanAbsDiff(a: Pixels, b: Pixels): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}

function mean(p: Pixels): number {
  let s = 0;
  for (const v of p.data) s += v;
  return s / p.data.length;
}

/** The RGB at a point, averaged over a 5 × 5 patch. */
function at(p: Pixels, x: number, y: number): [number, number, number] {
  const sum = [0, 0, 0];
  for (let dy = -2; dy <= 2; dy++)
    for (let dx = -2; dx <= 2; dx++) {
      const i = ((Math.round(y) + dy) * p.width + Math.round(x) + dx) * 3;
      for (let c = 0; c < 3; c++) sum[c] = sum[c]! + p.data[i + c]! / 25;
    }
  return [sum[0]!, sum[1]!, sum[2]!];
}

/** The largest difference between two colours, over the channels. */
function channelDiff(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, c) => Math.abs(v - b[c]!)));
}

describeWithFaces('degradations', () => {
  const verifier = useVerifier();
  let landmarks: Landmarks = [];
  let original: Pixels;

  beforeAll(async () => {
    landmarks = (await verifier().analyze(photo, { facePolicy: 'center' })).face.landmarks;
    original = await pixels(photo);
  });

  it('turns the pixels without EXIF, or with the EXIF tag that turns them back', async () => {
    const turned = await degrade(photo, { kind: 'rotate', degrees: 90 }, { seed: 1 });
    expect((await sharp(turned).metadata()).orientation).toBeUndefined();
    expect(
      meanAbsDiff(await pixels(turned), await pixels(await sharp(photo).rotate(90).toBuffer())),
    ).toBeLessThan(3);
    expect(
      meanAbsDiff(await pixels(turned), await pixels(await sharp(photo).rotate(270).toBuffer())),
    ).toBeGreaterThan(15);

    const tagged = await degrade(photo, { kind: 'rotate-exif' }, { seed: 1 });
    expect((await sharp(tagged).metadata()).orientation).toBe(6);
    expect(meanAbsDiff(await pixels(tagged, true), original)).toBeLessThan(3);
  });

  it('darkens by the factor and the gamma asked', async () => {
    const dark = await pixels(await degrade(photo, { kind: 'darken', factor: 0.22, gamma: 1 }, { seed: 1 }));
    expect(mean(dark) / mean(original)).toBeCloseTo(0.22, 1);
    const gamma = await pixels(await degrade(photo, { kind: 'darken', factor: 1, gamma: 2 }, { seed: 1 }));
    // Each level v becomes 255 · (v / 255)²: the mean of the original's levels so mapped.
    let expected = 0;
    for (const v of original.data) expected += 255 * (v / 255) ** 2;
    expect(mean(gamma)).toBeCloseTo(expected / original.data.length, 0);
  });

  it('adds noise of the asked spread, the same for the same seed', async () => {
    const a = await degrade(photo, { kind: 'noise', sigma: 20 }, { seed: 5 });
    expect(a.equals(await degrade(photo, { kind: 'noise', sigma: 20 }, { seed: 5 }))).toBe(true);
    expect(a.equals(await degrade(photo, { kind: 'noise', sigma: 20 }, { seed: 6 }))).toBe(false);
    const p = await pixels(a);
    let s2 = 0;
    for (let i = 0; i < p.data.length; i++) s2 += (p.data[i]! - original.data[i]!) ** 2;
    // Clipping at 0 and 255 and JPEG smoothing take a little off the 20 levels.
    expect(Math.sqrt(s2 / p.data.length)).toBeGreaterThan(14);
    expect(Math.sqrt(s2 / p.data.length)).toBeLessThan(22);
  });

  it('draws the mask from below the eyes to the chin and leaves the eyes alone', async () => {
    const masked = await pixels(await degrade(photo, { kind: 'mask' }, { seed: 1, landmarks }));
    const [le, re, nose, ml, mr] = landmarks as [number, number][];
    for (const p of [nose!, ml!, mr!]) {
      const [r, g, b] = at(masked, p[0], p[1]);
      expect(b).toBeGreaterThan(200); // light blue #a9d4ec
      expect(b - r).toBeGreaterThan(40);
      expect(g).toBeGreaterThan(180);
    }
    for (const p of [le!, re!])
      expect(channelDiff(at(masked, p[0], p[1]), at(original, p[0], p[1]))).toBeLessThan(8);
    // The outline ends at the chin: below the mouth by more than the eyes-to-mouth distance.
    const chin = Math.max(...maskPolygon(landmarks).map(([, y]) => y));
    expect(chin - ml![1]).toBeGreaterThan((ml![1] - le![1]) * 0.8);
  });

  it('occludes the eyes with a grey bar, and a backlit face is dark on a bright background', async () => {
    const bar = await pixels(
      await degrade(photo, { kind: 'occlude', part: 'eyes', fraction: 0 }, { seed: 1, landmarks }),
    );
    const [le, , , ml] = landmarks as [number, number][];
    expect(channelDiff(at(bar, le![0], le![1]), [110, 110, 110])).toBeLessThan(4); // #6e6e6e
    expect(channelDiff(at(bar, ml![0], ml![1]), at(original, ml![0], ml![1]))).toBeLessThan(8);

    const backlit = async (shape: 'silhouette' | 'face-oval'): Promise<Awaited<ReturnType<typeof pixels>>> =>
      pixels(
        await degrade(
          photo,
          { kind: 'backlit', faceFactor: 0.3, background: 0.7, shape },
          { seed: 1, landmarks },
        ),
      );
    const darkened = (img: Awaited<ReturnType<typeof pixels>>, p: readonly number[]): boolean =>
      at(img, p[0]!, p[1]!)[0] < at(original, p[0]!, p[1]!)[0] * 0.4 + 2;
    const f = faceFrame(landmarks);
    const nose = landmarks[2] as [number, number];
    // The forehead's edge and the cheek beside an eye: inside the head, outside the face's oval.
    const edges = [f.at(0, -1.5), f.at(-1.2, 0.2), f.at(1.2, 0.2)];
    const head = await backlit('silhouette');
    expect(darkened(head, nose)).toBe(true);
    for (const p of edges) expect(darkened(head, p), `head at ${p.map(Math.round).join(',')}`).toBe(true);
    expect(at(head, 4, 4)[0]).toBeGreaterThan(at(original, 4, 4)[0] + (255 - at(original, 4, 4)[0]) * 0.6);
    const oval = await backlit('face-oval');
    expect(darkened(oval, nose)).toBe(true);
    expect(edges.filter((p) => darkened(oval, p))).toHaveLength(0);
  });

  it('scales, embeds in a 12 MP canvas, tilts, blurs and greys as asked', async () => {
    expect(
      (await sharp(await degrade(photo, { kind: 'downscale', size: 100 }, { seed: 1 })).metadata()).width,
    ).toBe(100);
    const big = await degrade(
      photo,
      { kind: 'embed', width: 4000, height: 3000, faceFraction: 0.3 },
      { seed: 1 },
    );
    const meta = await sharp(big).metadata();
    expect([meta.width, meta.height]).toEqual([4000, 3000]);
    // Centred, so that "the most central face" means the same face as on the photo: the canvas's
    // centre shows the photo's centre, its corner the flat background.
    const canvas = await pixels(big);
    expect(channelDiff(at(canvas, 2000, 1500), at(original, 125, 125))).toBeLessThan(30);
    expect(
      channelDiff(at(canvas, 2000 - 400, 1500 - 400), at(original, 125 - 400 / 3.6, 125 - 400 / 3.6)),
    ).toBeLessThan(30);
    const tilted = await sharp(await degrade(photo, { kind: 'tilt', degrees: 25 }, { seed: 1 })).metadata();
    // A 250-px square turned by 25° needs 250 · (cos 25° + sin 25°) ≈ 332 px.
    expect(tilted.width).toBeGreaterThan(325);
    const gray = await pixels(await degrade(photo, { kind: 'grayscale' }, { seed: 1 }));
    const [r, g, b] = at(gray, 125, 125);
    expect(Math.abs(r - g) + Math.abs(g - b)).toBeLessThan(3);
    const blurred = await pixels(await degrade(photo, { kind: 'blur', sigma: 2.5 }, { seed: 1 }));
    expect(meanAbsDiff(blurred, original)).toBeGreaterThan(3);
  });

  it('saves a HEIC that the decoder reads back as the same photo (needs heif-enc)', async (t) => {
    if (!(await haveHeicEncoder())) {
      if (process.env.CI === 'true') throw new Error('CI must have heif-enc (libheif-examples)');
      t.skip();
      return;
    }
    const heic = await degrade(photo, { kind: 'heic', quality: 60 }, { seed: 1 });
    expect(heic.toString('latin1', 4, 12)).toBe('ftypheic');
    const img = await decodeImage(heic);
    expect(
      meanAbsDiff({ data: Buffer.from(img.data), width: img.width, height: img.height }, original),
    ).toBeLessThan(6);
  }, 20_000);
});
