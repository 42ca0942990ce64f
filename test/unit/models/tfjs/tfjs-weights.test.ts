/**
 * The TF.js weights reader: layout (groups, shards, weights straddling shards), the three
 * quantizations (uint8/uint16 affine, float16), validation, and, on face-api's real face recognition
 * weights, bit-for-bit agreement with TF.js's own `io.decodeWeights`. A wrong byte order, offset or
 * dequantization formula would show up as different values; a lax validator would let a truncated or
 * hostile manifest through.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../../src/errors.js';
import {
  decodeWeights,
  float16ToNumber,
  parseWeightsManifest,
  readTfjsWeights,
  type TfjsWeightGroup,
} from '../../../../src/models/tfjs/tfjs-weights.js';
import { describeWithFaceApi, FACE_API_MODEL_DIR, loadFaceApi } from './face-api-reference.js';

function bytes(...chunks: ArrayBufferView[]): Uint8Array {
  const total = chunks.reduce((s, c) => s + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  return out;
}

function littleEndianU16(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof FaceVerifyError ? err.code : 'not a FaceVerifyError';
  }
  return undefined;
}

describe('decodeWeights', () => {
  it('reads float32 weights in order across shards, including one that straddles two shards', () => {
    const all = Float32Array.from([1.5, -2.25, 3, 4, 5.125, -6]);
    const raw = bytes(all);
    const groups = parseWeightsManifest([
      {
        paths: ['a.bin', 'b.bin'],
        weights: [
          { name: 'x', shape: [2], dtype: 'float32' },
          { name: 'y', shape: [2, 2], dtype: 'float32' },
        ],
      },
    ]);
    // Cut in the middle of y's second value: shard boundaries need not fall between weights.
    const shards = new Map([
      ['a.bin', raw.subarray(0, 14)],
      ['b.bin', raw.subarray(14)],
    ]);
    const w = decodeWeights(groups, shards);
    expect(Array.from(w.get('x')?.data ?? [])).toEqual([1.5, -2.25]);
    expect(w.get('y')?.shape).toEqual([2, 2]);
    expect(Array.from(w.get('y')?.data ?? [])).toEqual([3, 4, 5.125, -6]);
  });

  it('dequantizes uint8 and uint16 as q·scale + min, and rounds int32 weights', () => {
    const groups = parseWeightsManifest([
      {
        paths: ['q.bin'],
        weights: [
          { name: 'u8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
          {
            name: 'u16',
            shape: [2],
            dtype: 'float32',
            quantization: { dtype: 'uint16', scale: 0.25, min: 10 },
          },
          { name: 'i', shape: [2], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.4, min: 0 } },
        ],
      },
    ]);
    const raw = bytes(Uint8Array.from([0, 3, 255]), littleEndianU16([1, 0x0102]), Uint8Array.from([1, 4]));
    const w = decodeWeights(groups, new Map([['q.bin', raw]]));
    expect(Array.from(w.get('u8')?.data ?? [])).toEqual([-1, 0.5, 126.5]);
    // 0x0102 little-endian is 258, not 513: the byte order is checked here.
    expect(Array.from(w.get('u16')?.data ?? [])).toEqual([10.25, 10 + 258 * 0.25]);
    expect(w.get('i')?.data).toBeInstanceOf(Int32Array);
    expect(Array.from(w.get('i')?.data ?? [])).toEqual([0, 2]);
  });

  it('decodes float16 (normal, subnormal, infinite, signed)', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000].map(float16ToNumber)).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      Infinity,
      -0,
    ]);
    expect(float16ToNumber(0x7e00)).toBeNaN();
    const groups = parseWeightsManifest([
      {
        paths: ['h.bin'],
        weights: [{ name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } }],
      },
    ]);
    const w = decodeWeights(groups, new Map([['h.bin', littleEndianU16([0x3555, 0xbc00])]]));
    expect(w.get('h')?.data[0]).toBeCloseTo(1 / 3, 3);
    expect(w.get('h')?.data[1]).toBe(-1);
  });

  it('refuses shards of the wrong size, missing shards and duplicate names', () => {
    const groups: TfjsWeightGroup[] = parseWeightsManifest([
      { paths: ['a.bin'], weights: [{ name: 'x', shape: [2], dtype: 'float32' }] },
    ]);
    expect(code(() => decodeWeights(groups, new Map([['a.bin', new Uint8Array(7)]])))).toBe('MODEL_INVALID');
    expect(code(() => decodeWeights(groups, new Map([['a.bin', new Uint8Array(9)]])))).toBe('MODEL_INVALID');
    expect(code(() => decodeWeights(groups, new Map()))).toBe('MODEL_INVALID');
    const twice = parseWeightsManifest([
      { paths: ['a.bin'], weights: [{ name: 'x', shape: [1], dtype: 'float32' }] },
      { paths: ['b.bin'], weights: [{ name: 'x', shape: [1], dtype: 'float32' }] },
    ]);
    const four = new Uint8Array(4);
    expect(
      code(() =>
        decodeWeights(
          twice,
          new Map([
            ['a.bin', four],
            ['b.bin', four],
          ]),
        ),
      ),
    ).toBe('MODEL_INVALID');
  });
});

describe('parseWeightsManifest', () => {
  it('refuses malformed manifests and shard paths outside the model folder', () => {
    const group = (over: Record<string, unknown>): unknown[] => [
      { paths: ['a.bin'], weights: [{ name: 'x', shape: [1], dtype: 'float32', ...over }] },
    ];
    expect(code(() => parseWeightsManifest({}))).toBe('MODEL_INVALID');
    expect(code(() => parseWeightsManifest(group({ dtype: 'string' })))).toBe('MODEL_INVALID');
    expect(code(() => parseWeightsManifest(group({ shape: [1.5] })))).toBe('MODEL_INVALID');
    expect(code(() => parseWeightsManifest(group({ quantization: { dtype: 'uint8' } })))).toBe(
      'MODEL_INVALID',
    );
    expect(code(() => parseWeightsManifest(group({ quantization: { dtype: 'int4' } })))).toBe(
      'MODEL_INVALID',
    );
    for (const path of ['../x.bin', '/etc/passwd', 'a/../../x.bin', '']) {
      expect(code(() => parseWeightsManifest([{ paths: [path], weights: [] }]))).toBe('MODEL_INVALID');
    }
  });
});

describeWithFaceApi("face-api's face recognition weights", () => {
  const manifestPath = join(FACE_API_MODEL_DIR ?? '', 'face_recognition_model-weights_manifest.json');

  it('decode to exactly the values TF.js itself decodes', async () => {
    const ours = await readTfjsWeights(manifestPath);
    const faceapi = await loadFaceApi();
    const groups = parseWeightsManifest(JSON.parse(await readFile(manifestPath, 'utf8')) as unknown);
    expect(groups).toHaveLength(1);
    const shard = await readFile(join(FACE_API_MODEL_DIR ?? '', groups[0]?.paths[0] ?? ''));
    const buffer = shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength);
    const theirs = faceapi.tf.io.decodeWeights(buffer, groups[0]?.weights ?? []);
    expect(ours.size).toBe(117);
    expect(ours.get('fc')?.shape).toEqual([256, 128]);
    const mismatched: string[] = [];
    for (const [name, t] of ours) {
      const ref = theirs[name];
      expect(ref?.shape, name).toEqual(t.shape);
      const refData = (await ref?.data()) ?? new Float32Array(0);
      // Bit for bit (byte comparison; a deep toEqual over 5.6 M values is far too slow).
      const a = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const b = Buffer.from(refData.buffer, refData.byteOffset, refData.byteLength);
      if (!a.equals(b)) mismatched.push(name);
    }
    expect(mismatched).toEqual([]);
  });

  it('checks shard hashes when asked', async () => {
    await expect(
      readTfjsWeights(manifestPath, { shardSha256: { 'face_recognition_model.bin': '0'.repeat(64) } }),
    ).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
  });
});
