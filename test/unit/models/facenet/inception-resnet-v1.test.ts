/**
 * The ONNX InceptionResnetV1 built from a state_dict computes what facenet-pytorch's module computes:
 * a checkpoint with the module's names and structure (narrower channels, so the naive reference runs
 * in a second or two) is written by our test `torch.save`, read back by the checkpoint reader, built
 * into ONNX and run in ONNX Runtime on two real photos, and compared with the unfolded reference
 * forward pass (test/reference/inception-resnet-v1.ts) to 1e-4. A wrong padding, stride, branch order,
 * residual scale, folded batch norm or missing ReLU changes the embeddings by far more than that; the
 * test also shows the tolerance notices an epsilon of 1e-5 instead of 0.001.
 */
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../../src/errors.js';
import { buildInceptionResnetV1 } from '../../../../src/models/facenet/inception-resnet-v1.js';
import { readTorchCheckpoint, type StateDict } from '../../../../src/models/pytorch/torch-checkpoint.js';
import { createSession, type InferenceSession } from '../../../../src/runtime/onnx-session.js';
import {
  FULL_WIDTHS,
  irV1Params,
  NARROW_WIDTHS,
  randomParam,
  referenceForward,
  seededRandom,
  type IrV1Widths,
  type Nchw,
} from '../../../reference/inception-resnet-v1.js';
import { contiguousStrides, torchSave, type SaveTensor } from '../../../reference/torch-save.js';
import { describeWithFaces, facePath } from '../../../support/faces.js';

const TOLERANCE = 1e-4;
const sessions: InferenceSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

/**
 * Random parameters under the module's names. With `ported`, conv kernels are stored the way
 * facenet-pytorch's TensorFlow-ported checkpoints store them: a non-contiguous view with strides
 * (1, O, O·I, O·I·kh) over a [kw, kh, I, O] buffer.
 */
function checkpointTensors(widths: IrV1Widths, seed: number, ported: boolean): [string, SaveTensor][] {
  const rand = seededRandom(seed);
  return irV1Params(widths).map((p, i): [string, SaveTensor] => {
    const data = randomParam(p, rand);
    const key = String(i);
    if (!ported || p.shape.length !== 4 || !(data instanceof Float32Array)) {
      const dtype = data instanceof BigInt64Array ? 'int64' : 'float32';
      return [
        p.name,
        { storage: { key, dtype, data }, offset: 0, shape: p.shape, stride: contiguousStrides(p.shape) },
      ];
    }
    const [o, ci, kh, kw] = p.shape as [number, number, number, number];
    const stride = [1, o, o * ci, o * ci * kh];
    const buf = new Float32Array(data.length);
    for (let a = 0; a < o; a++)
      for (let b = 0; b < ci; b++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++)
            buf[a + o * b + o * ci * y + o * ci * kh * x] = data[((a * ci + b) * kh + y) * kw + x] as number;
    return [p.name, { storage: { key, dtype: 'float32', data: buf }, offset: 0, shape: p.shape, stride }];
  });
}

/** Real photos resized to size×size, standardised as facenet-pytorch does: (v − 127.5) / 128, NCHW. */
async function photos(files: string[], size: number): Promise<Nchw> {
  const plane = size * size;
  const data = new Float32Array(files.length * 3 * plane);
  for (const [b, file] of files.entries()) {
    const rgb = await sharp(facePath(file))
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .raw()
      .toBuffer();
    for (let i = 0; i < plane; i++)
      for (let c = 0; c < 3; c++) data[(b * 3 + c) * plane + i] = ((rgb[i * 3 + c] as number) - 127.5) / 128;
  }
  return { data, n: files.length, c: 3, h: size, w: size };
}

async function runOnnx(
  state: StateDict,
  input: Nchw,
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const built = buildInceptionResnetV1(state, { inputSize: input.h });
  const session = await createSession(built.onnx);
  sessions.push(session);
  const out = await session.run({
    [built.input]: { data: input.data, dims: [input.n, 3, input.h, input.w] },
  });
  const emb = out[built.output];
  if (!emb) throw new Error('no embedding output');
  return emb;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describeWithFaces('InceptionResnetV1 → ONNX matches the reference forward pass on real photos', () => {
  const files = ['sanity/face_recognition/obama/obama.jpg', 'sanity/face_recognition/biden/biden.jpg'];

  it('narrow network, legacy checkpoint with TensorFlow-ported strides: within 1e-4', async () => {
    const bytes = torchSave(checkpointTensors(NARROW_WIDTHS, 1, true), { format: 'legacy' });
    const state = readTorchCheckpoint(bytes);
    const input = await photos(files, 160);
    const got = await runOnnx(state, input);
    expect(got.dims).toEqual([2, 512]);
    const want = referenceForward(state, input);
    expect(maxAbsDiff(got.data, want)).toBeLessThan(TOLERANCE);
    // The two photos (different people, random weights) do not collapse to one embedding.
    expect(maxAbsDiff(got.data.subarray(0, 512), got.data.subarray(512))).toBeGreaterThan(0.01);
    // The tolerance is tight enough to notice batch norm with PyTorch's default eps instead of 0.001.
    expect(maxAbsDiff(got.data, referenceForward(state, input, { eps: 1e-5 }))).toBeGreaterThan(TOLERANCE);
  });

  it('a zip checkpoint of the same weights builds the identical ONNX model', () => {
    const tensors = checkpointTensors(NARROW_WIDTHS, 1, true);
    const legacy = buildInceptionResnetV1(readTorchCheckpoint(torchSave(tensors, { format: 'legacy' })));
    const zip = buildInceptionResnetV1(readTorchCheckpoint(torchSave(tensors, { format: 'zip' })));
    expect(Buffer.from(zip.onnx).equals(Buffer.from(legacy.onnx))).toBe(true);
  });
});

function stateOf(widths: IrV1Widths, seed = 5): StateDict {
  const rand = seededRandom(seed);
  return new Map(
    irV1Params(widths).map((p) => {
      const v = randomParam(p, rand);
      return [p.name, { shape: p.shape, dtype: 'float32', data: Float32Array.from(v, Number) }] as const;
    }),
  );
}

function codeAndMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FaceVerifyError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'no error';
}

describe('buildInceptionResnetV1 refuses state_dicts of another network', () => {
  it('a missing layer, a wrong kernel size or an unknown key is MODEL_INVALID naming the key', () => {
    const missing = stateOf(NARROW_WIDTHS);
    missing.delete('repeat_2.3.branch1.2.bn.running_var');
    expect(codeAndMessage(() => buildInceptionResnetV1(missing))).toMatch(
      /^MODEL_INVALID: .*"repeat_2\.3\.branch1\.2\.bn\.running_var"/,
    );

    const wrongKernel = stateOf(NARROW_WIDTHS);
    const k = wrongKernel.get('repeat_2.0.branch1.1.conv.weight');
    if (!k) throw new Error('fixture');
    wrongKernel.set('repeat_2.0.branch1.1.conv.weight', {
      ...k,
      shape: [k.shape[0] ?? 0, k.shape[1] ?? 0, 7, 1],
    });
    expect(codeAndMessage(() => buildInceptionResnetV1(wrongKernel))).toMatch(/^MODEL_INVALID: .*shape/);

    const extra = stateOf(NARROW_WIDTHS);
    extra.set('repeat_4.0.conv2d.weight', { shape: [1], dtype: 'float32', data: new Float32Array(1) });
    expect(codeAndMessage(() => buildInceptionResnetV1(extra))).toMatch(
      /^MODEL_INVALID: .*"repeat_4\.0\.conv2d\.weight"/,
    );
  });

  it('an input too small for the network is refused', () => {
    expect(codeAndMessage(() => buildInceptionResnetV1(stateOf(NARROW_WIDTHS), { inputSize: 40 }))).toMatch(
      /^MODEL_INVALID: .*too small/,
    );
  });
});

describeWithFaces('the full-size network', () => {
  // Writing, reading and building the 27.9 M parameters of the published shapes (without the slow
  // reference pass): the builder accepts exactly those shapes and yields 512-d unit vectors.
  // Hang guard only: ~8 s idle, over 70 s on 2 cores at load 20 (27.9 M parameters written, read, run).
  it('builds from a full-size checkpoint and returns 512-d unit vectors', { timeout: 600_000 }, async () => {
    const bytes = torchSave(checkpointTensors(FULL_WIDTHS, 2, false), { format: 'zip' });
    const state = readTorchCheckpoint(bytes);
    expect(state.get('last_linear.weight')?.shape).toEqual([512, 1792]);
    const got = await runOnnx(state, await photos(['sanity/face_recognition/obama/obama.jpg'], 160));
    expect(got.dims).toEqual([1, 512]);
    const norm = Math.sqrt(got.data.reduce((a, v) => a + v * v, 0));
    expect(norm).toBeCloseTo(1, 5);
  });
});
