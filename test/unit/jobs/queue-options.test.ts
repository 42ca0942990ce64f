// Task-queue option defaults and validation. Pure, < 10 ms.
import { describe, expect, it } from 'vitest';
import { QUEUE_DEFAULTS, resolveQueueOptions } from '../../../src/jobs/queue-options.js';

describe('resolveQueueOptions', () => {
  it('fills in the defaults and ignores keys that are not queue options', () => {
    // Wrong if it fails: a queue built with no options would have no bound or timeout.
    const resolved = resolveQueueOptions({ maxRetries: 0, ...{ redisUrl: 'redis://x' } });
    expect(resolved).toMatchObject({ ...QUEUE_DEFAULTS, maxRetries: 0 });
    expect(resolved).not.toHaveProperty('redisUrl');
    expect(typeof resolved.logger.warn).toBe('function');
  });

  it('lists every invalid option at once', () => {
    // Wrong if it fails: a bad setting (negative timeout, fractional bound) would start a broken queue.
    expect(() => resolveQueueOptions({ timeoutMs: 0, maxPending: 1.5, retryDelayMs: Number.NaN })).toThrow(
      /timeoutMs must be a number >= 1.*retryDelayMs.*maxPending must be an integer/,
    );
    expect(() => resolveQueueOptions({ maxStoredResults: 0 })).toThrow(
      /maxStoredResults must be a number >= 1/,
    );
    expect(() => resolveQueueOptions({ maxStoredResults: 2.5 })).toThrow(
      /maxStoredResults must be an integer/,
    );
  });
});
