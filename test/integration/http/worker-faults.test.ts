/**
 * Faults with real processes on the real Redis: a `faceverify worker` stopped with SIGTERM finishes its
 * running tasks and exits cleanly, leaving the rest queued; one killed with SIGKILL mid-task leaves a
 * stalled task that another worker picks up and completes. No accepted task is lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFaces, HAVE_FACES } from '../../support/faces.js';
import { HAVE_REDIS, REDIS_URL, uniqueName } from '../../support/redis.js';
import { startStaticServer, type StaticServer } from '../../support/static-server.js';

const BIN = new URL('../../../bin/faceverify.js', import.meta.url).pathname;
const describeIf = HAVE_FACES && HAVE_REDIS ? describeWithFaces : describeWithFaces.skip;

describeIf('worker processes under SIGTERM and SIGKILL', () => {
  const prefix = uniqueName('faults');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const api = `http://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  let files: StaticServer;
  let redis: Redis;
  let env: Record<string, string>;

  const start = (args: string[], extra: Record<string, string> = {}): ChildProcess => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, ...extra },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  };
  const exited = (c: ChildProcess): Promise<number | null> =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve(c.exitCode)
      : new Promise((r) => c.once('exit', (code) => r(code)));

  const submit = async (n: number, slowMs = 0): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${api}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          image1_url: files.url(
            `lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg${slowMs ? `?delay=${slowMs}` : ''}`,
          ),
          image2_url: files.url('lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg'),
        }),
      });
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    return ids;
  };

  const finalStates = async (ids: string[], timeoutMs: number): Promise<string[]> => {
    const deadline = Date.now() + timeoutMs;
    const states = new Map<string, string>();
    while (Date.now() < deadline && states.size < ids.length) {
      for (const id of ids) {
        if (states.has(id)) continue;
        const body = (await (await fetch(`${api}/status/${id}`)).json()) as { status: string };
        if (body.status === 'SUCCESS' || body.status === 'FAILURE') states.set(id, body.status);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return ids.map((id) => states.get(id) ?? 'UNFINISHED');
  };

  beforeAll(async () => {
    files = await startStaticServer();
    redis = new Redis(REDIS_URL);
    env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_MAX: '0', // the tests poll /status often
      EMBEDDING_CACHE: 'off',
      MAX_CONCURRENT_TASKS: '1',
      WORKER_LOCK_DURATION_S: '2',
      WORKER_STALLED_INTERVAL_S: '1',
    };
    start(['serve', '--no-worker']);
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${api}/health`)).ok) break;
      } catch {
        // not yet listening
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await files.close();
  }, 30_000);

  it('SIGTERM: the worker finishes what it runs, exits 0, and another worker completes the rest', async () => {
    const a = start(['worker'], { WORKER_NAME: 'term-a' });
    const ids = await submit(6, 300);
    // Let worker A start on the first task, then ask it to stop.
    for (
      let i = 0;
      i < 100 && (await redis.hget(`${prefix}:faceverify-tasks:${ids[0]}`, 'ats')) !== '1';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    a.kill('SIGTERM');
    expect(await exited(a)).toBe(0);
    const b = start(['worker'], { WORKER_NAME: 'term-b' });
    expect(await finalStates(ids, 30_000)).toEqual(Array(6).fill('SUCCESS'));
    b.kill('SIGTERM');
    expect(await exited(b)).toBe(0);
    for (const id of ids) {
      // A graceful stop never costs a task an attempt.
      expect(await redis.hget(`${prefix}:faceverify-tasks:${id}`, 'atm')).toBe('1');
    }
  }, 60_000);

  it('SIGTERM while the worker is still starting: it finishes starting, then exits 0', async () => {
    // Wrong if it fails: a signal that arrives while models load (or just after the worker claimed its
    // first task) would kill the process outright (Node's default action) instead of a clean stop.
    // A fresh model folder makes start-up convert the models; a file appearing there proves the
    // process is inside start-up, past its own imports.
    const cache = mkdtempSync(join(tmpdir(), 'faceverify-starting-'));
    try {
      const w = start(['worker'], { WORKER_NAME: 'starting', MODEL_CACHE_DIR: cache });
      for (let i = 0; i < 400 && readdirSync(cache).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(readdirSync(cache).length, 'start-up wrote nothing to the model folder').toBeGreaterThan(0);
      w.kill('SIGTERM');
      expect(await exited(w)).toBe(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 60_000);

  it('SIGKILL mid-task: the stalled task is recovered by another worker and completes', async () => {
    const c = start(['worker'], { WORKER_NAME: 'kill-c' });
    const [id] = await submit(1, 1500);
    for (
      let i = 0;
      i < 200 && (await redis.hget(`${prefix}:faceverify-tasks:${id}`, 'pb')) !== 'kill-c';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 25));
    }
    c.kill('SIGKILL');
    await exited(c);
    start(['worker'], { WORKER_NAME: 'kill-d' });
    expect(await finalStates([id as string], 30_000)).toEqual(['SUCCESS']);
    expect(await redis.hget(`${prefix}:faceverify-tasks:${id}`, 'pb')).toBe('kill-d');
  }, 60_000);
});
