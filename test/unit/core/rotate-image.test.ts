// Time budget: a few tiny images (< 5 ms).
import { describe, expect, it } from 'vitest';
import { rotateImage, unrotatePoint, type QuarterTurn } from '../../../src/core/rotate-image.js';

/** A 3×2 RGB image whose pixel (x, y) has red = 10·x + y. */
const image = {
  width: 3,
  height: 2,
  data: Uint8Array.from({ length: 18 }, (_, i) => {
    const p = Math.floor(i / 3);
    return i % 3 === 0 ? 10 * (p % 3) + Math.floor(p / 3) : 0;
  }),
};
const red = (img: { data: Uint8Array | Uint8ClampedArray; width: number }, x: number, y: number) =>
  img.data[(y * img.width + x) * 3];

describe('rotateImage and unrotatePoint', () => {
  it('turns 90° clockwise: the bottom-left pixel becomes the top-left, sizes swap', () => {
    // Failing means a sideways photo is searched turned the wrong way (or mirrored).
    const r = rotateImage(image, 90);
    expect([r.width, r.height]).toEqual([2, 3]);
    expect(red(r, 0, 0)).toBe(red(image, 0, 1));
    expect(red(r, 1, 0)).toBe(red(image, 0, 0));
    expect(red(r, 0, 2)).toBe(red(image, 2, 1));
  });

  it('every turn maps each pixel centre back to the pixel it came from', () => {
    // Failing means faces found in a turned photo are reported at the wrong place in the original.
    for (const turn of [0, 90, 180, 270] as QuarterTurn[]) {
      const r = rotateImage(image, turn);
      for (let v = 0; v < r.height; v++) {
        for (let u = 0; u < r.width; u++) {
          const [x, y] = unrotatePoint([u + 0.5, v + 0.5], turn, r.width, r.height);
          expect(red(r, u, v), `turn ${turn} at (${u}, ${v})`).toBe(red(image, x - 0.5, y - 0.5));
        }
      }
    }
  });

  it('90 then 270 is the identity; 180 twice too', () => {
    // Failing means the turns are not exact quarter turns.
    expect(rotateImage(rotateImage(image, 90), 270).data).toEqual(image.data);
    expect(rotateImage(rotateImage(image, 180), 180).data).toEqual(image.data);
  });
});
