/**
 * The `faceverify` command as a user runs it: a real child process of bin/faceverify.js (built code
 * in dist/), real photos, exit codes and output formats.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithFaces, facePath } from '../support/faces.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/faceverify.js', import.meta.url).pathname;

/**
 * Aborted after each test: no run has a timeout of its own (the test's is the hang guard, and a CLI
 * run with two models takes 3 s idle, 30 s on a loaded machine), so a hung run is killed here.
 */
let stop = new AbortController();
afterEach(() => {
  stop.abort();
  stop = new AbortController();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { signal: stop.signal });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm ci does it)');
  }
});

describeWithFaces('faceverify CLI', () => {
  const obama = facePath('sanity/face_recognition/obama/obama.jpg');
  const obama2 = facePath('sanity/face_recognition/obama/obama2.jpg');
  const biden = facePath('sanity/face_recognition/biden/biden.jpg');

  it('verify --json: same person gives is_match true with the reference result shape', async () => {
    const r = await cli('verify', obama, obama2, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ is_match: true, model: 'mobilefacenet' });
    expect(result).toHaveProperty('metrics.cosine_similarity');
    expect(result).toHaveProperty('metrics.euclidean_distance');
    expect(result).toHaveProperty('faces.1.landmarks');
    expect(typeof result.processing_time).toBe('number');
  });

  it('MODEL=accurate (MobileFaceNet + dlib fusion) matches the same person and names itself', async () => {
    const r = await cli('verify', obama, obama2, '--json');
    expect(r.code).toBe(0);
    const fused = await run(process.execPath, [BIN, 'verify', obama, biden, '--json'], {
      env: { ...process.env, MODEL: 'accurate' },
    });
    expect(JSON.parse(fused.stdout)).toMatchObject({ model: 'accurate', is_match: false });
    const same = await run(process.execPath, [BIN, 'verify', obama, obama2, '--json'], {
      env: { ...process.env, MODEL: 'accurate' },
    });
    expect(JSON.parse(same.stdout)).toMatchObject({ model: 'accurate', is_match: true });
  });

  it('verify loads none of the service side (HTTP, queues, databases, the API schemas)', async () => {
    // Failing means a static import put a heavy package on the path of every `faceverify verify`:
    // TypeBox alone was 0.1–0.3 s of the cold start (docs/performance.md). Make that import lazy, or
    // move what the CLI needs out of the module that has it.
    const dir = mkdtempSync(join(tmpdir(), 'faceverify-cli-imports-'));
    const log = join(dir, 'modules.txt');
    const hooks = `import { appendFileSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
        return r;
      }`;
    const register = `import { register } from 'node:module';
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    try {
      await run(
        process.execPath,
        ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BIN, 'verify', obama, obama2],
        { signal: stop.signal },
      );
      const urls = readFileSync(log, 'utf8').split('\n');
      const packages = new Set(urls.map((u) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(u)?.[1]));
      expect(packages).toContain('sharp'); // the hook saw the imports
      for (const heavy of [
        'typebox',
        'fastify',
        'bullmq',
        'ioredis',
        'pg',
        'undici',
        'pino',
        'prom-client',
      ]) {
        expect(packages, heavy).not.toContain(heavy);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verify prints a human answer for different people', async () => {
    const r = await cli('verify', obama, biden);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Different people/);
  });

  it('an image without a face exits 1 with the error JSON naming the image', async () => {
    const r = await cli('verify', obama, facePath('edge/no_face/horses.jpg'));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toEqual({
      status: 'error',
      error: expect.stringContaining('Image 2') as unknown,
      code: 'NO_FACE',
      image: 2,
    });
  });

  it('detect --json lists every face of a group photo', async () => {
    const r = await cli('detect', facePath('edge/multi_face/two_people.jpg'), '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { faces: unknown[] }).faces).toHaveLength(2);
  });
});

it('usage errors exit 2 and a missing file exits 1 with INVALID_INPUT', async () => {
  expect((await cli('frobnicate')).code).toBe(2);
  const missing = await cli('embed', '/nonexistent/x.jpg');
  expect(missing.code).toBe(1);
  expect(JSON.parse(missing.stderr)).toMatchObject({ status: 'error', code: 'INVALID_INPUT' });
});
