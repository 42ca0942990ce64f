// Time budget: a few encodes and decodes of 512 floats (< 5 ms).
import { describe, expect, it } from 'vitest';
import { jsonCodec } from '../../../src/cache/codecs.js';

describe('jsonCodec', () => {
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
