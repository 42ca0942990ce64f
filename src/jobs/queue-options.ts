/**
 * Options shared by both task-queue backends, their defaults, and a check run once at construction.
 * Durations are in milliseconds here; the config module converts the user-facing seconds.
 */

/** Where a queue reports problems it handles itself (pino's `logger.warn(obj, msg)` fits). */
export interface QueueLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface TaskQueueOptions {
  /** Unfinished tasks (PENDING + RETRY + STARTED) at most; beyond it enqueue throws QUEUE_FULL. */
  maxPending?: number;
  /** One attempt of a task may take this long; then its signal is aborted and it fails with TASK_TIMEOUT. */
  timeoutMs?: number;
  /** Retries after a retryable FaceVerifyError (so at most maxRetries + 1 attempts). */
  maxRetries?: number;
  /** Delay before the first retry; doubles for each further one (retryDelayMs · 2^(attempt-1)). */
  retryDelayMs?: number;
  /** A finished task stays readable this long, then get() answers undefined. */
  resultTtlMs?: number;
  /** Finished tasks kept at most; beyond it the oldest are forgotten before their TTL. */
  maxStoredResults?: number;
  /** close() waits this long for running tasks before interrupting them. */
  closeGraceMs?: number;
  /** The `retry_after_s` suggested with QUEUE_FULL (the HTTP layer's Retry-After). */
  retryAfterS?: number;
  logger?: QueueLogger;
}

export type ResolvedQueueOptions = Required<TaskQueueOptions>;

export const QUEUE_DEFAULTS: Readonly<Omit<ResolvedQueueOptions, 'logger'>> = Object.freeze({
  maxPending: 100,
  timeoutMs: 30_000,
  maxRetries: 3,
  retryDelayMs: 60_000,
  resultTtlMs: 3_600_000,
  maxStoredResults: 10_000,
  closeGraceMs: 10_000,
  retryAfterS: 1,
});

/** Errors to stderr as JSON lines; the service passes its pino logger instead. */
export const consoleQueueLogger: QueueLogger = {
  warn: (obj, msg) => console.warn(JSON.stringify({ level: 'warn', msg, ...obj }, errorsAsObjects)),
  error: (obj, msg) => console.error(JSON.stringify({ level: 'error', msg, ...obj }, errorsAsObjects)),
};

function errorsAsObjects(_key: string, value: unknown): unknown {
  return value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value;
}

/** Fills in defaults and rejects nonsense (a programming or config error, so a plain Error). */
export function resolveQueueOptions(opts: TaskQueueOptions): ResolvedQueueOptions {
  // Picks the known keys only: callers may pass a wider object (a backend's own options).
  const pick = <K extends keyof typeof QUEUE_DEFAULTS>(key: K): number => opts[key] ?? QUEUE_DEFAULTS[key];
  const resolved: ResolvedQueueOptions = {
    maxPending: pick('maxPending'),
    timeoutMs: pick('timeoutMs'),
    maxRetries: pick('maxRetries'),
    retryDelayMs: pick('retryDelayMs'),
    resultTtlMs: pick('resultTtlMs'),
    maxStoredResults: pick('maxStoredResults'),
    closeGraceMs: pick('closeGraceMs'),
    retryAfterS: pick('retryAfterS'),
    logger: opts.logger ?? consoleQueueLogger,
  };
  const checks: [keyof typeof QUEUE_DEFAULTS, number][] = [
    ['maxPending', 1],
    ['timeoutMs', 1],
    ['maxRetries', 0],
    ['retryDelayMs', 0],
    ['resultTtlMs', 1],
    ['maxStoredResults', 1],
    ['closeGraceMs', 0],
    ['retryAfterS', 0],
  ];
  const problems = checks
    .filter(([key, min]) => !Number.isFinite(resolved[key]) || resolved[key] < min)
    .map(([key, min]) => `${key} must be a number >= ${min} (got ${String(resolved[key])})`);
  if (!Number.isInteger(resolved.maxPending)) problems.push('maxPending must be an integer');
  if (!Number.isInteger(resolved.maxRetries)) problems.push('maxRetries must be an integer');
  if (!Number.isInteger(resolved.maxStoredResults)) problems.push('maxStoredResults must be an integer');
  if (problems.length > 0) throw new Error(`Invalid task-queue options: ${problems.join('; ')}`);
  return resolved;
}

export function assertConcurrency(concurrency: number): void {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`Worker concurrency must be an integer >= 1 (got ${concurrency})`);
  }
}
