// Time budget: a few 100×100 images (< 10 ms).
import { describe, expect, it } from 'vitest';
import { applyGamma, brightenGamma, lumaPercentile } from '../../../src/core/exposure.js';

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
});
