/**
 * The real Redis on this machine (REDIS_TEST_URL, default redis://127.0.0.1:6379). Suites that need it
 * use `describeWithRedis`: without a reachable server they are skipped with a loud warning outside CI
 * and fail under CI=true (where .ci/run starts redis-server). Tests use unique key prefixes and queue
 * names and clean up after themselves, so they can share the server.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';

export const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

function ping(): boolean {
  const url = new URL(REDIS_URL);
  try {
    const out = execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port || '6379', 'ping'], {
      timeout: 3000,
      encoding: 'utf8',
    });
    return out.trim() === 'PONG';
  } catch {
    return false;
  }
}

export const HAVE_REDIS = ping();

if (!HAVE_REDIS) {
  const msg = `Redis not reachable at ${REDIS_URL} (set REDIS_TEST_URL or start redis-server)`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI must have it`);
  console.warn(`\n*** WARNING: ${msg}; the Redis tests are SKIPPED ***\n`);
}

export const describeWithRedis = describe.skipIf(!HAVE_REDIS);

/** A prefix no other test uses, for keys and queue names. */
export function uniqueName(label: string): string {
  return `fvtest-${label}-${randomUUID().slice(0, 8)}`;
}
