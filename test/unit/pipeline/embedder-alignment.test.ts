/**
 * How faces are brought into an embedder's input: the five-point similarity alignment (default) and
 * the reference service's box crop (facenet-pytorch's extract_face: box plus margin, stretched).
 */
import { describe, expect, it } from 'vitest';
import { applyAffine, ARCFACE_TEMPLATE_112, type Point } from '../../../src/core/similarity-transform.js';
import { MOBILEFACENET } from '../../../src/models/builtin.js';
import { warpAffineToTensor } from '../../../src/core/warp-affine.js';
import { boxTransform, Embedder, alignmentTransform } from '../../../src/pipeline/embedder.js';
import type { InferenceSession } from '../../../src/runtime/onnx-session.js';

const near = (p: Point, q: Point): void => {
  expect(p[0]).toBeCloseTo(q[0], 9);
  expect(p[1]).toBeCloseTo(q[1], 9);
};

describe('boxTransform', () => {
  it('maps the box edges onto the output edges (pixel-centre indices on both sides)', () => {
    const m = boxTransform({ x1: 10, y1: 20, x2: 110, y2: 170 }, 0, 160);
    // Continuous 10 is index 9.5 in the image and must land on index -0.5 of the output.
    near(applyAffine(m, [9.5, 19.5]), [-0.5, -0.5]);
    near(applyAffine(m, [109.5, 169.5]), [159.5, 159.5]);
  });

  it('grows the box by margin · size / (output − margin), half on each side, as facenet-pytorch', () => {
    const m = boxTransform({ x1: 10, y1: 20, x2: 110, y2: 170 }, 32, 160);
    const mx = (32 * 100) / 128 / 2; // 12.5
    const my = (32 * 150) / 128 / 2; // 18.75
    near(applyAffine(m, [10 - mx - 0.5, 20 - my - 0.5]), [-0.5, -0.5]);
    near(applyAffine(m, [110 + mx - 0.5, 170 + my - 0.5]), [159.5, 159.5]);
  });
});

describe('Embedder.alignBatch', () => {
  const session = { inputNames: ['x'], outputNames: ['y'] } as unknown as InferenceSession; // alignment only
  const image = {
    data: new Uint8Array(200 * 200 * 3).map((_, i) => (i * 31) % 251),
    width: 200,
    height: 200,
    channels: 3,
  };
  const landmarks = ARCFACE_TEMPLATE_112.map(([x, y]): Point => [x + 40.5, y + 30.5]);
  const box = { x1: 40, y1: 30, x2: 152, y2: 142 };

  it('uses the landmarks by default and the box when the manifest says so, giving different crops', () => {
    const byLandmarks = new Embedder({ ...MOBILEFACENET, flip: false }, session).alignBatch([
      { image, landmarks, box },
    ]);
    const byBox = new Embedder(
      { ...MOBILEFACENET, flip: false, alignment: { kind: 'box', margin: 20 } },
      session,
    ).alignBatch([{ image, landmarks, box }]);
    expect(byLandmarks.dims).toEqual([1, 3, 112, 112]);
    expect(byBox.dims).toEqual([1, 3, 112, 112]);
    // Landmarks exactly on the template shifted by (40, 30): a pure translation.
    near(applyAffine(alignmentTransform(landmarks, ARCFACE_TEMPLATE_112), [40, 30]), [0, 0]);
    expect(Array.from(byBox.data.subarray(0, 50))).not.toEqual(Array.from(byLandmarks.data.subarray(0, 50)));
  });

  it('puts the exact mirror of each crop beside it, for RGB and BGR models, two faces in a batch', () => {
    // The mirror is copied from the crop, row by row reversed; warping again with `flip` must give the
    // same values to the last bit (otherwise the flip-averaged embeddings would change).
    const shifted = landmarks.map(([x, y]): Point => [x + 7.25, y - 3.5]);
    for (const channels of ['RGB', 'BGR'] as const) {
      const manifest = {
        ...MOBILEFACENET,
        flip: true,
        normalization: { ...MOBILEFACENET.normalization, channels },
      };
      const batch = new Embedder(manifest, session).alignBatch([
        { image, landmarks },
        { image, landmarks: shifted },
      ]);
      const per = 3 * 112 * 112;
      expect(batch.dims).toEqual([4, 3, 112, 112]);
      [landmarks, shifted].forEach((lm, i) => {
        const m = alignmentTransform(lm, ARCFACE_TEMPLATE_112);
        const { mean, std } = manifest.normalization;
        const plain = warpAffineToTensor(image, m, 112, 112, { mean, std });
        const mirror = warpAffineToTensor(image, m, 112, 112, { mean, std, flip: true });
        if (channels === 'BGR')
          [plain, mirror].forEach((t) =>
            t.set([...t.subarray(2 * 12544), ...t.subarray(12544, 2 * 12544), ...t.subarray(0, 12544)]),
          );
        expect(batch.data.subarray(2 * i * per, (2 * i + 1) * per)).toEqual(plain);
        expect(batch.data.subarray((2 * i + 1) * per, (2 * i + 2) * per)).toEqual(mirror);
      });
    }
  });

  it('refuses a box-aligned model without a box (a bug between stages, not bad input)', () => {
    const e = new Embedder({ ...MOBILEFACENET, alignment: { kind: 'box', margin: 0 } }, session);
    expect(() => e.alignBatch([{ image, landmarks }])).toThrow(/aligned by box/);
  });
});
