/**
 * Operations endpoints: GET /health (liveness and readiness), GET /metrics (JSON, or Prometheus text
 * when the client asks for it), GET /metrics/redis, GET /metrics/cache, POST /cache/clear (admin).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { Type, type Static } from 'typebox';
import type { Cache } from '../../cache/cache.js';
import { FaceVerifyError } from '../../errors.js';
import type { TaskQueue } from '../../jobs/task-queue.js';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import { ErrorBody } from '../schemas/common.js';

export interface OpsRouteOptions {
  queue: TaskQueue;
  caches: Cache<unknown>[];
  metrics: ServiceMetrics;
  redis: Redis | undefined;
  /** Models loaded (the verifier exists in this process, or workers are elsewhere). */
  modelsReady: () => { ready: boolean; model: string; detail: string; threshold?: ThresholdStatus };
  adminApiKeys: readonly string[];
  memoryLimitMb: number;
  version: string;
}

/** Compares a presented key with each configured key in constant time. */
export function keyMatches(presented: string | undefined, keys: readonly string[]): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  let ok = false;
  for (const k of keys) {
    const b = Buffer.from(k);
    // Compare equal-length buffers so timing does not reveal the length either.
    const same = a.length === b.length && timingSafeEqual(a, b);
    ok = ok || same;
  }
  return ok;
}

export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return undefined;
}

const ThresholdStatusSchema = Type.Object(
  {
    cosine_similarity: Type.Number(),
    source: Type.String({ description: 'model, configured, translated, match_far (see VerifyResult)' }),
    far: Type.Optional(Type.Number({ description: 'False-match rate at this threshold on LFW View 2' })),
    tar: Type.Optional(Type.Number({ description: 'True-match rate at this threshold on LFW View 2' })),
    note: Type.Optional(Type.String({ description: 'Why a configured threshold was moved or not applied' })),
  },
  { description: 'The threshold in force and its operating point' },
);
export type ThresholdStatus = Static<typeof ThresholdStatusSchema>;

const Health = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
    ready: Type.Boolean(),
    version: Type.String(),
    uptime_s: Type.Number(),
    checks: Type.Object({
      models: Type.Object({
        ready: Type.Boolean(),
        model: Type.String(),
        detail: Type.String(),
        threshold: Type.Optional(ThresholdStatusSchema),
      }),
      queue: Type.Object({ ok: Type.Boolean(), backend: Type.String(), detail: Type.String() }),
      cache: Type.Object({ ok: Type.Boolean(), backend: Type.String(), detail: Type.String() }),
      memory: Type.Object({ ok: Type.Boolean(), rss_mb: Type.Number(), limit_mb: Type.Number() }),
    }),
  },
  { $id: 'Health' },
);

export const opsRoutes: FastifyPluginAsync<OpsRouteOptions> = async (app, opts) => {
  const started = Date.now();

  app.get(
    '/health/live',
    {
      schema: {
        summary: 'Liveness: the process answers (for restart probes; never checks dependencies)',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  const readiness = {
    schema: {
      summary: 'Readiness: models, queue, cache and memory (for load balancers)',
      description:
        'Answers 200 when ready to take work and 503 (same body) when not, naming the failing check.',
      response: { 200: Health, 503: Health },
    },
  };

  async function health(reply: FastifyReply): Promise<FastifyReply> {
    const models = opts.modelsReady();
    const queue = await opts.queue.health().catch((err: unknown) => ({
      ok: false,
      backend: opts.queue.backend,
      detail: err instanceof Error ? err.message : 'unavailable',
    }));
    let cache = { ok: true, backend: opts.caches[0]?.backend ?? 'off', detail: 'in process' };
    if (opts.redis && cache.backend === 'redis') {
      const pong = await Promise.race([
        opts.redis.ping().catch(() => 'error'),
        new Promise<string>((r) => setTimeout(() => r('timeout'), 1000).unref()),
      ]);
      cache = {
        ok: pong === 'PONG',
        backend: 'redis',
        detail: pong === 'PONG' ? 'connected' : `redis ${pong}`,
      };
    }
    const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
    const memory = {
      ok: !opts.memoryLimitMb || rssMb <= opts.memoryLimitMb,
      rss_mb: rssMb,
      limit_mb: opts.memoryLimitMb,
    };
    const ready = models.ready && queue.ok && memory.ok;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ok' : 'unavailable',
      ready,
      version: opts.version,
      uptime_s: Math.round((Date.now() - started) / 1000),
      checks: { models, queue, cache, memory },
    });
  }

  app.get('/health/ready', readiness, async (_request, reply) => health(reply));
  app.get('/health', readiness, async (_request, reply) => health(reply));

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'System metrics and performance statistics',
        description:
          'JSON by default. Prometheus text format when the client asks for text/plain or OpenMetrics (as Prometheus does).',
        produces: ['application/json', 'text/plain'],
        response: {
          200: Type.Object(
            {
              system: Type.Object({}, { additionalProperties: true }),
              tasks: Type.Object({}, { additionalProperties: true }),
              performance: Type.Object({}, { additionalProperties: true }),
              queue: Type.Object({}, { additionalProperties: true }),
              caches: Type.Object({}, { additionalProperties: true }),
            },
            { description: 'JSON; with Accept: text/plain, Prometheus text instead' },
          ),
        },
      },
    },
    async (request, reply) => {
      const accept = request.headers.accept ?? '';
      if (/text\/plain|application\/openmetrics-text/.test(accept) && !/application\/json/.test(accept)) {
        return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
      }
      return opts.metrics.json();
    },
  );

  const CacheStatsSchema = Type.Object(
    {
      backend: Type.String(),
      hits: Type.Number(),
      misses: Type.Number(),
      size: Type.Number(),
      evictions: Type.Number(),
      hit_ratio: Type.Number(),
    },
    { additionalProperties: true },
  );
  const CacheStatsOrError = Type.Union([CacheStatsSchema, Type.Object({ error: Type.String() })]);

  app.get(
    '/metrics/cache',
    {
      schema: {
        summary: 'Hits, misses, size, evictions and hit ratio of both caches',
        response: {
          200: Type.Object(
            { embeddings: CacheStatsOrError, results: CacheStatsOrError },
            { additionalProperties: true },
          ),
        },
      },
    },
    async () => Object.fromEntries((await opts.metrics.cacheStats()).map((c) => [c.name, c.stats])),
  );

  app.get(
    '/metrics/redis',
    {
      schema: {
        summary: 'Redis INFO summary, when Redis is configured',
        response: {
          200: Type.Object(
            { configured: Type.Boolean(), message: Type.Optional(Type.String()) },
            {
              additionalProperties: true,
              description: 'With Redis: version, memory, clients, hits, evictions …',
            },
          ),
          503: ErrorBody,
        },
      },
    },
    async () => {
      if (!opts.redis) return { configured: false, message: 'Redis is not configured (REDIS_URL is empty)' };
      let info: string;
      try {
        info = await opts.redis.info();
      } catch {
        throw new FaceVerifyError('UNAVAILABLE', 'Redis is not reachable');
      }
      const fields = Object.fromEntries(
        info
          .split('\r\n')
          .filter((l) => l.includes(':') && !l.startsWith('#'))
          .map((l) => l.split(':', 2) as [string, string]),
      );
      const pick = [
        'redis_version',
        'uptime_in_seconds',
        'connected_clients',
        'used_memory_human',
        'used_memory_peak_human',
        'maxmemory_human',
        'maxmemory_policy',
        'total_commands_processed',
        'instantaneous_ops_per_sec',
        'keyspace_hits',
        'keyspace_misses',
        'evicted_keys',
        'expired_keys',
      ];
      return {
        configured: true,
        ...Object.fromEntries(pick.filter((k) => k in fields).map((k) => [k, fields[k]])),
      };
    },
  );

  app.post(
    '/cache/clear',
    {
      schema: {
        summary: 'Empty both caches (admin key required; off when ADMIN_API_KEYS is not set)',
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            cleared: Type.Record(Type.String(), Type.Number()),
          }),
          401: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      if (opts.adminApiKeys.length === 0)
        throw new FaceVerifyError('NOT_FOUND', 'No route POST /cache/clear');
      if (!keyMatches(presentedKey(request), opts.adminApiKeys)) {
        throw new FaceVerifyError('UNAUTHORIZED', 'An admin API key is required');
      }
      const cleared: Record<string, number> = {};
      for (const c of opts.caches) cleared[c.name] = await c.clear();
      return { status: 'ok' as const, cleared };
    },
  );
};
