/**
 * The OpenAPI document is complete and correct: every route of the API is in it, and real responses
 * of every endpoint — successes and errors — validate against the response schema the document gives
 * for that status. A schema that drifts from what the code sends fails here.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { ERROR_CATALOGUE } from '../../../src/errors.js';
import { describeWithFaces, facePath } from '../../support/faces.js';
import { multipartBody } from '../../support/multipart.js';

interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
}

describeWithFaces('OpenAPI document against real responses', () => {
  let service: Service;
  let app: FastifyInstance;
  let doc: OpenApi;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const checked = new Set<string>();

  beforeAll(async () => {
    service = await createService(
      loadConfig({
        DATA_DIR: process.env.DATA_DIR,
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
        ADMIN_API_KEYS: 'adm',
      }),
      'both',
    );
    app = service.app as FastifyInstance;
    doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApi>();
    ajv.addSchema(doc, 'openapi');
  });

  afterAll(async () => {
    await service?.close();
  });

  /** Sends a request and validates its JSON body against the document's schema for path, method, status. */
  async function check(path: string, req: InjectOptions): Promise<unknown> {
    const res = await app.inject(req);
    const method = (req.method ?? 'GET').toLowerCase();
    const responses = doc.paths[path]?.[method]?.responses;
    expect(responses, `${method} ${path} is documented`).toBeDefined();
    const status = String(res.statusCode);
    expect(Object.keys(responses ?? {}), `${method} ${path} documents status ${status}`).toContain(status);
    const pointer = `openapi#/paths/${encodeURIComponent(path.replace(/\//g, '~1'))}/${method}/responses/${status}/content/application~1json/schema`;
    const validate = ajv.getSchema(pointer) as ValidateFunction | undefined;
    expect(validate, `a JSON schema for ${method} ${path} ${status}`).toBeDefined();
    const body: unknown = res.json();
    const ok = validate?.(body);
    expect(
      ok,
      `${method} ${path} ${status}: ${JSON.stringify(validate?.errors)}\n${res.body.slice(0, 300)}`,
    ).toBe(true);
    checked.add(`${method} ${path}`);
    return body;
  }

  it('every documented route is a real one, and the API routes are all documented', () => {
    const documented = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m} ${p}`),
    );
    for (const route of [
      'post /verify',
      'post /verify/sync',
      'post /verify/batch',
      'get /status/{task_id}',
      'get /health',
      'get /health/live',
      'get /health/ready',
      'get /metrics',
      'get /metrics/cache',
      'get /metrics/redis',
      'post /cache/clear',
    ]) {
      expect(documented).toContain(route);
    }
  });

  it('success and error responses of every endpoint match their schemas', async () => {
    const form = multipartBody([
      {
        name: 'image1',
        filename: 'a.jpg',
        value: readFileSync(facePath('sanity/face_recognition/obama/obama.jpg')),
      },
      {
        name: 'image2',
        filename: 'b.jpg',
        value: readFileSync(facePath('sanity/face_recognition/obama/obama2.jpg')),
      },
    ]);
    const upload = { payload: form.payload, headers: { 'content-type': form.contentType } };
    const created = (await check('/verify', { method: 'POST', url: '/verify', ...upload })) as {
      task_id: string;
    };
    await service.queue.wait(created.task_id, 30_000);
    await check('/status/{task_id}', { method: 'GET', url: `/status/${created.task_id}` });
    await check('/verify/sync', { method: 'POST', url: '/verify/sync', ...upload });
    const noFace = multipartBody([
      {
        name: 'image1',
        filename: 'a.jpg',
        value: readFileSync(facePath('sanity/face_recognition/obama/obama.jpg')),
      },
      { name: 'image2', filename: 'b.jpg', value: readFileSync(facePath('edge/no_face/horses.jpg')) },
    ]);
    await check('/verify/sync', {
      method: 'POST',
      url: '/verify/sync',
      payload: noFace.payload,
      headers: { 'content-type': noFace.contentType },
    });
    await check('/verify/batch', {
      method: 'POST',
      url: '/verify/batch',
      payload: { image_pairs: [['http://127.0.0.1:9/a.jpg', 'http://127.0.0.1:9/b.jpg']] },
    });
    // Errors.
    await check('/verify', { method: 'POST', url: '/verify', payload: { image1_url: 'http://a' } });
    await check('/verify', {
      method: 'POST',
      url: '/verify',
      payload: '<x/>',
      headers: { 'content-type': 'application/xml' },
    });
    await check('/status/{task_id}', { method: 'GET', url: '/status/00000000-0000-0000-0000-000000000000' });
    await check('/cache/clear', { method: 'POST', url: '/cache/clear' });
    await check('/cache/clear', { method: 'POST', url: '/cache/clear', headers: { 'x-api-key': 'adm' } });
    // Operations.
    for (const p of [
      '/health',
      '/health/live',
      '/health/ready',
      '/metrics',
      '/metrics/cache',
      '/metrics/redis',
    ]) {
      await check(p, { method: 'GET', url: p });
    }
    expect(checked.size).toBe(11);
  });

  it('the error schema lists every error code of the catalogue', () => {
    const text = JSON.stringify(doc);
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(text).toContain(code);
  });
});
