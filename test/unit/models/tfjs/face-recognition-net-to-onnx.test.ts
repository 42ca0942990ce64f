/**
 * The ONNX graph built from face-api's TF.js weights computes what face-api computes: real 150×150
 * face crops go through face-api's own FaceRecognitionNet (TF.js, pure-JS CPU backend) and through
 * our converted model in ONNX Runtime, and the 128-d descriptors agree within 1e-4. A wrong filter
 * layout (HWIO → OIHW), padding, shortcut (avg-pool, channel or spatial zero padding), scale-layer or
 * input-normalisation fold shows up here as a large difference; the last test shows the tolerance is
 * tight enough to catch even dlib's 1/256 in place of face-api's 1/255.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faceRecognitionNetToOnnx } from '../../../../src/models/tfjs/face-recognition-net-to-onnx.js';
import { readTfjsWeights, type TfjsWeightMap } from '../../../../src/models/tfjs/tfjs-weights.js';
import { createSession, type InferenceSession } from '../../../../src/runtime/onnx-session.js';
import { facePath, HAVE_FACES } from '../../../support/faces.js';
import { FACE_API_MODEL_DIR, HAVE_FACE_API, loadFaceApi } from './face-api-reference.js';

const SIZE = 150;
const TOLERANCE = 1e-4;

/** Tight real face crops: facenet-pytorch's aligned references, and a region of a photo. */
const CROPS: { file: string; region?: { left: number; top: number; width: number; height: number } }[] = [
  { file: 'sanity/facenet_pytorch/aligned_reference/angelina_jolie.png' },
  { file: 'sanity/facenet_pytorch/aligned_reference/paul_rudd.png' },
  {
    file: 'sanity/face_recognition/biden/biden2.jpg',
    region: { left: 360, top: 310, width: 470, height: 470 },
  },
];

/** A crop as raw RGB 0..255, both HWC (for TF.js) and CHW (for the ONNX graph). */
async function crop(c: (typeof CROPS)[number]): Promise<{ hwc: Float32Array; chw: Float32Array }> {
  let img = sharp(facePath(c.file));
  if (c.region) img = img.extract(c.region);
  const raw = await img.resize(SIZE, SIZE, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const hwc = Float32Array.from(raw);
  const chw = new Float32Array(hwc.length);
  for (let i = 0; i < SIZE * SIZE; i++) {
    for (let k = 0; k < 3; k++) chw[k * SIZE * SIZE + i] = hwc[i * 3 + k] as number;
  }
  return { hwc, chw };
}

const sessions: InferenceSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

async function runOnnx(onnx: Uint8Array, batch: Float32Array[]): Promise<Float32Array> {
  const session = await createSession(onnx);
  sessions.push(session);
  const data = new Float32Array(batch.length * 3 * SIZE * SIZE);
  batch.forEach((b, i) => data.set(b, i * b.length));
  const out = await session.run({ input: { data, dims: [batch.length, 3, SIZE, SIZE] } });
  expect(out.embedding?.dims).toEqual([batch.length, 128]);
  return out.embedding?.data ?? new Float32Array(0);
}

function worstDifference(got: Float32Array, expected: readonly Float32Array[]): number {
  let worst = 0;
  expected.forEach((ref, i) => {
    ref.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - (got[i * 128 + j] as number)));
    });
  });
  return worst;
}

describe.skipIf(!HAVE_FACE_API || !HAVE_FACES)("face-api's FaceRecognitionNet → ONNX", () => {
  let weights: TfjsWeightMap;
  let crops: { hwc: Float32Array; chw: Float32Array }[];
  let reference: Float32Array[];

  beforeAll(async () => {
    const dir = FACE_API_MODEL_DIR ?? '';
    weights = await readTfjsWeights(join(dir, 'face_recognition_model-weights_manifest.json'));
    crops = await Promise.all(CROPS.map(crop));
    const faceapi = await loadFaceApi();
    await faceapi.nets.faceRecognitionNet.loadFromDisk(dir);
    reference = [];
    for (const c of crops) {
      const input = faceapi.tf.tensor3d(c.hwc, [SIZE, SIZE, 3]);
      reference.push((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input)) as Float32Array);
      input.dispose();
    }
  });

  it('agrees with face-api within 1e-4 on real face crops, batched', async () => {
    const got = await runOnnx(
      faceRecognitionNetToOnnx(weights, { name: 'dlib-resnet' }),
      crops.map((c) => c.chw),
    );
    expect(worstDifference(got, reference)).toBeLessThan(TOLERANCE);
    // Not a degenerate net: the three people's descriptors are far apart compared with the tolerance
    // (not 0.6, dlib's decision radius: these crops are not dlib-aligned chips).
    for (const [i, j] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const d = Math.hypot(
        ...Array.from({ length: 128 }, (_, k) => (got[i * 128 + k] as number) - (got[j * 128 + k] as number)),
      );
      expect(d).toBeGreaterThan(0.3);
    }
  });

  it("would notice dlib's 1/256 instead of face-api's 1/255 (the test is sensitive)", async () => {
    const got = await runOnnx(
      faceRecognitionNetToOnnx(weights, { name: 'dlib-resnet-256', pixelScale: 1 / 256 }),
      crops.map((c) => c.chw),
    );
    expect(worstDifference(got, reference)).toBeGreaterThan(TOLERANCE);
  });

  it('refuses weights that do not fit the architecture', () => {
    const broken = new Map(weights);
    broken.delete('conv64_2/conv1/scale/weights');
    expect(() => faceRecognitionNetToOnnx(broken, { name: 'x' })).toThrow(/conv64_2\/conv1\/scale\/weights/);
    const extra = new Map(weights);
    extra.set('surprise', { shape: [1], dtype: 'float32', data: new Float32Array(1) });
    expect(() => faceRecognitionNetToOnnx(extra, { name: 'x' })).toThrow(/not part of the architecture/);
  });
});
