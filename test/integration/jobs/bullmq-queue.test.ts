// What the BullMQ backend leaves in Redis, beyond the shared contract (task-queue-conformance):
// the job id is the task id under the configured prefix and queue name, the task error is stored as
// JSON, and a finished task's payload (which may hold uploaded images) is erased. < 1 s.
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { BullmqQueue } from '../../../src/jobs/bullmq-queue.js';
import type { QueueLogger } from '../../../src/jobs/queue-options.js';
import type { TaskPayload } from '../../../src/jobs/task-queue.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';
import { HANG_GUARD_MS } from '../../support/wait-until.js';
import { deleteKeys } from './redis-keys.js';

const silent: QueueLogger = { warn: () => undefined, error: () => undefined };
const upload = (tag: string): TaskPayload => ({
  name: 'verify',
  data: { image1: { base64: `SECRET-IMAGE-${tag}` }, image2: { url: 'http://example.test/2' } },
});

describeWithRedis('BullmqQueue in Redis (real Redis)', () => {
  let prefix: string;
  let admin: Redis;
  let queue: BullmqQueue;

  beforeEach(() => {
    prefix = uniqueName('bull');
    admin = new Redis(REDIS_URL);
    queue = new BullmqQueue({
      redisUrl: REDIS_URL,
      prefix,
      queueName: 'verify',
      maxRetries: 0,
      logger: silent,
    });
  });

  afterEach(async () => {
    await queue.close();
    await deleteKeys(admin, `${prefix}:*`);
    await admin.quit();
  });

  it('stores the job under the task id, erases its payload once finished, keeps the error as JSON', async () => {
    // Wrong if it fails: uploaded face images would stay in Redis for the whole result TTL, or the
    // API could not find a task by its id, or read back its error code.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await queue.startWorker(async () => {
      await gate;
      throw new FaceVerifyError('INVALID_IMAGE', 'Image 1 is not a valid image');
    }, 1);
    const id = await queue.enqueue(upload('a'));
    const key = `${prefix}:verify:${id}`;
    expect(await admin.hget(key, 'data'), 'payload present while the task runs').toContain('SECRET-IMAGE-a');

    release();
    expect(await queue.wait(id, HANG_GUARD_MS)).toMatchObject({
      state: 'FAILURE',
      error: { code: 'INVALID_IMAGE' },
    });
    expect(JSON.parse((await admin.hget(key, 'failedReason')) ?? '')).toEqual({
      code: 'INVALID_IMAGE',
      error: 'Image 1 is not a valid image',
    });
    await expect
      .poll(() => admin.hget(key, 'data'), { timeout: HANG_GUARD_MS, interval: 10 })
      .not.toContain('SECRET');
  });
});
