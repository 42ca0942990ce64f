/**
 * face-api itself (`@vladmandic/face-api` on pure-JS `@tensorflow/tfjs`, CPU backend) as the reference
 * our TF.js reader and converter are checked against. Both are dev dependencies only: where they are
 * not installed the suites that need them are skipped with a loud warning, and under `CI=true` they
 * fail instead, so CI can never pass without checking the conversion.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe } from 'vitest';

const require = createRequire(import.meta.url);

/** The few parts of face-api and its bundled TF.js that the tests use. */
export interface TfTensor {
  data(): Promise<Float32Array | Int32Array>;
  shape: number[];
  dtype: string;
  dispose(): void;
}

export interface FaceApi {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(values: Float32Array, shape: [number, number, number]): TfTensor;
    io: {
      decodeWeights(
        data: ArrayBuffer,
        specs: readonly { name: string; shape: number[]; dtype: string }[],
      ): Record<string, TfTensor>;
    };
  };
  nets: {
    faceRecognitionNet: {
      loadFromDisk(dir: string): Promise<void>;
      computeFaceDescriptor(input: TfTensor): Promise<Float32Array | Float32Array[]>;
    };
  };
}

function findModelDir(): string | null {
  try {
    return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  } catch {
    return null;
  }
}

/** face-api's `model/` folder (weights manifests and shards), or null when it is not installed. */
export const FACE_API_MODEL_DIR = findModelDir();

function haveTfjs(): boolean {
  try {
    require.resolve('@tensorflow/tfjs');
    require.resolve('@tensorflow/tfjs-backend-wasm');
    return true;
  } catch {
    return false;
  }
}

export const HAVE_FACE_API = FACE_API_MODEL_DIR !== null && haveTfjs();

if (!HAVE_FACE_API) {
  const msg =
    '@vladmandic/face-api / @tensorflow/tfjs / @tensorflow/tfjs-backend-wasm (dev dependencies) not installed';
  if (process.env.CI === 'true') throw new Error(`${msg}: CI must have them (npm ci)`);
  console.warn(`\n*** WARNING: ${msg}; the TF.js conversion tests are SKIPPED ***\n`);
}

/** `describe` for suites that need face-api. */
export const describeWithFaceApi = describe.skipIf(!HAVE_FACE_API);

let loaded: Promise<FaceApi> | null = null;

/**
 * face-api on TF.js's pure-JS CPU backend (its Node build for the WASM backend needs no native
 * tfjs-node; we switch to `cpu` so the reference shares no kernels with anything else).
 */
export function loadFaceApi(): Promise<FaceApi> {
  loaded ??= (async () => {
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    await faceapi.tf.setBackend('cpu');
    await faceapi.tf.ready();
    return faceapi;
  })();
  return loaded;
}
