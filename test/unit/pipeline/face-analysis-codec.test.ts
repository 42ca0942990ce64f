// Time budget: a few encodes and decodes of 512 floats (< 5 ms).
import { describe, expect, it } from 'vitest';
import {
  decodeFaceAnalysis as decode,
  encodeFaceAnalysis as encode,
} from '../../../src/pipeline/face-analysis-codec.js';
import type { FaceAnalysis } from '../../../src/pipeline/face-analysis.js';

/** Float32 bit patterns, so NaN payloads and -0 are compared exactly (toEqual would accept 0 for -0). */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function entry(): FaceAnalysis {
  const embedding = new Float32Array(512);
  for (let i = 0; i < embedding.length; i++) embedding[i] = Math.sin(i * 0.37) * 0.1;
  // The awkward values: signed zero, infinities, the smallest subnormal, a NaN with a payload.
  embedding.set([-0, Infinity, -Infinity, 1.4e-45, 3.4028234663852886e38], 0);
  new Uint32Array(embedding.buffer)[5] = 0x7fc12345;
  return {
    embedding,
    face: {
      box: { x: 1.25, y: 2, width: 30, height: 40 },
      score: 0.9991,
      landmarks: [
        [3, 4],
        [5.5, 6],
      ],
    },
    width: 1920,
    height: 1080,
    faceCount: 2,
    modelId: 'mobilefacenet@d8ba40c0127fb8ca',
    timings: { decode: 1.5, detect: 10.25, embed: 9 },
  };
}

describe('face analysis codec', () => {
  it('round-trips every float bit for bit, and the face, size and count exactly', () => {
    // Failing means a cached embedding differs from the computed one, so warm-cache answers drift.
    const value = entry();
    const decoded = decode(encode(value));
    expect(bits(decoded.embedding)).toEqual(bits(value.embedding));
    expect({ ...decoded, embedding: null }).toEqual({ ...value, embedding: null });
  });

  it('is compact: a 512-d embedding is its 2048 raw bytes plus a small header and the JSON', () => {
    // Failing means the Redis cache stores embeddings as text or with bloat (memory per entry grows).
    const { embedding, ...rest } = entry();
    const bytes = encode({ ...rest, embedding });
    expect(bytes.length).toBeLessThanOrEqual(12 + Buffer.byteLength(JSON.stringify(rest)) + 3 + 512 * 4);
  });

  it('carries a field it does not know of unchanged (a new field needs no codec change)', () => {
    // Failing means adding a field to the analysis schema would also need a change of the codec.
    const extra = { level: 'high', reasons: [], note: 'a field the schema does not have yet' };
    const value = { ...entry(), face: { ...entry().face, extra } } as FaceAnalysis;
    expect(decode(encode(value)).face).toEqual(value.face);
  });

  it('decodes from a Buffer at an odd byte offset (as sliced from a socket read), and owns its floats', () => {
    // Failing means decoding throws ("start offset of Float32Array should be a multiple of 4") on
    // real Redis replies, or the embedding aliases a network buffer that may be reused.
    const encoded = encode(entry());
    for (const offset of [1, 2, 3]) {
      const backing = Buffer.alloc(encoded.length + offset + 5);
      encoded.copy(backing, offset);
      const unaligned = backing.subarray(offset, offset + encoded.length);
      expect(unaligned.byteOffset % 4).not.toBe(0);
      const decoded = decode(unaligned);
      expect(bits(decoded.embedding)).toEqual(bits(entry().embedding));
      backing.fill(0);
      expect(bits(decoded.embedding)).toEqual(bits(entry().embedding));
    }
  });

  it('round-trips an empty embedding', () => {
    // Failing means edge sizes corrupt the layout (padding, length checks).
    const value = { ...entry(), embedding: new Float32Array(0) };
    expect(decode(encode(value))).toEqual(value);
  });

  it('pads the JSON part so the floats start at a multiple of 4, for every JSON length', () => {
    // Failing means some face reports (those whose JSON length isn't a multiple of 4) decode wrongly.
    for (let extra = 0; extra < 4; extra++) {
      const value = { ...entry(), modelId: `m${'x'.repeat(extra)}` };
      const bytes = encode(value);
      expect((bytes.length - 512 * 4) % 4).toBe(0);
      expect(bits(decode(bytes).embedding)).toEqual(bits(value.embedding));
    }
  });

  it('refuses bytes that are not an encoded analysis, truncated ones and unknown layouts', () => {
    // Failing means corrupt or foreign bytes in Redis decode to a garbage embedding instead of a miss.
    const good = encode(entry());
    expect(() => decode(Buffer.from('{"embedding":[1,2]}'))).toThrow(/not an encoded/);
    expect(() => decode(good.subarray(0, good.length - 1))).toThrow(/length/);
    const v2 = Buffer.from(good);
    v2[3] = 2;
    expect(() => decode(v2)).toThrow(/layout/);
  });
});
