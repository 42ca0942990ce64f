/**
 * One attempt of a task, shared by both backends: call the handler with a context whose signal is
 * aborted when the attempt's time is up (TASK_TIMEOUT) or when the owner interrupts it (shutdown).
 *
 * The attempt settles at the first of: the handler's result, its error, or the abort. A handler that
 * ignores its signal keeps running in the background, but its slot is released: otherwise one hung
 * handler could wedge a worker for good.
 */
import { FaceVerifyError } from '../errors.js';
import type { TaskContext, TaskHandler, TaskPayload } from './task-queue.js';

export type AttemptOutcome =
  | { ok: true; value: unknown }
  | {
      ok: false;
      error: unknown;
      /** Set when the attempt was cut short by its deadline or by interrupt(). */
      interrupted?: 'timeout' | 'interrupt';
    };

export interface RunningAttempt {
  readonly outcome: Promise<AttemptOutcome>;
  /** Aborts the handler's signal with `reason`; the outcome settles at once with it. */
  interrupt(reason: Error): void;
}

export function startAttempt(
  handler: TaskHandler,
  task: TaskPayload,
  info: { id: string; attempt: number; timeoutMs: number },
): RunningAttempt {
  const controller = new AbortController();
  const timeoutError = new FaceVerifyError(
    'TASK_TIMEOUT',
    `The task did not finish within ${Math.round(info.timeoutMs) / 1000} s`,
  );
  let interruptedBy: 'timeout' | 'interrupt' | undefined;
  const ctx: TaskContext = { id: info.id, attempt: info.attempt, signal: controller.signal };

  const outcome = new Promise<AttemptOutcome>((resolve) => {
    const settle = (result: AttemptOutcome): void => {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => {
      settle({ ok: false, error: controller.signal.reason, interrupted: interruptedBy ?? 'interrupt' });
    };
    controller.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      interruptedBy = 'timeout';
      controller.abort(timeoutError);
    }, info.timeoutMs);
    // Promise.resolve().then: a handler that throws synchronously still yields an outcome. A late
    // settlement after an abort is ignored (the promise is already resolved).
    Promise.resolve()
      .then(() => handler(task, ctx))
      .then(
        (value) => settle({ ok: true, value }),
        (error: unknown) => settle({ ok: false, error }),
      );
  });

  return {
    outcome,
    interrupt(reason: Error): void {
      if (controller.signal.aborted) return;
      interruptedBy = 'interrupt';
      controller.abort(reason);
    },
  };
}
