/**
 * Access controls through real HTTP handling: API keys, rate limits in the error format with
 * Retry-After (in memory and in the real Redis, shared by two instances), CORS only for configured
 * origins, security headers, and no internals in a 500.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { FaceVerifyError } from '../../../src/errors.js';
import { multipartBody } from '../../support/multipart.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';

// Closed after each test: without Redis a service has its own worker, with the models loaded
// (~450 MB and inference threads each); eleven of them were kept alive until the end of the file.
const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

/** A service without Redis runs its own worker (with the models); with Redis, the API alone. */
async function api(env: Record<string, string>, redis = false): Promise<Service> {
  const config = loadConfig({
    DATA_DIR: process.env.DATA_DIR,
    LOG_LEVEL: 'silent',
    ...(redis ? { REDIS_URL } : {}),
    ...env,
  });
  const s = await createService(config, redis ? 'api' : 'both', {
    redisPrefix: env.REDIS_PREFIX ?? uniqueName('sec'),
  });
  services.push(s);
  return s;
}

describe('API keys', () => {
  it('when API_KEYS is set, every endpoint but /health needs a key, by header or Bearer token', async () => {
    const { app } = await api({ API_KEYS: 'k1,k2', RATE_LIMIT_MAX: '0' });
    if (!app) throw new Error('no app');
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const denied = await app.inject({ method: 'GET', url: '/metrics' });
    expect(denied.statusCode).toBe(401);
    expect(denied.json()).toMatchObject({ status: 'error', code: 'UNAUTHORIZED' });
    expect(
      (await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': 'wrong' } })).statusCode,
    ).toBe(401);
    expect(
      (await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': 'k2' } })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer k1' } }))
        .statusCode,
    ).toBe(200);
    // Unknown routes are hidden behind the key too (no probing without one).
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(401);
  });
});

describe('rate limits', () => {
  it('answers 429 in the error format with Retry-After once a client used its allowance; /health is exempt', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_S: '60' });
    if (!app) throw new Error('no app');
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await app.inject({ method: 'GET', url: '/metrics/cache' })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const limited = await app.inject({ method: 'GET', url: '/metrics/cache' });
    expect(limited.json()).toMatchObject({ status: 'error', code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // Another client (another key) has its own allowance.
    expect(
      (await app.inject({ method: 'GET', url: '/metrics/cache', headers: { 'x-api-key': 'someone' } }))
        .statusCode,
    ).toBe(200);
  });
});

describeWithRedis('rate limits across instances', () => {
  it('two API instances on one Redis share one allowance per client', async () => {
    const prefix = uniqueName('rl');
    const env = { RATE_LIMIT_MAX: '4', REDIS_PREFIX: prefix };
    const [a, b] = [(await api(env, true)).app, (await api(env, true)).app];
    if (!a || !b) throw new Error('no app');
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      codes.push((await a.inject({ method: 'GET', url: '/metrics/cache' })).statusCode);
      codes.push((await b.inject({ method: 'GET', url: '/metrics/cache' })).statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
  });
});

describe('browser-facing headers', () => {
  it('sends security headers and no CORS headers unless origins are configured', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '0' });
    if (!app) throw new Error('no app');
    const res = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.example' },
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the configured origins', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '0', CORS_ORIGINS: 'https://app.example' });
    if (!app) throw new Error('no app');
    const ok = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://app.example' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    const other = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('internal errors', () => {
  it('a 500 says "Internal error" with a request id, never the message, stack or paths', async () => {
    const s = await api({ RATE_LIMIT_MAX: '0' });
    const app = s.app;
    if (!app) throw new Error('no app');
    // Make the queue fail like a bug would.
    s.queue.get = () => Promise.reject(new Error('secret detail at /srv/app/src/x.ts:12'));
    const res = await app.inject({ method: 'GET', url: '/status/00000000-0000-0000-0000-000000000000' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      status: 'error',
      error: 'Internal error',
      code: 'INTERNAL_ERROR',
      request_id: res.headers['x-request-id'],
    });
    expect(res.body).not.toContain('secret');
    s.queue.get = () => Promise.reject(new FaceVerifyError('UNAVAILABLE', 'Redis is not reachable'));
    const unavailable = await app.inject({
      method: 'GET',
      url: '/status/00000000-0000-0000-0000-000000000000',
    });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers['retry-after']).toBeDefined();
  });
});

describe('request size limits', () => {
  it('refuses an upload over MAX_IMAGE_SIZE_MB with 413, and a third file or unknown file field with 4xx', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '0', MAX_IMAGE_SIZE_MB: '0.05' });
    if (!app) throw new Error('no app');
    const file = (name: string, bytes: Buffer) => ({ name, filename: 'x.jpg', value: bytes });
    const send = (parts: Parameters<typeof multipartBody>[0]) => {
      const { payload, contentType } = multipartBody(parts);
      return app.inject({
        method: 'POST',
        url: '/verify',
        payload,
        headers: { 'content-type': contentType },
      });
    };
    const big = await send([file('image1', Buffer.alloc(80 * 1024, 1)), file('image2', Buffer.alloc(10, 1))]);
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ status: 'error', code: 'IMAGE_TOO_LARGE' });
    const three = await send([
      file('image1', Buffer.alloc(10)),
      file('image2', Buffer.alloc(10)),
      file('image1', Buffer.alloc(10)),
    ]);
    expect(three.statusCode).toBe(413);
    expect(three.json()).toMatchObject({ status: 'error' });
    const odd = await send([file('avatar', Buffer.alloc(10))]);
    expect(odd.statusCode).toBe(400);
    expect(odd.json()).toMatchObject({ status: 'error', code: 'INVALID_INPUT' });
    // A file and a base64 text field for the same image: ambiguous, so refused (not one silently kept).
    const twice = await send([
      file('image1', Buffer.alloc(10, 1)),
      { name: 'image1', value: Buffer.alloc(10, 2).toString('base64') },
      file('image2', Buffer.alloc(10, 1)),
    ]);
    expect(twice.statusCode).toBe(400);
    expect(twice.json()).toMatchObject({ status: 'error', code: 'INVALID_INPUT', error: /given twice/ });
    // The same file field twice, or the same text field twice: refused too, not the last one kept.
    const b64 = Buffer.alloc(10, 3).toString('base64');
    for (const parts of [
      [file('image1', Buffer.alloc(10, 1)), file('image1', Buffer.alloc(10, 2))],
      [
        { name: 'image1', value: b64 },
        { name: 'image1', value: b64 },
        { name: 'image2', value: b64 },
      ],
      [
        file('image1', Buffer.alloc(10, 1)),
        file('image2', Buffer.alloc(10, 1)),
        ...['0.3', '0.9'].map((value) => ({ name: 'threshold', value })),
      ],
    ]) {
      const repeated = await send(parts);
      expect(repeated.statusCode).toBe(400);
      expect(repeated.json()).toMatchObject({ status: 'error', code: 'INVALID_INPUT', error: /given twice/ });
    }
  });

  it('refuses a base64 image over the limit, and a JSON body over the limit, with 413', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '0', MAX_IMAGE_SIZE_MB: '0.05' });
    if (!app) throw new Error('no app');
    const res = await app.inject({
      method: 'POST',
      url: '/verify',
      payload: JSON.stringify({ image1: 'A'.repeat(100_000), image2: 'AAAA' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ status: 'error', code: 'IMAGE_TOO_LARGE' });
    const huge = await app.inject({
      method: 'POST',
      url: '/verify',
      payload: JSON.stringify({ image1: 'A'.repeat(400_000), image2: 'AAAA' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ status: 'error', code: 'IMAGE_TOO_LARGE' });
  });
});

describe('proxies', () => {
  it('ignores X-Forwarded-For unless TRUST_PROXY is set, so clients cannot dodge rate limits', async () => {
    const untrusted = (await api({ RATE_LIMIT_MAX: '2' })).app;
    const trusted = (await api({ RATE_LIMIT_MAX: '2', TRUST_PROXY: '127.0.0.1' })).app;
    if (!untrusted || !trusted) throw new Error('no app');
    const hit = (app: typeof untrusted, ip: string) =>
      app
        .inject({ method: 'GET', url: '/metrics/cache', headers: { 'x-forwarded-for': ip } })
        .then((r) => r.statusCode);
    // Untrusted: every "different client" is really the same peer, and is limited.
    expect([
      await hit(untrusted, '1.1.1.1'),
      await hit(untrusted, '2.2.2.2'),
      await hit(untrusted, '3.3.3.3'),
    ]).toEqual([200, 200, 429]);
    // Trusted proxy: the forwarded address is the client.
    expect([
      await hit(trusted, '1.1.1.1'),
      await hit(trusted, '2.2.2.2'),
      await hit(trusted, '3.3.3.3'),
    ]).toEqual([200, 200, 200]);
  });
});

describe('readiness', () => {
  it('answers 503 on /health and /health/ready (not /health/live) when the worker is over its memory limit', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '0', WORKER_MEMORY_LIMIT_MB: '1' });
    if (!app) throw new Error('no app');
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'unavailable',
      ready: false,
      checks: { memory: { ok: false } },
    });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});

describe('the web page with API keys', () => {
  it('serves the page files without a key (the page asks for one), everything else still needs it', async () => {
    const { app } = await api({ RATE_LIMIT_MAX: '0', API_KEYS: 'k1' });
    if (!app) throw new Error('no app');
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/app.js' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/verify' })).statusCode).toBe(401);
    const csp = (await app.inject({ method: 'GET', url: '/' })).headers['content-security-policy'];
    expect(csp).not.toContain('upgrade-insecure-requests');
  });
});
