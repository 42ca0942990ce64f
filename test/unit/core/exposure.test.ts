// Time budget: a few 100×100 images (< 10 ms).
import { describe, expect, it } from 'vitest';
import {
  applyGain,
  applyGamma,
  brightenGain,
  brightenGamma,
  DEFAULT_FACE_EXPOSURE,
  faceExposureGain,
  lumaPercentile,
} from '../../../src/core/exposure.js';

const flat = (v: number) => ({ width: 100, height: 100, data: new Uint8Array(100 * 100 * 3).fill(v) });

describe('exposure', () => {
  it('lumaPercentile reads the grey level of a flat image', () => {
    // Failing means dark photos are not recognised as dark (or bright ones as dark).
    expect(lumaPercentile(flat(51), 0.25)).toBeCloseTo(0.2, 2);
  });

  it('brightens only what is dark: gamma 1 for a bright photo, < 1 lifting the percentile to the target', () => {
    // Failing means well-exposed photos are altered (LFW would move) or dark ones are not lifted.
    expect(brightenGamma(flat(200))).toBe(1);
    const g = brightenGamma(flat(20));
    expect(g).toBeLessThan(1);
    expect(lumaPercentile(applyGamma(flat(20), g), 0.25)).toBeCloseTo(0.35, 1);
    expect(brightenGamma(flat(0))).toBe(0.3); // the strongest curve allowed, never 0
  });

  it('applyGamma keeps black and white and is monotonic', () => {
    // Failing means the curve clips or reorders brightness (it must keep the face's structure).
    const ramp = {
      width: 256,
      height: 1,
      data: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)),
    };
    const out = applyGamma(ramp, 0.5).data;
    expect(out[0]).toBe(0);
    expect(out[765]).toBe(255);
    for (let i = 3; i < out.length; i += 3) expect(out[i]).toBeGreaterThanOrEqual(out[i - 3] as number);
  });

  it('faceExposureGain: 1 for a normally lit face, else the gain that lifts its mean to the target', () => {
    // Failing means normally lit faces are no longer embedded from their own pixels (LFW would move),
    // or dark faces are not lifted, or a black face gets an unbounded gain.
    const { below, target, maxGain } = DEFAULT_FACE_EXPOSURE;
    expect(faceExposureGain(below)).toBe(1);
    expect(faceExposureGain(130)).toBe(1);
    expect(faceExposureGain(Number.NaN)).toBe(1);
    expect(faceExposureGain(30)).toBeCloseTo(target / 30, 10);
    expect(faceExposureGain(0)).toBe(maxGain);
  });

  it('applyGain scales every channel and clips at 255', () => {
    // Failing means the lift changes the face's tones other than in proportion, or wraps around.
    const px = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 100, 200, 0]) };
    expect([...applyGain(px, 3).data]).toEqual([30, 60, 90, 255, 255, 0]);
    expect([...applyGain(px, 1).data]).toEqual([...px.data]);
  });

  it('brightenGain: lifts a photo dark all over so its highlights reach the target, leaves others', () => {
    // Failing means the detector's second look on a dark photo no longer gets a gain copy, or a
    // normally exposed photo without a face is searched again for nothing.
    expect(brightenGain(flat(200))).toBe(1);
    expect(brightenGain(flat(180))).toBe(1); // would need less than the minimum gain
    expect(brightenGain(flat(51))).toBeCloseTo(0.9 / 0.2, 1);
    expect(brightenGain(flat(0))).toBe(8);
  });
});
