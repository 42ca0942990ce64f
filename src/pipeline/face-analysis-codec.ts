/**
 * A {@link FaceAnalysis} as bytes, for the embedding cache (Redis) and the gallery store: the JSON of
 * everything but the embedding, then the embedding as raw float32, which is exact (every bit, NaN
 * payloads and -0 included) and about a third the size of the same numbers in JSON. The JSON part is
 * whatever the schema holds, so a new field needs no change here; what it means is tied to the schema
 * by {@link FACE_ANALYSIS_FINGERPRINT}, which cache keys include.
 *
 * Layout (integers little-endian):
 *
 *   offset  size  field
 *   0       3     magic "FVA"
 *   3       1     layout version (1)
 *   4       4     u32 byte length J of the JSON part
 *   8       4     u32 number N of float32 values in the embedding
 *   12      J     JSON (UTF-8) of the analysis without its embedding
 *   12+J    P     zero padding to a multiple of 4 (P < 4)
 *   12+J+P  4·N   embedding, float32 little-endian
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { FaceAnalysisDataSchema, type FaceAnalysis, type FaceAnalysisData } from './face-analysis.js';

const MAGIC = [0x46, 0x56, 0x41] as const; // "FVA"
const LAYOUT_VERSION = 1;
const HEADER_BYTES = 12;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * A short hash of the analysis schema and this layout: it changes whenever a field is added, removed
 * or retyped, so cached analyses of another shape are simply not found.
 */
export const FACE_ANALYSIS_FINGERPRINT: string = createHash('sha256')
  .update(JSON.stringify([LAYOUT_VERSION, FaceAnalysisDataSchema]))
  .digest('hex')
  .slice(0, 16);

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/**
 * Encodes an analysis.
 *
 * @example
 * const bytes = encodeFaceAnalysis(analysis);
 * decodeFaceAnalysis(bytes).embedding; // the same float32 values, bit for bit
 */
export function encodeFaceAnalysis(value: FaceAnalysis): Buffer {
  const { embedding, ...data } = value;
  const jsonBytes = Buffer.from(JSON.stringify(data satisfies FaceAnalysisData), 'utf8');
  const floatsAt = HEADER_BYTES + jsonBytes.length + pad4(jsonBytes.length);
  const n = embedding.length;
  // alloc (not allocUnsafe): the padding must be zero.
  const out = Buffer.alloc(floatsAt + 4 * n);
  out[0] = MAGIC[0];
  out[1] = MAGIC[1];
  out[2] = MAGIC[2];
  out[3] = LAYOUT_VERSION;
  out.writeUInt32LE(jsonBytes.length, 4);
  out.writeUInt32LE(n, 8);
  jsonBytes.copy(out, HEADER_BYTES);
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength), floatsAt);
  } else {
    for (let i = 0; i < n; i++) out.writeFloatLE(embedding[i] ?? 0, floatsAt + 4 * i);
  }
  return out;
}

/** Decodes what {@link encodeFaceAnalysis} wrote; throws on anything else. */
export function decodeFaceAnalysis(bytes: Buffer): FaceAnalysis {
  if (
    bytes.length < HEADER_BYTES ||
    bytes[0] !== MAGIC[0] ||
    bytes[1] !== MAGIC[1] ||
    bytes[2] !== MAGIC[2]
  ) {
    throw new Error('faceAnalysisCodec: not an encoded face analysis');
  }
  if (bytes[3] !== LAYOUT_VERSION) throw new Error(`faceAnalysisCodec: unknown layout ${bytes[3]}`);
  const jsonLength = bytes.readUInt32LE(4);
  const n = bytes.readUInt32LE(8);
  const floatsAt = HEADER_BYTES + jsonLength + pad4(jsonLength);
  if (bytes.length !== floatsAt + 4 * n) {
    throw new Error('faceAnalysisCodec: length does not match header');
  }
  const data = JSON.parse(
    bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + jsonLength),
  ) as FaceAnalysisData;
  // Always a fresh array: a view would need 4-byte alignment of bytes.byteOffset (not given for Buffers
  // sliced from a socket read or a pool) and would keep that whole buffer alive.
  const embedding = new Float32Array(n);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(embedding.buffer).set(bytes.subarray(floatsAt, floatsAt + 4 * n));
  } else {
    for (let i = 0; i < n; i++) embedding[i] = bytes.readFloatLE(floatsAt + 4 * i);
  }
  return { ...data, embedding };
}

/** The codec in the shape caches take. */
export const faceAnalysisCodec = { encode: encodeFaceAnalysis, decode: decodeFaceAnalysis };
