/**
 * The dlib chip template: our five points are where dlib's own chip extraction puts the mean face
 * (size · (padding + m) / (1 + 2·padding)), and they agree with dlib's independent 5-point shape
 * model. A wrong padding formula, a swapped left/right or a point taken from the wrong landmark
 * (e.g. the nose base 33 instead of the tip 30) would misalign every crop fed to the model.
 */
import { describe, expect, it } from 'vitest';
import { DLIB_RESNET, DLIB_TEMPLATE_150, dlibChipTemplate } from '../../../../src/models/dlib-resnet.js';

describe('dlib chip template', () => {
  it('places the mean-face points at 25 + 100·m in a 150 px chip with padding 0.25', () => {
    const expected = [
      [47.5492, 46.599], // mean of the left eye's contour (36–41)
      [100.4761, 46.599], // right eye (42–47)
      [74.0127, 76.5625], // nose tip (30)
      [50.4149, 103.0233], // mouth corners (48, 54)
      [97.6104, 103.0233],
    ];
    DLIB_TEMPLATE_150.forEach(([x, y], i) => {
      expect(x).toBeCloseTo(expected[i]?.[0] ?? NaN, 3);
      expect(y).toBeCloseTo(expected[i]?.[1] ?? NaN, 3);
    });
    expect(DLIB_RESNET.template).toBe(DLIB_TEMPLATE_150);
    expect(Object.isFrozen(DLIB_TEMPLATE_150[0])).toBe(true);
  });

  it("agrees with dlib's 5-point shape model: eye-corner midpoints within 0.6 px", () => {
    // dlib interpolation.h, 5-point branch: outer and inner corner of each eye, in [0, 1]².
    const corners = {
      left: [
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
      ],
      right: [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
      ],
    };
    const toChip = (m: number): number => 25 + 100 * m;
    const mid = (pts: number[][], k: number): number => toChip(((pts[0]?.[k] ?? 0) + (pts[1]?.[k] ?? 0)) / 2);
    const [left, right] = DLIB_TEMPLATE_150;
    expect(
      Math.hypot((left?.[0] ?? 0) - mid(corners.left, 0), (left?.[1] ?? 0) - mid(corners.left, 1)),
    ).toBeLessThan(0.6);
    expect(
      Math.hypot((right?.[0] ?? 0) - mid(corners.right, 0), (right?.[1] ?? 0) - mid(corners.right, 1)),
    ).toBeLessThan(0.6);
  });

  it('scales with size and padding as dlib does', () => {
    const [nose] = dlibChipTemplate(200, 0.2).slice(2);
    expect(nose?.[0]).toBeCloseTo((200 * (0.2 + 0.490127)) / 1.4, 6);
    expect(nose?.[1]).toBeCloseTo((200 * (0.2 + 0.515625)) / 1.4, 6);
  });
});
