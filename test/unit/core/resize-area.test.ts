import { describe, expect, it } from 'vitest';
import { resizeArea } from '../../../src/core/resize-area.js';
import type { InterleavedImage } from '../../../src/core/warp-affine.js';
import { prng } from '../../support/prng.js';

function randomImage(width: number, height: number, channels: number, seed: number): InterleavedImage {
  const rand = prng(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { data, width, height, channels };
}

/** The definition, directly: each output pixel integrates the source over its footprint in 2-D. */
function referenceArea(src: InterleavedImage, ow: number, oh: number): number[] {
  const sx = src.width / ow;
  const sy = src.height / oh;
  const out: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let c = 0; c < src.channels; c++) {
        let sum = 0;
        let area = 0;
        for (let y = 0; y < src.height; y++) {
          const cy = Math.min(y + 1, (oy + 1) * sy) - Math.max(y, oy * sy);
          if (cy <= 0) continue;
          for (let x = 0; x < src.width; x++) {
            const cx = Math.min(x + 1, (ox + 1) * sx) - Math.max(x, ox * sx);
            if (cx <= 0) continue;
            sum += cx * cy * (src.data[(y * src.width + x) * src.channels + c] as number);
            area += cx * cy;
          }
        }
        out.push(sum / area);
      }
    }
  }
  return out;
}

describe('resizeArea (INTER_AREA downscaling)', () => {
  it.each([
    [37, 29, 3, 26, 20],
    [128, 96, 3, 91, 69],
    [50, 50, 3, 12, 12],
    [31, 17, 1, 7, 5],
    [20, 20, 4, 20, 10],
  ])('%i×%i×%i → %i×%i matches the 2-D area integral to rounding', (w, h, c, ow, oh) => {
    const src = randomImage(w, h, c, 20261203 + w);
    const got = resizeArea(src, ow, oh);
    expect([got.width, got.height, got.channels]).toEqual([ow, oh, c]);
    const want = referenceArea(src, ow, oh);
    let worst = 0;
    want.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (got.data[i] as number)))));
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
  });

  it('keeps a flat image flat and an integer factor is the plain block mean', () => {
    const flat = { data: new Uint8Array(40 * 30 * 3).fill(173), width: 40, height: 30, channels: 3 };
    expect(new Set(resizeArea(flat, 17, 11).data)).toEqual(new Set([173]));
    // 2× on a 4×2 grey image: blocks [10, 20, 30, 40] and [50, 60, 70, 80] → means 25 and 65.
    const grey = {
      data: Uint8Array.from([10, 20, 50, 60, 30, 40, 70, 80]),
      width: 4,
      height: 2,
      channels: 1,
    };
    expect([...resizeArea(grey, 2, 1).data]).toEqual([25, 65]);
  });

  it('refuses to upscale', () => {
    expect(() => resizeArea(randomImage(10, 10, 3, 1), 11, 5)).toThrow(RangeError);
  });
});
