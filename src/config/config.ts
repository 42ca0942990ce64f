/**
 * Configuration: one schema, each setting with its default and a one-line doc. Loaded once from the
 * environment (the only reader of process.env), validated with every problem listed, then frozen.
 * `.env.example` is generated from this schema (`faceverify config example`) and a test checks that
 * the committed file matches.
 */
import { FaceVerifyError } from '../errors.js';
import { parseAllowlist } from '../fetch/address-policy.js';
import { parseTemplateKeys } from '../gallery/template-cipher.js';
import { keyScopeProblems, parseKeyScopes } from './key-scopes.js';

type Parser<T> = (raw: string) => T;

interface Setting<T> {
  env: string;
  default: T;
  doc: string;
  parse: Parser<T>;
  /** Older names accepted for the same setting (e.g. the reference service's). */
  aliases?: string[];
  /** Never repeated in error messages (keys). */
  secret?: boolean;
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

const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Error('must be true or false');
};

const list: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);

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
    doc: 'Embedding model: mobilefacenet (= fast), accurate (MobileFaceNet + dlib fusion), dlib-resnet, or one you registered',
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
  inferenceThreads: setting<number | 'auto'>({
    env: 'INFERENCE_THREADS',
    default: 'auto',
    doc: 'Inference threads per process, each with its own copy of the models (auto = one per CPU, capped by a container CPU quota; 0 = in the main thread)',
    parse: (raw) => (raw.trim().toLowerCase() === 'auto' ? 'auto' : int(0, 64)(raw)),
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
  orientationSearch: setting<'on' | 'off'>({
    env: 'ORIENTATION_SEARCH',
    default: 'on',
    doc: 'When no face is found, look again with the photo turned 90°, 270° and 180° (sideways photos without EXIF)',
    parse: oneOf('on', 'off'),
  }),
  lowLightRetry: setting<'on' | 'off'>({
    env: 'LOW_LIGHT_RETRY',
    default: 'on',
    doc: 'When no face is found in a dark or backlit photo, look again on a brightened copy',
    parse: oneOf('on', 'off'),
  }),
  faceExposureNormalise: setting<'on' | 'off'>({
    env: 'FACE_EXPOSURE_NORMALISE',
    default: 'on',
    doc: 'Lift a dark face (underexposed, backlit) by a gain before embedding it; normally lit faces are untouched',
    parse: oneOf('on', 'off'),
  }),
  faceDeblur: setting<'on' | 'off'>({
    env: 'FACE_DEBLUR',
    default: 'on',
    doc: 'Sharpen a blurred face (sharpness below 0.02) before embedding it; normally sharp faces are untouched',
    parse: oneOf('on', 'off'),
  }),
  qualityFilter: setting<'none' | 'low' | 'medium' | 'high'>({
    env: 'QUALITY_FILTER',
    default: 'none',
    doc: 'Refuse faces below a quality with 422 LOW_QUALITY: none, low (only the worst), medium (every low face), high (all but high)',
    parse: oneOf('none', 'low', 'medium', 'high'),
  }),
  matchFar: setting<number | undefined>({
    env: 'MATCH_FAR',
    default: undefined,
    doc: "Pick the model's threshold for this false-match rate on LFW (e.g. 1e-3); an explicit threshold wins",
    parse: num(0, 1),
  }),
  thresholdModel: setting({
    env: 'THRESHOLD_MODEL',
    default: 'facenet-vggface2',
    doc: 'The model COSINE_SIMILARITY_THRESHOLD / EUCLIDEAN_DISTANCE_THRESHOLD were fitted for (the reference .env’s FaceNet); for another MODEL they move to the same LFW false-match rate, or are not applied',
    parse: str,
  }),
  cosineThreshold: setting<number | undefined>({
    env: 'COSINE_SIMILARITY_THRESHOLD',
    default: undefined,
    doc: "Override the model's calibrated cosine threshold (match when similarity ≥ threshold)",
    parse: num(-1, 1),
  }),
  minConfidence: setting<number | undefined>({
    env: 'MIN_CONFIDENCE_THRESHOLD',
    default: undefined,
    doc: 'If set, a match also needs a calibrated confidence of at least this (reference name)',
    parse: num(0, 1),
  }),
  euclideanThreshold: setting<number | undefined>({
    env: 'EUCLIDEAN_DISTANCE_THRESHOLD',
    default: undefined,
    doc: 'Override the threshold as a euclidean distance of unit embeddings (converted: cos = 1 − d²/2)',
    parse: num(0, 2),
  }),
  maxEuclideanDistance: setting<number | undefined>({
    env: 'MAX_EUCLIDEAN_DISTANCE',
    default: undefined,
    doc: "Accepted for reference .env files; unused (the reference's ad-hoc confidence needed it)",
    parse: num(0, 100),
  }),
  // ---- service
  host: setting({ env: 'HOST', default: '0.0.0.0', doc: 'Address the HTTP server listens on', parse: str }),
  port: setting({ env: 'PORT', default: 8000, doc: 'HTTP port', parse: int(0, 65535) }),
  logLevel: setting<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>({
    env: 'LOG_LEVEL',
    default: 'info',
    doc: 'Log level (pino): fatal, error, warn, info, debug, trace, silent',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  }),
  redisUrl: setting({
    env: 'REDIS_URL',
    default: '',
    doc: 'Redis URL; when set, tasks go through BullMQ and caches live in Redis (empty: all in-process)',
    parse: str,
  }),
  queueName: setting({
    env: 'QUEUE_NAME',
    default: 'faceverify-tasks',
    doc: 'BullMQ queue name (API nodes and workers of one deployment must agree)',
    parse: str,
  }),
  redisPrefix: setting({
    env: 'REDIS_PREFIX',
    default: 'faceverify',
    doc: 'Prefix of every Redis key of the queue and the caches (several deployments can share a Redis)',
    parse: str,
  }),
  workerName: setting({
    env: 'WORKER_NAME',
    default: '',
    doc: 'Name a worker gives itself in Redis and logs (default: host name and process id)',
    parse: str,
  }),
  redisPoolMaxConnections: setting({
    env: 'REDIS_POOL_MAX_CONNECTIONS',
    default: 10,
    doc: 'Accepted for reference .env files; ioredis multiplexes one connection per role',
    parse: int(1, 10_000),
  }),
  redisTimeoutS: setting({
    env: 'REDIS_POOL_TIMEOUT',
    default: 5,
    doc: 'Seconds to wait for Redis to connect or answer before a request gets 503',
    parse: num(0.1, 600),
  }),
  maxConcurrentTasks: setting({
    env: 'MAX_CONCURRENT_TASKS',
    default: 10,
    doc: 'Tasks processed at once per worker process',
    parse: int(1, 1000),
  }),
  maxQueueSize: setting({
    env: 'MAX_QUEUE_SIZE',
    default: 100,
    doc: 'Unfinished tasks (waiting and running) at most; beyond it POST /verify answers 429 with Retry-After',
    parse: int(1, 1_000_000),
  }),
  taskTimeoutS: setting({
    env: 'TASK_TIMEOUT_S',
    aliases: ['CELERY_TASK_TIMEOUT'],
    default: 30,
    doc: 'Seconds one attempt of a task may take',
    parse: num(1, 3600),
  }),
  maxRetries: setting({
    env: 'MAX_RETRIES',
    default: 3,
    doc: 'Retries of a task after a transient failure (download errors, timeouts); never for bad input',
    parse: int(0, 20),
  }),
  retryDelayS: setting({
    env: 'RETRY_DELAY_S',
    aliases: ['RETRY_DELAY'],
    default: 60,
    doc: 'Seconds before the first retry; doubles for each further one',
    parse: num(0, 3600),
  }),
  lockDurationS: setting({
    env: 'WORKER_LOCK_DURATION_S',
    default: 30,
    doc: 'BullMQ: a worker holds a running task this long between renewals; a dead worker’s task is recovered after it',
    parse: num(1, 3600),
  }),
  stalledIntervalS: setting({
    env: 'WORKER_STALLED_INTERVAL_S',
    default: 30,
    doc: 'BullMQ: how often workers look for tasks whose worker died (stalled-job recovery)',
    parse: num(1, 3600),
  }),
  resultTtlS: setting({
    env: 'RESULT_TTL_S',
    default: 3600,
    doc: 'Seconds a finished task stays readable at GET /status/{task_id}',
    parse: int(1, 30 * 86400),
  }),
  maxStoredResults: setting({
    env: 'MAX_STORED_RESULTS',
    default: 10_000,
    doc: 'Successful tasks kept at most within RESULT_TTL_S, and as many failed ones; the oldest are forgotten first (bounds memory, or Redis)',
    parse: int(1, 10_000_000),
  }),
  syncTimeoutS: setting({
    env: 'SYNC_TIMEOUT_S',
    default: 30,
    doc: 'Seconds POST /verify/sync waits for the result before answering with the task id',
    parse: num(0.1, 600),
  }),
  batchMaxPairs: setting({
    env: 'BATCH_MAX_PAIRS',
    default: 50,
    doc: 'Pairs at most in one POST /verify/batch',
    parse: int(1, 10_000),
  }),
  embeddingCache: setting<'on' | 'off'>({
    env: 'EMBEDDING_CACHE',
    default: 'on',
    doc: 'Cache embeddings and results (memory, or Redis with REDIS_URL); off keeps no biometric data',
    parse: oneOf('on', 'off'),
  }),
  embeddingCacheTtlS: setting({
    env: 'EMBEDDING_CACHE_TTL_S',
    default: 3600,
    doc: 'Seconds an embedding stays cached',
    parse: int(1, 30 * 86400),
  }),
  resultCacheTtlS: setting({
    env: 'RESULT_CACHE_TTL_S',
    default: 3600,
    doc: 'Seconds a verification result stays cached',
    parse: int(1, 30 * 86400),
  }),
  cacheMaxEntries: setting({
    env: 'CACHE_MAX_ENTRIES',
    default: 10_000,
    doc: 'Entries at most in each in-memory cache (LRU)',
    parse: int(1, 10_000_000),
  }),
  workerMemoryLimitMb: setting({
    env: 'WORKER_MEMORY_LIMIT_MB',
    default: 0,
    doc: 'If set, /health reports not ready while the process RSS is above this (0: no limit)',
    parse: int(0, 1_000_000),
  }),
  adminApiKeys: setting<string[]>({
    env: 'ADMIN_API_KEYS',
    default: [],
    doc: 'Comma-separated keys for admin endpoints (POST /cache/clear, GET /admin/audit); they may do everything else too; none: those endpoints are off',
    secret: true,
    parse: list,
  }),
  apiKeys: setting<string[]>({
    env: 'API_KEYS',
    default: [],
    doc: 'Comma-separated API keys; when set, every endpoint but /health needs X-API-Key or Bearer',
    secret: true,
    parse: list,
  }),
  apiKeyScopes: setting({
    env: 'API_KEY_SCOPES',
    default: '',
    doc: 'Limit keys of API_KEYS to galleries and permissions: KEY=galleries:a,b*;perms:enrol,search,delete,read[;name:id] per key, space-separated (a key without an entry may do everything)',
    secret: true,
    parse: (raw) => {
      parseKeyScopes(raw); // reports every bad entry with the other configuration problems
      return raw;
    },
  }),
  rateLimitMax: setting({
    env: 'RATE_LIMIT_MAX',
    default: 600,
    doc: 'Requests per client (API key, else IP) per window; beyond it 429 with Retry-After (0: no limit)',
    parse: int(0, 10_000_000),
  }),
  rateLimitWindowS: setting({
    env: 'RATE_LIMIT_WINDOW_S',
    default: 60,
    doc: 'Rate-limit window in seconds (counted in Redis when REDIS_URL is set, so it holds across instances)',
    parse: int(1, 86_400),
  }),
  trustProxy: setting<string>({
    env: 'TRUST_PROXY',
    default: '',
    doc: 'Trust X-Forwarded-For from these proxies (true, a hop count, or addresses/CIDRs); empty: trust none',
    parse: str,
  }),
  corsOrigins: setting<string[]>({
    env: 'CORS_ORIGINS',
    default: [],
    doc: 'Comma-separated origins allowed to call the API from a browser (* for any); none by default',
    parse: list,
  }),
  allowPrivateUrls: setting<boolean>({
    env: 'ALLOW_PRIVATE_URLS',
    default: false,
    doc: 'Let image URLs reach loopback, private and link-local addresses (intranet deployments only)',
    parse: bool,
  }),
  urlAllowlist: setting<string[]>({
    env: 'URL_ALLOWLIST',
    default: [],
    doc: 'Hosts (example.com, *.example.com) and CIDRs image URLs may reach even if private',
    parse: (raw) => {
      parseAllowlist(raw); // reports a bad entry with the other configuration problems
      return list(raw);
    },
  }),
  downloadTimeoutS: setting({
    env: 'DOWNLOAD_TIMEOUT_S',
    default: 15,
    doc: 'Seconds an image download may take in all (connect 5 s, headers and body within this)',
    parse: num(1, 600),
  }),
  webUi: setting<'on' | 'off'>({
    env: 'WEB_UI',
    default: 'on',
    doc: 'Serve the web page at /',
    parse: oneOf('on', 'off'),
  }),
  // ---- galleries (enrolled subjects)
  databaseUrl: setting({
    env: 'DATABASE_URL',
    default: '',
    doc: 'postgres://… to keep galleries in PostgreSQL, shared by several API nodes (empty: an embedded SQLite file in DATA_DIR, one node)',
    parse: str,
  }),
  dataDir: setting({
    env: 'DATA_DIR',
    default: './data',
    doc: 'Folder of the embedded gallery database (galleries.sqlite)',
    parse: str,
  }),
  templateEncryptionKey: setting({
    env: 'TEMPLATE_ENCRYPTION_KEY',
    default: '',
    doc: 'Encrypt stored templates and crops (AES-256-GCM): id:base64-32-bytes[,id:key…], the first encrypts, any decrypts (empty: stored plain)',
    secret: true,
    parse: (raw) => {
      parseTemplateKeys(raw); // reports a bad key with the other configuration problems
      return raw;
    },
  }),
  galleryRetentionDays: setting({
    env: 'GALLERY_RETENTION_DAYS',
    default: 0,
    doc: 'Days an enrolled subject is kept unless its enrol sets expires_at; then deleted by the sweeper (0: kept until deleted)',
    parse: int(0, 36_500),
  }),
  auditRetentionDays: setting({
    env: 'AUDIT_RETENTION_DAYS',
    default: 0,
    doc: "Days the galleries' audit log keeps an entry; older ones are deleted by the sweeper (0: kept forever)",
    parse: int(0, 36_500),
  }),
  searchFpir: setting({
    env: 'SEARCH_FPIR',
    default: 0.01,
    doc: 'Gallery search without a threshold: raise the threshold with the gallery size so an unknown person matches someone at most this often (0: the verification threshold)',
    parse: num(0, 0.5),
  }),
  retainFaceCrops: setting<boolean>({
    env: 'RETAIN_FACE_CROPS',
    default: false,
    doc: 'Keep a 256×256 face chip (a face image, ~73 KB, sealed like templates) of each enrolled face, so `gallery reembed` can move a gallery to another model',
    parse: bool,
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
      const shown = s.secret ? '(hidden)' : JSON.stringify(env[name]);
      problems.push(`${name}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0) problems.push(...crossProblems(out as Config));
  if (problems.length > 0) {
    throw new FaceVerifyError('INVALID_INPUT', `Invalid configuration:\n  ${problems.join('\n  ')}`, {
      problems,
    });
  }
  return Object.freeze(out) as Config;
}

/** Problems between settings that are each valid on their own. */
function crossProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.apiKeyScopes) {
    if (config.apiKeys.length === 0) {
      problems.push('API_KEY_SCOPES is set but API_KEYS is not: without keys anyone may do everything');
    }
    problems.push(
      ...keyScopeProblems(parseKeyScopes(config.apiKeyScopes), config.apiKeys, config.adminApiKeys),
    );
  }
  return problems;
}

function formatDefault(d: unknown): string {
  if (typeof d === 'number' || typeof d === 'string' || typeof d === 'boolean') return String(d);
  return Array.isArray(d) ? d.join(',') : '';
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
    const value = formatDefault(d);
    lines.push(`${d === undefined || value === '' ? '# ' : ''}${s.env}=${value}`, '');
  }
  return lines.join('\n');
}

/** The settings as a Markdown table (docs/configuration.md is generated from it). */
export function envMarkdown(): string {
  const rows = (Object.values(SCHEMA) as Setting<unknown>[]).map((s) => {
    const d = s.default;
    const value = formatDefault(d);
    const names = [s.env, ...(s.aliases ?? [])].map((n) => `\`${n}\``).join(' or ');
    return `| ${names} | ${value === '' ? '(none)' : `\`${value}\``} | ${s.doc.replace(/\|/g, '\\|')} |`;
  });
  return [
    '# Configuration',
    '',
    'Every setting comes from the environment, or from a `.env` file in the working directory (the',
    'environment wins). Values are checked once at start-up; an invalid one stops the process with a',
    'message naming the variable, and every problem is listed at once. A `.env` written for the reference',
    'service (FastAPI + Celery) works unchanged: its names are accepted (shown as aliases below).',
    '',
    'This page and `.env.example` are generated from `src/config/config.ts`',
    '(`faceverify config markdown`, `faceverify config example`); a test keeps them in step.',
    '',
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
