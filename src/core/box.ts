/**
 * Axis-aligned boxes as MTCNN produces and consumes them.
 *
 * Coordinates are pixels with x to the right and y down, as floats. Width is `x2 - x1` and height is
 * `y2 - y1`: unlike the original MTCNN code (Matlab, and facenet's `detect_face.py`), we do not add 1,
 * because our boxes are continuous regions rather than inclusive ranges of integer pixels. The +1 only
 * shifts IoU values of tiny boxes, which MTCNN never keeps anyway (min face size ≥ 12 px).
 */

/** An axis-aligned box in pixel coordinates (x right, y down); width = x2 - x1, height = y2 - y1. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** How IoU's denominator is formed: the union of the two boxes, or the smaller of the two areas. */
export type OverlapMode = 'union' | 'min';

/**
 * Area of a box; an inverted box (x2 < x1 or y2 < y1) has area 0 rather than a negative or
 * spuriously positive area.
 *
 * @example
 * boxArea({ x1: 0, y1: 0, x2: 4, y2: 3 }); // 12
 */
export function boxArea(box: Readonly<Box>): number {
  return Math.max(0, box.x2 - box.x1) * Math.max(0, box.y2 - box.y1);
}

/**
 * Overlap of two boxes: intersection over union (`'union'`), or intersection over the smaller area
 * (`'min'`, which MTCNN's output stage uses so that a small box inside a large one counts as a duplicate).
 * Returns 0 when the denominator is 0 (degenerate boxes) instead of NaN.
 *
 * @example
 * iou({ x1: 0, y1: 0, x2: 2, y2: 2 }, { x1: 1, y1: 0, x2: 3, y2: 2 }, 'union'); // 2 / 6 = 0.333…
 */
export function iou(a: Readonly<Box>, b: Readonly<Box>, mode: OverlapMode = 'union'): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const areaA = boxArea(a);
  const areaB = boxArea(b);
  const denom = mode === 'min' ? Math.min(areaA, areaB) : areaA + areaB - inter;
  return denom > 0 ? inter / denom : 0;
}

/**
 * MTCNN's convert-to-square (`rerec`): the square with the same centre whose side is the larger of the
 * box's width and height. The next stage's network takes square crops, so this avoids distorting faces.
 *
 * @example
 * squareBox({ x1: 10, y1: 0, x2: 20, y2: 20 }); // { x1: 5, y1: 0, x2: 25, y2: 20 }
 */
export function squareBox(box: Readonly<Box>): Box {
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  const side = Math.max(w, h);
  const cx = box.x1 + w / 2;
  const cy = box.y1 + h / 2;
  return { x1: cx - side / 2, y1: cy - side / 2, x2: cx + side / 2, y2: cy + side / 2 };
}
