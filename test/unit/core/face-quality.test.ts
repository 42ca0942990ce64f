/**
 * Quality measures against values worked out by hand, and the level rules. A failure means the
 * Laplacian, the luma, the region or the bounds logic changed.
 */
import { describe, expect, it } from 'vitest';
import {
  cropStatistics,
  DEFAULT_QUALITY_THRESHOLDS,
  faceQuality,
  qualityLevel,
  qualityScore,
  type QualityMeasures,
} from '../../../src/core/face-quality.js';
import type { InterleavedImage } from '../../../src/core/warp-affine.js';

function crop(value: (x: number, y: number) => [number, number, number], size = 112): InterleavedImage {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) data.set(value(x, y), (y * size + x) * 3);
  }
  return { data, width: size, height: size, channels: 3 };
}

const GOOD: QualityMeasures = {
  sharpness: 1,
  brightness: 120,
  contrast: 45,
  interocular_px: 60,
  occlusion: 4,
  pose: { yaw: 5, pitch: -3, roll: 2 },
};

describe('cropStatistics', () => {
  it('gives a flat crop sharpness 0, contrast 0 and its grey as brightness', () => {
    expect(cropStatistics(crop(() => [128, 128, 128]))).toEqual({
      sharpness: 0,
      brightness: 128,
      contrast: 0,
      laplacianVariance: 0,
    });
  });

  it('weighs R, G, B as BT.601 luma (pure green is 0.587 · 255)', () => {
    expect(cropStatistics(crop(() => [0, 255, 0])).brightness).toBeCloseTo(0.587 * 255, 1);
  });

  it('gives a one-pixel checkerboard of 0/255 Laplacian ±1020: variance 1020², sharpness 1020² / 127.5² = 64', () => {
    const s = cropStatistics(crop((x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0])));
    expect(s.laplacianVariance).toBe(1020 ** 2);
    expect(s.contrast).toBe(127.5);
    expect(s.sharpness).toBe(64);
  });

  it('keeps sharpness when the same detail is darker (brightness and contrast drop instead)', () => {
    const bright = cropStatistics(crop((x, y) => ((x + y) % 2 ? [200, 200, 200] : [40, 40, 40])));
    const dark = cropStatistics(crop((x, y) => ((x + y) % 2 ? [50, 50, 50] : [10, 10, 10])));
    expect(dark.sharpness).toBe(bright.sharpness);
    expect(dark.brightness).toBeLessThan(bright.brightness / 3);
    expect(dark.contrast).toBeLessThan(bright.contrast / 3);
  });

  it('gives a linear ramp (no second derivative) sharpness 0 but some contrast', () => {
    const s = cropStatistics(crop((x) => [2 * x, 2 * x, 2 * x]));
    expect(s.sharpness).toBe(0);
    expect(s.contrast).toBeGreaterThan(30);
  });

  it('looks only at the face region: pixels outside it change nothing', () => {
    const a = cropStatistics(crop((x, y) => [(x * 7 + y * 3) % 256, 100, 50]));
    const b = cropStatistics(
      crop((x, y) => (x < 20 || y > 106 ? [255, 0, 0] : [(x * 7 + y * 3) % 256, 100, 50])),
    );
    expect(b).toEqual(a);
  });
});

describe('qualityLevel', () => {
  const t = DEFAULT_QUALITY_THRESHOLDS;
  it('is high without reasons for a good face', () => {
    expect(qualityLevel(GOOD)).toEqual({ level: 'high', reasons: [] });
    expect(qualityScore(GOOD)).toBeGreaterThanOrEqual(1);
  });

  it('is medium between the bounds and low below the low bound, with the reason', () => {
    const between = (b: { medium: number; low: number }) => (b.medium + b.low) / 2;
    expect(qualityLevel({ ...GOOD, interocular_px: between(t.interocularPx) })).toEqual({
      level: 'medium',
      reasons: ['SMALL_FACE'],
    });
    expect(qualityLevel({ ...GOOD, interocular_px: t.interocularPx.low - 1 })).toEqual({
      level: 'low',
      reasons: ['SMALL_FACE'],
    });
    expect(qualityLevel({ ...GOOD, brightness: t.overexposure.low + 1 }).reasons).toEqual(['OVEREXPOSED']);
  });

  it('lists every reason in the fixed order, and the level is the worst', () => {
    const q = qualityLevel({
      ...GOOD,
      sharpness: t.sharpness.low / 2,
      brightness: between(t.brightness),
      pose: { yaw: -(t.yaw.medium + 1), pitch: 0, roll: 0 },
    });
    expect(q).toEqual({ level: 'low', reasons: ['LOW_SHARPNESS', 'LOW_BRIGHTNESS', 'EXTREME_POSE'] });
    function between(b: { medium: number; low: number }): number {
      return (b.medium + b.low) / 2;
    }
  });

  it('counts yaw and pitch in either direction but not roll (alignment undoes roll)', () => {
    expect(qualityLevel({ ...GOOD, pose: { yaw: 0, pitch: t.pitch.low + 1, roll: 0 } }).level).toBe('low');
    expect(qualityLevel({ ...GOOD, pose: { yaw: 0, pitch: -(t.pitch.low + 1), roll: 0 } }).level).toBe('low');
    expect(qualityLevel({ ...GOOD, pose: { yaw: 0, pitch: 0, roll: 170 } }).level).toBe('high');
  });

  it('treats an unreadable pose (NaN) as extreme', () => {
    expect(qualityLevel({ ...GOOD, pose: { yaw: NaN, pitch: NaN, roll: 0 } })).toEqual({
      level: 'low',
      reasons: ['EXTREME_POSE'],
    });
  });
});

describe('faceQuality', () => {
  it('combines crop statistics and landmark geometry into the API shape', () => {
    const q = faceQuality(
      crop((x, y) => ((x + y) % 2 ? [160, 140, 120] : [90, 70, 60])),
      [
        [30, 50],
        [70, 50],
        [50, 73],
        [35, 96],
        [65, 96],
      ],
    );
    expect(Object.keys(q).sort()).toEqual(
      [
        'brightness',
        'contrast',
        'interocular_px',
        'level',
        'occlusion',
        'pose',
        'reasons',
        'sharpness',
      ].sort(),
    );
    expect(q.interocular_px).toBe(40);
    expect(q.pose.roll).toBe(0);
    expect(q.reasons).toEqual([]);
    expect(q.level).toBe('high');
  });
});
