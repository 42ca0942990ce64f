/**
 * `faceverify models add|pull|calibrate|remove` as a user runs them: real child processes of the built
 * CLI (dist/), a fresh MODEL_CACHE_DIR per suite, real photos. A model registered here must then be
 * usable with `MODEL=NAME faceverify verify` and be reported by name in the result.
 *
 * No download from the internet: `pull` takes a checkpoint written by our test `torch.save`
 * (narrow-width InceptionResnetV1, same layer names) from `--from FILE` and from `--url` on a local
 * HTTP server, with `--sha256` naming its hash (the published hash belongs to the real file).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { atThreshold } from '../../../src/core/operating-point.js';
import { LFW_ROC } from '../../../src/models/lfw-roc.js';
import { ModelRegistry } from '../../../src/models/registry.js';
import { OnnxGraphBuilder } from '../../../src/models/onnx/onnx-builder.js';
import { irV1Params, NARROW_WIDTHS, randomParam, seededRandom } from '../../reference/inception-resnet-v1.js';
import { ownTensor, torchSave, type SaveTensor } from '../../reference/torch-save.js';
import { describeWithFaces, facePath } from '../../support/faces.js';
import { startStaticServer, type StaticServer } from '../../support/static-server.js';

const run = promisify(execFile);
/**
 * A hang guard: these tests run up to five CLI processes, 1–3 s each idle, up to ~30 s each on a
 * loaded 2-core machine (one test took 50-60 s at load 30). No run has a limit of its own; `stop`
 * kills a run the test gave up on.
 */
const CLI_TEST_TIMEOUT_MS = 600_000;
const BIN = new URL('../../../bin/faceverify.js', import.meta.url).pathname;

let cacheDir: string;
let work: string;
let stop = new AbortController();
afterEach(() => {
  stop.abort();
  stop = new AbortController();
});

async function cli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      signal: stop.signal,
      env: { ...process.env, MODEL_CACHE_DIR: cacheDir, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A small ONNX "embedder": conv 3→16 (stride 4) + ReLU + global average pool + Gemm → 64-d. */
function tinyEmbedder(): Uint8Array {
  const rand = seededRandom(11);
  const floats = (n: number, scale: number): Float32Array =>
    Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const g = new OnnxGraphBuilder('tiny_embedder');
  g.addInput('data', ['N', 3, 112, 112]);
  const conv = g.node(
    'Conv',
    ['data', g.addFloat('w', [16, 3, 5, 5], floats(16 * 75, 0.2)), g.addFloat('b', [16], floats(16, 0.1))],
    {
      kernel_shape: [5, 5],
      strides: [4, 4],
    },
  );
  const pooled = g.node('GlobalAveragePool', [g.node('Relu', [conv])]);
  const flat = g.node('Flatten', [pooled], { axis: 1 });
  g.node(
    'Gemm',
    [flat, g.addFloat('fc_w', [64, 16], floats(64 * 16, 0.5)), g.addFloat('fc_b', [64], floats(64, 0.1))],
    { transB: 1 },
    'fc1',
  );
  g.addOutput('fc1', ['N', 64]);
  return g.toBytes();
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  if (!existsSync(new URL('../../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm ci does it)');
  }
  cacheDir = await mkdtemp(join(tmpdir(), 'faceverify-models-cli-'));
  work = await mkdtemp(join(tmpdir(), 'faceverify-models-in-'));
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

describeWithFaces('faceverify models add: a user ONNX embedder', () => {
  const obama = facePath('sanity/face_recognition/obama/obama.jpg');
  const obama2 = facePath('sanity/face_recognition/obama/obama2.jpg');

  it(
    'is registered, listed, and used by `MODEL=NAME faceverify verify`',
    { timeout: CLI_TEST_TIMEOUT_MS },
    async () => {
      const onnx = join(work, 'tiny.onnx');
      await writeFile(onnx, tinyEmbedder());
      const add = await cli(
        {},
        'models',
        'add',
        'tiny-embedder',
        '--onnx',
        onnx,
        '--input',
        '112',
        '--norm',
        'arcface',
        '--template',
        'arcface112',
        '--embedding-size',
        '64',
        '--channels',
        'BGR',
        '--json',
      );
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      const added = JSON.parse(add.stdout) as { sha256: string; embedding_size: number; manifest: string };
      expect(added).toMatchObject({ sha256: sha256(await readFile(onnx)), embedding_size: 64 });
      expect(JSON.parse(await readFile(added.manifest, 'utf8'))).toMatchObject({
        name: 'tiny-embedder',
        inputSize: 112,
        normalization: { mean: 127.5, std: 127.5, channels: 'BGR' },
        calibration: { fittedOn: 'uncalibrated: run faceverify eval' },
      });

      const list = await cli({}, 'models', 'list', '--json');
      const rows = JSON.parse(list.stdout) as { name: string; user: boolean; calibrated?: boolean }[];
      expect(rows.find((r) => r.name === 'tiny-embedder')).toMatchObject({ user: true, calibrated: false });
      expect(rows.find((r) => r.name === 'mobilefacenet')).toMatchObject({ user: false });

      const verify = await cli({ MODEL: 'tiny-embedder' }, 'verify', obama, obama2, '--json');
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);
      const result = JSON.parse(verify.stdout) as { model: string; metrics: { cosine_similarity: number } };
      expect(result.model).toBe('tiny-embedder');
      expect(Number.isFinite(result.metrics.cosine_similarity)).toBe(true);
    },
  );

  it(
    'a wrong --embedding-size, a bad --norm or a built-in name is refused with INVALID_INPUT',
    { timeout: CLI_TEST_TIMEOUT_MS },
    async () => {
      const onnx = join(work, 'tiny.onnx');
      await writeFile(onnx, tinyEmbedder());
      const common = ['--input', '112', '--template', 'arcface112'];
      for (const args of [
        ['models', 'add', 'x', '--onnx', onnx, ...common, '--norm', 'arcface', '--embedding-size', '512'],
        ['models', 'add', 'x', '--onnx', onnx, ...common, '--norm', 'zscore'],
        ['models', 'add', 'mobilefacenet', '--onnx', onnx, ...common, '--norm', 'arcface'],
        ['models', 'add', 'Bad Name', '--onnx', onnx, ...common, '--norm', 'arcface'],
      ]) {
        const r = await cli({}, ...args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(JSON.parse(r.stderr), args.join(' ')).toMatchObject({ code: 'INVALID_INPUT' });
      }
    },
  );

  it('a file that is not ONNX is refused with MODEL_INVALID', { timeout: CLI_TEST_TIMEOUT_MS }, async () => {
    const r = await cli(
      {},
      'models',
      'add',
      'junk',
      '--onnx',
      obama,
      '--input',
      '112',
      '--norm',
      'arcface',
      '--template',
      'arcface112',
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toMatchObject({ code: 'MODEL_INVALID' });
  });
});

describeWithFaces('faceverify models pull facenet-vggface2 (a generated checkpoint)', () => {
  let checkpoint: string;
  let hash: string;
  let server: StaticServer;

  beforeAll(async () => {
    const rand = seededRandom(21);
    const tensors = irV1Params(NARROW_WIDTHS).map((p, i): [string, SaveTensor] => [
      p.name,
      ownTensor(String(i), p.shape, randomParam(p, rand)),
    ]);
    const bytes = torchSave(tensors, { format: 'legacy' });
    checkpoint = join(work, '20180402-114759-vggface2.pt');
    await writeFile(checkpoint, bytes);
    hash = sha256(bytes);
    server = await startStaticServer(work);
  });
  afterAll(async () => {
    await server.close();
  });

  it(
    'refuses a checkpoint whose sha256 is not the published one (MODEL_INVALID)',
    { timeout: CLI_TEST_TIMEOUT_MS },
    async () => {
      const r = await cli({}, 'models', 'pull', 'facenet-vggface2', '--from', checkpoint);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stderr)).toMatchObject({
        code: 'MODEL_INVALID',
        expected: '281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b',
        actual: hash,
      });
    },
  );

  it(
    '--url downloads, checks, converts and registers; MODEL=facenet-vggface2 then verifies',
    { timeout: CLI_TEST_TIMEOUT_MS },
    async () => {
      const pull = await cli(
        {},
        'models',
        'pull',
        'facenet-vggface2',
        '--url',
        server.url('/20180402-114759-vggface2.pt'),
        '--sha256',
        hash,
        '--json',
      );
      expect(pull.stderr).toBe('');
      expect(pull.code).toBe(0);
      expect(JSON.parse(pull.stdout)).toMatchObject({
        name: 'facenet-vggface2',
        embedding_size: 512,
        input_size: 160,
        checkpoint: { sha256: hash, format: 'legacy', checked: true },
      });
      const verify = await cli(
        { MODEL: 'facenet-vggface2' },
        'verify',
        facePath('sanity/face_recognition/obama/obama.jpg'),
        facePath('sanity/face_recognition/biden/biden.jpg'),
        '--json',
      );
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ model: 'facenet-vggface2' });
    },
  );

  it(
    '--from a local file gives the same model; calibrate takes an eval report; remove unregisters',
    { timeout: CLI_TEST_TIMEOUT_MS },
    async () => {
      const pull = await cli(
        {},
        'models',
        'pull',
        'facenet-vggface2',
        '--from',
        checkpoint,
        '--sha256',
        hash,
        '--json',
      );
      expect(pull.code).toBe(0);
      const { manifest } = JSON.parse(pull.stdout) as { manifest: string };
      const m = JSON.parse(await readFile(manifest, 'utf8')) as {
        source: { sha256: string };
        template: number[][];
      };
      // The ArcFace 112 template scaled to 160 (left eye 38.2946 · 160/112).
      expect(m.template[0]?.[0]).toBeCloseTo((38.2946 * 160) / 112, 6);

      const report = join(work, 'report.json');
      const calibration = { method: 'platt', a: 21.5, b: -9.1, fittedOn: 'LFW View 2 (test)' };
      await writeFile(
        report,
        JSON.stringify({
          model: { name: 'facenet-vggface2', sha256: m.source.sha256 },
          recommendedThreshold: 0.42,
          calibration,
        }),
      );
      const cal = await cli({}, 'models', 'calibrate', 'facenet-vggface2', '--report', report, '--json');
      expect(cal.code).toBe(0);
      const list = JSON.parse((await cli({}, 'models', 'list', '--json')).stdout) as {
        name: string;
        threshold?: number;
        calibrated?: boolean;
      }[];
      // Registered now: listed once, as installed, no longer among the models that can be pulled.
      expect(list.filter((r) => r.name === 'facenet-vggface2')).toEqual([
        expect.objectContaining({ threshold: 0.42, calibrated: true, installed: true }),
      ]);

      const removed = await cli({}, 'models', 'remove', 'facenet-vggface2');
      expect(removed.code).toBe(0);
      const after = await cli(
        { MODEL: 'facenet-vggface2' },
        'embed',
        facePath('sanity/face_recognition/obama/obama.jpg'),
      );
      expect(after.code).toBe(1);
      expect(JSON.parse(after.stderr)).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    },
  );
});

describe('faceverify models list: operating points and the models that can be pulled', () => {
  it(
    'states each built-in model’s LFW operating point and offers FaceNet VGGFace2 with source, licence and published accuracy',
    { timeout: CLI_TEST_TIMEOUT_MS },
    async () => {
      // A cache folder of its own: no user model registered (another suite may pull FaceNet).
      const empty = await mkdtemp(join(tmpdir(), 'faceverify-models-list-'));
      try {
        const json = await cli({ MODEL_CACHE_DIR: empty }, 'models', 'list', '--json');
        expect(json.stderr).toBe('');
        expect(json.code).toBe(0);
        type Row = {
          name: string;
          installed: boolean;
          operating_point?: { threshold: number; far: number; tar: number; fitted_on: string } | null;
          published?: string;
          license: string;
          pull?: { command: string; url: string; sha256: string; bytes: number };
        };
        const rows = JSON.parse(json.stdout) as Row[];
        // The operating point is the shipped threshold read off the model's LFW ROC table.
        for (const name of ['mobilefacenet', 'accurate']) {
          const roc = LFW_ROC[name]!;
          const threshold = new ModelRegistry().scorer(name).threshold;
          const { far, tar } = atThreshold(roc, threshold);
          expect(rows.find((r) => r.name === name)).toMatchObject({
            installed: true,
            operating_point: { threshold, far, tar, fitted_on: roc.fittedOn },
          });
          expect(far).toBeLessThan(0.01);
          expect(tar).toBeGreaterThan(0.98);
        }
        expect(rows.find((r) => r.name === 'dlib-resnet')).toMatchObject({ operating_point: null });
        const facenet = rows.find((r) => r.name === 'facenet-vggface2');
        expect(facenet).toMatchObject({
          installed: false,
          pull: { command: 'faceverify models pull facenet-vggface2' },
        });
        expect(facenet?.pull?.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(facenet?.pull?.url).toMatch(/^https:\/\/github\.com\/timesler\/facenet-pytorch\//);
        expect(facenet?.published).toContain('99.65 %');
        expect(facenet?.license).toContain('VGGFace2');

        const text = await cli({ MODEL_CACHE_DIR: empty }, 'models', 'list');
        expect(text.code).toBe(0);
        const mfn = atThreshold(
          LFW_ROC.mobilefacenet!,
          new ModelRegistry().scorer('mobilefacenet').threshold,
        );
        expect(text.stdout).toContain(`threshold ${mfn.threshold}: FAR ${(mfn.far * 100).toFixed(2)} %`);
        expect(text.stdout).toMatch(/Can be pulled[^\n]*\n {2}facenet-vggface2 \(embedder\)/);
        expect(text.stdout).toContain('install: faceverify models pull facenet-vggface2');
      } finally {
        await rm(empty, { recursive: true, force: true });
      }
    },
  );
});
