/**
 * The in-process task queue: the default backend, nothing to install. Bounded (`maxPending` unfinished
 * tasks), `concurrency` handlers at once, per-attempt timeout, retries with exponential backoff for
 * retryable FaceVerifyErrors only, results kept `resultTtlMs` after finishing.
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
  record: TaskRecord;
  /** Dropped when the task finishes: uploaded images are not kept longer than needed. */
  payload: TaskPayload | undefined;
  attempt?: RunningAttempt;
  retryTimer?: NodeJS.Timeout;
}

const SHUTTING_DOWN = 'Task queue is shutting down';

export class MemoryQueue implements TaskQueue {
  readonly backend = 'memory' as const;
  private readonly opts: ResolvedQueueOptions;
  private readonly tasks = new Map<string, Entry>();
  /** Ids ready to start, oldest first. */
  private readonly ready: string[] = [];
  private readonly waiters = new Map<string, Set<(record: TaskRecord) => void>>();
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
    const entry = this.tasks.get(id);
    return Promise.resolve(entry && snapshot(entry.record));
  }

  /** Resolves from the finishing code path (no polling); after `timeoutMs`, with the current record. */
  wait(id: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    const entry = this.tasks.get(id);
    if (!entry) return Promise.resolve(undefined);
    if (isFinished(entry.record)) return Promise.resolve(snapshot(entry.record));
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
    let n = 0;
    for (const { record } of this.tasks.values()) if (!isFinished(record)) n += 1;
    return n;
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
    if ('result' in outcome) {
      record.state = 'SUCCESS';
      record.result = outcome.result;
      delete record.error;
    } else {
      record.state = 'FAILURE';
      record.error = outcome.error;
    }
    record.finishedAt = Date.now();
    entry.payload = undefined;
    // unref: a kept result must not hold the process open after close().
    setTimeout(() => this.tasks.delete(record.id), this.opts.resultTtlMs).unref();
    const waiters = this.waiters.get(record.id);
    if (waiters) {
      this.waiters.delete(record.id);
      for (const notify of waiters) notify(snapshot(record));
    }
  }
}

function isFinished(record: TaskRecord): boolean {
  return record.state === 'SUCCESS' || record.state === 'FAILURE';
}

/** Callers get copies, so they cannot change the queue's records. */
function snapshot(record: TaskRecord): TaskRecord {
  return { ...record, ...(record.error && { error: { ...record.error } }) };
}
