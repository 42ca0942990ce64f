// One attempt of a task: result, error, timeout and interruption. Real timers of 20–50 ms; < 200 ms.
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { startAttempt } from '../../../src/jobs/run-task.js';
import type { TaskContext, TaskPayload } from '../../../src/jobs/task-queue.js';

const task: TaskPayload = { name: 'verify', data: { image1: { url: 'a' }, image2: { url: 'b' } } };
const info = { id: 'id-1', attempt: 2, timeoutMs: 50 };

describe('startAttempt', () => {
  it('passes the task and context, and settles with the handler’s value', async () => {
    // Wrong if it fails: handlers would not see their task, id or attempt number.
    let seen: TaskContext | undefined;
    const { outcome } = startAttempt(
      (t, ctx) => {
        seen = ctx;
        return Promise.resolve(t.name);
      },
      task,
      info,
    );
    expect(await outcome).toEqual({ ok: true, value: 'verify' });
    expect(seen).toMatchObject({ id: 'id-1', attempt: 2 });
    expect(seen?.signal.aborted).toBe(false);
  });

  it('turns a synchronous throw into an error outcome', async () => {
    // Wrong if it fails: a handler bug thrown before its first await would crash the worker.
    const boom = new Error('sync');
    const { outcome } = startAttempt(
      () => {
        throw boom;
      },
      task,
      info,
    );
    expect(await outcome).toEqual({ ok: false, error: boom });
  });

  it('times out: aborts the signal with TASK_TIMEOUT even if the handler ignores it', async () => {
    // Wrong if it fails: a handler stuck on I/O would hold its slot forever.
    let signal: AbortSignal | undefined;
    const { outcome } = startAttempt(
      (_t, ctx) => {
        signal = ctx.signal;
        return new Promise(() => undefined);
      },
      task,
      { ...info, timeoutMs: 20 },
    );
    const result = await outcome;
    expect(result).toMatchObject({ ok: false, interrupted: 'timeout' });
    expect(!result.ok && (result.error as FaceVerifyError).code).toBe('TASK_TIMEOUT');
    expect(signal?.aborted).toBe(true);
  });

  it('interrupt() aborts with the given reason and settles at once', async () => {
    // Wrong if it fails: shutdown could not stop a running task, or would be reported as a timeout.
    const reason = new FaceVerifyError('UNAVAILABLE', 'shutting down');
    const attempt = startAttempt(() => new Promise(() => undefined), task, { ...info, timeoutMs: 10_000 });
    attempt.interrupt(reason);
    expect(await attempt.outcome).toEqual({ ok: false, error: reason, interrupted: 'interrupt' });
  });
});
