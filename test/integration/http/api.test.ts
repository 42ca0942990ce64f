/**
 * The reference API through real HTTP handling (Fastify inject, and one real port), with real photos
 * served over HTTP by a local static server, the real pipeline, and each queue backend: the in-process
 * queue and BullMQ on the real Redis. The same suite runs against both.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { facePath, HAVE_FACES } from '../../support/faces.js';
import { HAVE_REDIS, REDIS_URL, uniqueName } from '../../support/redis.js';
import { multipartBody } from '../../support/multipart.js';
import { startStaticServer, type StaticServer } from '../../support/static-server.js';
import { waitUntil } from '../../support/wait-until.js';

const OBAMA = 'sanity/face_recognition/obama/obama.jpg';
const OBAMA2 = 'sanity/face_recognition/obama/obama2.jpg';
const BIDEN = 'sanity/face_recognition/biden/biden.jpg';
const HORSES = 'edge/no_face/horses.jpg';

/** A multipart body with the two images as files (what `curl -F image1=@a.jpg` sends). */
function multipart(files: Record<string, string>) {
  const { payload, contentType } = multipartBody(
    Object.entries(files).map(([name, path]) => ({
      name,
      filename: `${name}.jpg`,
      value: readFileSync(facePath(path)),
    })),
  );
  return { payload, headers: { 'content-type': contentType } };
}

interface StatusBody {
  task_id: string;
  status: string;
  result?: Record<string, unknown> & { is_match: boolean; cached?: boolean };
  error?: { code: string; error: string };
}

const backends = [
  { name: 'in-process queue', redis: false },
  { name: 'BullMQ on Redis', redis: true },
] as const;

for (const backend of backends) {
  const run = HAVE_FACES && (!backend.redis || HAVE_REDIS);
  describe.skipIf(!run)(`HTTP API (${backend.name})`, () => {
    let service: Service;
    let app: FastifyInstance;
    let files: StaticServer;
    const prefix = uniqueName('api');

    beforeAll(async () => {
      files = await startStaticServer();
      const config = loadConfig({
        DATA_DIR: process.env.DATA_DIR,
        LOG_LEVEL: 'silent',
        ADMIN_API_KEYS: 'admin-secret',
        BATCH_MAX_PAIRS: '5',
        RETRY_DELAY_S: '0.2',
        RATE_LIMIT_MAX: '0',
        URL_ALLOWLIST: '127.0.0.1', // the photo server of the tests; everything else private stays refused
        MAX_RETRIES: '1',
        ...(backend.redis ? { REDIS_URL } : {}),
      });
      service = await createService(config, 'both', { queueName: prefix, redisPrefix: prefix });
      app = service.app as FastifyInstance;
    });

    afterAll(async () => {
      await service?.close();
      await files?.close();
    });

    const poll = (id: string): Promise<StatusBody> =>
      waitUntil(
        `task ${id} finished`,
        async () => (await app.inject({ method: 'GET', url: `/status/${id}` })).json<StatusBody>(),
        (body) => body.status === 'SUCCESS' || body.status === 'FAILURE',
        { intervalMs: 50 },
      );

    it('POST /verify with two uploads answers 200 PENDING with a task id, and the task matches the same person', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/verify',
        ...multipart({ image1: OBAMA, image2: OBAMA2 }),
      });
      expect(res.statusCode).toBe(200);
      const created = res.json<{ task_id: string; status: string; message: string }>();
      expect(created).toMatchObject({ status: 'PENDING', message: 'Task created successfully' });
      expect(created.task_id).toMatch(/^[0-9a-f-]{36}$/);
      const done = await poll(created.task_id);
      expect(done.status).toBe('SUCCESS');
      expect(done.result).toMatchObject({ is_match: true, model: 'mobilefacenet' });
      expect(done.result).toHaveProperty('metrics.cosine_similarity');
      expect(done.result).toHaveProperty('metrics.euclidean_distance');
      expect(done.result).toHaveProperty('threshold.cosine_similarity');
      expect(done.result?.faces).toHaveLength(2);
    });

    it('POST /verify/sync with JSON URLs returns the result directly; different people do not match', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/verify/sync',
        payload: { image1_url: files.url(OBAMA), image2_url: files.url(BIDEN) },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json<StatusBody>();
      expect(body.status).toBe('SUCCESS');
      expect(body.result?.is_match).toBe(false);
    });

    it('form-urlencoded URLs with ?wait=true, and the same pair again comes from the result cache', async () => {
      const payload = `image1_url=${encodeURIComponent(files.url(OBAMA2))}&image2_url=${encodeURIComponent(files.url(OBAMA))}`;
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      const first = (
        await app.inject({ method: 'POST', url: '/verify?wait=true', payload, headers })
      ).json<StatusBody>();
      expect(first.status).toBe('SUCCESS');
      const again = (
        await app.inject({ method: 'POST', url: '/verify?wait=true', payload, headers })
      ).json<StatusBody>();
      expect(again.result?.cached).toBe(true);
      expect(again.result?.is_match).toBe(true);
    });

    it('a photo without a face ends in FAILURE with the NO_FACE code, as the rest of the API reports it', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/verify/sync',
        ...multipart({ image1: OBAMA, image2: HORSES }),
      });
      const body = res.json<StatusBody>();
      expect(body.status).toBe('FAILURE');
      expect(body.error).toEqual({
        code: 'NO_FACE',
        error: expect.stringContaining('Image 2') as unknown,
        image: 2,
      });
    });

    it('POST /verify/batch returns each pair in order, and embeds a shared image once', async () => {
      const before = (await app.inject({ method: 'GET', url: '/metrics/cache' })).json<{
        embeddings: { misses: number };
      }>();
      const res = await app.inject({
        method: 'POST',
        url: '/verify/batch',
        payload: {
          image_pairs: [
            [
              files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg'),
              files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0002.jpg'),
            ],
            [
              files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg'),
              files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg'),
            ],
            [files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg'), files.url(HORSES)],
          ],
        },
      });
      expect(res.statusCode).toBe(200);
      const done = await poll(res.json<{ task_id: string }>().task_id);
      expect(done.status).toBe('SUCCESS');
      const result = done.result as unknown as {
        results: { pair_index: number; status: string; error?: { code: string } }[];
        summary: Record<string, number>;
      };
      expect(result.results.map((r) => r.pair_index)).toEqual([0, 1, 2]);
      expect(result.results.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'FAILURE']);
      expect(result.results[2]?.error?.code).toBe('NO_FACE');
      expect(result.summary).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
      const after = (await app.inject({ method: 'GET', url: '/metrics/cache' })).json<{
        embeddings: { misses: number };
      }>();
      // Four distinct images: the shared first image was looked up (and embedded) once, not three times.
      expect(after.embeddings.misses - before.embeddings.misses).toBe(4);
    });

    it('refuses image URLs that reach private addresses not on the allowlist (SSRF), before connecting', async () => {
      for (const url of [
        'http://169.254.169.254/latest/meta-data/',
        'http://[::1]:9/x.jpg',
        'http://10.0.0.1/x.jpg',
      ]) {
        const res = await app.inject({
          method: 'POST',
          url: '/verify/sync',
          payload: { image1_url: url, image2_url: files.url(OBAMA) },
        });
        const body = res.json<StatusBody>();
        expect(body.status, url).toBe('FAILURE');
        expect(body.error?.code, url).toBe('URL_NOT_ALLOWED');
      }
    });

    it('refuses a batch longer than BATCH_MAX_PAIRS with 400 in the error format', async () => {
      const pair = [files.url(OBAMA), files.url(OBAMA2)];
      const res = await app.inject({
        method: 'POST',
        url: '/verify/batch',
        payload: { image_pairs: Array(6).fill(pair) },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ status: 'error', code: 'INVALID_INPUT', max_pairs: 5 });
    });

    it('every error has the one format: unknown task 404, unknown route 404, bad body 400, wrong media type 415', async () => {
      const cases = [
        {
          req: { method: 'GET' as const, url: '/status/00000000-0000-0000-0000-000000000000' },
          status: 404,
          code: 'TASK_NOT_FOUND',
        },
        { req: { method: 'GET' as const, url: '/nope' }, status: 404, code: 'NOT_FOUND' },
        {
          req: { method: 'POST' as const, url: '/verify', payload: { image1_url: 'http://a' } },
          status: 400,
          code: 'INVALID_INPUT',
        },
        {
          req: {
            method: 'POST' as const,
            url: '/verify',
            payload: { image1_url: 'http://a', image2_url: 'http://b', threshold: 7 },
          },
          status: 400,
          code: 'INVALID_INPUT',
        },
        {
          req: {
            method: 'POST' as const,
            url: '/verify',
            payload: '<x/>',
            headers: { 'content-type': 'application/xml' },
          },
          status: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
        },
      ];
      for (const c of cases) {
        const res = await app.inject(c.req);
        expect(res.statusCode, c.req.url).toBe(c.status);
        expect(res.json()).toEqual({
          status: 'error',
          error: expect.any(String) as unknown,
          code: c.code,
          request_id: res.headers['x-request-id'],
        });
      }
    });

    it('GET /health reports models, queue and cache; GET /metrics serves JSON and Prometheus text', async () => {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({
        status: 'ok',
        ready: true,
        checks: {
          models: { ready: true },
          queue: { ok: true, backend: backend.redis ? 'bullmq' : 'memory' },
        },
      });
      expect((await app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
      const json = (await app.inject({ method: 'GET', url: '/metrics' })).json<Record<string, unknown>>();
      expect(json).toHaveProperty('performance.latency_ms.p50');
      expect(json).toHaveProperty('tasks.by_state.SUCCESS');
      const prom = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { accept: 'text/plain;version=0.0.4' },
      });
      expect(prom.headers['content-type']).toContain('text/plain');
      expect(prom.body).toContain('faceverify_task_duration_seconds_bucket');
      const redis = (await app.inject({ method: 'GET', url: '/metrics/redis' })).json<{
        configured: boolean;
      }>();
      expect(redis.configured).toBe(backend.redis);
    });

    it('POST /cache/clear needs the admin key', async () => {
      expect((await app.inject({ method: 'POST', url: '/cache/clear' })).statusCode).toBe(401);
      const ok = await app.inject({
        method: 'POST',
        url: '/cache/clear',
        headers: { 'x-api-key': 'admin-secret' },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({
        status: 'ok',
        cleared: { embeddings: expect.any(Number) as unknown },
      });
    });

    it('serves OpenAPI describing every endpoint', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, unknown>;
      }>();
      for (const path of [
        '/verify',
        '/verify/sync',
        '/verify/batch',
        '/status/{task_id}',
        '/health',
        '/metrics',
        '/cache/clear',
      ]) {
        expect(Object.keys(doc.paths)).toContain(path);
      }
    });

    it('answers over a real port while work is running (the event loop is not blocked by inference)', async () => {
      // Wrong if it fails: inference on the event loop would hold every request (health checks
      // included) for as long as the verifications run. Four pairs no cache has seen (re-encoded
      // copies), so each is real work; /health, asked after them, must be answered before they are
      // all done. An order, not a time: a busy machine slows the verifications, not the order.
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const obama = readFileSync(facePath(OBAMA));
      const forms = await Promise.all(
        [81, 83, 85, 87].map(async (quality) => {
          const { payload, contentType } = multipartBody([
            {
              name: 'image1',
              filename: 'image1.jpg',
              value: await sharp(obama).jpeg({ quality }).toBuffer(),
            },
            { name: 'image2', filename: 'image2.jpg', value: readFileSync(facePath(BIDEN)) },
          ]);
          return { payload, headers: { 'content-type': contentType } };
        }),
      );
      let finished = 0;
      const pending = forms.map((form) =>
        fetch(`${address}/verify/sync`, { method: 'POST', body: form.payload, headers: form.headers }).then(
          (r) => {
            finished += 1;
            return r;
          },
        ),
      );
      const health = await fetch(`${address}/health`);
      expect(health.status).toBe(200);
      expect(finished, '/health waited for the verifications').toBeLessThan(forms.length);
      for (const r of await Promise.all(pending)) expect(r.status).toBe(200);
    });
  });
}
