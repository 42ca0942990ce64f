/**
 * `faceverify gallery` as a user runs it: child processes of bin/faceverify.js (built code in dist/) on
 * one temporary DATA_DIR, real LFW photos. Each call is a fresh process, so this also shows that the
 * embedded store keeps what the previous command wrote.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFaces, facePath } from '../../support/faces.js';

const run = promisify(execFile);
const BIN = new URL('../../../bin/faceverify.js', import.meta.url).pathname;
const lfw = (name: string, n: number): string =>
  facePath(`lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`);

let dataDir: string;

async function gallery(
  ...args: string[]
): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, 'gallery', ...args, '--json'], {
      timeout: 30_000,
      env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' },
    });
    return { code: 0, json: JSON.parse(stdout) as Record<string, unknown>, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, json: {}, stderr: e.stderr };
  }
}

beforeAll(() => {
  if (!existsSync(new URL('../../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm ci does it)');
  }
  dataDir = mkdtempSync(join(tmpdir(), 'fv-gallery-cli-'));
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeWithFaces('faceverify gallery', () => {
  it('enrols, lists, searches, verifies and deletes across separate runs', async () => {
    expect((await gallery('enrol', 'staff', 'bush', lfw('George_W_Bush', 7))).code).toBe(0);
    expect((await gallery('enrol', 'staff', 'powell', lfw('Colin_Powell', 40))).code).toBe(0);
    expect((await gallery('list')).json).toMatchObject({
      galleries: [{ gallery: 'staff', subjects: 2, faces: 2 }],
    });

    const search = await gallery('search', 'staff', lfw('George_W_Bush', 16));
    expect(search.code).toBe(0);
    expect((search.json.matches as { subject: string }[])[0]?.subject).toBe('bush');
    const verify = await gallery('verify', 'staff', 'powell', lfw('George_W_Bush', 16));
    expect(verify.json).toMatchObject({ subject: 'powell', is_match: false });

    expect((await gallery('delete', 'staff', 'bush')).json).toEqual({ deleted_faces: 1 });
    const show = await gallery('show', 'staff', 'bush');
    expect(show.code).not.toBe(0);
    expect(show.stderr).toContain('SUBJECT_NOT_FOUND');
  });
});
