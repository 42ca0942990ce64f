/**
 * Greedy non-maximum suppression, as in MTCNN (Zhang et al. 2016; facenet's `detect_face.nms`):
 * repeatedly keep the highest-scoring remaining box and drop every remaining box that overlaps it by
 * more than the threshold. A box whose overlap equals the threshold survives, as in the reference.
 */
import { FaceVerifyError } from '../errors.js';
import type { Box, OverlapMode } from './box.js';

/**
 * Indices of the boxes that survive greedy NMS, sorted by descending score (ties keep input order).
 *
 * @param boxes candidate boxes
 * @param scores one score per box (any numeric array, for example a slice of a model's output)
 * @param threshold a box is dropped when its overlap with a kept box is strictly greater than this
 * @param mode `'union'` for IoU, `'min'` for intersection over the smaller area (MTCNN's last stage)
 *
 * @example
 * const boxes = [
 *   { x1: 0, y1: 0, x2: 10, y2: 10 },
 *   { x1: 1, y1: 1, x2: 11, y2: 11 },
 *   { x1: 50, y1: 50, x2: 60, y2: 60 },
 * ];
 * nms(boxes, [0.8, 0.9, 0.7], 0.5, 'union'); // [1, 2]
 */
export function nms(
  boxes: readonly Readonly<Box>[],
  scores: ArrayLike<number>,
  threshold: number,
  mode: OverlapMode = 'union',
): number[] {
  const n = boxes.length;
  if (scores.length !== n) {
    throw new FaceVerifyError('INTERNAL_ERROR', `nms: ${n} boxes but ${scores.length} scores`);
  }
  // Copy coordinates into flat arrays once: the O(n²) inner loop then touches no objects.
  const x1 = new Float64Array(n);
  const y1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const y2 = new Float64Array(n);
  const area = new Float64Array(n);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const b = boxes[i]!;
    x1[i] = b.x1;
    y1[i] = b.y1;
    x2[i] = b.x2;
    y2[i] = b.y2;
    area[i] = Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
    order[i] = i;
  }
  // TypedArray#sort is stable, so equal scores keep their input order (deterministic output).
  order.sort((i, j) => scores[j]! - scores[i]!);

  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  const useMin = mode === 'min';
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    keep.push(i);
    const ax1 = x1[i]!;
    const ay1 = y1[i]!;
    const ax2 = x2[i]!;
    const ay2 = y2[i]!;
    const aArea = area[i]!;
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj]!;
      if (suppressed[j]) continue;
      const iw = Math.min(ax2, x2[j]!) - Math.max(ax1, x1[j]!);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, y2[j]!) - Math.max(ay1, y1[j]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const denom = useMin ? Math.min(aArea, area[j]!) : aArea + area[j]! - inter;
      if (denom > 0 && inter / denom > threshold) suppressed[j] = 1;
    }
  }
  return keep;
}
