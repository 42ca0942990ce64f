/**
 * Configuration: one schema, each setting with its default and a one-line doc. Loaded once from the
 * environment (the only reader of process.env), validated with every problem listed, then frozen.
 * `.env.example` is generated from this schema (`faceverify config example`) and a test checks that
 * the committed file matches.
 */
import { FaceVerifyError } from '../errors.js';

type Parser<T> = (raw: string) => T;

interface Setting<T> {
  env: string;
  default: T;
  doc: string;
  parse: Parser<T>;
  /** Older names accepted for the same setting (e.g. the reference service's). */
  aliases?: string[];
}

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw) => {
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`must be an integer from ${min} to ${max}`);
    return v;
  };

const num =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
      throw new Error(`must be a number from ${min} to ${max}`);
    }
    return v;
  };

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    const v = raw.trim().toLowerCase() as T;
    if (!values.includes(v)) throw new Error(`must be one of ${values.join(', ')}`);
    return v;
  };

const str: Parser<string> = (raw) => raw;

const thresholds: Parser<[number, number, number]> = (raw) => {
  const parts = raw.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((v) => !Number.isFinite(v) || v <= 0 || v >= 1)) {
    throw new Error('must be three numbers between 0 and 1, e.g. 0.6,0.7,0.7');
  }
  return parts as [number, number, number];
};

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

export const SCHEMA = {
  model: setting({
    env: 'MODEL',
    default: 'mobilefacenet',
    doc: 'Embedding model (see `faceverify models list`)',
    parse: str,
  }),
  modelCacheDir: setting({
    env: 'MODEL_CACHE_DIR',
    default: '',
    doc: 'Folder for converted ONNX models (default: .cache/models in the package, else the temp folder)',
    parse: str,
  }),
  device: setting<'cpu' | 'cuda'>({
    env: 'FACEVERIFY_DEVICE',
    default: 'cpu',
    doc: 'ONNX Runtime device: cpu, or cuda where onnxruntime-node was installed with CUDA',
    parse: oneOf('cpu', 'cuda'),
  }),
  intraOpThreads: setting({
    env: 'ORT_INTRA_OP_THREADS',
    default: 1,
    doc: 'ONNX Runtime threads per inference (1 measured fastest on 2 cores; parallelism comes from concurrent requests)',
    parse: int(1, 64),
  }),
  maxImageDimension: setting({
    env: 'MAX_IMAGE_DIMENSION',
    default: 1920,
    doc: 'Longest image side after decoding; larger images are scaled down (results stay in original pixels)',
    parse: int(64, 16384),
  }),
  maxImageSizeMb: setting({
    env: 'MAX_IMAGE_SIZE_MB',
    default: 10,
    doc: 'Largest image file (upload or download) in megabytes',
    parse: num(0.01, 1024),
  }),
  maxInputPixels: setting({
    env: 'MAX_INPUT_PIXELS',
    default: 100_000_000,
    doc: 'Largest width × height an image may declare; more is refused before decoding (pixel bombs)',
    parse: int(1, 1_000_000_000),
  }),
  minFaceSize: setting({
    env: 'MIN_FACE_SIZE',
    default: 60,
    doc: 'Smallest face (longer box side, decoded pixels) that counts; smaller ones give FACE_TOO_SMALL',
    parse: int(12, 4096),
  }),
  detectionThresholds: setting<[number, number, number]>({
    env: 'DETECTION_THRESHOLDS',
    default: [0.6, 0.7, 0.9],
    doc: 'MTCNN P-Net, R-Net, O-Net probability thresholds',
    parse: thresholds,
  }),
  facePolicy: setting<'strict' | 'largest' | 'center'>({
    env: 'FACE_POLICY',
    default: 'strict',
    doc: 'Which face to use: strict (exactly one face), largest, or center (largest and most central)',
    parse: oneOf('strict', 'largest', 'center'),
  }),
  cosineThreshold: setting<number | undefined>({
    env: 'COSINE_SIMILARITY_THRESHOLD',
    default: undefined,
    doc: "Override the model's calibrated cosine threshold (match when similarity ≥ threshold)",
    parse: num(-1, 1),
  }),
};

export type Config = { readonly [K in keyof typeof SCHEMA]: (typeof SCHEMA)[K]['default'] };

/**
 * Reads and validates the configuration; throws one error listing every invalid setting.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SCHEMA) as [string, Setting<unknown>][]) {
    const name = [s.env, ...(s.aliases ?? [])].find((n) => env[n] !== undefined && env[n] !== '');
    if (!name) {
      out[key] = s.default;
      continue;
    }
    try {
      out[key] = s.parse(env[name] as string);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(env[name])}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new FaceVerifyError('INVALID_INPUT', `Invalid configuration:\n  ${problems.join('\n  ')}`, {
      problems,
    });
  }
  return Object.freeze(out) as Config;
}

/** The `.env.example` text: every setting, its doc line and its default. */
export function envExample(): string {
  const lines = [
    '# faceverify configuration. Every setting is optional; the value shown is the default.',
    '',
  ];
  for (const s of Object.values(SCHEMA) as Setting<unknown>[]) {
    lines.push(`# ${s.doc}`);
    const d = s.default;
    const value =
      typeof d === 'number' || typeof d === 'string' ? String(d) : Array.isArray(d) ? d.join(',') : '';
    lines.push(`${d === undefined || value === '' ? '# ' : ''}${s.env}=${value}`, '');
  }
  return lines.join('\n');
}
