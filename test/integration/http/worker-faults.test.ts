/**
 * Faults with real processes on the real Redis: a `faceverify worker` stopped with SIGTERM finishes its
 * running tasks and exits cleanly, leaving the rest queued; one killed with SIGKILL mid-task leaves a
 * stalled task that another worker picks up and completes. No accepted task is lost.
 *
 * Each test has its own queue (key prefix) and API process, and every process is killed and awaited
 * after it, so a worker of one test can never take a task of the next. Nothing here waits a fixed
 * time: a task is kept running by an image download the static server holds until the test releases
 * it, and the tests wait for the events themselves (a log line, the held request, a job field, exit).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithFaces, HAVE_FACES } from '../../support/faces.js';
import { HAVE_REDIS, REDIS_URL, uniqueName } from '../../support/redis.js';
import { ServiceProcesses } from '../../support/service-process.js';
import { startStaticServer, type StaticServer } from '../../support/static-server.js';
import { waitUntil } from '../../support/wait-until.js';
import { deleteKeys } from '../jobs/redis-keys.js';

const describeIf = HAVE_FACES && HAVE_REDIS ? describeWithFaces : describeWithFaces.skip;

/** Hang guard per test: starting an API and two workers on a loaded 2-core machine takes up to ~30 s. */
const TEST_TIMEOUT_MS = 180_000;

describeIf('worker processes under SIGTERM and SIGKILL', () => {
  const processes = new ServiceProcesses();
  let files: StaticServer;
  let redis: Redis;
  let prefix: string;
  let env: Record<string, string>;
  let api: string;

  const job = (id: string, field: string): Promise<string | null> =>
    redis.hget(`${prefix}:faceverify-tasks:${id}`, field);

  const submit = async (n: number, hold?: string): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${api}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          image1_url: files.url(
            `lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg${hold ? `?hold=${hold}` : ''}`,
          ),
          image2_url: files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg'),
        }),
      });
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    return ids;
  };

  const finalStates = async (ids: string[]): Promise<string[]> => {
    const states: string[] = [];
    for (const id of ids) {
      const body = await waitUntil(
        `task ${id} finished`,
        async () => (await (await fetch(`${api}/status/${id}`)).json()) as { status: string },
        (b) => b.status === 'SUCCESS' || b.status === 'FAILURE',
      );
      states.push(body.status);
    }
    return states;
  };

  beforeAll(async () => {
    files = await startStaticServer();
    redis = new Redis(REDIS_URL);
  });

  beforeEach(async () => {
    prefix = uniqueName('faults');
    env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      PORT: '0', // the OS picks a free port; the API logs it
      HOST: '127.0.0.1',
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_MAX: '0', // the tests poll /status often
      EMBEDDING_CACHE: 'off',
      MAX_CONCURRENT_TASKS: '1',
    };
    api = await processes.start(['serve', '--no-worker'], env).listening();
  });

  afterEach(async () => {
    await processes.stopAll();
    await deleteKeys(redis, `${prefix}:*`);
  });

  afterAll(async () => {
    redis.disconnect();
    await files.close();
  });

  it(
    'SIGTERM: the worker finishes what it runs, exits 0, and another worker completes the rest',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // Wrong if it fails: a deploy (SIGTERM) would cut the running task off or lose queued ones.
      const a = processes.start(['worker'], { ...env, WORKER_NAME: 'term-a' });
      const ids = await submit(6, 'term');
      // Worker A is inside the first task (its download is held), so SIGTERM comes mid-task.
      await files.requested('term');
      a.child.kill('SIGTERM');
      await a.logged('shutting down');
      files.release('term');
      expect(await a.exited).toEqual({ code: 0, signal: null });
      expect(await job(ids[0] as string, 'pb'), 'worker A finished the task it was running').toBe('term-a');

      const b = processes.start(['worker'], { ...env, WORKER_NAME: 'term-b' });
      // Start-up (models loaded) is bounded by the test's own timeout, the tasks by waitUntil's.
      await b.logged('worker started');
      expect(await finalStates(ids)).toEqual(Array(6).fill('SUCCESS'));
      b.child.kill('SIGTERM');
      expect(await b.exited).toEqual({ code: 0, signal: null });
      for (const id of ids) {
        // A graceful stop never costs a task an attempt.
        expect(await job(id, 'atm')).toBe('1');
      }
      for (const id of ids.slice(1)) expect(await job(id, 'pb'), 'the rest were left queued').toBe('term-b');
    },
  );

  it(
    'SIGTERM while the worker is still starting: it finishes starting, then exits 0',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // Wrong if it fails: a signal that arrives while models load (or just after the worker claimed its
      // first task) would kill the process outright (Node's default action) instead of a clean stop.
      // A fresh model folder makes start-up convert the models; a file appearing there proves the
      // process is inside start-up, past its own imports.
      const cache = mkdtempSync(join(tmpdir(), 'faceverify-starting-'));
      try {
        const w = processes.start(['worker'], { ...env, WORKER_NAME: 'starting', MODEL_CACHE_DIR: cache });
        await waitUntil(
          'start-up wrote to the model folder',
          () => readdirSync(cache).length,
          (n) => n > 0,
          { intervalMs: 5 },
        );
        w.child.kill('SIGTERM');
        expect(await w.exited).toEqual({ code: 0, signal: null });
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    },
  );

  it(
    'SIGKILL mid-task: the stalled task is recovered by another worker and completes',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // Wrong if it fails: a crashed or OOM-killed worker would lose the task it was running.
      // A short lock, so that the killed worker's task is found stalled within a few seconds; not
      // shorter, or a renewal delayed by a busy machine could let worker C's own stalled check
      // requeue the task before the kill (and a second stall fails it).
      const fastStall = { ...env, WORKER_LOCK_DURATION_S: '4', WORKER_STALLED_INTERVAL_S: '1' };
      const c = processes.start(['worker'], { ...fastStall, WORKER_NAME: 'kill-c' });
      const [id] = (await submit(1, 'kill')) as [string];
      await files.requested('kill'); // worker C is inside the task
      expect(await job(id, 'pb')).toBe('kill-c');
      c.child.kill('SIGKILL');
      expect(await c.exited).toEqual({ code: null, signal: 'SIGKILL' });
      files.release('kill');
      const d = processes.start(['worker'], { ...fastStall, WORKER_NAME: 'kill-d' });
      // Start-up (models loaded: 20-60 s at load 30) is bounded by the test's own timeout, the
      // recovery by waitUntil's.
      await d.logged('worker started');
      expect(await finalStates([id])).toEqual(['SUCCESS']);
      expect(await job(id, 'pb')).toBe('kill-d');
    },
  );
});
