/**
 * A bounded load test on loopback: autocannon sends 160 verify requests over 16 connections to a
 * service with a deliberately small queue. Every request gets a well-formed answer (200, or 429 with
 * Retry-After in the error format), memory stays bounded, and afterwards every accepted task has
 * reached SUCCESS or FAILURE — nothing is lost or stuck.
 */
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { describeWithFaces, readFace } from '../../support/faces.js';
import { multipartBody } from '../../support/multipart.js';
import { HANG_GUARD_MS } from '../../support/wait-until.js';

describeWithFaces('load: many concurrent verifies against a small queue', () => {
  let service: Service;
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig({
      DATA_DIR: process.env.DATA_DIR,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: '0',
      MAX_QUEUE_SIZE: '6',
      MAX_CONCURRENT_TASKS: '2',
      EMBEDDING_CACHE: 'off',
    });
    service = await createService(config, 'both');
    app = service.app as FastifyInstance;
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers every request well-formed, loses no task, and keeps memory bounded', async () => {
    const { payload: body, contentType } = multipartBody([
      { name: 'image1', filename: 'a.jpg', value: readFace('lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg') },
      { name: 'image2', filename: 'b.jpg', value: readFace('lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg') },
    ]);
    const accepted: string[] = [];
    const refused: { status: number; body: string }[] = [];
    const rssBefore = process.memoryUsage().rss;
    const result = await autocannon({
      url: `${url}/verify`,
      connections: 16,
      amount: 160,
      timeout: 20,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': contentType },
          body,
          onResponse: (status: number, resBody: string) => {
            if (status === 200) accepted.push((JSON.parse(resBody) as { task_id: string }).task_id);
            else refused.push({ status, body: resBody });
          },
        },
      ],
    });
    const rssAfter = process.memoryUsage().rss;

    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(accepted.length + refused.length).toBe(160);
    // The queue holds 6: under this load most requests must be turned away, politely.
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(JSON.parse(r.body)).toMatchObject({ status: 'error', code: 'QUEUE_FULL' });
    }
    // Bounded: the rejected requests' uploads were not kept.
    expect((rssAfter - rssBefore) / 2 ** 20).toBeLessThan(300);

    for (const id of accepted) {
      const record = await service.queue.wait(id, HANG_GUARD_MS);
      expect(['SUCCESS', 'FAILURE']).toContain(record?.state);
    }
    const counts = await service.queue.counts();
    expect(counts.PENDING + counts.STARTED + counts.RETRY).toBe(0);
  });
});
