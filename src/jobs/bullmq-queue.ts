/**
 * The task queue on BullMQ (Redis): producers (the API) and workers may be separate processes and
 * machines. Same contract as MemoryQueue; the conformance suite runs against both.
 *
 * Connections (ioredis, one per role, as BullMQ wants):
 * - producer: `enableOfflineQueue: false`, one retry per request and `commandTimeoutMs` on every
 *   command, so while Redis is away enqueue/get/counts fail fast with UNAVAILABLE (503) instead of
 *   hanging; ioredis keeps reconnecting in the background and the queue recovers by itself.
 * - worker (only after startWorker): `maxRetriesPerRequest: null` as BullMQ requires; it waits out an
 *   outage and carries on. BullMQ duplicates it for its blocking fetch.
 * - events (only after the first wait()): QueueEvents' own blocking connection.
 *
 * Semantics on BullMQ:
 * - job id = task id (a random UUID); job name/data = the TaskPayload's name/data.
 * - retries: `attempts: maxRetries + 1` with exponential backoff (`retryDelayMs · 2^(attempt-1)`);
 *   a non-retryable error is thrown as UnrecoverableError so BullMQ fails the job at once.
 * - the task error is stored as the job's failedReason, JSON `{ code, error }` (decodeTaskError).
 * - states: waiting/prioritized → PENDING; delayed → RETRY (we only delay for backoff; a
 *   delayed job that has not yet failed would read PENDING); active → STARTED; completed → SUCCESS;
 *   failed → FAILURE.
 * - results: removeOnComplete/removeOnFail `{ age, count: maxStoredResults }`; BullMQ evicts only
 *   when a later job finishes, so get() also treats a task finished longer than `resultTtlMs` ago
 *   as unknown. The job's data (which may hold uploaded images) is erased as soon as the task
 *   finishes.
 * - a worker killed mid-task leaves its job locked; when the lock (`lockDurationMs`) expires, the
 *   stalled check of any live worker (every `stalledIntervalMs`) puts it back to wait and another
 *   worker runs it (at most `maxStalledCount` times, then it fails).
 * - close(): the worker stops fetching and waits up to `closeGraceMs` for running tasks; still-running
 *   ones are interrupted (signal aborted) and handed back to the queue without using an attempt, so
 *   another worker finishes them. Waiting tasks stay in Redis.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Job, JobState } from 'bullmq';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { FaceVerifyError, isFaceVerifyError } from '../errors.js';
import { assertConcurrency, resolveQueueOptions } from './queue-options.js';
import type { ResolvedQueueOptions, TaskQueueOptions } from './queue-options.js';
import { startAttempt } from './run-task.js';
import type { RunningAttempt } from './run-task.js';
import { classifyError, decodeTaskError, encodeTaskError } from './task-error.js';
import type {
  QueueCounts,
  QueueHealth,
  TaskHandler,
  TaskPayload,
  TaskQueue,
  TaskRecord,
} from './task-queue.js';
import { jsonTask } from './task-queue.js';

export interface BullmqQueueOptions extends TaskQueueOptions {
  /** redis://[user:password@]host:port[/db] */
  redisUrl: string;
  /** BullMQ queue name (no ':'). */
  queueName?: string;
  /** Prefix of every Redis key of the queue; tests use a unique one. */
  prefix?: string;
  /** Producer commands (enqueue, get, counts, health) answer within this or fail with UNAVAILABLE. */
  commandTimeoutMs?: number;
  /** A worker's lock on a running job; renewed at half this while the worker is alive. */
  lockDurationMs?: number;
  /** How often a worker looks for jobs whose worker died (lock expired). */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails. */
  maxStalledCount?: number;
  /** Shown in Redis CLIENT LIST and stored on the jobs this worker runs. */
  workerName?: string;
}

type Data = TaskPayload['data'];
type Name = TaskPayload['name'];
type TaskJob = Job<Data, unknown, Name>;

const DEFAULTS = {
  queueName: 'faceverify-tasks',
  prefix: 'faceverify',
  commandTimeoutMs: 2_000,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 1,
};
const SHUTTING_DOWN = 'Task queue is shutting down';
/** wait() re-reads the task this often in case its finishing event was missed (events reconnecting). */
const WAIT_RECHECK_MS = 1_000;
/** Repeated connection errors are logged at most this often per connection. */
const ERROR_LOG_INTERVAL_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class BullmqQueue implements TaskQueue {
  readonly backend = 'bullmq' as const;
  private readonly opts: ResolvedQueueOptions;
  private readonly bull: typeof DEFAULTS & { redisUrl: string; workerName: string | undefined };
  private readonly producer: Redis;
  private readonly queue: Queue<Data, unknown, Name>;
  private readonly connections: Redis[] = [];
  private worker: Worker<Data, unknown, Name> | undefined;
  private events: QueueEvents | undefined;
  private eventsReady: Promise<void> | undefined;
  private readonly running = new Set<RunningAttempt>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly closeListeners = new Set<(err: Error) => void>();
  private readonly lastErrorLog = new Map<string, number>();
  private closing: Promise<void> | undefined;

  constructor(options: BullmqQueueOptions) {
    const { redisUrl, queueName, prefix, commandTimeoutMs, lockDurationMs, stalledIntervalMs } = options;
    this.opts = resolveQueueOptions(options);
    this.bull = {
      redisUrl,
      queueName: queueName ?? DEFAULTS.queueName,
      prefix: prefix ?? DEFAULTS.prefix,
      commandTimeoutMs: commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
      lockDurationMs: lockDurationMs ?? DEFAULTS.lockDurationMs,
      stalledIntervalMs: stalledIntervalMs ?? DEFAULTS.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount ?? DEFAULTS.maxStalledCount,
      workerName: options.workerName,
    };
    if (this.bull.queueName.includes(':')) throw new Error('queueName must not contain ":"');
    this.producer = this.connect('producer', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.bull.commandTimeoutMs,
      connectTimeout: this.bull.commandTimeoutMs,
    });
    this.queue = new Queue<Data, unknown, Name>(this.bull.queueName, {
      connection: this.producer,
      prefix: this.bull.prefix,
      // The version check's INFO would fail for good if Redis dropped during start-up; the worker's
      // connection still checks the version.
      skipVersionCheck: true,
    });
    this.queue.on('error', (err) => this.logRedisError('queue', err));
  }

  async enqueue(task: TaskPayload): Promise<string> {
    if (this.closing) throw new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN);
    const id = randomUUID();
    await this.redis(async () => {
      const c = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      const unfinished = Object.values(c).reduce((a, b) => a + b, 0);
      // Check-then-add is not atomic: producers racing each other may overshoot the bound a little.
      if (unfinished >= this.opts.maxPending) {
        throw new FaceVerifyError('QUEUE_FULL', undefined, { retry_after_s: this.opts.retryAfterS });
      }
      const keepS = Math.ceil(this.opts.resultTtlMs / 1000);
      // Uploads held as bytes in this process travel in Redis as base64.
      await this.queue.add(task.name, jsonTask(task).data, {
        jobId: id,
        attempts: this.opts.maxRetries + 1,
        backoff: { type: 'exponential', delay: this.opts.retryDelayMs },
        removeOnComplete: { age: keepS, count: this.opts.maxStoredResults },
        removeOnFail: { age: keepS, count: this.opts.maxStoredResults },
      });
    });
    return id;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    return this.redis(async () => {
      // State first, then the job: the job hash is then at least as new as the state.
      const state = await this.queue.getJobState(id);
      if (state === 'unknown') return undefined;
      const job = (await this.queue.getJob(id)) as TaskJob | undefined;
      if (!job) return undefined;
      const record = toRecord(job, state);
      if (record.finishedAt !== undefined && Date.now() - record.finishedAt >= this.opts.resultTtlMs) {
        return undefined;
      }
      return record;
    });
  }

  /**
   * Resolves when the task finishes (QueueEvents' completed/failed, then a re-read), or after
   * `timeoutMs` with its current record. It subscribes before reading, so a task that finished
   * already, or finishes in between, is seen too.
   */
  async wait(id: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    if (this.closing) throw new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN);
    if (!UUID.test(id)) return undefined;
    await this.ensureEvents();
    return new Promise<TaskRecord | undefined>((resolve, reject) => {
      let settled = false;
      let waiters = this.waiters.get(id);
      if (!waiters) {
        waiters = new Set();
        this.waiters.set(id, waiters);
      }
      const set = waiters;
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        clearInterval(recheck);
        set.delete(check);
        if (set.size === 0) this.waiters.delete(id);
        this.closeListeners.delete(onClose);
      };
      const check = (first = false): void => {
        this.get(id).then(
          (record) => {
            if (settled || (record && !isFinished(record))) return;
            cleanup();
            resolve(record);
          },
          (err: unknown) => {
            // A failed re-check is retried by the next event or tick; only the first read reports.
            if (!first || settled) return;
            cleanup();
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      };
      const onClose = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const timer = setTimeout(() => {
        cleanup();
        this.get(id).then(resolve, reject);
      }, timeoutMs);
      const recheck = setInterval(check, WAIT_RECHECK_MS);
      set.add(check);
      this.closeListeners.add(onClose);
      check(true);
    });
  }

  async startWorker(handler: TaskHandler, concurrency: number): Promise<void> {
    assertConcurrency(concurrency);
    if (this.worker) throw new Error('The worker of this queue is already started');
    if (this.closing) throw new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN);
    const connection = this.connect('worker', { maxRetriesPerRequest: null });
    const worker = new Worker<Data, unknown, Name>(
      this.bull.queueName,
      (job, token) => this.process(handler, job, token),
      {
        connection,
        prefix: this.bull.prefix,
        concurrency,
        lockDuration: this.bull.lockDurationMs,
        stalledInterval: this.bull.stalledIntervalMs,
        maxStalledCount: this.bull.maxStalledCount,
        ...(this.bull.workerName !== undefined && { name: this.bull.workerName }),
      },
    );
    this.worker = worker;
    worker.on('error', (err) => this.logRedisError('worker', err));
    // The payload may hold uploaded images: erase it once the task is finished for good.
    worker.on('completed', (job) => this.erasePayload(job));
    worker.on('failed', (job) => {
      if (job?.finishedOn) this.erasePayload(job);
    });
    // Ready when Redis is; during an outage the worker connects later by itself.
    await withTimeout(worker.waitUntilReady(), this.bull.commandTimeoutMs).catch(() => {
      this.opts.logger.warn({ queue: this.bull.queueName }, 'Task worker started before Redis was reachable');
    });
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.redis(() =>
      this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'),
    );
    const n = (key: string): number => c[key] ?? 0;
    return {
      PENDING: n('waiting') + n('prioritized'),
      RETRY: n('delayed'),
      STARTED: n('active'),
      SUCCESS: n('completed'),
      FAILURE: n('failed'),
    };
  }

  async health(): Promise<QueueHealth> {
    const where = `redis ${describeRedisUrl(this.bull.redisUrl)}, queue ${this.bull.queueName}`;
    if (this.closing) return { ok: false, backend: this.backend, detail: `${where}: closed` };
    const started = performance.now();
    try {
      await this.redis(() => this.producer.ping());
      const ms = (performance.now() - started).toFixed(1);
      const role = this.worker ? 'producer and worker' : 'producer only';
      return { ok: true, backend: this.backend, detail: `${where}: ok (ping ${ms} ms, ${role})` };
    } catch (err) {
      const reason = isFaceVerifyError(err) ? err.message : 'error';
      return { ok: false, backend: this.backend, detail: `${where}: ${reason}` };
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const stopping = new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN);
    for (const onClose of [...this.closeListeners]) onClose(stopping);
    // Every step is bounded: with Redis away, BullMQ's close could otherwise wait for it forever.
    const bound = this.bull.commandTimeoutMs * 2;
    const worker = this.worker;
    if (worker) {
      const closed = worker.close();
      if (!(await settlesWithin(closed, this.opts.closeGraceMs))) {
        // Grace is over: interrupt; each interrupted task is handed back to the queue (process()).
        for (const attempt of this.running) attempt.interrupt(stopping);
        if (!(await settlesWithin(closed, bound))) {
          this.opts.logger.warn({ queue: this.bull.queueName }, 'Task worker did not close in time');
          await settlesWithin(worker.disconnect(), bound);
        }
      }
    }
    const events = this.events;
    await Promise.all([
      events &&
        settlesWithin(events.close(), bound).then((ok) => ok || settlesWithin(events.disconnect(), bound)),
      settlesWithin(this.queue.close(), bound),
    ]);
    await Promise.all(
      this.connections.map((c) =>
        settlesWithin(c.quit(), bound).then((ok) => {
          if (!ok) c.disconnect();
        }),
      ),
    );
  }

  /** One attempt of a job, in the worker. */
  private async process(handler: TaskHandler, job: TaskJob, token: string | undefined): Promise<unknown> {
    const task = { name: job.name, data: job.data } as TaskPayload;
    const attempt = startAttempt(handler, task, {
      id: job.id ?? '',
      attempt: Math.max(job.attemptsStarted, job.attemptsMade + 1),
      timeoutMs: this.opts.timeoutMs,
    });
    this.running.add(attempt);
    const outcome = await attempt.outcome.finally(() => this.running.delete(attempt));
    if (outcome.ok) return outcome.value ?? null;
    if (outcome.interrupted === 'interrupt') {
      // Shutting down: put the job back at the head of the queue without using an attempt.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const { taskError, retryable, expected } = classifyError(outcome.error);
    if (!expected) {
      this.opts.logger.error(
        { err: outcome.error, task_id: job.id, task: job.name, attempt: job.attemptsMade + 1 },
        'Task handler failed with an unexpected error',
      );
    }
    const message = encodeTaskError(taskError);
    throw retryable ? new Error(message) : new UnrecoverableError(message);
  }

  private erasePayload(job: TaskJob): void {
    // null is not valid task data, but nothing reads the data of a finished job.
    job.updateData(null as unknown as Data).catch((err: unknown) => this.logRedisError('worker', err));
  }

  /** Runs producer commands: fails fast with UNAVAILABLE when Redis is away or slow. */
  private async redis<T>(op: () => Promise<T>): Promise<T> {
    if (this.closing) throw new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN);
    try {
      await this.producerReady();
      return await withTimeout(op(), this.bull.commandTimeoutMs);
    } catch (err) {
      if (isFaceVerifyError(err)) throw err;
      this.logRedisError('producer', err);
      throw new FaceVerifyError('UNAVAILABLE', 'The task queue (Redis) is not reachable', undefined, {
        cause: err,
      });
    }
  }

  /** Right after construction the producer is still connecting: give it a moment; later, don't wait. */
  private async producerReady(): Promise<void> {
    const { status } = this.producer;
    if (status === 'ready') return;
    if (status === 'wait' || status === 'connecting' || status === 'connect') {
      const ready = new Promise<void>((resolve) => this.producer.once('ready', resolve));
      await withTimeout(ready, this.bull.commandTimeoutMs);
      return;
    }
    throw new Error(`Redis connection is ${status}`);
  }

  /**
   * QueueEvents reads the queue's event stream from the id that is last when it is created, so no
   * event between this call and its first blocking read is lost.
   */
  private ensureEvents(): Promise<void> {
    this.eventsReady ??= this.redis(() =>
      this.producer.xrevrange(this.queue.toKey('events'), '+', '-', 'COUNT', 1),
    )
      .then((last) => {
        // lazyConnect: QueueEvents duplicates this client for its blocking reads; the original stays idle.
        const connection = this.connect('events', { maxRetriesPerRequest: null, lazyConnect: true });
        const events = new QueueEvents(this.bull.queueName, {
          connection,
          prefix: this.bull.prefix,
          lastEventId: last[0]?.[0] ?? '0-0',
        });
        events.on('error', (err) => this.logRedisError('events', err));
        const notify = ({ jobId }: { jobId: string }): void => {
          for (const check of this.waiters.get(jobId) ?? []) check();
        };
        events.on('completed', notify);
        events.on('failed', notify);
        this.events = events;
      })
      .catch((err: unknown) => {
        this.eventsReady = undefined;
        throw err;
      });
    return this.eventsReady;
  }

  private connect(role: string, options: RedisOptions): Redis {
    const client = new Redis(this.bull.redisUrl, {
      ...options,
      connectionName: `faceverify:${role}`,
    });
    client.on('error', (err: unknown) => this.logRedisError(role, err));
    this.connections.push(client);
    return client;
  }

  private logRedisError(source: string, err: unknown): void {
    const now = Date.now();
    if (now - (this.lastErrorLog.get(source) ?? 0) < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog.set(source, now);
    const message = err instanceof Error ? err.message : String(err);
    this.opts.logger.warn({ source, queue: this.bull.queueName, error: message }, 'Task queue Redis error');
  }
}

function toRecord(job: TaskJob, state: JobState): TaskRecord {
  const record: TaskRecord = {
    id: job.id ?? '',
    name: job.name,
    state: 'PENDING',
    attempts: Math.max(job.attemptsStarted, job.attemptsMade),
    createdAt: job.timestamp,
    ...(job.processedOn !== undefined && { startedAt: job.processedOn }),
  };
  switch (state) {
    case 'completed':
      return {
        ...record,
        state: 'SUCCESS',
        result: job.returnvalue,
        finishedAt: job.finishedOn ?? Date.now(),
      };
    case 'failed':
      return {
        ...record,
        state: 'FAILURE',
        error: decodeTaskError(job.failedReason),
        finishedAt: job.finishedOn ?? Date.now(),
      };
    case 'active':
      return { ...record, state: 'STARTED' };
    case 'delayed':
      return job.attemptsMade > 0
        ? { ...record, state: 'RETRY', error: decodeTaskError(job.failedReason) }
        : record;
    default:
      return record;
  }
}

function isFinished(record: TaskRecord): boolean {
  return record.state === 'SUCCESS' || record.state === 'FAILURE';
}

/** host:port/db without credentials, for health details and logs. */
function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/** True when `promise` settles (either way) within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(promise, ms).then(
    () => true,
    (err: unknown) => !(err instanceof TimeoutError),
  );
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`No answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
