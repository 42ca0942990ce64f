// Time budget: a few encodes and decodes of 512 floats (< 5 ms); limit 200 ms.
import { describe, expect, it } from 'vitest';
import { embeddingCodec, jsonCodec, type EmbeddingEntry } from '../../../src/cache/codecs.js';

/** Float32 bit patterns, so NaN payloads and -0 are compared exactly (toEqual would accept 0 for -0). */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function entry(): EmbeddingEntry {
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
  };
}

describe('embeddingCodec', { timeout: 2000 }, () => {
  it('round-trips every float bit for bit, and the face, size and count exactly', () => {
    // Failing means a cached embedding differs from the computed one, so warm-cache answers drift.
    const value = entry();
    const decoded = embeddingCodec.decode(embeddingCodec.encode(value));
    expect(bits(decoded.embedding)).toEqual(bits(value.embedding));
    expect(decoded.face).toEqual(value.face);
    expect([decoded.width, decoded.height, decoded.faceCount]).toEqual([1920, 1080, 2]);
  });

  it('is compact: a 512-d embedding is its 2048 raw bytes plus a small header and the face JSON', () => {
    // Failing means the Redis cache stores embeddings as text or with bloat (memory per entry grows).
    const value = entry();
    const bytes = embeddingCodec.encode(value);
    const faceJson = Buffer.byteLength(JSON.stringify(value.face));
    expect(bytes.length).toBeLessThanOrEqual(40 + faceJson + 3 + 512 * 4);
  });

  it('decodes from a Buffer at an odd byte offset (as sliced from a socket read), and owns its floats', () => {
    // Failing means decoding throws ("start offset of Float32Array should be a multiple of 4") on
    // real Redis replies, or the embedding aliases a network buffer that may be reused.
    const encoded = embeddingCodec.encode(entry());
    for (const offset of [1, 2, 3]) {
      const backing = Buffer.alloc(encoded.length + offset + 5);
      encoded.copy(backing, offset);
      const unaligned = backing.subarray(offset, offset + encoded.length);
      expect(unaligned.byteOffset % 4).not.toBe(0);
      const decoded = embeddingCodec.decode(unaligned);
      expect(bits(decoded.embedding)).toEqual(bits(entry().embedding));
      backing.fill(0);
      expect(bits(decoded.embedding)).toEqual(bits(entry().embedding));
    }
  });

  it('round-trips an empty embedding and a face of null', () => {
    // Failing means edge sizes corrupt the layout (padding, length checks).
    const value = { embedding: new Float32Array(0), face: null, width: 0, height: 0, faceCount: 0 };
    expect(embeddingCodec.decode(embeddingCodec.encode(value))).toEqual(value);
  });

  it('pads the JSON part so the floats start at a multiple of 4, for every JSON length', () => {
    // Failing means some face reports (those whose JSON length isn't a multiple of 4) decode wrongly.
    for (let extra = 0; extra < 4; extra++) {
      const value = { ...entry(), face: { note: 'x'.repeat(extra) } };
      const bytes = embeddingCodec.encode(value);
      expect((bytes.length - 512 * 4) % 4).toBe(0);
      expect(bits(embeddingCodec.decode(bytes).embedding)).toEqual(bits(value.embedding));
    }
  });

  it('refuses bytes that are not an encoded embedding, truncated ones and unknown versions', () => {
    // Failing means corrupt or foreign bytes in Redis decode to a garbage embedding instead of a miss.
    const good = embeddingCodec.encode(entry());
    expect(() => embeddingCodec.decode(Buffer.from('{"embedding":[1,2]}'))).toThrow(/not an encoded/);
    expect(() => embeddingCodec.decode(good.subarray(0, good.length - 1))).toThrow(/length/);
    const v2 = Buffer.from(good);
    v2[3] = 2;
    expect(() => embeddingCodec.decode(v2)).toThrow(/version/);
  });

  it('refuses a face that JSON cannot represent', () => {
    // Failing means an undefined face is stored and comes back as something else.
    expect(() => embeddingCodec.encode({ ...entry(), face: undefined })).toThrow(TypeError);
  });
});

describe('jsonCodec', { timeout: 2000 }, () => {
  it('round-trips a verification result', () => {
    // Failing means a result cache hit returns a different result than was computed.
    const codec = jsonCodec<unknown>();
    const result = { is_match: true, confidence: 0.97, metrics: { cosine_similarity: 0.61 }, faces: [] };
    expect(codec.decode(codec.encode(result))).toEqual(result);
  });

  it('decodes from a sliced Buffer', () => {
    // Failing means the codec reads outside its slice (bytes of a neighbouring reply).
    const codec = jsonCodec<number[]>();
    const backing = Buffer.from('xx[1,2,3]yy');
    expect(codec.decode(backing.subarray(2, 9))).toEqual([1, 2, 3]);
  });
});
