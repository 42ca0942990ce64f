/**
 * The composition root: builds and wires everything once from the validated configuration — logger,
 * Redis, caches, task queue, verifier and task handlers, HTTP app — and tears it down in order.
 *
 * Roles: `api` serves HTTP only (needs REDIS_URL, workers elsewhere); `worker` processes tasks only;
 * `both` (the default of `faceverify serve`) does both in one process.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Cache } from './cache/cache.js';
import { jsonCodec } from './cache/codecs.js';
import { createCache } from './cache/create-cache.js';
import type { Config } from './config/config.js';
import { galleryStoreOptions } from './config/gallery-options.js';
import { parseKeyScopes } from './config/key-scopes.js';
import { verifierOptions } from './config/verifier-options.js';
import { FaceVerifyError } from './errors.js';
import { parseAllowlist } from './fetch/address-policy.js';
import { createImageFetcher, type ImageFetcher } from './fetch/image-fetcher.js';
import { createGalleryStore } from './gallery/create-gallery-store.js';
import type { GalleryStore } from './gallery/gallery-store.js';
import { buildApp, redactUrl } from './http/app.js';
import type { ThresholdStatus } from './http/routes/ops.js';
import { createTaskQueue } from './jobs/create-queue.js';
import { VerifyHandlers } from './jobs/handlers/verify-handler.js';
import type { TaskHandler, TaskQueue } from './jobs/task-queue.js';
import { ServiceMetrics } from './metrics/metrics.js';
import { DEFAULT_MODEL_CACHE_DIR } from './models/prepare.js';
import { ModelRegistry } from './models/registry.js';
import { createVerifier } from './create-verifier.js';
import { faceAnalysisCodec } from './pipeline/face-analysis-codec.js';
import type { FaceAnalysis } from './pipeline/face-analysis.js';
import type { Verifier, VerifyResult } from './pipeline/verifier.js';
import { DEFAULT_SESSION_OPTIONS } from './runtime/onnx-session.js';

export type Role = 'api' | 'worker' | 'both';

export interface Service {
  config: Config;
  logger: Logger;
  queue: TaskQueue;
  app: FastifyInstance | undefined;
  verifier: Verifier | undefined;
  /** The galleries, on nodes that serve the gallery routes (role both). */
  galleries: GalleryStore | undefined;
  metrics: ServiceMetrics;
  close(): Promise<void>;
}

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface ServiceOverrides {
  /** Replaces the pino logger options (tests pass `false` or a level). */
  logger?: Logger;
  /** Queue name and key prefix, for tests that share one Redis. */
  queueName?: string;
  redisPrefix?: string;
  /** PostgreSQL schema of the galleries, for tests that share one database. */
  gallerySchema?: string;
}

/** How often due subjects are deleted (GALLERY_RETENTION_DAYS); expiry is by the day, so this is plenty. */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        url: redactUrl(req.url),
        id: req.id,
      }),
    },
  });
}

/** TRUST_PROXY as Fastify takes it: '' → false, 'true' → true, '2' → 2 hops, else addresses/CIDRs. */
function parseTrustProxy(raw: string): boolean | number | string[] {
  const v = raw.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim());
}

/**
 * The threshold in force and its operating point, for /health and the start-up log.
 *
 * @example
 * thresholdStatus(verifier); // { cosine_similarity: 0.3989, source: 'model', far: 0.0027, tar: 0.99 }
 */
function thresholdStatus(verifier: Verifier): ThresholdStatus {
  const choice = verifier.scoring.choice();
  const point = verifier.scoring.operatingPoint(choice.threshold);
  return {
    cosine_similarity: choice.threshold,
    source: choice.source,
    ...(point ? { far: point.far, tar: point.tar } : {}),
    ...(choice.note ? { note: choice.note } : {}),
  };
}

/** Says once, at start-up, which threshold is in force and what it costs on LFW. */
function logThreshold(verifier: Verifier, logger: Logger): void {
  const status = thresholdStatus(verifier);
  const calibrated = verifier.scoring.operatingPoint(verifier.model.threshold);
  const rates = (p: { far?: number; tar?: number } | undefined) =>
    p?.far !== undefined && p.tar !== undefined
      ? `TAR ${(100 * (p.tar ?? 0)).toFixed(1)} % at FAR ${(100 * (p.far ?? 0)).toFixed(2)} % on LFW`
      : 'no LFW operating point known';
  const text = `threshold ${status.cosine_similarity} (${status.source}) with ${verifier.modelName}: ${rates(status)}; calibrated ${verifier.model.threshold}: ${rates(calibrated)}`;
  const far = Math.abs(status.cosine_similarity - verifier.model.threshold) > 0.05;
  const log = far || status.note ? logger.warn.bind(logger) : logger.info.bind(logger);
  log({ threshold: status, model: verifier.model.id }, status.note ? `${text}. ${status.note}` : text);
}

/**
 * Builds the service for a role.
 *
 * @example
 * const service = await createService(loadConfig(), 'both');
 * await service.app?.listen({ port: service.config.port, host: service.config.host });
 */
export async function createService(
  config: Config,
  role: Role,
  overrides: ServiceOverrides = {},
): Promise<Service> {
  const logger = overrides.logger ?? createLogger(config);
  if (role === 'api' && !config.redisUrl) {
    throw new FaceVerifyError(
      'INVALID_INPUT',
      'An API-only node (--no-worker) needs REDIS_URL: the workers run elsewhere',
    );
  }
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        lazyConnect: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: config.redisTimeoutS * 1000,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      })
    : undefined;
  redis?.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));

  const redisPrefix = overrides.redisPrefix ?? config.redisPrefix;
  const backend = config.embeddingCache === 'off' ? 'off' : redis ? 'redis' : 'memory';
  const onError = (err: unknown, ctx: unknown): void =>
    logger.warn(
      { err: err instanceof Error ? err.message : String(err), ctx },
      'cache error (answered as a miss)',
    );
  const embeddings = createCache<FaceAnalysis>({
    backend,
    name: 'embeddings',
    ttlSeconds: config.embeddingCacheTtlS,
    maxEntries: config.cacheMaxEntries,
    codec: faceAnalysisCodec,
    ...(redis ? { redis } : {}),
    prefix: `${redisPrefix}:cache:`,
    onError,
  });
  const results = createCache<VerifyResult>({
    backend,
    name: 'results',
    ttlSeconds: config.resultCacheTtlS,
    maxEntries: config.cacheMaxEntries,
    codec: jsonCodec<VerifyResult>(),
    ...(redis ? { redis } : {}),
    prefix: `${redisPrefix}:cache:`,
    onError,
  });

  const queueOptions = {
    maxPending: config.maxQueueSize,
    timeoutMs: config.taskTimeoutS * 1000,
    maxRetries: config.maxRetries,
    retryDelayMs: config.retryDelayS * 1000,
    resultTtlMs: config.resultTtlS * 1000,
    maxStoredResults: config.maxStoredResults,
    logger: {
      warn: (obj: Record<string, unknown>, msg: string) => logger.warn(obj, msg),
      error: (obj: Record<string, unknown>, msg: string) => logger.error(obj, msg),
    },
  };
  const queue = config.redisUrl
    ? createTaskQueue({
        backend: 'bullmq',
        redisUrl: config.redisUrl,
        commandTimeoutMs: config.redisTimeoutS * 1000,
        queueName: overrides.queueName ?? config.queueName,
        prefix: redisPrefix,
        workerName: config.workerName || `${hostname()}:${process.pid}`,
        lockDurationMs: config.lockDurationS * 1000,
        stalledIntervalMs: config.stalledIntervalS * 1000,
        ...queueOptions,
      })
    : createTaskQueue({ backend: 'memory', ...queueOptions });

  const metrics = new ServiceMetrics();
  metrics.attach({ queue, caches: [embeddings, results] as Cache<unknown>[] });

  let verifier: Verifier | undefined;
  let fetchUrl: ImageFetcher | undefined;
  if (role !== 'api') {
    // Built-in models plus those registered with `faceverify models pull|add` (a bad manifest is skipped).
    const registry = await ModelRegistry.withUserModels(config.modelCacheDir || DEFAULT_MODEL_CACHE_DIR);
    for (const p of registry.problems) logger.warn(p, 'model manifest skipped');
    const options = verifierOptions(config);
    verifier = await createVerifier({
      ...options,
      registry,
      session: {
        ...DEFAULT_SESSION_OPTIONS,
        ...options.session,
        onWarning: (message) => logger.warn(message),
      },
    });
    logThreshold(verifier, logger);
    const maxImageBytes = Math.round(config.maxImageSizeMb * 1024 * 1024);
    fetchUrl = createImageFetcher({
      maxBytes: maxImageBytes,
      connectTimeoutMs: 5_000,
      headersTimeoutMs: config.downloadTimeoutS * 1000,
      bodyTimeoutMs: config.downloadTimeoutS * 1000,
      totalTimeoutMs: config.downloadTimeoutS * 1000,
      allowPrivate: config.allowPrivateUrls,
      allowlist: parseAllowlist(config.urlAllowlist),
    });
    const handlers = new VerifyHandlers({
      verifier,
      embeddings,
      results,
      fetchImage: fetchUrl,
      maxImageBytes,
      maxRetries: config.maxRetries,
      onStage: (stage, ms) => metrics.stage(stage, ms),
    });
    const handle: TaskHandler = async (task, ctx) => {
      const t = performance.now();
      try {
        const result = await handlers.handle(task, ctx);
        metrics.taskFinished(task.name, 'SUCCESS', (performance.now() - t) / 1000);
        return result;
      } catch (err) {
        metrics.taskFinished(task.name, 'FAILURE', (performance.now() - t) / 1000);
        throw err;
      }
    };
    await queue.startWorker(handle, config.maxConcurrentTasks);
    logger.info(
      { model: verifier.modelName, concurrency: config.maxConcurrentTasks, queue: queue.backend },
      'worker started',
    );
  }

  // The gallery routes analyse photos in the API process, so they need HTTP and a model together.
  let galleries: GalleryStore | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  if (role === 'both' && verifier) {
    const store = createGalleryStore({
      ...galleryStoreOptions(config),
      ...(overrides.gallerySchema !== undefined ? { schema: overrides.gallerySchema } : {}),
      onError: (err) =>
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'gallery store error'),
    });
    await store.open();
    galleries = store;
    logger.info({ backend: store.backend }, 'galleries open');
    const sweep = (): void => {
      Promise.all([store.sweepExpired('sweeper'), store.pruneAudit()]).then(
        ([r, auditEntries]) => {
          if (r.faces > 0) logger.info(r, 'expired subjects deleted');
          if (auditEntries > 0) logger.info({ auditEntries }, 'old audit entries deleted');
        },
        (err: unknown) =>
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'gallery sweep failed'),
      );
    };
    sweep();
    sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
    sweeper.unref();
  }

  let app: FastifyInstance | undefined;
  if (role !== 'worker') {
    app = await buildApp({
      queue,
      caches: [embeddings, results] as Cache<unknown>[],
      metrics,
      redis,
      modelsReady: () =>
        verifier
          ? { model: verifier.modelName, ...verifier.status(), threshold: thresholdStatus(verifier) }
          : { ready: true, model: config.model, detail: 'loaded by the worker processes' },
      limits: {
        maxImageBytes: Math.round(config.maxImageSizeMb * 1024 * 1024),
        batchMaxPairs: config.batchMaxPairs,
        syncTimeoutMs: config.syncTimeoutS * 1000,
      },
      adminApiKeys: config.adminApiKeys,
      security: {
        apiKeys: config.apiKeys,
        keyScopes: parseKeyScopes(config.apiKeyScopes),
        rateLimit: { max: config.rateLimitMax, windowS: config.rateLimitWindowS, redis, prefix: redisPrefix },
        corsOrigins: config.corsOrigins,
      },
      trustProxy: parseTrustProxy(config.trustProxy),
      memoryLimitMb: config.workerMemoryLimitMb,
      version: VERSION,
      logger,
      webUi: config.webUi === 'on',
      ...(galleries && verifier && fetchUrl
        ? { galleries: { store: galleries, verifier, fetchImage: fetchUrl, searchFpir: config.searchFpir } }
        : {}),
    });
  }

  return {
    config,
    logger,
    queue,
    app,
    verifier,
    galleries,
    metrics,
    async close() {
      clearInterval(sweeper);
      await app?.close();
      await galleries?.close();
      await queue.close();
      await verifier?.close();
      await fetchUrl?.close();
      await Promise.all([embeddings.close(), results.close()]);
      metrics.close();
      redis?.disconnect();
    },
  };
}
