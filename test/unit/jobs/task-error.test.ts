// The task-error mapping: what callers of GET /status see for each kind of handler error. Pure, < 10 ms.
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { classifyError, decodeTaskError, encodeTaskError } from '../../../src/jobs/task-error.js';

describe('classifyError', () => {
  it('keeps a FaceVerifyError’s code, message and retryability', () => {
    // Wrong if it fails: the API would report other codes for tasks than for synchronous requests.
    expect(classifyError(new FaceVerifyError('NO_FACE', 'No face in image 1'))).toEqual({
      taskError: { code: 'NO_FACE', error: 'No face in image 1' },
      retryable: false,
      expected: true,
    });
    expect(classifyError(new FaceVerifyError('DOWNLOAD_FAILED')).retryable).toBe(true);
  });

  it('hides anything else behind INTERNAL_ERROR, never retried, flagged for logging', () => {
    // Wrong if it fails: internal messages (paths, hosts) would reach clients, or bugs be retried.
    for (const err of [new Error('ECONNREFUSED 10.0.0.5:5432'), 'a string', undefined, { code: 'NO_FACE' }]) {
      expect(classifyError(err)).toEqual({
        taskError: { code: 'INTERNAL_ERROR', error: 'Internal error' },
        retryable: false,
        expected: false,
      });
    }
  });
});

describe('encodeTaskError / decodeTaskError', () => {
  it('round-trips { code, error } through a BullMQ failedReason', () => {
    // Wrong if it fails: a FAILURE read back from Redis would lose its code.
    const e = { code: 'IMAGE_TOO_LARGE', error: 'Image is "too" large' };
    expect(decodeTaskError(encodeTaskError(e))).toEqual(e);
  });

  it('reads BullMQ’s own reasons and junk as INTERNAL_ERROR with a safe message', () => {
    // Wrong if it fails: BullMQ internals ("job stalled more than allowable limit") would be shown raw.
    expect(decodeTaskError('job stalled more than allowable limit')).toEqual({
      code: 'INTERNAL_ERROR',
      error: 'The worker running the task was lost too many times',
    });
    for (const reason of [undefined, '', 'Missing lock for job 1', '{"code":1}', 'null']) {
      expect(decodeTaskError(reason)).toEqual({ code: 'INTERNAL_ERROR', error: 'Internal error' });
    }
  });
});
