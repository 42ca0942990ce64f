/**
 * The real PostgreSQL on this machine (POSTGRES_TEST_URL, default postgres://postgres@127.0.0.1:5432/postgres).
 * Suites that need it use `describeWithPostgres`: without a reachable server they are skipped with a
 * loud warning outside CI and fail under CI=true. Tests work in a fresh schema each and drop it.
 */
import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

export const POSTGRES_URL = process.env.POSTGRES_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function ready(): boolean {
  try {
    execFileSync('pg_isready', ['-d', POSTGRES_URL, '-t', '3'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export const HAVE_POSTGRES = ready();

if (!HAVE_POSTGRES) {
  const msg = `PostgreSQL not reachable at ${POSTGRES_URL} (set POSTGRES_TEST_URL or start it)`;
  if (process.env.CI === 'true') throw new Error(`${msg}: CI must have it`);
  console.warn(`\n*** WARNING: ${msg}; the PostgreSQL tests are SKIPPED ***\n`);
}

export const describeWithPostgres = describe.skipIf(!HAVE_POSTGRES);
