/**
 * The task-queue interface, with two interchangeable backends: an in-process queue (default, nothing to
 * install) and BullMQ on Redis (set REDIS_URL; API and workers may be separate processes and machines).
 * One conformance suite (test/integration/jobs/task-queue-conformance.test.ts) runs against both.
 *
 * States follow the reference API (Celery's): PENDING → STARTED → SUCCESS | FAILURE, with RETRY while a
 * transient failure (a FaceVerifyError whose `retryable` is true: download errors and timeouts) waits
 * for its next attempt. Any other error fails the task at once.
 */

export type TaskState = 'PENDING' | 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE';

/** Tasks are a discriminated union of { name, data }; handlers are plain functions of it. */
export type TaskPayload =
  { name: 'verify'; data: VerifyTaskData } | { name: 'verify-batch'; data: BatchTaskData };

/**
 * An image as a task carries it: a URL to fetch, or uploaded bytes — as they are within this process,
 * in base64 where the task must survive JSON (a JSON request body, a task in Redis: {@link jsonTask}).
 */
export type ImageRef = { url: string } | { base64: string } | { bytes: Uint8Array };

/** The bytes of an uploaded image (base64 decoded). */
export function uploadedBytes(ref: Exclude<ImageRef, { url: string }>): Uint8Array {
  return 'bytes' in ref ? ref.bytes : Buffer.from(ref.base64, 'base64');
}

/** The task with uploaded bytes as base64, for a backend that stores tasks as JSON. */
export function jsonTask(task: TaskPayload): TaskPayload {
  const json = (ref: ImageRef): ImageRef =>
    'bytes' in ref
      ? {
          base64: Buffer.from(ref.bytes.buffer, ref.bytes.byteOffset, ref.bytes.byteLength).toString(
            'base64',
          ),
        }
      : ref;
  return task.name === 'verify'
    ? { ...task, data: { ...task.data, image1: json(task.data.image1), image2: json(task.data.image2) } }
    : { ...task, data: { ...task.data, pairs: task.data.pairs.map(([a, b]) => [json(a), json(b)]) } };
}

export interface VerifyTaskData {
  image1: ImageRef;
  image2: ImageRef;
  facePolicy?: 'strict' | 'largest' | 'center';
  threshold?: number;
}

export interface BatchTaskData {
  pairs: [ImageRef, ImageRef][];
  facePolicy?: 'strict' | 'largest' | 'center';
  threshold?: number;
}

export interface TaskError {
  code: string;
  error: string;
  /** Safe structured details of the error (e.g. the faces found for MULTIPLE_FACES, which image). */
  details?: Record<string, unknown>;
}

export interface TaskRecord {
  id: string;
  name: TaskPayload['name'];
  state: TaskState;
  result?: unknown;
  error?: TaskError;
  /** Attempts made so far (1 for the first). */
  attempts: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface TaskContext {
  id: string;
  attempt: number;
  /** Aborted when the task's timeout passes or the worker shuts down. */
  signal: AbortSignal;
}

export type TaskHandler = (task: TaskPayload, ctx: TaskContext) => Promise<unknown>;

export interface QueueCounts {
  PENDING: number;
  STARTED: number;
  RETRY: number;
  SUCCESS: number;
  FAILURE: number;
}

export interface QueueHealth {
  ok: boolean;
  backend: 'memory' | 'bullmq';
  detail: string;
}

export interface TaskQueue {
  readonly backend: 'memory' | 'bullmq';
  /** Accepts a task; throws FaceVerifyError QUEUE_FULL (429) when the queue is at its bound. */
  enqueue(task: TaskPayload): Promise<string>;
  get(id: string): Promise<TaskRecord | undefined>;
  /** Resolves when the task is SUCCESS or FAILURE, or with its current record after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<TaskRecord | undefined>;
  /** Starts processing in this process (`concurrency` tasks at once). */
  startWorker(handler: TaskHandler, concurrency: number): Promise<void>;
  counts(): Promise<QueueCounts>;
  health(): Promise<QueueHealth>;
  /** Stops taking tasks, lets running ones finish (or hands them back), closes connections. */
  close(): Promise<void>;
}
