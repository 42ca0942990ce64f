/**
 * Reader for TensorFlow.js weight files: a weights manifest (JSON) plus binary shards.
 *
 * Format (TF.js `io.WeightsManifestConfig`, as written by tfjs-converter and shipped by face-api): the
 * manifest is an array of groups `{ paths: string[], weights: WeightSpec[] }`. A group's shards,
 * concatenated in `paths` order, hold its weights back to back in `weights` order, little-endian, with
 * no alignment padding; a weight may straddle two shards. A spec is `{ name, shape, dtype }` plus an
 * optional `quantization`:
 *
 * - `{ dtype: 'uint8' | 'uint16', scale, min }`: each value is stored as an unsigned integer q and
 *   means q·scale + min (affine quantization; int32 weights are rounded after dequantizing);
 * - `{ dtype: 'float16' }`: IEEE half precision.
 *
 * Only numeric weights (float32, int32) are supported: string and bool weights do not occur in vision
 * models. The manifest carries no graph; the topology lives in code (see face-recognition-net-to-onnx).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FaceVerifyError } from '../../errors.js';

export type TfjsQuantization =
  { dtype: 'uint8' | 'uint16'; scale: number; min: number } | { dtype: 'float16' };

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: TfjsQuantization;
}

export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

/** A decoded weight: values in row-major order of `shape` (TF.js layout, e.g. conv filters HWIO). */
export interface TfjsTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export type TfjsWeightMap = Map<string, TfjsTensor>;

function invalid(message: string, details?: Record<string, unknown>): FaceVerifyError {
  return new FaceVerifyError('MODEL_INVALID', `TF.js weights: ${message}`, details);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseQuantization(q: unknown, name: string): TfjsQuantization {
  if (!isRecord(q)) throw invalid(`weight "${name}": quantization must be an object`);
  if (q.dtype === 'float16') return { dtype: 'float16' };
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    const { scale, min } = q;
    if (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale + min)) {
      throw invalid(`weight "${name}": ${q.dtype} quantization needs finite numbers scale and min`);
    }
    return { dtype: q.dtype, scale, min };
  }
  throw invalid(`weight "${name}": unsupported quantization dtype ${JSON.stringify(q.dtype)}`);
}

function parseSpec(w: unknown): TfjsWeightSpec {
  if (!isRecord(w) || typeof w.name !== 'string') throw invalid('every weight needs a string name');
  const { name, shape, dtype } = w;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw invalid(`weight "${name}": shape must be a list of non-negative integers`);
  }
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw invalid(`weight "${name}": unsupported dtype ${JSON.stringify(dtype)} (float32 and int32 only)`);
  }
  const spec: TfjsWeightSpec = { name, shape: shape as number[], dtype };
  if (w.quantization !== undefined) {
    spec.quantization = parseQuantization(w.quantization, name);
    if (dtype === 'int32' && spec.quantization.dtype === 'float16') {
      throw invalid(`weight "${name}": float16 quantization applies to float32 weights only`);
    }
  }
  return spec;
}

/**
 * Validates a parsed weights manifest.
 *
 * @example
 * const groups = parseWeightsManifest(JSON.parse(await readFile('model-weights_manifest.json', 'utf8')));
 */
export function parseWeightsManifest(json: unknown): TfjsWeightGroup[] {
  if (!Array.isArray(json)) throw invalid('the manifest must be a JSON array of weight groups');
  return json.map((g: unknown): TfjsWeightGroup => {
    if (!isRecord(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw invalid('each weight group needs "paths" and "weights" arrays');
    }
    const { paths, weights } = g as { paths: unknown[]; weights: unknown[] };
    for (const p of paths) {
      // Shards are resolved next to the manifest; a path that climbs out or is absolute is refused.
      if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.split(/[\\/]/).includes('..')) {
        throw invalid(`shard path ${JSON.stringify(p)} must be a relative path inside the model folder`);
      }
    }
    return { paths: paths as string[], weights: weights.map(parseSpec) };
  });
}

const BYTES_PER_STORED_VALUE = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 } as const;

/** Bytes one weight occupies in its group's buffer. */
export function storedByteLength(spec: TfjsWeightSpec): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  return size * BYTES_PER_STORED_VALUE[spec.quantization?.dtype ?? spec.dtype];
}

/** IEEE 754 half → number (subnormals, infinities and NaN included). */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeOne(spec: TfjsWeightSpec, view: DataView, offset: number): TfjsTensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = spec.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  const q = spec.quantization;
  // Dequantize in double precision then store, as TF.js does, so values match it bit for bit.
  const finish = spec.dtype === 'int32' ? Math.round : (v: number): number => v;
  if (!q) {
    for (let i = 0; i < n; i++) {
      data[i] =
        spec.dtype === 'float32'
          ? view.getFloat32(offset + 4 * i, true)
          : view.getInt32(offset + 4 * i, true);
    }
  } else if (q.dtype === 'uint8') {
    for (let i = 0; i < n; i++) data[i] = finish(view.getUint8(offset + i) * q.scale + q.min);
  } else if (q.dtype === 'uint16') {
    for (let i = 0; i < n; i++) data[i] = finish(view.getUint16(offset + 2 * i, true) * q.scale + q.min);
  } else {
    for (let i = 0; i < n; i++) data[i] = float16ToNumber(view.getUint16(offset + 2 * i, true));
  }
  return { shape: [...spec.shape], dtype: spec.dtype, data };
}

/**
 * Decodes all weights of a manifest from its shards (already in memory).
 *
 * @param groups the parsed manifest
 * @param shards the bytes of every shard by its path as written in the manifest
 * @returns the weights by name
 *
 * @example
 * const weights = decodeWeights(groups, new Map([['model.bin', await readFile('model.bin')]]));
 * weights.get('fc')?.shape; // [256, 128]
 */
export function decodeWeights(
  groups: readonly TfjsWeightGroup[],
  shards: ReadonlyMap<string, Uint8Array>,
): TfjsWeightMap {
  const out: TfjsWeightMap = new Map();
  for (const group of groups) {
    const parts = group.paths.map((p) => {
      const bytes = shards.get(p);
      if (!bytes) throw invalid(`shard "${p}" is missing`);
      return bytes;
    });
    const total = parts.reduce((s, b) => s + b.byteLength, 0);
    const buffer = new Uint8Array(total);
    let at = 0;
    for (const b of parts) {
      buffer.set(b, at);
      at += b.byteLength;
    }
    const needed = group.weights.reduce((s, w) => s + storedByteLength(w), 0);
    if (needed !== total) {
      throw invalid(`group [${group.paths.join(', ')}] holds ${total} bytes, its weights need ${needed}`, {
        bytes: total,
        needed,
      });
    }
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let offset = 0;
    for (const spec of group.weights) {
      if (out.has(spec.name)) throw invalid(`weight "${spec.name}" appears twice`);
      out.set(spec.name, decodeOne(spec, view, offset));
      offset += storedByteLength(spec);
    }
  }
  return out;
}

export interface ReadTfjsWeightsOptions {
  /** Expected sha256 per shard path (as written in the manifest); a shard not listed is refused. */
  shardSha256?: Readonly<Record<string, string>>;
}

/**
 * Reads a weights manifest and its shards from disk (shards resolved next to the manifest).
 *
 * @example
 * const weights = await readTfjsWeights('node_modules/@vladmandic/face-api/model/face_recognition_model-weights_manifest.json');
 */
export async function readTfjsWeights(
  manifestPath: string,
  options: ReadTfjsWeightsOptions = {},
): Promise<TfjsWeightMap> {
  const groups = parseWeightsManifest(JSON.parse(await readFile(manifestPath, 'utf8')) as unknown);
  return decodeWeights(groups, await readShards(groups, dirname(manifestPath), options));
}

/** Reads the shards a manifest names, checking their hashes when `shardSha256` is given. */
export async function readShards(
  groups: readonly TfjsWeightGroup[],
  dir: string,
  options: ReadTfjsWeightsOptions = {},
): Promise<Map<string, Uint8Array>> {
  const shards = new Map<string, Uint8Array>();
  for (const path of groups.flatMap((g) => g.paths)) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(dir, path));
    } catch (err) {
      throw new FaceVerifyError('MODEL_NOT_FOUND', `TF.js weights: shard "${path}" not found`, undefined, {
        cause: err,
      });
    }
    if (options.shardSha256) {
      const expected = options.shardSha256[path];
      // Hashed here, not with prepare.ts's helper: prepare.ts imports this module.
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (expected !== actual) {
        throw invalid(`shard "${path}" has an unexpected sha256`, { expected: expected ?? null, actual });
      }
    }
    shards.set(path, bytes);
  }
  return shards;
}
