// BullmqQueue when Redis is not there: unreachable from the start, and going away then coming back
// (a TCP proxy in front of the real Redis that the test cuts and restores). The API must answer 503
// (UNAVAILABLE) fast instead of hanging, recover by itself, and finish the tasks it had accepted.
// Time budget: < 5 s in all (commandTimeoutMs 300; the outage lasts ~0.5 s).
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { BullmqQueue } from '../../../src/jobs/bullmq-queue.js';
import type { QueueLogger } from '../../../src/jobs/queue-options.js';
import type { TaskPayload } from '../../../src/jobs/task-queue.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';
import { freePort, TcpProxy } from '../../support/tcp-proxy.js';
import { deleteKeys } from './redis-keys.js';

const silent: QueueLogger = { warn: () => undefined, error: () => undefined };
const task = (tag: string): TaskPayload => ({
  name: 'verify',
  data: { image1: { url: `http://example.test/${tag}` }, image2: { url: 'x' } },
});

async function unavailable(promise: Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FaceVerifyError);
  expect((err as FaceVerifyError).code).toBe('UNAVAILABLE');
  expect((err as FaceVerifyError).status).toBe(503);
  return Date.now() - t0;
}

describe('BullmqQueue with Redis unreachable from the start', () => {
  it('answers UNAVAILABLE (503) fast for enqueue, get, counts and wait; health is not ok', async () => {
    // Wrong if it fails: with Redis down, POST /verify and GET /status would hang (ioredis queues
    // commands forever by default) instead of answering 503.
    const port = await freePort();
    const queue = new BullmqQueue({
      redisUrl: `redis://127.0.0.1:${port}`,
      prefix: uniqueName('down'),
      commandTimeoutMs: 300,
      logger: silent,
    });
    try {
      expect(await unavailable(queue.enqueue(task('a')))).toBeLessThan(1500);
      expect(await unavailable(queue.get('00000000-0000-4000-8000-000000000000'))).toBeLessThan(1500);
      expect(await unavailable(queue.counts())).toBeLessThan(1500);
      expect(await unavailable(queue.wait('00000000-0000-4000-8000-000000000000', 5000))).toBeLessThan(1500);
      const health = await queue.health();
      expect(health.ok).toBe(false);
      expect(health.detail).toContain(`127.0.0.1:${port}`);
    } finally {
      const t0 = Date.now();
      await queue.close();
      expect(Date.now() - t0, 'close() does not hang either').toBeLessThan(2000);
    }
  });
});

describeWithRedis('BullmqQueue through a Redis outage (real Redis behind a proxy)', () => {
  let proxy: TcpProxy;
  let prefix: string;
  let queue: BullmqQueue | undefined;

  beforeEach(async () => {
    prefix = uniqueName('outage');
    const target = new URL(REDIS_URL);
    proxy = new TcpProxy(await freePort(), { host: target.hostname, port: Number(target.port || 6379) });
    await proxy.up();
  });

  afterEach(async () => {
    await proxy.up().catch(() => undefined);
    await queue?.close();
    queue = undefined;
    await proxy.down();
    const admin = new Redis(REDIS_URL);
    await deleteKeys(admin, `${prefix}:*`);
    await admin.quit();
  });

  it('answers 503 while Redis is away, recovers by itself, and completes the tasks accepted before', async () => {
    // Wrong if it fails: an outage would crash or wedge the service, need a restart, or lose tasks.
    const q = (queue = new BullmqQueue({
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      commandTimeoutMs: 300,
      logger: silent,
    }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await q.startWorker(async (t) => {
      const tag = t.name === 'verify' && 'url' in t.data.image1 ? t.data.image1.url : '';
      if (tag.endsWith('/running')) await gate;
      return tag.split('/').pop();
    }, 1);
    const running = await q.enqueue(task('running'));
    const queued = await q.enqueue(task('queued'));
    await expect
      .poll(async () => (await q.get(running))?.state, { timeout: 3000, interval: 10 })
      .toBe('STARTED');

    await proxy.down();
    expect(await unavailable(q.enqueue(task('during')))).toBeLessThan(1000);
    expect(await unavailable(q.get(running))).toBeLessThan(1000);
    expect((await q.health()).ok).toBe(false);
    release(); // the running task finishes during the outage; its result must not be lost

    await new Promise((r) => setTimeout(r, 300));
    await proxy.up();
    await expect.poll(async () => (await q.health()).ok, { timeout: 5000, interval: 50 }).toBe(true);

    expect(await q.wait(running, 5000)).toMatchObject({ state: 'SUCCESS', result: 'running' });
    expect(await q.wait(queued, 5000)).toMatchObject({ state: 'SUCCESS', result: 'queued' });
    const after = await q.enqueue(task('after'));
    expect(await q.wait(after, 5000)).toMatchObject({ state: 'SUCCESS', result: 'after' });
  });

  it('close() during an outage returns in bounded time', async () => {
    // Wrong if it fails: SIGTERM while Redis is away would hang the process until it is killed.
    const q = (queue = new BullmqQueue({
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      commandTimeoutMs: 300,
      closeGraceMs: 200,
      logger: silent,
    }));
    await q.startWorker(() => new Promise(() => undefined), 1);
    const id = await q.enqueue(task('stuck'));
    expect((await q.wait(id, 20))?.state).toMatch(/PENDING|STARTED/); // also opens the events connection
    await expect.poll(async () => (await q.get(id))?.state, { timeout: 3000, interval: 10 }).toBe('STARTED');

    await proxy.down();
    const t0 = Date.now();
    await q.close();
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});
