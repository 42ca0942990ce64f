/**
 * The converted ONNX models compute what the original TFLite graphs compute: each model runs on a
 * real face crop through ONNX Runtime and through the independent reference interpreter
 * (test/reference), and the outputs agree within 1e-4. A wrong weight layout, padding mode, axis
 * remap, flatten order or PReLU fusion shows up here as a large difference.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import { MOBILEFACENET, MTCNN } from '../../../src/models/builtin.js';
import type { ModelSource } from '../../../src/models/manifest.js';
import { resolveSourcePath } from '../../../src/models/prepare.js';
import { readTflite } from '../../../src/models/tflite/tflite-reader.js';
import { tfliteToOnnx } from '../../../src/models/tflite/tflite-to-onnx.js';
import { createSession, type InferenceSession } from '../../../src/runtime/onnx-session.js';
import { runTflite, type RefTensor } from '../../reference/tflite-interpreter.js';
import { describeWithFaces, facePath } from '../../support/faces.js';

const sessions: InferenceSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

/** A real photo region as an NHWC tensor normalised like the models expect: (v − 127.5) / 128. */
async function crop(
  file: string,
  region: { left: number; top: number; width: number; height: number },
  w: number,
  h: number,
  batch = 1,
): Promise<RefTensor> {
  const raw = await sharp(facePath(file))
    .extract(region)
    .resize(w, h, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer();
  const one = Float32Array.from(raw, (v) => (v - 127.5) / 128);
  const data = new Float32Array(one.length * batch);
  for (let b = 0; b < batch; b++) data.set(one, b * one.length);
  return { data, shape: [batch, h, w, 3] };
}

function nhwcToNchw(t: RefTensor): { data: Float32Array; dims: number[] } {
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++)
          out[((b * c + k) * h + y) * w + x] = t.data[((b * h + y) * w + x) * c + k] as number;
  return { data: out, dims: [n, c, h, w] };
}

async function compare(name: string, source: ModelSource, input: RefTensor): Promise<number> {
  const graph = readTflite(await readFile(resolveSourcePath(source)));
  const expected = runTflite(graph, input);
  // Convert afresh (not from the on-disk cache) so the test always checks the converter as it is now.
  const onnx = tfliteToOnnx(graph, { name, dynamicSpatial: source.dynamicSpatial ?? false });
  const session = await createSession(onnx);
  sessions.push(session);
  const out = await session.run({ [session.inputNames[0] as string]: nhwcToNchw(input) });
  let worst = 0;
  session.outputNames.forEach((outName, k) => {
    const ref = expected[k] as RefTensor;
    const got = out[outName];
    expect(got).toBeDefined();
    const refNchw = ref.shape.length === 4 ? nhwcToNchw(ref) : { data: ref.data, dims: ref.shape };
    expect(got?.dims).toEqual(refNchw.dims);
    refNchw.data.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - (got?.data[i] as number)) / Math.max(1, Math.abs(v)));
    });
  });
  return worst;
}

describeWithFaces('TFLite → ONNX conversion matches a reference interpreter on real faces', () => {
  const photo = 'sanity/face_recognition/biden/biden2.jpg';

  it('P-Net (fully convolutional, odd spatial size, transposed input)', async () => {
    const input = await crop(photo, { left: 300, top: 250, width: 600, height: 700 }, 37, 45);
    expect(await compare('mtcnn-pnet', MTCNN.stages.pnet, input)).toBeLessThan(1e-4);
  });

  it('R-Net (24×24, NHWC flatten before the fully connected layer)', async () => {
    const input = await crop(photo, { left: 380, top: 330, width: 420, height: 420 }, 24, 24, 3);
    expect(await compare('mtcnn-rnet', MTCNN.stages.rnet, input)).toBeLessThan(1e-4);
  });

  it('O-Net (48×48, three outputs)', async () => {
    const input = await crop(photo, { left: 380, top: 330, width: 420, height: 420 }, 48, 48, 2);
    expect(await compare('mtcnn-onet', MTCNN.stages.onet, input)).toBeLessThan(1e-4);
  });

  it('MobileFaceNet (112×112, batch 1 although the TFLite graph hard-codes 2)', async () => {
    const input = await crop(photo, { left: 360, top: 310, width: 470, height: 470 }, 112, 112);
    expect(await compare('mobilefacenet', MOBILEFACENET.source, input)).toBeLessThan(1e-4);
  });
});

it('refuses an operator it does not know, naming it', () => {
  const graph = {
    version: 3,
    tensors: [
      { index: 0, name: 'in', shape: [1, 4], type: 0, data: null },
      { index: 1, name: 'out', shape: [1, 4], type: 0, data: null },
    ],
    operators: [{ opcode: 999, inputs: [0], outputs: [1], options: {} }],
    inputs: [0],
    outputs: [1],
  };
  expect(() => tfliteToOnnx(graph, { name: 'x' })).toThrow(/999 is not supported/);
});
