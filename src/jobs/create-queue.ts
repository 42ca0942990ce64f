/**
 * Chooses the task-queue backend: the in-process queue (default) or BullMQ on Redis.
 *
 * @example
 * const queue = config.redisUrl
 *   ? createTaskQueue({ backend: 'bullmq', redisUrl: config.redisUrl, timeoutMs: 30_000 })
 *   : createTaskQueue({ backend: 'memory', maxPending: 100, timeoutMs: 30_000 });
 */
import { BullmqQueue } from './bullmq-queue.js';
import type { BullmqQueueOptions } from './bullmq-queue.js';
import { MemoryQueue } from './memory-queue.js';
import type { TaskQueueOptions } from './queue-options.js';
import type { TaskQueue } from './task-queue.js';

export type CreateTaskQueueOptions =
  ({ backend: 'memory' } & TaskQueueOptions) | ({ backend: 'bullmq' } & BullmqQueueOptions);

export function createTaskQueue(options: CreateTaskQueueOptions): TaskQueue {
  // The extra `backend` field is ignored by the constructors.
  return options.backend === 'bullmq' ? new BullmqQueue(options) : new MemoryQueue(options);
}
