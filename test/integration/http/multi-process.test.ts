/**
 * Scale-out as deployed: one API process (`faceverify serve --no-worker`) and two worker processes
 * (`faceverify worker`) on the real Redis. Tasks submitted over HTTP are shared by both workers and each
 * completes exactly once (BullMQ's job record: one attempt, processed by one named worker).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFaces, HAVE_FACES } from '../../support/faces.js';
import { HAVE_REDIS, REDIS_URL, uniqueName } from '../../support/redis.js';
import { ServiceProcesses } from '../../support/service-process.js';
import { startStaticServer, type StaticServer } from '../../support/static-server.js';
import { waitUntil } from '../../support/wait-until.js';
import { deleteKeys } from '../jobs/redis-keys.js';

const describeIf = HAVE_FACES && HAVE_REDIS ? describeWithFaces : describeWithFaces.skip;

/** Hang guard: three processes start on a machine that may be loaded (~30 s then; ~3 s idle). */
const HANG_GUARD_MS = 180_000;

describeIf('API + two worker processes on one Redis', () => {
  const prefix = uniqueName('mp');
  const processes = new ServiceProcesses();
  let api: string;
  let files: StaticServer;
  let redis: Redis;

  beforeAll(async () => {
    files = await startStaticServer();
    redis = new Redis(REDIS_URL);
    const env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      QUEUE_NAME: 'tasks',
      PORT: '0', // the OS picks a free port; the API logs it
      HOST: '127.0.0.1',
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_MAX: '0', // the tests poll /status often
      EMBEDDING_CACHE: 'off', // every task does the full work
      MAX_CONCURRENT_TASKS: '2',
    };
    const workers = ['worker-a', 'worker-b'].map((name) =>
      processes.start(['worker'], { ...env, WORKER_NAME: name }),
    );
    api = await processes.start(['serve', '--no-worker'], env).listening();
    await Promise.all(workers.map((w) => w.logged('worker started')));
  }, HANG_GUARD_MS);

  afterAll(async () => {
    await processes.stopAll();
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await files.close();
  });

  it(
    'shares 12 tasks between the workers, each completing exactly once',
    { timeout: HANG_GUARD_MS },
    async () => {
      // Wrong if it fails: with several workers a task could run twice or be lost, or one process
      // would not take part. The first image of every task is held by the file server until four
      // downloads are waiting: with at most two tasks per worker, both workers are then busy, whatever
      // the machine's load does to who fetches first.
      const images = ['0001', '0002', '0004'].map((n) =>
        files.url(`lfw/images/Abel_Pacheco/Abel_Pacheco_${n}.jpg`),
      );
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${api}/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image1_url: `${images[i % 3]}?hold=mp`, image2_url: images[(i + 1) % 3] }),
        });
        expect(res.status).toBe(200);
        ids.push(((await res.json()) as { task_id: string }).task_id);
      }
      await files.requested('mp', 4);
      files.release('mp');
      const states: string[] = [];
      for (const id of ids) {
        const body = await waitUntil(
          `task ${id} finished`,
          async () =>
            (await (await fetch(`${api}/status/${id}`)).json()) as {
              status: string;
              result?: { is_match: boolean };
            },
          (b) => b.status === 'SUCCESS' || b.status === 'FAILURE',
        );
        states.push(body.status);
        expect(body.result?.is_match).toBe(true);
      }
      expect(states).toEqual(Array(12).fill('SUCCESS'));
      const processedBy = new Map<string, number>();
      for (const id of ids) {
        // BullMQ's job hash: ats = attempts started, atm = attempts made, pb = processed by (worker name).
        const job = await redis.hgetall(`${prefix}:tasks:${id}`);
        expect(job.ats, `task ${id} was started more than once`).toBe('1');
        expect(job.atm, `task ${id} ran more than once`).toBe('1');
        const worker = job.pb ?? 'unknown';
        processedBy.set(worker, (processedBy.get(worker) ?? 0) + 1);
      }
      expect([...processedBy.keys()].sort()).toEqual(['worker-a', 'worker-b']);
    },
  );
});
