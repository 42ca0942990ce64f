/**
 * Codecs turn cached values into bytes for the Redis backend (the memory backend keeps values as they
 * are). `jsonCodec` is for plain JSON data such as verification results; face analyses have their own
 * (src/pipeline/face-analysis-codec.ts), which keeps the embedding as raw float32.
 */
import type { Codec } from './cache.js';

/**
 * A codec for JSON-serialisable values. Values that JSON can't represent exactly (typed arrays,
 * `undefined`, `Date`) come back changed: use a dedicated codec for those.
 *
 * @example
 * const codec = jsonCodec<VerifyResult>();
 * codec.decode(codec.encode(result));
 */
export function jsonCodec<V>(): Codec<V> {
  return {
    encode(value: V): Buffer {
      const text = JSON.stringify(value);
      if (text === undefined) throw new TypeError('jsonCodec: value is not JSON-serialisable');
      return Buffer.from(text, 'utf8');
    },
    decode(bytes: Buffer): V {
      return JSON.parse(bytes.toString('utf8')) as V;
    },
  };
}
