/**
 * `faceverify models pull`: fetch a published FaceNet checkpoint (or take a local copy), check its
 * sha256, convert it to ONNX (./inception-resnet-v1.ts) and register it as a user model.
 *
 * The manifest it writes: input 160×160, RGB standardised as (v − 127.5) / 128 (facenet-pytorch's
 * `fixed_image_standardization`), our five-point similarity alignment with the ArcFace template scaled
 * from 112 to 160 (facenet-pytorch itself crops the MTCNN box with a margin and resizes, which our
 * pipeline does not do; see docs/models.md), 512-d output, flip averaging, and a threshold and
 * calibration marked uncalibrated until `faceverify eval` has been run on LFW.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ARCFACE_TEMPLATE_112, scaleTemplate } from '../../core/similarity-transform.js';
import { FaceVerifyError } from '../../errors.js';
import type { EmbedderManifest, PlattCalibration } from '../manifest.js';
import { sha256, writeAtomically } from '../prepare.js';
import { checkUserModelName, saveUserModel, userModelFileName, userModelsDir } from '../registry.js';
import { checkpointFormat, readTorchCheckpoint, type CheckpointFormat } from '../pytorch/torch-checkpoint.js';
import { downloadFile } from './download-checkpoint.js';
import { buildInceptionResnetV1 } from './inception-resnet-v1.js';

/** Bump when the graph built from the same checkpoint changes. */
export const FACENET_CONVERTER = 'inception-resnet-v1@1';

export interface FacenetCheckpoint {
  /** The published file name. */
  file: string;
  url: string;
  /** sha256 of the published file, or null when we know none (then it is printed, not checked). */
  sha256: string | null;
  description: string;
  license: string;
  /** The file's size in bytes, as published. */
  bytes: number;
  /** The accuracy its authors published, and where (not measured here: `faceverify eval` does that). */
  published: string;
}

/** Checkpoints `models pull` knows, by model name. */
export const FACENET_CHECKPOINTS: Readonly<Record<string, FacenetCheckpoint>> = {
  'facenet-vggface2': {
    file: '20180402-114759-vggface2.pt',
    // facenet-pytorch's release asset, as `InceptionResnetV1(pretrained='vggface2')` downloads it.
    url: 'https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt',
    // 111,898,327 bytes; the hash several independent projects pin for this asset.
    sha256: '281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b',
    description:
      'FaceNet Inception-ResNet-v1 (David Sandberg 20180402-114759), trained on VGGFace2; 512-d; via facenet-pytorch',
    license:
      'MIT (facenet-pytorch; weights from davidsandberg/facenet, MIT); trained on VGGFace2, whose terms limit use (see docs/models.md)',
    bytes: 111_898_327,
    published: 'LFW 99.65 % (David Sandberg, davidsandberg/facenet README, model 20180402-114759)',
  },
};

/** A placeholder threshold until `faceverify eval` has measured one. */
export const UNCALIBRATED_THRESHOLD = 0.4;

/** A soft placeholder calibration centred on the threshold, marked as such. */
export function uncalibrated(threshold = UNCALIBRATED_THRESHOLD): PlattCalibration {
  return { method: 'platt', a: 10, b: -10 * threshold, fittedOn: 'uncalibrated: run faceverify eval' };
}

export interface PullOptions {
  cacheDir: string;
  /** A local copy of the checkpoint instead of downloading it. */
  from?: string;
  /** Download from here instead of the published URL. */
  url?: string;
  /** Expect this sha256 instead of the published one. */
  sha256?: string;
  onProgress?: (received: number, total: number | undefined) => void;
  /**
   * `box` registers the reference service's crop (the MTCNN box plus `margin` output pixels, resized
   * to 160) as `<name>-box`, next to our five-point alignment; measure both with `faceverify eval`.
   */
  alignment?: { kind: 'landmarks' } | { kind: 'box'; margin: number };
}

export interface PullResult {
  manifest: EmbedderManifest;
  manifestPath: string;
  checkpoint: { from: string; sha256: string; format: CheckpointFormat; bytes: number; checked: boolean };
  timings: { fetchMs: number; convertMs: number };
}

const MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024;

async function readLocal(path: string): Promise<Uint8Array> {
  try {
    if ((await stat(path)).size > MAX_CHECKPOINT_BYTES) {
      throw new FaceVerifyError('MODEL_INVALID', `${path} is larger than 1 GiB`);
    }
    return await readFile(path);
  } catch (err) {
    if (err instanceof FaceVerifyError) throw err;
    throw new FaceVerifyError('INVALID_INPUT', `Cannot read ${path}`, undefined, { cause: err });
  }
}

/**
 * Fetches, checks, converts and registers a FaceNet checkpoint.
 *
 * @example
 * const { manifest } = await pullFacenet('facenet-vggface2', { cacheDir, from: '20180402-114759-vggface2.pt' });
 */
export async function pullFacenet(name: string, options: PullOptions): Promise<PullResult> {
  const entry = FACENET_CHECKPOINTS[name];
  if (!entry) {
    throw new FaceVerifyError('MODEL_NOT_FOUND', `No model named "${name}" to pull`, {
      available: Object.keys(FACENET_CHECKPOINTS),
    });
  }
  const alignment = options.alignment ?? { kind: 'landmarks' as const };
  const registeredName = alignment.kind === 'box' ? `${name}-box` : name;
  checkUserModelName(registeredName);
  const expected = options.sha256?.toLowerCase() ?? entry.sha256;
  if (expected !== null && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new FaceVerifyError('INVALID_INPUT', '--sha256 must be 64 hexadecimal digits');
  }
  const t0 = performance.now();
  const from = options.from ?? options.url ?? entry.url;
  const bytes = options.from
    ? await readLocal(options.from)
    : await downloadFile(from, { maxBytes: MAX_CHECKPOINT_BYTES, onProgress: options.onProgress });
  const actual = sha256(bytes);
  if (expected !== null && actual !== expected) {
    throw new FaceVerifyError('MODEL_INVALID', `The checkpoint from ${from} has an unexpected sha256`, {
      expected,
      actual,
    });
  }
  const t1 = performance.now();
  const format = checkpointFormat(bytes);
  const built = buildInceptionResnetV1(readTorchCheckpoint(bytes), { inputSize: 160, name });
  const onnxSha = sha256(built.onnx);
  const onnxPath = join(userModelsDir(options.cacheDir), userModelFileName(registeredName, onnxSha));
  await writeAtomically(onnxPath, built.onnx);
  const manifest: EmbedderManifest = {
    kind: 'embedder',
    name: registeredName,
    description:
      alignment.kind === 'box'
        ? `${entry.description} (box crop, margin ${alignment.margin})`
        : entry.description,
    license: entry.license,
    source: { format: 'onnx', path: onnxPath, sha256: onnxSha },
    inputSize: built.inputSize,
    normalization: { mean: 127.5, std: 128, channels: 'RGB' },
    template: scaleTemplate(ARCFACE_TEMPLATE_112, 112, built.inputSize),
    embeddingSize: built.embeddingSize,
    threshold: UNCALIBRATED_THRESHOLD,
    calibration: uncalibrated(),
    flip: true,
    ...(alignment.kind === 'box' ? { alignment } : {}),
    origin: {
      kind: 'pull',
      from,
      sha256: actual,
      converter: FACENET_CONVERTER,
      addedAt: new Date().toISOString(),
    },
  };
  const manifestPath = await saveUserModel(options.cacheDir, manifest);
  return {
    manifest,
    manifestPath,
    checkpoint: { from, sha256: actual, format, bytes: bytes.length, checked: expected !== null },
    timings: { fetchMs: t1 - t0, convertMs: performance.now() - t1 },
  };
}
