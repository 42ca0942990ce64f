/**
 * buildApp(deps): the Fastify application, with everything it needs passed in (no globals, no env),
 * so tests build it with real parts and call it through inject() or a real port.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Cache } from '../cache/cache.js';
import type { TaskQueue } from '../jobs/task-queue.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { Access } from './access.js';
import { registerErrorHandlers, sendError } from './errors.js';
import { registerSecurity, type SecurityOptions } from './security.js';
import { opsRoutes, type ThresholdStatus } from './routes/ops.js';
import { galleryRoutes, type GalleryRouteOptions } from './routes/galleries.js';
import { verifyRoutes } from './routes/verify.js';

export interface AppDeps {
  queue: TaskQueue;
  caches: Cache<unknown>[];
  metrics: ServiceMetrics;
  redis: Redis | undefined;
  modelsReady: () => { ready: boolean; model: string; detail: string; threshold?: ThresholdStatus };
  limits: { maxImageBytes: number; batchMaxPairs: number; syncTimeoutMs: number };
  adminApiKeys: readonly string[];
  memoryLimitMb: number;
  version: string;
  security: SecurityOptions;
  /** Fastify's trustProxy: false, true, a hop count, or addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  /** A pino logger, or false for none. */
  logger: FastifyBaseLogger | false;
  /** Serve the web page (web/) at / (WEB_UI=on); off, the service is the API alone and / is a 404. */
  webUi: boolean;
  /** The gallery routes' store, verifier and fetcher; absent on nodes without a model (no routes). */
  galleries?: Omit<GalleryRouteOptions, 'maxImageBytes' | 'access'>;
}

/** The web page's folder: <package>/web/, from src/http/ (tsx, tests) and dist/http/ (built) alike. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** Removes query strings from URLs before they are logged (they may carry tokens). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?[redacted]`;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { limits } = deps;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    genReqId: () => randomUUID(),
    // Errors of the router itself (a malformed URL, an over-long parameter) get our format too.
    frameworkErrors: (err, _request, reply) => {
      void sendError(reply, err);
    },
    // A hop count trusts that many proxies nearest to us (proxy-addr's meaning of a number).
    trustProxy:
      typeof deps.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (deps.trustProxy as number)
        : deps.trustProxy,
    requestIdHeader: false,
    // Two base64 images plus the JSON around them.
    bodyLimit: Math.ceil(limits.maxImageBytes * 2 * 1.37) + 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
  });
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400)
      deps.metrics.httpErrors.inc({ code: 'http', status: String(reply.statusCode) });
  });
  registerErrorHandlers(app);
  // The page's own files are public even with API_KEYS set: the page asks for the key itself.
  const webFiles = deps.webUi ? ['/', ...readdirSync(WEB_ROOT).map((f) => `/${f}`)] : [];
  await registerSecurity(app, {
    ...deps.security,
    adminApiKeys: deps.adminApiKeys,
    publicPaths: webFiles,
  });

  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(multipart, {
    limits: {
      fileSize: limits.maxImageBytes,
      files: 2,
      fields: 10,
      fieldSize: 4096,
      parts: 12,
      headerPairs: 100,
    },
    throwFileSizeLimit: true,
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'faceverify',
        version: deps.version,
        description:
          'Face verification: are the two photos the same person? Every error has the shape { status: "error", error, code }.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(verifyRoutes, {
    queue: deps.queue,
    maxImageBytes: limits.maxImageBytes,
    batchMaxPairs: limits.batchMaxPairs,
    syncTimeoutMs: limits.syncTimeoutMs,
    onAccepted: () => deps.metrics.taskAccepted(),
  });
  if (deps.galleries) {
    const access = new Access({
      adminApiKeys: deps.adminApiKeys,
      scopes: deps.security.keyScopes ?? new Map(),
    });
    await app.register(galleryRoutes, { ...deps.galleries, access, maxImageBytes: limits.maxImageBytes });
  }
  if (deps.webUi) {
    // One route per file found at start-up (no wildcard), so any other path stays our JSON 404.
    // decorateReply: false leaves reply.sendFile to Swagger UI's own instance of the plugin.
    await app.register(fastifyStatic, { root: WEB_ROOT, prefix: '/', wildcard: false, decorateReply: false });
  }
  await app.register(opsRoutes, {
    queue: deps.queue,
    caches: deps.caches,
    metrics: deps.metrics,
    redis: deps.redis,
    modelsReady: deps.modelsReady,
    adminApiKeys: deps.adminApiKeys,
    memoryLimitMb: deps.memoryLimitMb,
    version: deps.version,
  });
  return app;
}
