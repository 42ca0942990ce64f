// Time budget: every test here is a handful of arithmetic operations (< 1 ms).
import { describe, expect, it } from 'vitest';
import { boxArea, iou, squareBox, type Box } from '../../../src/core/box.js';

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });

describe('boxArea', () => {
  it('is width × height with width = x2 − x1 (no MTCNN-style +1, which would give 20)', () => {
    expect(boxArea(box(0, 0, 4, 3))).toBe(12);
    expect(boxArea(box(1.5, 2, 3, 4.5))).toBeCloseTo(3.75, 12);
  });

  it('is 0 for an inverted box (a negative or positive product of two negatives would corrupt IoU)', () => {
    expect(boxArea(box(5, 5, 1, 1))).toBe(0);
    expect(boxArea(box(0, 5, 4, 1))).toBe(0);
  });
});

describe('iou', () => {
  const a = box(0, 0, 2, 2);
  const b = box(1, 0, 3, 2);

  it('divides by the union in union mode (2 / (4 + 4 − 2)); otherwise duplicates are judged wrongly', () => {
    expect(iou(a, b, 'union')).toBeCloseTo(1 / 3, 12);
  });

  it('divides by the smaller area in min mode (2 / 4), as MTCNN output-stage NMS expects', () => {
    expect(iou(a, b, 'min')).toBeCloseTo(0.5, 12);
  });

  it('counts a box nested in a larger one as a full overlap only in min mode', () => {
    const outer = box(0, 0, 10, 10);
    const inner = box(2, 2, 4, 4);
    expect(iou(outer, inner, 'union')).toBeCloseTo(0.04, 12);
    expect(iou(outer, inner, 'min')).toBe(1);
  });

  it('is symmetric (NMS results would depend on argument order otherwise)', () => {
    const c = box(0.3, -1.2, 5.5, 2.7);
    const d = box(-2, 0.1, 1.9, 9);
    expect(iou(c, d, 'union')).toBe(iou(d, c, 'union'));
    expect(iou(c, d, 'min')).toBe(iou(d, c, 'min'));
  });

  it('is 1 for identical boxes and 0 for disjoint or edge-touching ones', () => {
    expect(iou(a, a, 'union')).toBe(1);
    expect(iou(a, box(5, 5, 6, 6), 'union')).toBe(0);
    expect(iou(a, box(2, 0, 4, 2), 'union')).toBe(0); // shares only the edge x = 2
  });

  it('is 0, not NaN, for degenerate (zero-area) boxes, so NMS comparisons stay well defined', () => {
    const p = box(1, 1, 1, 1);
    expect(iou(p, p, 'union')).toBe(0);
    expect(iou(p, a, 'min')).toBe(0);
  });

  it('defaults to union mode', () => {
    expect(iou(a, b)).toBe(iou(a, b, 'union'));
  });
});

describe('squareBox', () => {
  it('widens a tall box about its centre (a shifted square would crop the face off-centre)', () => {
    expect(squareBox(box(10, 0, 20, 20))).toEqual(box(5, 0, 25, 20));
  });

  it('heightens a wide box about its centre', () => {
    expect(squareBox(box(0, 10, 30, 20))).toEqual(box(0, 0, 30, 30));
  });

  it('keeps the centre and makes width = height = max(w, h) for arbitrary floats', () => {
    const r = box(3.25, -7.5, 11.75, 4.125);
    const s = squareBox(r);
    expect(s.x2 - s.x1).toBeCloseTo(Math.max(r.x2 - r.x1, r.y2 - r.y1), 12);
    expect(s.y2 - s.y1).toBeCloseTo(s.x2 - s.x1, 12);
    expect((s.x1 + s.x2) / 2).toBeCloseTo((r.x1 + r.x2) / 2, 12);
    expect((s.y1 + s.y2) / 2).toBeCloseTo((r.y1 + r.y2) / 2, 12);
  });

  it('returns a new box and leaves the input alone', () => {
    const r = box(0, 0, 4, 2);
    const s = squareBox(r);
    expect(s).not.toBe(r);
    expect(r).toEqual(box(0, 0, 4, 2));
  });
});
