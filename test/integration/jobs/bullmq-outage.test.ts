// BullmqQueue when Redis is not there: unreachable from the start, and going away then coming back
// (a TCP proxy in front of the real Redis that the test cuts and restores). The API must answer 503
// (UNAVAILABLE) instead of hanging, recover by itself, and finish the tasks it had accepted.
// Run time: < 5 s in all (commandTimeoutMs 300; the outage lasts ~0.5 s). No call is timed: BullMQ's
// connections queue commands while Redis is away and retry forever, so only commandTimeoutMs can turn
// a call into UNAVAILABLE, and only closeGraceMs can end close(); without them a test hangs until
// vitest's hang guard fails it.
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { BullmqQueue } from '../../../src/jobs/bullmq-queue.js';
import type { QueueLogger } from '../../../src/jobs/queue-options.js';
import type { TaskPayload } from '../../../src/jobs/task-queue.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';
import { freePort, TcpProxy } from '../../support/tcp-proxy.js';
import { HANG_GUARD_MS } from '../../support/wait-until.js';
import { deleteKeys } from './redis-keys.js';

const silent: QueueLogger = { warn: () => undefined, error: () => undefined };
const task = (tag: string): TaskPayload => ({
  name: 'verify',
  data: { image1: { url: `http://example.test/${tag}` }, image2: { url: 'x' } },
});

async function unavailable(promise: Promise<unknown>): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FaceVerifyError);
  expect((err as FaceVerifyError).code).toBe('UNAVAILABLE');
  expect((err as FaceVerifyError).status).toBe(503);
}

describe('BullmqQueue with Redis unreachable from the start', () => {
  it('answers UNAVAILABLE (503) for enqueue, get, counts and wait; health is not ok', async () => {
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
      await unavailable(queue.enqueue(task('a')));
      await unavailable(queue.get('00000000-0000-4000-8000-000000000000'));
      await unavailable(queue.counts());
      await unavailable(queue.wait('00000000-0000-4000-8000-000000000000', HANG_GUARD_MS));
      const health = await queue.health();
      expect(health.ok).toBe(false);
      expect(health.detail).toContain(`127.0.0.1:${port}`);
    } finally {
      await queue.close(); // does not hang either
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
      .poll(async () => (await q.get(running))?.state, { timeout: HANG_GUARD_MS, interval: 10 })
      .toBe('STARTED');

    await proxy.down();
    await unavailable(q.enqueue(task('during')));
    await unavailable(q.get(running));
    expect((await q.health()).ok).toBe(false);
    release(); // the running task finishes during the outage; its result must not be lost

    await new Promise((r) => setTimeout(r, 300));
    await proxy.up();
    await expect.poll(async () => (await q.health()).ok, { timeout: HANG_GUARD_MS, interval: 50 }).toBe(true);

    expect(await q.wait(running, HANG_GUARD_MS)).toMatchObject({ state: 'SUCCESS', result: 'running' });
    expect(await q.wait(queued, HANG_GUARD_MS)).toMatchObject({ state: 'SUCCESS', result: 'queued' });
    const after = await q.enqueue(task('after'));
    expect(await q.wait(after, HANG_GUARD_MS)).toMatchObject({ state: 'SUCCESS', result: 'after' });
  });

  it('close() during an outage returns (closeGraceMs ends the stuck task)', async () => {
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
    await expect
      .poll(async () => (await q.get(id))?.state, { timeout: HANG_GUARD_MS, interval: 10 })
      .toBe('STARTED');

    await proxy.down();
    await q.close();
  });
});
