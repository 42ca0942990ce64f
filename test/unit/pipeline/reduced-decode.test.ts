/**
 * The size a big JPEG is decoded to: the largest side at or above the floor that lets sharp shrink it on
 * load (a resize factor of at least k + 1 for a 1/k decode). A wrong side either loses the cheap decode
 * (factor 2.08 for 4000 → 1920 gets none) or reduces photos that gain nothing from it.
 */
import { describe, expect, it } from 'vitest';
import { reducedSide } from '../../../src/pipeline/reduced-decode.js';

describe('reducedSide', () => {
  it('reduces a 12 MP JPEG to a side sharp decodes at 1/2, and 48 MP at 1/4', () => {
    expect(reducedSide('jpeg', 4000, 1920, 1280)).toBe(1333);
    expect(4000 / 1333).toBeGreaterThanOrEqual(3);
    expect(reducedSide('jpeg', 8000, 1920, 1280)).toBe(1600);
  });
  it('keeps maxDimension where sharp already shrinks on load or nothing is gained', () => {
    expect(reducedSide('jpeg', 6000, 1920, 1280)).toBe(1920); // factor 3.1: 1/2 already
    expect(reducedSide('jpeg', 3000, 1920, 1280)).toBe(1920); // 1/2 would need ≤ 1000 px
    expect(reducedSide('jpeg', 1920, 1920, 1280)).toBe(1920);
    expect(reducedSide('jpeg', 250, 1920, 1280)).toBe(1920);
  });
  it('leaves other formats and the switched-off setting alone', () => {
    expect(reducedSide('png', 4000, 1920, 1280)).toBe(1920);
    expect(reducedSide('webp', 4000, 1920, 1280)).toBe(1920);
    expect(reducedSide('jpeg', 4000, 1920, 0)).toBe(1920);
  });
});
