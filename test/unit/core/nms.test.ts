// Time budget: each test runs NMS on at most a few hundred boxes (< 5 ms).
import { describe, expect, it } from 'vitest';
import type { Box } from '../../../src/core/box.js';
import { iou } from '../../../src/core/box.js';
import { nms } from '../../../src/core/nms.js';

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });

// A: a face; B: a slightly shifted duplicate (IoU 81/119 ≈ 0.68, min-overlap 0.81); C: a small box
// inside A (IoU 0.16, min-overlap 1); D: a separate face with the best score.
const boxes = [box(0, 0, 10, 10), box(1, 1, 11, 11), box(2, 2, 6, 6), box(50, 50, 60, 60)];
const scores = [0.9, 0.8, 0.7, 0.95];

describe('nms', () => {
  it('in union mode drops the shifted duplicate but keeps the small nested box (its IoU is only 0.16)', () => {
    expect(nms(boxes, scores, 0.5, 'union')).toEqual([3, 0, 2]);
  });

  it('in min mode also drops the nested box (overlap over the smaller area is 1)', () => {
    expect(nms(boxes, scores, 0.5, 'min')).toEqual([3, 0]);
  });

  it('returns indices by descending score, not input order, so callers can take the best first', () => {
    const far = [box(0, 0, 1, 1), box(10, 10, 11, 11), box(20, 20, 21, 21), box(30, 30, 31, 31)];
    expect(nms(far, [0.2, 0.9, 0.5, 0.7], 0.3, 'union')).toEqual([1, 3, 2, 0]);
  });

  it('breaks score ties by input order (the output must be deterministic)', () => {
    const far = [box(0, 0, 1, 1), box(10, 10, 11, 11), box(20, 20, 21, 21)];
    expect(nms(far, [0.5, 0.5, 0.5], 0.3, 'union')).toEqual([0, 1, 2]);
  });

  it('keeps a box whose overlap equals the threshold (suppression is strictly greater, as in MTCNN)', () => {
    const pair = [box(0, 0, 3, 1), box(1, 0, 4, 1)]; // IoU = 2 / 4 = 0.5 exactly
    expect(nms(pair, [0.9, 0.8], 0.5, 'union')).toEqual([0, 1]);
    expect(nms(pair, [0.9, 0.8], 0.49, 'union')).toEqual([0]);
  });

  it('is greedy: a suppressed box does not suppress others (a clustering NMS would drop C too)', () => {
    // A–B IoU = 1/3, B–C IoU = 1/3, A–C IoU = 0.
    const chain = [box(0, 0, 10, 10), box(5, 0, 15, 10), box(10, 0, 20, 10)];
    expect(nms(chain, [0.9, 0.8, 0.7], 0.3, 'union')).toEqual([0, 2]);
  });

  it('accepts typed-array scores (model outputs) and empty input', () => {
    expect(nms(boxes, Float32Array.from(scores), 0.5, 'union')).toEqual([3, 0, 2]);
    expect(nms([], new Float32Array(0), 0.5, 'union')).toEqual([]);
  });

  it('throws when boxes and scores differ in length (a silent mismatch would pair wrong scores)', () => {
    expect(() => nms(boxes, [0.5], 0.5, 'union')).toThrow(/4 boxes but 1 scores/);
  });

  it('agrees with a naive reference on random boxes (an indexing slip in the fast loop would show)', () => {
    let s = 12345;
    const rand = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const many: Box[] = [];
    const sc: number[] = [];
    for (let i = 0; i < 300; i++) {
      const x = rand() * 200;
      const y = rand() * 200;
      const w = 5 + rand() * 40;
      const h = 5 + rand() * 40;
      many.push(box(x, y, x + w, y + h));
      sc.push(rand());
    }
    for (const mode of ['union', 'min'] as const) {
      const order = sc.map((_, i) => i).sort((i, j) => sc[j]! - sc[i]!);
      const expected: number[] = [];
      for (const i of order) {
        if (expected.every((k) => iou(many[k]!, many[i]!, mode) <= 0.4)) expected.push(i);
      }
      expect(nms(many, sc, 0.4, mode)).toEqual(expected);
    }
  });
});
