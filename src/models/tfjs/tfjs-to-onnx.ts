/**
 * TF.js weights → ONNX, the entry point model preparation calls for `format: 'tfjs'` sources.
 *
 * A TF.js weights manifest holds weights only, never the graph, so a source names its architecture and
 * each architecture has its own graph builder. Shards are read next to the manifest and checked against
 * the sha256 values the model manifest pins (the weights manifest itself is checked by the caller).
 */
import { dirname } from 'node:path';
import { FaceVerifyError } from '../../errors.js';
import { faceRecognitionNetToOnnx } from './face-recognition-net-to-onnx.js';
import { decodeWeights, parseWeightsManifest, readShards, type TfjsWeightMap } from './tfjs-weights.js';

/** Graph builders by architecture name. */
const ARCHITECTURES = {
  'face-api-face-recognition-net': (weights: TfjsWeightMap, name: string) =>
    faceRecognitionNetToOnnx(weights, { name }),
} as const;

export type TfjsArchitecture = keyof typeof ARCHITECTURES;

export interface TfjsToOnnxOptions {
  /** Graph name in the ONNX file. */
  name: string;
  architecture: string;
  /** sha256 per shard path (as written in the weights manifest); every shard must be listed. */
  shardSha256: Readonly<Record<string, string>>;
}

/**
 * Converts TF.js weights (manifest bytes + the shards beside it on disk) to ONNX bytes.
 *
 * @example
 * const onnx = await tfjsToOnnx(await readFile(manifestPath), manifestPath, {
 *   name: 'dlib-resnet',
 *   architecture: 'face-api-face-recognition-net',
 *   shardSha256: { 'face_recognition_model.bin': 'b413e420…' },
 * });
 */
export async function tfjsToOnnx(
  manifestBytes: Uint8Array,
  manifestPath: string,
  options: TfjsToOnnxOptions,
): Promise<Uint8Array> {
  const build = (ARCHITECTURES as Record<string, (w: TfjsWeightMap, name: string) => Uint8Array>)[
    options.architecture
  ];
  if (!build) {
    throw new FaceVerifyError('MODEL_UNSUPPORTED', `No TF.js converter for "${options.architecture}"`, {
      available: Object.keys(ARCHITECTURES),
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (err) {
    throw new FaceVerifyError('MODEL_INVALID', 'TF.js weights manifest is not valid JSON', undefined, {
      cause: err,
    });
  }
  const groups = parseWeightsManifest(json);
  const shards = await readShards(groups, dirname(manifestPath), { shardSha256: options.shardSha256 });
  return build(decodeWeights(groups, shards), options.name);
}
