/**
 * Choosing one face in a group photo. A task that fails with MULTIPLE_FACES says so by its code, but
 * the boxes of the faces it found are not part of a task's error, so the user points at the face
 * instead: the page crops the region around that point (with a margin) and sends the crop in place of
 * the photo. If the region still holds several faces, the next click takes a smaller one; if it holds
 * none, a larger one. When an error does carry the faces' boxes (`faces: [{ box }]`), the box under
 * the click, grown by a margin, is the region.
 */

/** The first region's side, as a share of the photo's shorter side. */
const FIRST_SIDE = 0.5;
/** The next region's side after "still several faces" / "no face". */
export const SHRINK = 0.6;
export const GROW = 1.5;
/** A known box is grown by this share of its longer side on every side (the detector wants context). */
const BOX_MARGIN = 0.5;
const MIN_SIDE = 48;

/**
 * @typedef {{ x: number, y: number, width: number, height: number }} Rect
 */

/**
 * The region to crop around a point of the photo, in original pixels, inside the photo.
 *
 * @param {[number, number]} point
 * @param {{ width: number, height: number }} image
 * @param {{ side?: number, boxes?: Rect[] }} hints `side` of the previous region; `boxes` if known
 * @returns {Rect}
 * @example regionAround([300, 140], { width: 1126, height: 661 }, {}) // a 330-pixel square around the point
 */
export function regionAround(point, image, hints) {
  const [px, py] = point;
  const box = hints.boxes?.length ? boxAt(point, hints.boxes) : undefined;
  if (box) {
    const m = BOX_MARGIN * Math.max(box.width, box.height);
    return clampRect(
      { x: box.x - m, y: box.y - m, width: box.width + 2 * m, height: box.height + 2 * m },
      image,
    );
  }
  const side = Math.max(
    MIN_SIDE,
    Math.min(hints.side ?? FIRST_SIDE * Math.min(image.width, image.height), image.width, image.height),
  );
  return clampRect({ x: px - side / 2, y: py - side / 2, width: side, height: side }, image);
}

/** The box containing the point, else the one whose centre is nearest. */
function boxAt([px, py], boxes) {
  const inside = boxes.filter((b) => px >= b.x && px <= b.x + b.width && py >= b.y && py <= b.y + b.height);
  const pool = inside.length ? inside : boxes;
  const d = (b) => (b.x + b.width / 2 - px) ** 2 + (b.y + b.height / 2 - py) ** 2;
  return pool.reduce((best, b) => (d(b) < d(best) ? b : best));
}

/** Moves (not shrinks) a rectangle inside the image, then cuts what still sticks out; whole pixels. */
function clampRect(r, image) {
  const width = Math.min(r.width, image.width);
  const height = Math.min(r.height, image.height);
  const x = Math.min(Math.max(0, r.x), image.width - width);
  const y = Math.min(Math.max(0, r.y), image.height - height);
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  return {
    x: x0,
    y: y0,
    width: Math.min(image.width - x0, Math.ceil(x + width) - x0),
    height: Math.min(image.height - y0, Math.ceil(y + height) - y0),
  };
}

/**
 * The region of a decoded photo as a JPEG file, at the photo's own resolution.
 *
 * @param {HTMLImageElement} img
 * @param {Rect} region
 * @returns {Promise<Blob>}
 */
export function cropToBlob(img, region) {
  const canvas = document.createElement('canvas');
  canvas.width = region.width;
  canvas.height = region.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('no 2-D canvas'));
  ctx.drawImage(img, region.x, region.y, region.width, region.height, 0, 0, region.width, region.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('the crop could not be encoded'))),
      'image/jpeg',
      0.95,
    );
  });
}
