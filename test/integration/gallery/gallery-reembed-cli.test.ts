/**
 * The re-embedding as a user runs it: faces enrolled through the HTTP API with RETAIN_FACE_CROPS=true
 * (the service's inference threads cut the chips), then `faceverify gallery reembed --model` and
 * `gallery search` as child processes of bin/faceverify.js (built code in dist/) on the same DATA_DIR,
 * real LFW photos.
 *
 * Time budget: one service start (models, ~3 s), four HTTP enrols, three CLI runs (~3 s each).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService } from '../../../src/container.js';
import { describeWithFaces, facePath } from '../../support/faces.js';
import { galleryCli, requireBuiltCli } from '../../support/gallery-cli.js';

const lfw = (name: string, n: number): string =>
  `lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`;

let dataDir: string;

const cli = (env: Record<string, string>, ...args: string[]) =>
  galleryCli({ DATA_DIR: dataDir, FACE_POLICY: 'center', ...env }, ...args);

beforeAll(() => {
  requireBuiltCli();
  dataDir = mkdtempSync(join(tmpdir(), 'fv-reembed-cli-'));
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeWithFaces('faceverify gallery reembed', () => {
  it('moves a gallery enrolled through the API to dlib-resnet; refuses one enrolled without chips', async () => {
    // Wrong if it fails: the service would not keep chips with RETAIN_FACE_CROPS (so no gallery could
    // ever move), the CLI could not re-embed them, or a gallery without chips would fail unclearly.
    const service = await createService(
      loadConfig({
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
        DATA_DIR: dataDir,
        INFERENCE_THREADS: '1',
        FACE_POLICY: 'center',
        RETAIN_FACE_CROPS: 'true',
      }),
      'both',
    );
    try {
      const app = service.app;
      if (!app) throw new Error('no app');
      const enrol = async (gallery: string, subject: string, path: string) => {
        const res = await app.inject({
          method: 'POST',
          url: `/galleries/${gallery}/subjects/${subject}/faces`,
          payload: { image: readFileSync(facePath(path)).toString('base64') },
        });
        expect(res.statusCode, res.body).toBe(201);
      };
      await enrol('staff', 'bush', lfw('George_W_Bush', 7));
      await enrol('staff', 'powell', lfw('Colin_Powell', 40));
      const detail = await service.galleries?.getSubject('staff', 'bush');
      expect(detail?.faces_list[0]?.has_crop).toBe(true);
    } finally {
      await service.close();
    }
    // Enrolled by the CLI with the setting off: no chips.
    expect((await cli({}, 'enrol', 'old', 'blair', facePath(lfw('Tony_Blair', 18)))).code).toBe(0);

    const moved = await cli({}, 'reembed', 'staff', '--model', 'dlib-resnet');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.json).toMatchObject({ gallery: 'staff', faces: 2, embedded: 2, switched: true });
    expect(moved.json.to).toMatch(/^dlib-resnet@/);
    const progress = moved.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { progress: { done: number; faces: number } }).progress);
    expect(progress.at(-1)).toMatchObject({ done: 2, faces: 2 });

    const search = await cli({ MODEL: 'dlib-resnet' }, 'search', 'staff', facePath(lfw('George_W_Bush', 16)));
    expect(search.code, search.stderr).toBe(0);
    expect((search.json.matches as { subject: string }[])[0]?.subject).toBe('bush');

    const refused = await cli({}, 'reembed', 'old', '--model', 'dlib-resnet');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr.trim().split('\n').at(-1) as string)).toMatchObject({
      status: 'error',
      code: 'FACE_CROPS_MISSING',
    });
    expect(refused.stderr).toContain('blair');
  });
});
