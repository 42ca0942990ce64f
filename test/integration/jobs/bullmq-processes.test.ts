// BullMQ across real processes on the real Redis: two worker processes (test/fixtures/bullmq-worker.ts)
// share one queue and run every task exactly once; a worker SIGKILLed mid-task leaves a stalled job
// that another worker recovers and completes. Every child is killed after each test, even on failure.
// Run time: < 20 s in all idle (each child needs ~1 s to start under tsx; stall recovery ~2 s); the
// waits are for events (a line, an exit, a task's end), with hang guards far above that.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BullmqQueue } from '../../../src/jobs/bullmq-queue.js';
import type { TaskPayload } from '../../../src/jobs/task-queue.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';
import { HANG_GUARD_MS } from '../../support/wait-until.js';
import { deleteKeys } from './redis-keys.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKER = fileURLToPath(new URL('../../fixtures/bullmq-worker.ts', import.meta.url));

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

describeWithRedis('BullmqQueue across worker processes (real Redis)', () => {
  let prefix: string;
  let admin: Redis;
  let producer: BullmqQueue | undefined;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    prefix = uniqueName('procs');
    admin = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    const running = children.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map((c) => once(c, 'exit')));
    await producer?.close();
    producer = undefined;
    await deleteKeys(admin, `${prefix}:*`);
    await admin.quit();
  });

  function startWorker(env: Record<string, string>): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL, PREFIX: prefix, QUEUE: 'tasks', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    const listeners = new Set<() => void>();
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const l of listeners) l();
    });
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    return {
      child,
      pid: child.pid ?? -1,
      line: (pattern, timeoutMs = HANG_GUARD_MS) =>
        new Promise((resolve, reject) => {
          const check = (): void => {
            const hit = out.split('\n').find((l) => pattern.test(l));
            if (hit !== undefined) {
              cleanup();
              resolve(hit);
            }
          };
          const onExit = (): void => {
            cleanup();
            reject(new Error(`worker exited before printing ${String(pattern)}; stderr:\n${err}`));
          };
          const timer = setTimeout(() => {
            cleanup();
            reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; stderr:\n${err}`));
          }, timeoutMs);
          const cleanup = (): void => {
            clearTimeout(timer);
            listeners.delete(check);
            child.off('exit', onExit);
          };
          listeners.add(check);
          child.once('exit', onExit);
          check();
        }),
    };
  }

  const task = (n: number): TaskPayload => ({
    name: 'verify',
    data: { image1: { url: `http://example.test/${n}` }, image2: { url: 'x' } },
  });

  it('two worker processes share the work and run every task exactly once', async () => {
    // Wrong if it fails: with several workers a task could run twice (double work, duplicate
    // results) or be lost, or one process would not take part at all.
    // BARRIER: each process's first tasks wait until both processes run one, so both take part.
    const workers = [0, 1].map(() => startWorker({ HANDLER_MS: '30', BARRIER: '2' }));
    await Promise.all(workers.map((w) => w.line(/^ready$/)));
    const queue = (producer = new BullmqQueue({ redisUrl: REDIS_URL, prefix, queueName: 'tasks' }));

    const ids: string[] = [];
    for (let n = 0; n < 20; n += 1) ids.push(await queue.enqueue(task(n)));
    const records = await Promise.all(ids.map((id) => queue.wait(id, HANG_GUARD_MS)));

    const byPid = new Map<number, number>();
    for (const [i, record] of records.entries()) {
      expect(record?.state, `task ${i}`).toBe('SUCCESS');
      expect(record?.attempts).toBe(1);
      const { pid } = record?.result as { pid: number };
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    }
    const runs = await admin.mget(ids.map((id) => `${prefix}:runs:${id}`));
    expect(runs, 'each task ran exactly once').toEqual(ids.map(() => '1'));
    expect([...byPid.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());

    // Graceful stop: SIGTERM closes the queue and exits 0.
    for (const w of workers) w.child.kill('SIGTERM');
    const codes = await Promise.all(
      workers.map((w) => once(w.child, 'exit').then(([code]) => code as number)),
    );
    expect(codes).toEqual([0, 0]);
  });

  it('a task whose worker is SIGKILLed mid-run is recovered by another worker and completes', async () => {
    // Wrong if it fails: a crashed or OOM-killed worker would lose the tasks it was running, leaving
    // them STARTED forever.
    // A short lock so the task is found stalled soon after the kill, but not so short that a
    // renewal delayed by a busy machine lets the doomed worker's own stalled check requeue its task.
    const fastStall = { LOCK_MS: '4000', STALLED_MS: '500', CONCURRENCY: '1' };
    const doomed = startWorker({ ...fastStall, HANDLER_MS: '600000' });
    await doomed.line(/^ready$/);
    producer = new BullmqQueue({ redisUrl: REDIS_URL, prefix, queueName: 'tasks' });
    const id = await producer.enqueue(task(1));
    await doomed.line(new RegExp(`^started ${id}$`));
    expect((await producer.get(id))?.state).toBe('STARTED');

    doomed.child.kill('SIGKILL');
    await once(doomed.child, 'exit');
    const rescuer = startWorker({ ...fastStall, HANDLER_MS: '10' });

    const record = await producer.wait(id, HANG_GUARD_MS);
    expect(record?.state).toBe('SUCCESS');
    expect(record?.result).toEqual({ pid: rescuer.pid });
    expect(record?.attempts, 'started twice: once per worker').toBe(2);
    expect(await admin.get(`${prefix}:runs:${id}`)).toBe('2');
  });
});
