/**
 * Runs `faceverify gallery … --json` as a real process (the built CLI in dist/), answering its exit
 * code, its JSON and its stderr, for the gallery CLI tests.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = new URL('../../bin/faceverify.js', import.meta.url).pathname;

/** Fails the test file early, and clearly, when dist/ has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm ci does it)');
  }
}

/**
 * `faceverify gallery ARGS --json` with the test's environment on top of this process's; the timeout
 * is a hang guard (a CLI run loads its models: seconds idle, a minute on a loaded machine).
 */
export async function galleryCli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'gallery', ...args, '--json'], {
      timeout: 120_000,
      env: { ...process.env, DATABASE_URL: '', ...env },
    });
    return { code: 0, json: JSON.parse(stdout) as Record<string, unknown>, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, json: {}, stderr: e.stderr };
  }
}
