/**
 * The in-process task queue: the default backend, nothing to install. Bounded (`maxPending` unfinished
 * tasks), `concurrency` handlers at once, per-attempt timeout, retries with exponential backoff for
 * retryable FaceVerifyErrors only, results kept `resultTtlMs` after finishing.
 *
 * Finished tasks are kept in finish order, at most `maxStoredResults` successes and as many failures
 * (the oldest go first, with a warning at most once a minute), and forgotten `resultTtlMs` after
 * finishing, by one timer for the oldest. A result is stored as its JSON text, as BullMQ stores it:
 * about half the memory of the objects, and the collector has one string to scan instead of a tree.
 * Without the bound, a server at full load would keep an hour of results (docs/performance.md,
 * bench/task-store.ts).
 *
 * Its tasks live in this process's memory, so they cannot outlive it: close() lets running tasks finish
 * within the grace period, then interrupts them, and fails every task that has not started (PENDING or
 * waiting to RETRY) with UNAVAILABLE "shutting down" so no caller waits forever. Deployments that must
 * not lose accepted tasks across restarts use the BullMQ backend.
 *
 * @example
 * const queue = new MemoryQueue({ maxPending: 100, timeoutMs: 30_000 });
 * await queue.startWorker(handleTask, 4);
 * const id = await queue.enqueue({ name: 'verify', data });
 * const record = await queue.wait(id, 10_000);
 */
import { randomUUID } from 'node:crypto';
import { FaceVerifyError } from '../errors.js';
import { assertConcurrency, resolveQueueOptions } from './queue-options.js';
import type { ResolvedQueueOptions, TaskQueueOptions } from './queue-options.js';
import { startAttempt } from './run-task.js';
import type { RunningAttempt } from './run-task.js';
import { classifyError } from './task-error.js';
import type {
  QueueCounts,
  QueueHealth,
  TaskHandler,
  TaskPayload,
  TaskQueue,
  TaskRecord,
} from './task-queue.js';

interface Entry {
  /** `result` is left out once the task finishes: see `resultJson`. */
  record: TaskRecord;
  /** A finished task's result as JSON (undefined when the handler returned nothing). */
  resultJson?: string;
  /** Dropped when the task finishes: uploaded images are not kept longer than needed. */
  payload: TaskPayload | undefined;
  attempt?: RunningAttempt;
  retryTimer?: NodeJS.Timeout;
}

const SHUTTING_DOWN = 'Task queue is shutting down';
/** At most one "results dropped early" warning per this many milliseconds. */
const EVICTION_WARNING_INTERVAL_MS = 60_000;
/** The longest delay setTimeout honours (a signed 32-bit count of milliseconds). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class MemoryQueue implements TaskQueue {
  readonly backend = 'memory' as const;
  private readonly opts: ResolvedQueueOptions;
  private readonly tasks = new Map<string, Entry>();
  /** Ids ready to start, oldest first. */
  private readonly ready: string[] = [];
  private readonly waiters = new Map<string, Set<(record: TaskRecord) => void>>();
  /** Ids of finished tasks by outcome, oldest first (a Set keeps insertion order, deletes in O(1)). */
  private readonly finished = { SUCCESS: new Set<string>(), FAILURE: new Set<string>() };
  private expiryTimer: NodeJS.Timeout | undefined;
  private lastEvictionWarning = -Infinity;
  private handler: TaskHandler | undefined;
  private concurrency = 0;
  private running = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;

  constructor(options: TaskQueueOptions = {}) {
    this.opts = resolveQueueOptions(options);
  }

  enqueue(task: TaskPayload): Promise<string> {
    if (this.closing) return Promise.reject(new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN));
    if (this.unfinished() >= this.opts.maxPending) {
      return Promise.reject(
        new FaceVerifyError('QUEUE_FULL', undefined, { retry_after_s: this.opts.retryAfterS }),
      );
    }
    const id = randomUUID();
    this.tasks.set(id, {
      record: { id, name: task.name, state: 'PENDING', attempts: 0, createdAt: Date.now() },
      payload: task,
    });
    this.ready.push(id);
    this.pump();
    return Promise.resolve(id);
  }

  get(id: string): Promise<TaskRecord | undefined> {
    this.forgetExpired();
    const entry = this.tasks.get(id);
    return Promise.resolve(entry && snapshot(entry));
  }

  /** Resolves from the finishing code path (no polling); after `timeoutMs`, with the current record. */
  wait(id: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    this.forgetExpired();
    const entry = this.tasks.get(id);
    if (!entry) return Promise.resolve(undefined);
    if (isFinished(entry.record)) return Promise.resolve(snapshot(entry));
    return new Promise((resolve) => {
      let waiters = this.waiters.get(id);
      if (!waiters) {
        waiters = new Set();
        this.waiters.set(id, waiters);
      }
      const set = waiters;
      const onDone = (record: TaskRecord): void => {
        clearTimeout(timer);
        resolve(record);
      };
      const timer = setTimeout(() => {
        set.delete(onDone);
        if (set.size === 0) this.waiters.delete(id);
        resolve(this.get(id));
      }, timeoutMs);
      set.add(onDone);
    });
  }

  startWorker(handler: TaskHandler, concurrency: number): Promise<void> {
    assertConcurrency(concurrency);
    if (this.handler) return Promise.reject(new Error('The worker of this queue is already started'));
    if (this.closing) return Promise.reject(new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN));
    this.handler = handler;
    this.concurrency = concurrency;
    this.pump();
    return Promise.resolve();
  }

  counts(): Promise<QueueCounts> {
    const counts: QueueCounts = { PENDING: 0, STARTED: 0, RETRY: 0, SUCCESS: 0, FAILURE: 0 };
    for (const { record } of this.tasks.values()) counts[record.state] += 1;
    return Promise.resolve(counts);
  }

  health(): Promise<QueueHealth> {
    const detail = this.closing
      ? 'in-process queue closed'
      : `in-process queue: ${this.running} running, ${this.unfinished() - this.running} waiting` +
        (this.handler ? '' : ', no worker started');
    return Promise.resolve({ ok: !this.closing, backend: this.backend, detail });
  }

  /**
   * Stops accepting tasks; fails those not yet started with UNAVAILABLE (they cannot outlive the
   * process); waits up to `closeGraceMs` for running ones, then interrupts them with UNAVAILABLE.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    for (const entry of this.tasks.values()) {
      const { state } = entry.record;
      if (state === 'PENDING' || state === 'RETRY') {
        clearTimeout(entry.retryTimer);
        this.finish(entry, { error: { code: 'UNAVAILABLE', error: SHUTTING_DOWN } });
      }
    }
    this.ready.length = 0;
    if (this.running > 0) {
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.onIdle = resolve)),
        new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, this.opts.closeGraceMs))),
      ]);
      clearTimeout(graceTimer);
      for (const entry of this.tasks.values()) {
        entry.attempt?.interrupt(new FaceVerifyError('UNAVAILABLE', SHUTTING_DOWN));
      }
      // Interrupted attempts settle on the next microtasks; let their bookkeeping run.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private unfinished(): number {
    return this.tasks.size - this.finished.SUCCESS.size - this.finished.FAILURE.size;
  }

  private pump(): void {
    const handler = this.handler;
    if (!handler || this.closing) return;
    while (this.running < this.concurrency) {
      const id = this.ready.shift();
      if (id === undefined) return;
      const entry = this.tasks.get(id);
      if (entry?.payload && entry.record.state === 'PENDING') this.run(entry, entry.payload, handler);
    }
  }

  private run(entry: Entry, payload: TaskPayload, handler: TaskHandler): void {
    const { record } = entry;
    record.attempts += 1;
    record.state = 'STARTED';
    record.startedAt = Date.now();
    this.running += 1;
    const attempt = startAttempt(handler, payload, {
      id: record.id,
      attempt: record.attempts,
      timeoutMs: this.opts.timeoutMs,
    });
    entry.attempt = attempt;
    void attempt.outcome.then((outcome) => {
      entry.attempt = undefined;
      this.running -= 1;
      if (outcome.ok) {
        this.finish(entry, { result: outcome.value });
      } else {
        const { taskError, retryable, expected } = classifyError(outcome.error);
        if (!expected) {
          this.opts.logger.error(
            { err: outcome.error, task_id: record.id, task: record.name, attempt: record.attempts },
            'Task handler failed with an unexpected error',
          );
        }
        if (retryable && record.attempts <= this.opts.maxRetries && !this.closing) {
          this.scheduleRetry(entry, taskError);
        } else {
          this.finish(entry, { error: taskError });
        }
      }
      if (this.running === 0) this.onIdle?.();
      this.pump();
    });
  }

  private scheduleRetry(entry: Entry, taskError: TaskRecord['error']): void {
    const { record } = entry;
    record.state = 'RETRY';
    record.error = taskError;
    const delay = this.opts.retryDelayMs * 2 ** (record.attempts - 1);
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      if (record.state !== 'RETRY') return;
      record.state = 'PENDING';
      delete record.error;
      this.ready.push(record.id);
      this.pump();
    }, delay);
  }

  private finish(entry: Entry, outcome: { result: unknown } | { error: TaskRecord['error'] }): void {
    const { record } = entry;
    const stored = 'result' in outcome ? toJson(outcome.result, record, this.opts.logger) : outcome;
    if ('text' in stored) {
      record.state = 'SUCCESS';
      entry.resultJson = stored.text;
      delete record.error;
    } else {
      record.state = 'FAILURE';
      record.error = stored.error;
    }
    record.finishedAt = Date.now();
    entry.payload = undefined;
    this.keep(record.id, record.state);
    const waiters = this.waiters.get(record.id);
    if (waiters) {
      this.waiters.delete(record.id);
      for (const notify of waiters) notify(snapshot(entry));
    }
  }

  /**
   * Keeps a finished task readable: drops the oldest of the same outcome beyond `maxStoredResults` (as
   * BullMQ's removeOnComplete/removeOnFail counts do), arms the expiry.
   */
  private keep(id: string, outcome: 'SUCCESS' | 'FAILURE'): void {
    const kept = this.finished[outcome];
    kept.add(id);
    let dropped = 0;
    for (const oldest of kept) {
      if (kept.size <= this.opts.maxStoredResults) break;
      this.forget(oldest);
      dropped += 1;
    }
    const now = Date.now();
    if (dropped > 0 && now - this.lastEvictionWarning >= EVICTION_WARNING_INTERVAL_MS) {
      this.lastEvictionWarning = now;
      this.opts.logger.warn(
        { max_stored_results: this.opts.maxStoredResults, result_ttl_s: this.opts.resultTtlMs / 1000 },
        'Finished tasks are forgotten before their TTL: more than maxStoredResults finished within it',
      );
    }
    this.armExpiry();
  }

  private forget(id: string): void {
    this.finished.SUCCESS.delete(id);
    this.finished.FAILURE.delete(id);
    this.tasks.delete(id);
  }

  private finishedAt(id: string): number {
    return this.tasks.get(id)?.record.finishedAt ?? 0;
  }

  /** Forgets finished tasks older than the TTL; each list is oldest first, so it stops at a young one. */
  private forgetExpired(now = Date.now()): void {
    for (const kept of [this.finished.SUCCESS, this.finished.FAILURE]) {
      for (const id of kept) {
        if (now - this.finishedAt(id) < this.opts.resultTtlMs) break;
        this.forget(id);
      }
    }
  }

  /**
   * One timer, for when the oldest finished task expires (unref: it must not hold the process open).
   * A TTL beyond setTimeout's limit (~24.8 days; RESULT_TTL_S allows 30) waits the limit and re-arms:
   * Node would otherwise fire it after 1 ms, over and over.
   */
  private armExpiry(): void {
    if (this.expiryTimer) return;
    const heads = [this.finished.SUCCESS, this.finished.FAILURE].flatMap((kept) => {
      const oldest = kept.values().next();
      return oldest.done ? [] : [this.finishedAt(oldest.value)];
    });
    if (heads.length === 0) return;
    const due = Math.max(0, Math.min(...heads) + this.opts.resultTtlMs - Date.now());
    const delay = Math.min(due, MAX_TIMER_MS);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.forgetExpired();
      this.armExpiry();
    }, delay).unref();
  }
}

/**
 * A result as JSON text, or the task's error when it is not JSON (a handler bug: BullMQ's worker also
 * fails such a job, after its retries, as an internal error).
 */
function toJson(
  result: unknown,
  record: TaskRecord,
  logger: ResolvedQueueOptions['logger'],
): { text: string | undefined } | { error: TaskRecord['error'] } {
  try {
    // JSON.stringify gives undefined (despite its type) for a handler that returned nothing.
    return { text: JSON.stringify(result) };
  } catch (err) {
    logger.error({ err, task_id: record.id, task: record.name }, 'Task result is not JSON');
    return { error: { code: 'INTERNAL_ERROR', error: 'The task produced a result that cannot be stored' } };
  }
}

function isFinished(record: TaskRecord): boolean {
  return record.state === 'SUCCESS' || record.state === 'FAILURE';
}

/** Callers get copies, so they cannot change the queue's records; a result is parsed anew each time. */
function snapshot({ record, resultJson }: Entry): TaskRecord {
  return {
    ...record,
    ...(record.error && { error: { ...record.error } }),
    ...(resultJson !== undefined && { result: JSON.parse(resultJson) as unknown }),
  };
}
