// Deblurring (src/core/deblur.ts) on real LFW photos blurred in the test with sharp's Gaussian blur
// (the benchmark's blur). The "crop" is the central 112×112 of the 250×250 deep-funnelled photo, about
// the aligned crop's scale, so the eye distance passed is the template's (crop px = image px).
// Time budget: 12 small decodes and a few 112-px masks (< 1 s).
import sharp from 'sharp';
import { beforeAll, expect, it } from 'vitest';
import {
  blurSigmaEstimate,
  DEFAULT_FACE_DEBLUR,
  faceDeblurSigma,
  sharpenFace,
} from '../../../src/core/deblur.js';
import { cropStatistics } from '../../../src/core/face-quality.js';
import { describeWithFaces, facePath } from '../../support/faces.js';

const PHOTOS = [
  'lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg',
  'lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg',
  'lfw/images/Aaron_Sorkin/Aaron_Sorkin_0001.jpg',
];
const EYES = 35.24; // the template's eye distance: crop pixels are image pixels

type Crop = { data: Uint8Array; width: number; height: number; channels: number };

/** The photo's central 112×112, blurred by σ first (0: as it is). */
async function centre(path: string, sigma: number): Promise<Crop> {
  const img = sigma > 0 ? sharp(facePath(path)).blur(sigma) : sharp(facePath(path));
  const { data } = await img
    .extract({ left: 69, top: 69, width: 112, height: 112 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: 112, height: 112, channels: 3 };
}

const sharpness = (c: Crop) => cropStatistics(c).sharpness;

/** Mean absolute difference of two crops over the face region (x 24–88, y 32–104). */
function faceError(a: Crop, b: Crop): number {
  let sum = 0;
  let n = 0;
  for (let y = 32; y < 104; y++) {
    for (let x = 24; x < 88; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * 112 + x) * 3 + c;
        sum += Math.abs((a.data[i] as number) - (b.data[i] as number));
        n++;
      }
    }
  }
  return sum / n;
}

describeWithFaces('deblur: blurred LFW faces', () => {
  const crops: Record<string, Record<number, Crop>> = {};
  beforeAll(async () => {
    for (const p of PHOTOS) {
      crops[p] = {};
      for (const s of [0, 1.5, 2.5, 4]) crops[p][s] = await centre(p, s);
    }
  });

  it('leaves plain photos alone: no σ for an unblurred LFW face', () => {
    // Failing means plain LFW faces would be sharpened (LFW answers could move).
    for (const p of PHOTOS) expect(faceDeblurSigma(sharpness(crops[p]![0]!), EYES)).toBe(0);
  });

  it('estimates the blur from the sharpness: σ 2.5 within ±0.6, and more blur gives a larger σ', () => {
    // Failing means the σ⁻⁴ model or its fitted constants no longer describe blurred faces.
    for (const p of PHOTOS) {
      const est = [1.5, 2.5, 4].map((s) => blurSigmaEstimate(sharpness(crops[p]![s]!), EYES));
      expect(est[1]).toBeGreaterThan(1.9);
      expect(est[1]).toBeLessThan(3.1);
      expect(est[0]).toBeLessThan(est[1] as number);
      expect(est[1]).toBeLessThan(est[2] as number);
      expect(faceDeblurSigma(sharpness(crops[p]![2.5]!), EYES)).toBeGreaterThan(0);
    }
  });

  it('scales the estimate with the face size and caps it', () => {
    // Failing means the σ is not turned from crop pixels into image pixels, or runs away on a flat face.
    expect(blurSigmaEstimate(0.012, 2 * EYES)).toBeCloseTo(2 * blurSigmaEstimate(0.012, EYES), 10);
    expect(faceDeblurSigma(0, EYES)).toBe(DEFAULT_FACE_DEBLUR.maxSigma);
    expect(faceDeblurSigma(Number.NaN, EYES)).toBe(0);
  });

  it('sharpening a σ 2.5 face brings it closer to the unblurred face and leaves the rest alone', () => {
    // Failing means the mask does not restore detail (or adds more error than it removes), or
    // it reaches pixels outside the face's region.
    for (const p of PHOTOS) {
      const [plain, blurred] = [crops[p]![0]!, crops[p]![2.5]!];
      const sigma = faceDeblurSigma(sharpness(blurred), EYES);
      const box = { x1: 40, y1: 40, x2: 72, y2: 72 }; // margin 0.6: pixels 20.8–91.2 are touched
      const sharper = sharpenFace(blurred, box, sigma);
      expect(sharpness(sharper)).toBeGreaterThan(2 * sharpness(blurred));
      expect(faceError(sharper, plain)).toBeLessThan(faceError(blurred, plain));
      for (const [x, y] of [
        [5, 5],
        [100, 100],
        [10, 60],
      ] as const) {
        const i = (y * 112 + x) * 3;
        expect(Array.from(sharper.data.subarray(i, i + 3))).toEqual(
          Array.from(blurred.data.subarray(i, i + 3)),
        );
      }
    }
  });
});
