/**
 * Codecs turn cached values into bytes for the Redis backend (the memory backend keeps values as they
 * are). `jsonCodec` is for plain JSON data such as verification results; `embeddingCodec` stores an
 * image's analysis compactly with the embedding as raw float32 bytes, which is exact (every bit,
 * NaN payloads and -0 included) and about a third the size of the same numbers in JSON.
 *
 * Embedding layout (all integers little-endian; version 1):
 *
 *   offset  size  field
 *   0       3     magic "FVE"
 *   3       1     version (1)
 *   4       4     u32 byte length of the JSON part
 *   8       4     u32 number of float32 values in the embedding
 *   12      4     reserved (0), so the float64 fields below are 8-byte aligned
 *   16      8     f64 width
 *   24      8     f64 height
 *   32      8     f64 faceCount
 *   40      J     JSON (UTF-8) of `face`
 *   40+J    P     zero padding to a multiple of 4 (P < 4)
 *   40+J+P  4·N   embedding, float32 little-endian
 *
 * width, height and faceCount are float64 rather than u32 so that any number round-trips exactly
 * without a validation rule to get wrong.
 */
import { endianness } from 'node:os';
import type { Codec } from './cache.js';

/** What the embedding cache holds for one image: the chosen face, how many were found, the embedding. */
export interface EmbeddingEntry {
  embedding: Float32Array;
  /** The face report (box, score, landmarks): any JSON-serialisable value. */
  face: unknown;
  width: number;
  height: number;
  faceCount: number;
}

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

const MAGIC = [0x46, 0x56, 0x45] as const; // "FVE"
const VERSION = 1;
const HEADER_BYTES = 40;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function encodeEmbedding(value: EmbeddingEntry): Buffer {
  const json = JSON.stringify(value.face);
  if (json === undefined) throw new TypeError('embeddingCodec: face is not JSON-serialisable');
  const jsonBytes = Buffer.from(json, 'utf8');
  const floatsAt = HEADER_BYTES + jsonBytes.length + pad4(jsonBytes.length);
  const n = value.embedding.length;
  // alloc (not allocUnsafe): the padding and reserved bytes must be zero.
  const out = Buffer.alloc(floatsAt + 4 * n);
  out[0] = MAGIC[0];
  out[1] = MAGIC[1];
  out[2] = MAGIC[2];
  out[3] = VERSION;
  out.writeUInt32LE(jsonBytes.length, 4);
  out.writeUInt32LE(n, 8);
  out.writeDoubleLE(value.width, 16);
  out.writeDoubleLE(value.height, 24);
  out.writeDoubleLE(value.faceCount, 32);
  jsonBytes.copy(out, HEADER_BYTES);
  const e = value.embedding;
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(e.buffer, e.byteOffset, e.byteLength), floatsAt);
  } else {
    for (let i = 0; i < n; i++) out.writeFloatLE(e[i] ?? 0, floatsAt + 4 * i);
  }
  return out;
}

function decodeEmbedding(bytes: Buffer): EmbeddingEntry {
  if (
    bytes.length < HEADER_BYTES ||
    bytes[0] !== MAGIC[0] ||
    bytes[1] !== MAGIC[1] ||
    bytes[2] !== MAGIC[2]
  ) {
    throw new Error('embeddingCodec: not an encoded embedding');
  }
  if (bytes[3] !== VERSION) throw new Error(`embeddingCodec: unknown version ${bytes[3]}`);
  const jsonLength = bytes.readUInt32LE(4);
  const n = bytes.readUInt32LE(8);
  const floatsAt = HEADER_BYTES + jsonLength + pad4(jsonLength);
  if (bytes.length !== floatsAt + 4 * n) throw new Error('embeddingCodec: length does not match header');
  const face: unknown = JSON.parse(bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + jsonLength));
  // Always copy into a fresh array: a view would need 4-byte alignment of bytes.byteOffset (not given
  // for Buffers sliced from a socket read or a pool), and would keep that whole underlying buffer alive
  // and shared with whoever else holds it. 2 KB per embedding costs nothing next to a Redis round trip.
  const embedding = new Float32Array(n);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(embedding.buffer).set(bytes.subarray(floatsAt, floatsAt + 4 * n));
  } else {
    for (let i = 0; i < n; i++) embedding[i] = bytes.readFloatLE(floatsAt + 4 * i);
  }
  return {
    embedding,
    face,
    width: bytes.readDoubleLE(16),
    height: bytes.readDoubleLE(24),
    faceCount: bytes.readDoubleLE(32),
  };
}

/**
 * The embedding cache's codec (layout in this file's header).
 *
 * @example
 * const bytes = embeddingCodec.encode({ embedding, face, width: 640, height: 480, faceCount: 1 });
 * embeddingCodec.decode(bytes).embedding; // the same float32 values, bit for bit
 */
export const embeddingCodec: Codec<EmbeddingEntry> = {
  encode: encodeEmbedding,
  decode: decodeEmbedding,
};
