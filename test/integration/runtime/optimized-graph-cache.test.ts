/**
 * ONNX Runtime's optimised graphs kept on disk (createSession's `cacheBase`): written once per model,
 * CPU and ORT version, loaded by later sessions without optimising again, bitwise the same outputs,
 * and never a reason for a model not to load (a corrupt file is replaced, a folder that cannot be
 * written is skipped). Real models (MTCNN's R-Net and P-Net, converted into a fresh temporary folder).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MTCNN } from '../../../src/models/builtin.js';
import { prepareModel } from '../../../src/models/prepare.js';
import {
  createSession,
  DEFAULT_SESSION_OPTIONS,
  optimizedGraphSignature,
  type InferenceSession,
} from '../../../src/runtime/onnx-session.js';
import { prng } from '../../support/prng.js';

let dir: string;
let rnet: Uint8Array;
let pnet: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'faceverify-ort-cache-'));
  rnet = (await prepareModel('mtcnn-rnet', MTCNN.stages.rnet, dir)).onnx;
  pnet = (await prepareModel('mtcnn-pnet', MTCNN.stages.pnet, dir)).onnx;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** R-Net's outputs for a fixed batch of random crops. */
async function outputsOf(session: InferenceSession): Promise<Float32Array[]> {
  const random = prng(20261203);
  const data = Float32Array.from({ length: 3 * 3 * 24 * 24 }, () => random() * 2 - 1);
  const out = await session.run({ [session.inputNames[0] as string]: { data, dims: [3, 3, 24, 24] } });
  return session.outputNames.map((name) => out[name]?.data as Float32Array);
}

const cacheFile = (base: string): string => `${base}.${optimizedGraphSignature()}.onnx`;

describe('optimised graph cache', () => {
  it('names the file after the ORT version and this CPU, the same every time', () => {
    expect(optimizedGraphSignature()).toMatch(/^ort\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(optimizedGraphSignature()).toBe(optimizedGraphSignature());
  });

  it('writes the optimised graph once, atomically, and later sessions give bitwise the same outputs', async () => {
    const base = join(dir, 'rnet-first');
    const plain = await outputsOf(await createSession(rnet, DEFAULT_SESSION_OPTIONS));
    const first = await createSession(rnet, DEFAULT_SESSION_OPTIONS, base);
    expect(existsSync(cacheFile(base))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const written = statSync(cacheFile(base)).mtimeMs;
    const second = await createSession(rnet, DEFAULT_SESSION_OPTIONS, base);
    expect(statSync(cacheFile(base)).mtimeMs).toBe(written); // read, not written again
    expect(await outputsOf(first)).toEqual(plain);
    expect(await outputsOf(second)).toEqual(plain);
  });

  it('reads the model bytes only when there is no optimised graph to load', async () => {
    const base = join(dir, 'lazy');
    let reads = 0;
    const read = async (): Promise<Uint8Array> => {
      reads++;
      return rnet;
    };
    await createSession(read, DEFAULT_SESSION_OPTIONS, base);
    expect(reads).toBe(1);
    const again = await createSession(read, DEFAULT_SESSION_OPTIONS, base);
    expect(reads).toBe(1);
    expect(await outputsOf(again)).toEqual(await outputsOf(await createSession(rnet)));
  });

  it('loads what is in the cache file (here P-Net placed at R-Net’s name)', async () => {
    const base = join(dir, 'swapped');
    await createSession(pnet, DEFAULT_SESSION_OPTIONS, base);
    const fromCache = await createSession(rnet, DEFAULT_SESSION_OPTIONS, base);
    const pnetSession = await createSession(pnet, DEFAULT_SESSION_OPTIONS);
    expect(fromCache.outputNames).toEqual(pnetSession.outputNames);
    expect(fromCache.outputNames).not.toEqual((await createSession(rnet)).outputNames);
  });

  it('replaces a corrupt cache file and still loads the model', async () => {
    const base = join(dir, 'corrupt');
    writeFileSync(cacheFile(base), 'not an onnx model');
    const session = await createSession(rnet, DEFAULT_SESSION_OPTIONS, base);
    expect(await outputsOf(session)).toEqual(await outputsOf(await createSession(rnet)));
    expect(readFileSync(cacheFile(base)).byteLength).toBeGreaterThan(1000);
  });

  it('loads the model without a cache when the folder cannot be written', async () => {
    const base = join(dir, 'no-such-folder', 'rnet');
    const session = await createSession(rnet, DEFAULT_SESSION_OPTIONS, base);
    expect(await outputsOf(session)).toEqual(await outputsOf(await createSession(rnet)));
    expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
  });

  it('a save removes graphs of other ORT versions or CPUs and stale temporary files, nothing else', async () => {
    const folder = join(dir, 'stale');
    mkdirSync(folder);
    const base = join(folder, 'rnet');
    const otherVersion = `${base}.ort0.0.1-aaaaaaaaaaaa.onnx`;
    const oldTmp = `${cacheFile(base)}.dead.tmp`;
    const freshTmp = `${cacheFile(base)}.busy.tmp`;
    const otherModel = join(folder, 'onet.ort0.0.1-aaaaaaaaaaaa.onnx');
    for (const f of [otherVersion, oldTmp, freshTmp, otherModel]) writeFileSync(f, 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(oldTmp, hourAgo, hourAgo);
    await createSession(rnet, DEFAULT_SESSION_OPTIONS, base);
    expect(readdirSync(folder).sort()).toEqual(
      [cacheFile(base), freshTmp, otherModel].map((f) => f.slice(folder.length + 1)).sort(),
    );
  });

  it('prepared models carry a cache base in the cache folder', async () => {
    const prepared = await prepareModel('mtcnn-rnet', MTCNN.stages.rnet, dir);
    expect(prepared.optimizedCacheBase).toBe(
      join(
        dir,
        `${prepared.cachePath
          ?.split('/')
          .pop()
          ?.replace(/\.onnx$/, '')}`,
      ),
    );
  });
});
