import { describe, expect, it } from 'vitest';
import { selectFace } from '../../../src/pipeline/select-face.js';
import type { DetectedFace } from '../../../src/pipeline/mtcnn/mtcnn.js';

describe('selectFace', () => {
  const face = (x1: number, y1: number, side: number): DetectedFace => ({
    box: { x1, y1, x2: x1 + side, y2: y1 + side },
    score: 0.99,
    landmarks: [],
  });
  const image = { width: 400, height: 400 };
  const big = face(0, 0, 120); // largest, in a corner
  const central = face(150, 150, 100); // a bit smaller, centred

  it('strict: one face is fine, two give MULTIPLE_FACES with the faces listed, none gives NO_FACE', () => {
    expect(selectFace([central], 'strict', image)).toBe(central);
    expect(() => selectFace([big, central], 'strict', image, (f) => f.length)).toThrow(
      expect.objectContaining({ code: 'MULTIPLE_FACES', details: { faces: 2 } }),
    );
    expect(() => selectFace([], 'largest', image)).toThrow(expect.objectContaining({ code: 'NO_FACE' }));
  });

  it('largest picks the biggest box; center trades size for distance from the centre (InsightFace)', () => {
    expect(selectFace([central, big], 'largest', image)).toBe(big);
    expect(selectFace([big, central], 'center', image)).toBe(central);
  });
});
