/**
 * Access and browser-facing protections, registered before the routes:
 * - API keys (API_KEYS): every endpoint but /health needs `X-API-Key` or `Authorization: Bearer`,
 *   compared in constant time; admin keys (ADMIN_API_KEYS) are valid keys too. What a valid key may
 *   do in the galleries is access.ts's concern (API_KEY_SCOPES).
 * - Rate limiting per API key (hashed) or client IP, in Redis when configured so it holds across
 *   instances; 429 in the error format with Retry-After. /health is exempt (probes must not be limited).
 * - CORS only for configured origins (none by default), and security headers (helmet).
 * Proxy headers are trusted only when TRUST_PROXY is set (Fastify's trustProxy, in app.ts).
 */
import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { KeyScope } from '../config/key-scopes.js';
import { FaceVerifyError } from '../errors.js';
import { keyMatches, presentedKey } from './routes/ops.js';

export interface SecurityOptions {
  apiKeys: readonly string[];
  /** Also accepted wherever a key is needed (they may do everything). */
  adminApiKeys?: readonly string[];
  /** What keys of apiKeys may do in the galleries (API_KEY_SCOPES); absent keys: everything. */
  keyScopes?: ReadonlyMap<string, KeyScope>;
  /** Paths anyone may GET without a key (the web page's own files). */
  publicPaths?: readonly string[];
  rateLimit: { max: number; windowS: number; redis: Redis | undefined; prefix: string };
  corsOrigins: readonly string[];
}

const OPEN_PATHS = new Set(['/health', '/health/live', '/health/ready']);

function path(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '';
}

export async function registerSecurity(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  await app.register(helmet, {
    // Swagger UI (/docs) and the web page load their own scripts and styles from this origin only.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        // The page must work over plain http on a LAN address too; TLS is the proxy's job.
        upgradeInsecureRequests: null,
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  if (opts.corsOrigins.length > 0) {
    const any = opts.corsOrigins.includes('*');
    await app.register(cors, {
      origin: any ? '*' : [...opts.corsOrigins],
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['content-type', 'x-api-key', 'authorization'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }

  const publicPaths = new Set(opts.publicPaths ?? []);
  const validKeys = [...opts.apiKeys, ...(opts.adminApiKeys ?? [])];
  if (opts.apiKeys.length > 0) {
    app.addHook('onRequest', async (request) => {
      if (OPEN_PATHS.has(path(request)) || request.method === 'OPTIONS') return;
      if ((request.method === 'GET' || request.method === 'HEAD') && publicPaths.has(path(request))) return;
      if (!keyMatches(presentedKey(request), validKeys)) {
        throw new FaceVerifyError(
          'UNAUTHORIZED',
          'A valid API key is required (X-API-Key or Authorization: Bearer)',
        );
      }
    });
  }

  if (opts.rateLimit.max > 0) {
    await app.register(rateLimit, {
      max: opts.rateLimit.max,
      timeWindow: opts.rateLimit.windowS * 1000,
      ...(opts.rateLimit.redis
        ? { redis: opts.rateLimit.redis, nameSpace: `${opts.rateLimit.prefix}:ratelimit:` }
        : {}),
      // A Redis outage must not take the API down with it: requests pass unlimited meanwhile.
      skipOnError: true,
      allowList: (request) => OPEN_PATHS.has(path(request)),
      keyGenerator: (request) => {
        const key = presentedKey(request);
        return key
          ? `key:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`
          : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) =>
        new FaceVerifyError('RATE_LIMITED', `Rate limit exceeded; retry in ${context.after}`, {
          retry_after_s: Math.ceil(context.ttl / 1000),
        }),
    });
  }
}
