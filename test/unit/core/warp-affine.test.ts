// Time budget: images of at most 16×16 pixels and one 112×112 crop (< 10 ms per test).
import { describe, expect, it } from 'vitest';
import { estimateSimilarity, invertAffine, type Affine } from '../../../src/core/similarity-transform.js';
import { warpAffine, warpAffineToTensor, type InterleavedImage } from '../../../src/core/warp-affine.js';

const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** An image whose value at (x, y, c) is fn(x, y, c); no two neighbours are equal, so shifts show. */
function makeImage(
  width: number,
  height: number,
  channels: number,
  fn: (x: number, y: number, c: number) => number = (x, y, c) => (x * 7 + y * 31 + c * 59 + 3) % 256,
): InterleavedImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = fn(x, y, c);
  return { data, width, height, channels };
}

/** Source value, 0 outside the image (OpenCV BORDER_CONSTANT). */
function px(img: InterleavedImage, x: number, y: number, c: number): number {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return 0;
  return img.data[(y * img.width + x) * img.channels + c]!;
}

/** Output value at (x, y, c) of an HWC float image of width w and ch channels. */
const at = (out: Float32Array, w: number, ch: number, x: number, y: number, c: number): number =>
  out[(y * w + x) * ch + c]!;

describe('warpAffine', () => {
  it('reproduces the image exactly under the identity, including the last row and column', () => {
    const img = makeImage(7, 5, 3);
    expect(Array.from(warpAffine(img, IDENTITY, 7, 5))).toEqual(Array.from(img.data));
  });

  it('shifts by whole pixels under an integer translation and fills uncovered pixels with 0', () => {
    const img = makeImage(6, 5, 3);
    const out = warpAffine(img, [1, 0, 2, 0, 1, 1], 6, 5); // dst = src + (2, 1)
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 6; x++)
        for (let c = 0; c < 3; c++) expect(at(out, 6, 3, x, y, c)).toBe(px(img, x - 2, y - 1, c));
  });

  it('reads the matrix as OpenCV row-major [[a, b, tx], [c, d, ty]] (a 90° turn lands exactly)', () => {
    const img = makeImage(4, 3, 1);
    // x' = −y + 2, y' = x: turns the 4×3 image into a 3×4 one.
    const out = warpAffine(img, [0, -1, 2, 1, 0, 0], 3, 4);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 4; x++) expect(at(out, 3, 1, 2 - y, x, 0)).toBe(px(img, x, y, 0));
  });

  it('upscales 2× with pixel centres at integers: even pixels copy, odd ones average (no half-pixel offset)', () => {
    const img = makeImage(5, 4, 2);
    const out = warpAffine(img, [2, 0, 0, 0, 2, 0], 10, 8);
    for (let j = 0; j < 3; j++)
      for (let i = 0; i < 4; i++)
        for (let c = 0; c < 2; c++) {
          // dst (0, 0) is src (0, 0); a half-pixel-centre convention would sample src (−0.25, −0.25).
          expect(at(out, 10, 2, 2 * i, 2 * j, c)).toBe(px(img, i, j, c));
          expect(at(out, 10, 2, 2 * i + 1, 2 * j, c)).toBeCloseTo(
            (px(img, i, j, c) + px(img, i + 1, j, c)) / 2,
            4,
          );
          expect(at(out, 10, 2, 2 * i, 2 * j + 1, c)).toBeCloseTo(
            (px(img, i, j, c) + px(img, i, j + 1, c)) / 2,
            4,
          );
        }
  });

  it('averages the four neighbours at half-pixel positions (bilinear weights ¼ each)', () => {
    const img = makeImage(6, 6, 3);
    const out = warpAffine(img, [1, 0, -0.5, 0, 1, -0.5], 5, 5); // dst (x, y) samples src (x + ½, y + ½)
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++)
        for (let c = 0; c < 3; c++) {
          const mean =
            (px(img, x, y, c) + px(img, x + 1, y, c) + px(img, x, y + 1, c) + px(img, x + 1, y + 1, c)) / 4;
          expect(at(out, 5, 3, x, y, c)).toBeCloseTo(mean, 4);
        }
  });

  it('interpolates with the right weights off-centre (¼ of the way: ¾ near, ¼ far)', () => {
    const img = makeImage(3, 1, 1, (x) => [0, 100, 200][x]!);
    const out = warpAffine(img, [1, 0, -0.25, 0, 1, 0], 2, 1);
    expect(out[0]).toBeCloseTo(25, 4);
    expect(out[1]).toBeCloseTo(125, 4);
  });

  it('blends towards 0 past the last pixel, as OpenCV BORDER_CONSTANT does (not clamp-to-edge)', () => {
    const img = makeImage(4, 1, 1, () => 200);
    const out = warpAffine(img, [1, 0, -0.5, 0, 1, 0], 4, 1); // last pixel samples x = 3.5
    expect(Array.from(out)).toEqual([200, 200, 200, 100]);
    const before = warpAffine(img, [1, 0, 0.5, 0, 1, 0], 4, 1); // first pixel samples x = −0.5
    expect(Array.from(before)).toEqual([100, 200, 200, 200]);
  });

  it('gives 0 everywhere when the source lies entirely outside the output', () => {
    const img = makeImage(8, 8, 3, () => 255);
    expect(warpAffine(img, [1, 0, 1000, 0, 1, 0], 8, 8).every((v) => v === 0)).toBe(true);
    expect(warpAffine(img, [1, 0, -9, 0, 1, -3], 8, 8).every((v) => v === 0)).toBe(true);
  });

  it('writes into a given buffer (no allocation per crop) and handles 1 and 4 channels', () => {
    const buf = new Float32Array(4 * 4 * 4);
    const img4 = makeImage(4, 4, 4);
    expect(warpAffine(img4, IDENTITY, 4, 4, buf)).toBe(buf);
    expect(Array.from(buf)).toEqual(Array.from(img4.data));
    const img1 = makeImage(4, 4, 1);
    expect(Array.from(warpAffine(img1, IDENTITY, 4, 4))).toEqual(Array.from(img1.data));
  });

  it('maps the source landmarks onto the template (alignment end to end)', () => {
    // A bright dot at each of two source points must appear at their template positions.
    const src: [number, number][] = [
      [20, 30],
      [40, 26],
    ];
    const dst: [number, number][] = [
      [10, 12],
      [22, 12],
    ];
    const img = makeImage(64, 64, 1, (x, y) => (src.some(([u, v]) => u === x && v === y) ? 255 : 0));
    const m = estimateSimilarity(src, dst);
    const inv = invertAffine(m);
    // Sample exactly at the destination points: they must map to the integer source dots.
    for (const [u, v] of dst) {
      const sx = inv[0] * u + inv[1] * v + inv[2];
      const sy = inv[3] * u + inv[4] * v + inv[5];
      expect(sx).toBeCloseTo(Math.round(sx), 9);
      expect(sy).toBeCloseTo(Math.round(sy), 9);
    }
    const out = warpAffine(img, m, 32, 24);
    expect(at(out, 32, 1, 10, 12, 0)).toBeCloseTo(255, 3);
    expect(at(out, 32, 1, 22, 12, 0)).toBeCloseTo(255, 3);
  });

  it('rejects an out buffer that is too small or a short data array (else it would write past the end)', () => {
    const img = makeImage(4, 4, 3);
    expect(() => warpAffine(img, IDENTITY, 4, 4, new Float32Array(10))).toThrow(/needs 48/);
    expect(() => warpAffine({ ...img, data: img.data.subarray(0, 10) }, IDENTITY, 4, 4)).toThrow(/bad image/);
    expect(() => warpAffine(img, [1, 2, 0, 2, 4, 0], 4, 4)).toThrow(/singular/);
  });
});

describe('warpAffineToTensor', () => {
  const mean = [10, 20, 30];
  const std = [2, 4, 8];

  it('writes planar CHW: value (c, y, x) at c·H·W + y·W + x, normalised per channel', () => {
    const img = makeImage(5, 3, 3);
    const t = warpAffineToTensor(img, IDENTITY, 5, 3, { mean, std });
    expect(t.length).toBe(3 * 5 * 3);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 5; x++)
          expect(t[c * 15 + y * 5 + x]).toBeCloseTo((px(img, x, y, c) - mean[c]!) / std[c]!, 5);
  });

  it('equals the HWC warp transposed and normalised, for a real rotation + scale', () => {
    const img = makeImage(16, 16, 3);
    const theta = 0.4;
    const m: Affine = [
      1.3 * Math.cos(theta),
      -1.3 * Math.sin(theta),
      2.5,
      1.3 * Math.sin(theta),
      1.3 * Math.cos(theta),
      -3.25,
    ];
    const hwc = warpAffine(img, m, 12, 10);
    const chw = warpAffineToTensor(img, m, 12, 10, { mean: 127.5, std: 127.5 });
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 10; y++)
        for (let x = 0; x < 12; x++)
          expect(chw[c * 120 + y * 12 + x]).toBeCloseTo((at(hwc, 12, 3, x, y, c) - 127.5) / 127.5, 5);
  });

  it('mirrors each row when flip is set (column x holds the unflipped column W − 1 − x)', () => {
    const img = makeImage(7, 4, 3);
    for (const w of [7, 6]) {
      const plain = warpAffineToTensor(img, IDENTITY, w, 4, { mean, std });
      const flipped = warpAffineToTensor(img, IDENTITY, w, 4, { mean, std, flip: true });
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 4; y++)
          for (let x = 0; x < w; x++)
            expect(flipped[c * 4 * w + y * w + x]).toBe(plain[c * 4 * w + y * w + (w - 1 - x)]);
    }
  });

  it('writes only its own slice of a batch at the offset (a batch of image + mirror)', () => {
    const img = makeImage(6, 6, 3);
    const size = 3 * 6 * 6;
    const batch = new Float32Array(2 * size + 5).fill(Number.NaN);
    const plain = warpAffineToTensor(img, IDENTITY, 6, 6, { mean, std });
    expect(warpAffineToTensor(img, IDENTITY, 6, 6, { mean, std, out: batch })).toBe(batch);
    warpAffineToTensor(img, IDENTITY, 6, 6, { mean, std, out: batch, offset: size, flip: true });
    expect(Array.from(batch.subarray(0, size))).toEqual(Array.from(plain));
    expect(batch[size + 5]).toBe(plain[0]); // flipped: row 0, column 5 holds column 0
    expect(Array.from(batch.subarray(2 * size)).every(Number.isNaN)).toBe(true);
  });

  it('normalises outside pixels as the value 0, i.e. −mean/std (what OpenCV then blobFromImage gives)', () => {
    const img = makeImage(4, 4, 3, () => 255);
    const t = warpAffineToTensor(img, [1, 0, 100, 0, 1, 0], 4, 4, { mean, std });
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 16; i++) expect(t[c * 16 + i]).toBeCloseTo(-mean[c]! / std[c]!, 6);
  });

  it('rejects std 0, missing per-channel values and a too-small out buffer', () => {
    const img = makeImage(4, 4, 3);
    expect(() => warpAffineToTensor(img, IDENTITY, 4, 4, { mean: 0, std: 0 })).toThrow(/std/);
    expect(() => warpAffineToTensor(img, IDENTITY, 4, 4, { mean: [1, 2], std: 1 })).toThrow(/channel 2/);
    expect(() =>
      warpAffineToTensor(img, IDENTITY, 4, 4, { mean: 0, std: 1, out: new Float32Array(48), offset: 1 }),
    ).toThrow(/offset 1/);
  });
});
