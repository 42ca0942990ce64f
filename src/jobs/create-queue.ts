/**
 * Chooses the task-queue backend: the in-process queue (default) or BullMQ on Redis.
 *
 * @example
 * const queue = createTaskQueue({ backend: config.redisUrl ? 'bullmq' : 'memory', redisUrl: config.redisUrl });
 */
import { BullmqQueue } from './bullmq-queue.js';
import type { BullmqQueueOptions } from './bullmq-queue.js';
import { MemoryQueue } from './memory-queue.js';
import type { TaskQueueOptions } from './queue-options.js';
import type { TaskQueue } from './task-queue.js';

export type CreateTaskQueueOptions =
  | ({ backend: 'memory' } & TaskQueueOptions)
  | ({ backend: 'bullmq' } & BullmqQueueOptions);

export function createTaskQueue(options: CreateTaskQueueOptions): TaskQueue {
  if (options.backend === 'bullmq') {
    const { backend: _backend, ...rest } = options;
    return new BullmqQueue(rest);
  }
  const { backend: _backend, ...rest } = options;
  return new MemoryQueue(rest);
}
