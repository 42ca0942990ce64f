// One suite, written once, run against both TaskQueue backends: MemoryQueue, and BullmqQueue on the
// real Redis (a unique key prefix per test, every queue closed and every key removed afterwards).
// Run time: each test < 1.5 s (delays of tens of ms); the whole suite a few seconds per backend. No
// test bounds how long the queue takes: a test waits for the state it needs (a gate the handler holds,
// a state the queue reports), and every timeout passed to the queue is a hang guard (WAIT_MS) far
// above the time a busy machine needs.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { BullmqQueue } from '../../../src/jobs/bullmq-queue.js';
import { MemoryQueue } from '../../../src/jobs/memory-queue.js';
import type { QueueLogger, TaskQueueOptions } from '../../../src/jobs/queue-options.js';
import { uploadedBytes } from '../../../src/jobs/task-queue.js';
import type {
  TaskContext,
  TaskHandler,
  TaskPayload,
  TaskQueue,
  TaskRecord,
} from '../../../src/jobs/task-queue.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';
import { rejection } from '../../support/rejection.js';
import { HANG_GUARD_MS } from '../../support/wait-until.js';
import { deleteKeys } from './redis-keys.js';

interface Harness {
  /** A queue for this test; closed after it. */
  open(options?: TaskQueueOptions): TaskQueue;
  /**
   * Another view of the last opened queue's tasks, usable after that queue is closed: the same object
   * for the in-process queue (whose tasks die with it), a second producer on the same Redis queue.
   */
  inspect(): TaskQueue;
  /** BullMQ keeps not-yet-started tasks in Redis across close(); the in-process queue cannot. */
  keepsTasksAcrossClose: boolean;
  cleanup(): Promise<void>;
}

const logged: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
const logger: QueueLogger = {
  warn: (obj, msg) => logged.push({ level: 'warn', obj, msg }),
  error: (obj, msg) => logged.push({ level: 'error', obj, msg }),
};

function memoryHarness(): Harness {
  const queues: TaskQueue[] = [];
  return {
    open(options = {}) {
      const queue = new MemoryQueue({ logger, ...options });
      queues.push(queue);
      return queue;
    },
    inspect() {
      const last = queues.at(-1);
      if (!last) throw new Error('open() a queue first');
      return last;
    },
    keepsTasksAcrossClose: false,
    async cleanup() {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}

function bullmqHarness(admin: Redis): Harness {
  const prefix = uniqueName('jobs');
  const queues: TaskQueue[] = [];
  const make = (options: TaskQueueOptions): TaskQueue => {
    const queue = new BullmqQueue({ logger, ...options, redisUrl: REDIS_URL, prefix, queueName: 'tasks' });
    queues.push(queue);
    return queue;
  };
  let lastOptions: TaskQueueOptions = {};
  return {
    open(options = {}) {
      lastOptions = options;
      return make(options);
    },
    inspect() {
      return make(lastOptions);
    },
    keepsTasksAcrossClose: true,
    async cleanup() {
      await Promise.all(queues.map((q) => q.close()));
      await deleteKeys(admin, `${prefix}:*`);
    },
  };
}

/** A verify task whose first URL carries a tag, so handlers and tests can tell tasks apart. */
function task(tag: string): TaskPayload {
  return { name: 'verify', data: { image1: { url: `http://example.test/${tag}` }, image2: { url: 'x' } } };
}

function tagOf(t: TaskPayload): string {
  return t.name === 'verify' && 'url' in t.data.image1 ? (t.data.image1.url.split('/').pop() ?? '') : '';
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The timeout given to wait(): a hang guard; a passing test never reaches it. */
const WAIT_MS = HANG_GUARD_MS;

/** A promise the test resolves: holds a handler (and so a task) for exactly as long as needed. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/** Polls `read` until `done` holds (tests only: the queues themselves never poll). */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = WAIT_MS): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end)
      throw new Error(`condition not met within ${timeoutMs} ms (last: ${JSON.stringify(v)})`);
    await sleep(5);
  }
}

function finished(record: TaskRecord | undefined): TaskRecord {
  expect(record, 'the task is known').toBeDefined();
  expect(['SUCCESS', 'FAILURE'], `state of ${JSON.stringify(record)}`).toContain(record?.state);
  return record as TaskRecord;
}

function conformance(makeHarness: () => Harness): void {
  let h: Harness;
  afterEach(async () => {
    await h.cleanup();
    logged.length = 0;
  });
  const setup = (): Harness => (h = makeHarness());

  it('runs a task PENDING → STARTED → SUCCESS and keeps its result', async () => {
    // Wrong if it fails: the states the API reports do not follow the task, or the result is lost.
    const q = setup().open({ maxRetries: 0 });
    const id = await q.enqueue(task('a'));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await q.get(id))?.state).toBe('PENDING');

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await q.startWorker(async (t, ctx) => {
      await gate;
      return { tag: tagOf(t), attempt: ctx.attempt };
    }, 1);
    const started = await until(
      () => q.get(id),
      (r) => r?.state === 'STARTED',
    );
    expect(started?.startedAt).toBeGreaterThanOrEqual(started?.createdAt ?? Infinity);
    release();

    const record = finished(await q.wait(id, WAIT_MS));
    expect(record).toMatchObject({ id, name: 'verify', state: 'SUCCESS', attempts: 1 });
    expect(record.result).toEqual({ tag: 'a', attempt: 1 });
    expect(record.error).toBeUndefined();
    expect(record.finishedAt).toBeGreaterThanOrEqual(record.startedAt ?? Infinity);
  });

  it('fails a non-retryable FaceVerifyError at once, with its code and message', async () => {
    // Wrong if it fails: bad input (NO_FACE) would be retried, wasting work, or its code lost.
    const q = setup().open({ maxRetries: 3, retryDelayMs: 10 });
    let calls = 0;
    await q.startWorker(() => {
      calls += 1;
      return Promise.reject(new FaceVerifyError('NO_FACE', 'No face detected in image 2'));
    }, 1);
    const record = finished(await q.wait(await q.enqueue(task('b')), WAIT_MS));
    expect(record).toMatchObject({
      state: 'FAILURE',
      attempts: 1,
      error: { code: 'NO_FACE', error: 'No face detected in image 2' },
    });
    expect(calls).toBe(1);
  });

  it('reports RETRY, with the last error, while a task waits for its next attempt', async () => {
    // Wrong if it fails: a client polling /status would not learn that its task is being retried.
    // The retry delay is far longer than the test, so the RETRY state cannot pass unseen.
    const q = setup().open({ maxRetries: 3, retryDelayMs: 10 * WAIT_MS });
    await q.startWorker(() => Promise.reject(new FaceVerifyError('DOWNLOAD_FAILED')), 1);
    const id = await q.enqueue(task('c'));
    const retrying = await until(
      () => q.get(id),
      (r) => r?.state !== 'PENDING' && r?.state !== 'STARTED',
    );
    expect(retrying?.state).toBe('RETRY');
    expect(retrying?.error?.code, 'RETRY carries the last error').toBe('DOWNLOAD_FAILED');
    expect(retrying?.attempts).toBe(1);
  });

  it('retries a retryable error, then succeeds on attempt 2', async () => {
    // Wrong if it fails: transient download errors would fail tasks that a retry saves.
    const q = setup().open({ maxRetries: 3, retryDelayMs: 50 });
    const attempts: number[] = [];
    await q.startWorker((_t, ctx) => {
      attempts.push(ctx.attempt);
      return ctx.attempt === 1
        ? Promise.reject(new FaceVerifyError('DOWNLOAD_FAILED'))
        : Promise.resolve('second time lucky');
    }, 1);
    const id = await q.enqueue(task('c'));
    const record = finished(await q.wait(id, WAIT_MS));
    expect(record).toMatchObject({ state: 'SUCCESS', attempts: 2, result: 'second time lucky' });
    expect(record.error).toBeUndefined();
    expect(attempts).toEqual([1, 2]);
  });

  it('fails a retryable error after maxRetries retries, with exponential delays', async () => {
    // Wrong if it fails: a task that always fails transiently would retry forever or too few times.
    const q = setup().open({ maxRetries: 2, retryDelayMs: 40 });
    const at: number[] = [];
    await q.startWorker(() => {
      at.push(Date.now());
      return Promise.reject(new FaceVerifyError('DOWNLOAD_TIMEOUT'));
    }, 1);
    const record = finished(await q.wait(await q.enqueue(task('d')), WAIT_MS));
    expect(record).toMatchObject({ state: 'FAILURE', attempts: 3, error: { code: 'DOWNLOAD_TIMEOUT' } });
    expect(at).toHaveLength(3);
    const [a0 = 0, a1 = 0, a2 = 0] = at;
    expect(a1 - a0, 'first retry after retryDelayMs').toBeGreaterThanOrEqual(35);
    expect(a2 - a1, 'second retry after 2 × retryDelayMs').toBeGreaterThanOrEqual(75);
  });

  it('reports a plain Error as INTERNAL_ERROR without leaking its message, and logs it', async () => {
    // Wrong if it fails: internals (paths, secrets, stack details) would reach API clients, or the
    // real cause would be lost for the operator.
    const q = setup().open({ maxRetries: 3, retryDelayMs: 10 });
    await q.startWorker(() => Promise.reject(new Error('ENOENT /srv/secret/model.onnx')), 1);
    const record = finished(await q.wait(await q.enqueue(task('e')), WAIT_MS));
    expect(record).toMatchObject({
      state: 'FAILURE',
      attempts: 1,
      error: { code: 'INTERNAL_ERROR', error: 'Internal error' },
    });
    expect(JSON.stringify(record)).not.toContain('secret');
    expect(logged.some((l) => l.level === 'error' && String(l.obj.err).includes('/srv/secret'))).toBe(true);
  });

  it('times an attempt out: aborts its signal and fails with TASK_TIMEOUT, which is retried', async () => {
    // Wrong if it fails: a hung download or model call would hold a worker slot forever, or the
    // handler would never learn that it should stop.
    const q = setup().open({ timeoutMs: 60, maxRetries: 1, retryDelayMs: 10 });
    const signals: AbortSignal[] = [];
    await q.startWorker((_t, ctx: TaskContext) => {
      signals.push(ctx.signal);
      return new Promise(() => undefined); // never settles: only the timeout ends it
    }, 1);
    const started = Date.now();
    const record = finished(await q.wait(await q.enqueue(task('f')), WAIT_MS));
    expect(record).toMatchObject({ state: 'FAILURE', attempts: 2, error: { code: 'TASK_TIMEOUT' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect(signals).toHaveLength(2);
    for (const s of signals) {
      expect(s.aborted).toBe(true);
      expect((s.reason as FaceVerifyError).code).toBe('TASK_TIMEOUT');
    }
  });

  it('bounds unfinished tasks: QUEUE_FULL (429, retry_after_s) beyond maxPending', async () => {
    // Wrong if it fails: a burst of requests would grow the queue (and memory) without limit.
    const q = setup().open({ maxPending: 2, retryAfterS: 3 });
    await q.enqueue(task('g1'));
    await q.enqueue(task('g2'));
    const err = await rejection(q.enqueue(task('g3')));
    expect(err.code).toBe('QUEUE_FULL');
    expect(err.status).toBe(429);
    expect(err.details).toEqual({ retry_after_s: 3 });

    // Finished tasks no longer count.
    await q.startWorker(() => Promise.resolve('ok'), 2);
    await until(
      () => q.counts(),
      (c) => c.SUCCESS === 2,
    );
    await expect(q.enqueue(task('g4'))).resolves.toMatch(/-/);
  });

  it('wait() resolves on completion, returns finished tasks at once, and times out with the current record', async () => {
    // Wrong if it fails: /verify/sync would answer late (polling) or hang, or miss a task that
    // finished before the wait began.
    const q = setup().open();
    const early = await q.enqueue(task('early'));
    const t0 = Date.now();
    const current = await q.wait(early, 100);
    expect(current?.state, 'no worker yet: the current record after the timeout').toBe('PENDING');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);

    const slowGate = gate();
    await q.startWorker(async (t) => {
      if (tagOf(t) === 'slow') await slowGate.opened;
      return tagOf(t);
    }, 2);
    const slow = await q.enqueue(task('slow'));
    await until(
      () => q.get(slow),
      (r) => r?.state === 'STARTED',
    );
    // Waiting starts while the task runs; it finishes only when the gate opens. The wait must end
    // with the task, long before its own timeout (which only a hang reaches).
    const t1 = Date.now();
    const waited = q.wait(slow, WAIT_MS);
    slowGate.open();
    expect(finished(await waited).result).toBe('slow');
    expect(Date.now() - t1, 'resolved by the finishing event, not the timeout').toBeLessThan(WAIT_MS);

    const fast = await q.enqueue(task('fast'));
    await until(
      () => q.get(fast),
      (r) => r?.state === 'SUCCESS',
    );
    // Nothing is left to happen to this task: a wait() that waited for an event would hang.
    const t2 = Date.now();
    expect(finished(await q.wait(fast, WAIT_MS)).result).toBe('fast');
    expect(Date.now() - t2, 'an already finished task returns at once').toBeLessThan(WAIT_MS);
  });

  it('answers undefined for unknown ids', async () => {
    // Wrong if it fails: GET /status of a bad id would not be a 404, or could throw (500).
    const q = setup().open();
    expect(await q.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    expect(await q.get('not-a-uuid:*')).toBeUndefined();
    expect(await q.wait('00000000-0000-4000-8000-000000000000', 50)).toBeUndefined();
  });

  it('forgets finished tasks after resultTtlMs', async () => {
    // Wrong if it fails: results (biometric metadata) would be kept longer than configured, or
    // dropped before their time. (That a result is there before its TTL, whatever the load, is shown
    // by the 30-day test below.)
    const ttlMs = 1000;
    const q = setup().open({ resultTtlMs: ttlMs });
    await q.startWorker(() => Promise.resolve('done'), 1);
    const id = await q.enqueue(task('ttl'));
    const done = finished(await q.wait(id, WAIT_MS));
    expect(done.state).toBe('SUCCESS');
    const gone = await until(
      async () => ({ record: await q.get(id), at: Date.now() }),
      (v) => v.record === undefined,
    );
    // Not before the TTL (a busy machine only makes the first miss later). 2 ms: timer granularity.
    expect(gone.at - (done.finishedAt ?? Infinity)).toBeGreaterThanOrEqual(ttlMs - 2);
  });

  it('keeps results for a TTL longer than a timer can wait (RESULT_TTL_S up to 30 days)', async () => {
    // Wrong if it fails: a TTL over setTimeout's ~24.8-day limit would fire the expiry timer every
    // millisecond (a busy loop, with a TimeoutOverflowWarning each time), or drop the result early.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const q = setup().open({ resultTtlMs: 30 * 24 * 3600 * 1000 });
      await q.startWorker(() => Promise.resolve('kept'), 1);
      const id = await q.enqueue(task('long-ttl'));
      expect(finished(await q.wait(id, WAIT_MS)).result).toBe('kept');
      await sleep(100);
      expect((await q.get(id))?.result).toBe('kept');
      expect(warnings.filter((name) => name === 'TimeoutOverflowWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('keeps at most maxStoredResults successes and as many failures, forgetting the oldest first', async () => {
    // Wrong if it fails: finished tasks would pile up for RESULT_TTL_S at full load (~270 MB an hour in
    // memory), or the newest results would be the ones dropped.
    const q = setup().open({ maxStoredResults: 2, maxRetries: 0 });
    await q.startWorker(
      (t) =>
        tagOf(t).startsWith('bad')
          ? Promise.reject(new FaceVerifyError('NO_FACE'))
          : Promise.resolve({ tag: tagOf(t) }),
      1,
    );
    const ids: Record<string, string> = {};
    for (const tag of ['ok1', 'bad1', 'ok2', 'bad2', 'ok3', 'bad3']) {
      ids[tag] = await q.enqueue(task(tag));
      finished(await q.wait(ids[tag], WAIT_MS));
    }
    // BullMQ trims when a job finishes, so the last one's trimming may still be under way.
    await until(
      () => q.counts(),
      (c) => c.SUCCESS === 2 && c.FAILURE === 2,
    );
    for (const gone of ['ok1', 'bad1']) expect(await q.get(ids[gone] as string), gone).toBeUndefined();
    expect((await q.get(ids.ok2 as string))?.result).toEqual({ tag: 'ok2' });
    expect((await q.get(ids.ok3 as string))?.result).toEqual({ tag: 'ok3' });
    expect((await q.get(ids.bad2 as string))?.error?.code).toBe('NO_FACE');
    expect((await q.get(ids.bad3 as string))?.error?.code).toBe('NO_FACE');
  });

  it('carries uploaded bytes to the handler unchanged (as base64 through Redis)', async () => {
    // Wrong if it fails: an upload held as bytes in the API process would reach a worker corrupted
    // (a Uint8Array through JSON becomes {"0": …}), or the handler could not read it.
    const q = setup().open();
    const bytes = new Uint8Array(256).map((_, i) => (i * 7 + 3) % 256);
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    await q.startWorker((t) => {
      if (t.name !== 'verify' || 'url' in t.data.image1) return Promise.reject(new Error('no upload'));
      return Promise.resolve(hex(uploadedBytes(t.data.image1)));
    }, 1);
    // A view into a larger buffer, as a multipart body's slices are.
    const view = new Uint8Array(1024).subarray(100, 356);
    view.set(bytes);
    const id = await q.enqueue({ name: 'verify', data: { image1: { bytes: view }, image2: { url: 'x' } } });
    expect(finished(await q.wait(id, WAIT_MS)).result).toBe(hex(bytes));
  });

  it('returns results as JSON data: equal to what the handler returned, a fresh copy each time', async () => {
    // Wrong if it fails: the in-process queue and Redis would answer differently, or a caller that
    // edits a result would change what the next caller reads.
    const q = setup().open();
    const result = { is_match: true, similarity: 0.71, faces: [{ box: [1.5, 2, 3, 4] }], note: null };
    await q.startWorker(() => Promise.resolve(result), 1);
    const id = await q.enqueue(task('json'));
    const got = finished(await q.wait(id, WAIT_MS)).result as typeof result;
    expect(got).toEqual(result);
    expect(got).not.toBe(result);
    got.faces.length = 0;
    expect((await q.get(id))?.result).toEqual(result);
  });

  it('counts tasks by state, summing to the tasks known', async () => {
    // Wrong if it fails: /metrics would report wrong queue depth or outcomes.
    const q = setup().open({ maxRetries: 0 });
    const ids = [await q.enqueue(task('ok1')), await q.enqueue(task('ok2')), await q.enqueue(task('bad'))];
    expect(await q.counts()).toEqual({ PENDING: 3, STARTED: 0, RETRY: 0, SUCCESS: 0, FAILURE: 0 });
    await q.startWorker(
      (t) => (tagOf(t) === 'bad' ? Promise.reject(new FaceVerifyError('NO_FACE')) : Promise.resolve(1)),
      1,
    );
    for (const id of ids) finished(await q.wait(id, WAIT_MS));
    const counts = await q.counts();
    expect(counts).toEqual({ PENDING: 0, STARTED: 0, RETRY: 0, SUCCESS: 2, FAILURE: 1 });
  });

  it('never runs more than `concurrency` handlers at once', async () => {
    // Wrong if it fails: MAX_CONCURRENT_TASKS would not bound CPU and memory use of inference.
    // The handlers are held until two run, so reaching the bound does not depend on timing; while
    // they are held, 50 ms give a third one the chance to start if the bound were not kept.
    const q = setup().open();
    let now = 0;
    let max = 0;
    const held = gate();
    const handler: TaskHandler = async () => {
      now += 1;
      max = Math.max(max, now);
      await held.opened;
      now -= 1;
      return null;
    };
    await q.startWorker(handler, 2);
    const ids = await Promise.all(['1', '2', '3', '4', '5', '6'].map((n) => q.enqueue(task(`c${n}`))));
    await until(
      () => Promise.resolve(now),
      (n) => n >= 2,
    );
    await sleep(50);
    held.open();
    for (const id of ids) expect(finished(await q.wait(id, WAIT_MS)).state).toBe('SUCCESS');
    expect(max).toBe(2);
  });

  it('close(): refuses new tasks, lets running ones finish, and settles every waiter', async () => {
    // Wrong if it fails: a deploy (SIGTERM) would cut tasks off mid-way, or leave clients waiting forever.
    const harness = setup();
    const q = harness.open({ closeGraceMs: WAIT_MS });
    let finishedRunning = false;
    const running$ = gate();
    await q.startWorker(async (t) => {
      if (tagOf(t) === 'running') {
        await running$.opened;
        finishedRunning = true;
      }
      return tagOf(t);
    }, 1);
    const running = await q.enqueue(task('running'));
    await until(
      () => q.get(running),
      (r) => r?.state === 'STARTED',
    );
    const queued = await q.enqueue(task('queued'));
    const waiting = q.wait(queued, WAIT_MS).then(
      (r) => r?.state ?? 'resolved',
      (e: unknown) => (e instanceof FaceVerifyError ? e.code : 'rejected'),
    );

    // The running task is held until close() has begun (new tasks refused), then let go.
    const closed = q.close();
    const err = await rejection(q.enqueue(task('late')));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.status).toBe(503);
    running$.open();
    await closed;
    expect(finishedRunning, 'close() waited for the running task').toBe(true);
    expect(await waiting, 'a waiter is not left hanging').toMatch(/^(FAILURE|UNAVAILABLE)$/);

    const view = harness.inspect();
    expect((await view.get(running))?.state).toBe('SUCCESS');
    if (harness.keepsTasksAcrossClose) {
      // Still in Redis: another worker picks it up.
      expect((await view.get(queued))?.state).toBe('PENDING');
      await view.startWorker((t) => Promise.resolve(tagOf(t)), 1);
      expect(finished(await view.wait(queued, WAIT_MS)).result).toBe('queued');
    } else {
      // The in-process queue cannot keep it: it fails it, so no caller waits forever.
      expect((await view.get(queued))?.error).toEqual({
        code: 'UNAVAILABLE',
        error: 'Task queue is shutting down',
      });
    }
  });

  it('close(): after the grace period, interrupts running tasks (signal aborted)', async () => {
    // Wrong if it fails: one stuck task would block shutdown forever, or be silently lost.
    const harness = setup();
    // The task's own timeout is far beyond the test's: only the grace period can end it.
    const q = harness.open({ closeGraceMs: 50, timeoutMs: 10 * WAIT_MS });
    let signal: AbortSignal | undefined;
    await q.startWorker((t, ctx) => {
      if (tagOf(t) === 'stuck') signal = ctx.signal;
      return tagOf(t) === 'stuck' ? new Promise(() => undefined) : Promise.resolve(tagOf(t));
    }, 1);
    const id = await q.enqueue(task('stuck'));
    await until(
      () => q.get(id),
      (r) => r?.state === 'STARTED',
    );
    await q.close();
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as FaceVerifyError).code, 'interrupted by the shutdown').toBe('UNAVAILABLE');

    const view = harness.inspect();
    if (harness.keepsTasksAcrossClose) {
      // Handed back without using an attempt: the next worker finishes it.
      expect((await view.get(id))?.state).toBe('PENDING');
      await view.startWorker(() => Promise.resolve('finished elsewhere'), 1);
      expect(finished(await view.wait(id, WAIT_MS))).toMatchObject({
        state: 'SUCCESS',
        result: 'finished elsewhere',
      });
    } else {
      expect(await view.get(id)).toMatchObject({ state: 'FAILURE', error: { code: 'UNAVAILABLE' } });
    }
  });

  it('reports health, and not ok once closed', async () => {
    // Wrong if it fails: /health would claim readiness for a queue that cannot take tasks.
    const q = setup().open();
    const health = await q.health();
    expect(health).toMatchObject({ ok: true, backend: q.backend });
    expect(health.detail).not.toMatch(/password|@/);
    await q.close();
    expect((await q.health()).ok).toBe(false);
  });
}

describe('MemoryQueue conformance', () => {
  conformance(memoryHarness);
});

describe('MemoryQueue result store', () => {
  it('warns when it forgets results before their TTL, at most once a minute', async () => {
    // Wrong if it fails: an operator would not learn that MAX_STORED_RESULTS is too small for the load.
    const q = new MemoryQueue({ logger, maxStoredResults: 1 });
    try {
      await q.startWorker(() => Promise.resolve('ok'), 1);
      for (let i = 0; i < 4; i++) finished(await q.wait(await q.enqueue(task(`t${i}`)), WAIT_MS));
      const warnings = logged.filter((l) => l.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.obj).toMatchObject({ max_stored_results: 1 });
    } finally {
      await q.close();
      logged.length = 0;
    }
  });

  it('fails a task whose result cannot be stored as JSON, and logs it', async () => {
    // Wrong if it fails: a handler bug would throw inside the queue's bookkeeping and leave the task
    // STARTED forever, with its waiters hanging.
    const q = new MemoryQueue({ logger, maxRetries: 0 });
    try {
      await q.startWorker(() => Promise.resolve({ n: 1n }), 1);
      const record = finished(await q.wait(await q.enqueue(task('bigint')), WAIT_MS));
      expect(record.error?.code).toBe('INTERNAL_ERROR');
      expect(logged.some((l) => l.level === 'error' && /not JSON/.test(l.msg))).toBe(true);
      expect(await q.counts()).toMatchObject({ STARTED: 0, FAILURE: 1 });
    } finally {
      await q.close();
      logged.length = 0;
    }
  });
});

describeWithRedis('BullmqQueue conformance (real Redis)', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });
  conformance(() => bullmqHarness(admin));
});
