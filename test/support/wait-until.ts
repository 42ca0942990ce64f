/**
 * Waits for a state that announces itself by no event a test can subscribe to (a field of a BullMQ
 * job hash, a task's status over HTTP, a file appearing): polls `read` until `done` holds. The guard
 * only turns a hang into a clear failure (with the last value read); it is far above the time any of
 * these states takes to arrive on a busy machine, so it is never what a passing run waits for.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export const HANG_GUARD_MS = 60_000;

export async function waitUntil<T>(
  what: string,
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  { guardMs = HANG_GUARD_MS, intervalMs = 20 }: { guardMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const end = performance.now() + guardMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > end) {
      throw new Error(`${what}: not reached within ${guardMs} ms (last: ${JSON.stringify(value)})`);
    }
    await sleep(intervalMs);
  }
}
