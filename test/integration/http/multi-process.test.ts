/**
 * Scale-out as deployed: one API process (`faceverify serve --no-worker`) and two worker processes
 * (`faceverify worker`) on the real Redis. Tasks submitted over HTTP are shared by both workers and each
 * completes exactly once (BullMQ's job record: one attempt, processed by one named worker).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFaces, HAVE_FACES } from '../../support/faces.js';
import { HAVE_REDIS, REDIS_URL, uniqueName } from '../../support/redis.js';
import { startStaticServer, type StaticServer } from '../../support/static-server.js';

const BIN = new URL('../../../bin/faceverify.js', import.meta.url).pathname;
const describeIf = HAVE_FACES && HAVE_REDIS ? describeWithFaces : describeWithFaces.skip;

function start(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${args[0]}] ${d.toString()}`));
  return child;
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('API did not become healthy');
}

describeIf('API + two worker processes on one Redis', () => {
  const prefix = uniqueName('mp');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const api = `http://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  let files: StaticServer;
  let redis: Redis;

  beforeAll(async () => {
    files = await startStaticServer();
    redis = new Redis(REDIS_URL);
    const env = {
      REDIS_URL,
      REDIS_PREFIX: prefix,
      QUEUE_NAME: 'tasks',
      PORT: String(port),
      HOST: '127.0.0.1',
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_MAX: '0', // the tests poll /status often
      EMBEDDING_CACHE: 'off', // every task does the full work
      MAX_CONCURRENT_TASKS: '2',
    };
    children.push(start(['serve', '--no-worker'], env));
    children.push(start(['worker'], { ...env, WORKER_NAME: 'worker-a' }));
    children.push(start(['worker'], { ...env, WORKER_NAME: 'worker-b' }));
    await waitHealthy(api);
  }, 30_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await files.close();
  }, 40_000);

  it('shares 12 tasks between the workers, each completing exactly once', async () => {
    const images = ['0001', '0002', '0004'].map((n) =>
      files.url(`lfw/images/Abel_Pacheco/Abel_Pacheco_${n}.jpg`),
    );
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${api}/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image1_url: images[i % 3], image2_url: images[(i + 1) % 3] }),
      });
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    const states: string[] = [];
    for (const id of ids) {
      for (let i = 0; i < 300; i++) {
        const body = (await (await fetch(`${api}/status/${id}`)).json()) as {
          status: string;
          result?: { is_match: boolean };
        };
        if (body.status === 'SUCCESS' || body.status === 'FAILURE') {
          states.push(body.status);
          expect(body.result?.is_match).toBe(true);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(states).toEqual(Array(12).fill('SUCCESS'));
    const processedBy = new Map<string, number>();
    for (const id of ids) {
      // BullMQ's job hash: ats = attempts started, atm = attempts made, pb = processed by (worker name).
      const job = await redis.hgetall(`${prefix}:tasks:${id}`);
      expect(job.ats, `task ${id} was started more than once`).toBe('1');
      expect(job.atm, `task ${id} ran more than once`).toBe('1');
      const worker = job.pb ?? 'unknown';
      processedBy.set(worker, (processedBy.get(worker) ?? 0) + 1);
    }
    // Both workers took part (12 tasks, 2 at a time each, ~50 ms apiece: one worker alone is very unlikely).
    expect([...processedBy.keys()].sort()).toEqual(['worker-a', 'worker-b']);
  }, 60_000);
});
