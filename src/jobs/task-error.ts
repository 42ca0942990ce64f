/**
 * How a handler's error becomes a task's stored `{ code, error }`, and whether it is worth a retry.
 * Only a FaceVerifyError speaks for itself; anything else is a bug or an internal failure whose message
 * may carry paths or stack details, so callers see INTERNAL_ERROR and the detail goes to the log.
 */
import { ERROR_CATALOGUE, isFaceVerifyError } from '../errors.js';
import type { TaskError } from './task-queue.js';

export interface ClassifiedError {
  taskError: TaskError;
  retryable: boolean;
  /** False when the error is not a FaceVerifyError: log it, since the caller only sees INTERNAL_ERROR. */
  expected: boolean;
}

export const INTERNAL_TASK_ERROR: Readonly<TaskError> = Object.freeze({
  code: 'INTERNAL_ERROR',
  error: ERROR_CATALOGUE.INTERNAL_ERROR.message,
});

export function classifyError(err: unknown): ClassifiedError {
  if (isFaceVerifyError(err)) {
    const details = err.details && Object.keys(err.details).length > 0 ? { details: err.details } : {};
    return {
      taskError: { code: err.code, error: err.message, ...details },
      retryable: err.retryable,
      expected: true,
    };
  }
  return { taskError: { ...INTERNAL_TASK_ERROR }, retryable: false, expected: false };
}

/** The task error as BullMQ stores it (a job's failedReason is the thrown error's message). */
export function encodeTaskError(taskError: TaskError): string {
  return JSON.stringify(taskError);
}

/**
 * Reads back a failedReason. BullMQ writes its own reasons too (a job stalled too often, a lost lock);
 * those are not for callers, so they read as INTERNAL_ERROR with a safe message.
 */
export function decodeTaskError(failedReason: string | undefined): TaskError {
  if (failedReason) {
    try {
      const parsed: unknown = JSON.parse(failedReason);
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'code' in parsed &&
        'error' in parsed &&
        typeof parsed.code === 'string' &&
        typeof parsed.error === 'string'
      ) {
        const details =
          'details' in parsed && typeof parsed.details === 'object' && parsed.details !== null
            ? { details: parsed.details as Record<string, unknown> }
            : {};
        return { code: parsed.code, error: parsed.error, ...details };
      }
    } catch {
      // Not ours: fall through.
    }
    if (/stalled/i.test(failedReason)) {
      return { code: 'INTERNAL_ERROR', error: 'The worker running the task was lost too many times' };
    }
  }
  return { ...INTERNAL_TASK_ERROR };
}
