/** Where the benchmark photos are (same setting as the tests: FACES_DIR, default ../shared/faces). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FACES_DIR = resolve(
  fileURLToPath(new URL('..', import.meta.url)),
  process.env.FACES_DIR ?? '../shared/faces',
);
if (!existsSync(FACES_DIR)) throw new Error(`benchmark photos not found at ${FACES_DIR} (set FACES_DIR)`);
