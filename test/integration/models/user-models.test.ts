/**
 * User-registered models persist as JSON manifests in the model cache folder and come back with
 * `ModelRegistry.withUserModels`: a valid one is registered with its file resolved beside it; a broken,
 * misnamed or built-in-shadowing one is reported in `problems` and skipped, and the built-in models
 * keep working. Real files in a fresh temporary folder per test.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCFACE_TEMPLATE_112 } from '../../../src/core/similarity-transform.js';
import { FaceVerifyError } from '../../../src/errors.js';
import type { EmbedderManifest } from '../../../src/models/manifest.js';
import {
  ModelRegistry,
  removeUserModel,
  saveUserModel,
  userModelFileName,
  userModelsDir,
} from '../../../src/models/registry.js';

let cacheDir: string;
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'faceverify-user-models-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const HASH = 'ab'.repeat(32);

function manifest(name: string): EmbedderManifest {
  return {
    kind: 'embedder',
    name,
    description: 'test embedder',
    license: 'test',
    source: {
      format: 'onnx',
      path: join(userModelsDir(cacheDir), userModelFileName(name, HASH)),
      sha256: HASH,
    },
    inputSize: 112,
    normalization: { mean: 127.5, std: 127.5, channels: 'BGR' },
    template: ARCFACE_TEMPLATE_112,
    embeddingSize: 64,
    threshold: 0.3,
    calibration: { method: 'platt', a: 10, b: -3, fittedOn: 'uncalibrated: run faceverify eval' },
    flip: true,
    origin: { kind: 'add', from: '/somewhere/model.onnx', sha256: HASH, addedAt: '2025-01-01T00:00:00.000Z' },
  };
}

describe('user model manifests', () => {
  it('a saved manifest loads back equal, with a relative file name on disk', async () => {
    const m = manifest('tiny-arcface');
    const path = await saveUserModel(cacheDir, m);
    const onDisk = JSON.parse(await readFile(path, 'utf8')) as { source: { path: string } };
    expect(onDisk.source.path).toBe(userModelFileName('tiny-arcface', HASH));
    const registry = await ModelRegistry.withUserModels(cacheDir);
    expect(registry.problems).toEqual([]);
    expect(registry.embedder('tiny-arcface')).toEqual(m);
    expect(registry.isBuiltin('tiny-arcface')).toBe(false);
    expect(registry.embedder('mobilefacenet').name).toBe('mobilefacenet');
  });

  it('bad manifests are reported and skipped; built-ins and good ones still load', async () => {
    await saveUserModel(cacheDir, manifest('good'));
    const dir = userModelsDir(cacheDir);
    await writeFile(join(dir, 'broken.json'), '{ not json');
    await writeFile(
      join(dir, 'wrong.json'),
      JSON.stringify({ ...manifest('wrong'), inputSize: -3, extra: 1 }),
    );
    await writeFile(
      join(dir, 'misnamed.json'),
      JSON.stringify({ ...manifest('other'), source: { format: 'onnx', path: 'x.onnx', sha256: HASH } }),
    );
    await writeFile(
      join(dir, 'mobilefacenet.json'),
      JSON.stringify({
        ...manifest('mobilefacenet'),
        source: { format: 'onnx', path: 'x.onnx', sha256: HASH },
      }),
    );
    const registry = await ModelRegistry.withUserModels(cacheDir);
    expect(registry.embedder('good').embeddingSize).toBe(64);
    expect(registry.embedder('mobilefacenet').embeddingSize).toBe(192); // the built-in, not the impostor
    const problems: Record<string, string> = Object.fromEntries(
      registry.problems.map((p) => [p.file.split('/').pop() ?? '', p.message]),
    );
    expect(Object.keys(problems).sort()).toEqual([
      'broken.json',
      'misnamed.json',
      'mobilefacenet.json',
      'wrong.json',
    ]);
    expect(problems['broken.json']).toMatch(/not valid JSON/);
    expect(problems['wrong.json']).toMatch(/inputSize/);
    expect(problems['misnamed.json']).toMatch(/names the model "other"/);
    expect(problems['mobilefacenet.json']).toMatch(/built-in/);
  });

  it('a missing folder means no user models, not an error', async () => {
    const registry = await ModelRegistry.withUserModels(join(cacheDir, 'nope'));
    expect(registry.problems).toEqual([]);
    expect(registry.list().map((m) => m.name)).toEqual(['mtcnn', 'mobilefacenet', 'dlib-resnet', 'accurate']);
  });

  it('saving a new version deletes the old model file; remove deletes both files', async () => {
    const dir = userModelsDir(cacheDir);
    await mkdir(dir, { recursive: true });
    const old = manifest('m');
    await writeFile(old.source.path, 'old');
    await saveUserModel(cacheDir, old);
    const newer = {
      ...manifest('m'),
      source: {
        ...old.source,
        sha256: 'cd'.repeat(32),
        path: join(dir, userModelFileName('m', 'cd'.repeat(32))),
      },
    };
    await writeFile(newer.source.path, 'new');
    await writeFile(join(dir, userModelFileName('m2', HASH)), 'another model, kept');
    await saveUserModel(cacheDir, newer);
    expect((await readdir(dir)).sort()).toEqual(
      ['m.json', userModelFileName('m', 'cd'.repeat(32)), userModelFileName('m2', HASH)].sort(),
    );
    await removeUserModel(cacheDir, 'm');
    expect(await readdir(dir)).toEqual([userModelFileName('m2', HASH)]);
    await expect(removeUserModel(cacheDir, 'm')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(removeUserModel(cacheDir, 'mobilefacenet')).rejects.toBeInstanceOf(FaceVerifyError);
  });

  it("replacing or removing a model deletes ONNX Runtime's optimised graphs of its old files only", async () => {
    const graph = (name: string, hash: string): string =>
      `${name}-${hash.slice(0, 16)}-c2.ort1.30.0-0123456789ab.onnx`;
    const m = manifest('m');
    await mkdir(userModelsDir(cacheDir), { recursive: true });
    await writeFile(m.source.path, 'model');
    const others = [
      graph('m2', HASH),
      graph('m-0123456789abcdef', HASH),
      'mtcnn-pnet-8272d20e7e0981b2-c2.onnx',
    ];
    for (const f of [graph('m', HASH), graph('m', 'cd'.repeat(32)), ...others]) {
      await writeFile(join(cacheDir, f), 'graph');
    }
    await saveUserModel(cacheDir, m);
    const files = async (): Promise<string[]> =>
      (await readdir(cacheDir)).filter((f) => f.endsWith('.onnx')).sort();
    expect(await files()).toEqual([graph('m', HASH), ...others].sort());
    await removeUserModel(cacheDir, 'm');
    expect(await files()).toEqual([...others].sort());
  });
});
