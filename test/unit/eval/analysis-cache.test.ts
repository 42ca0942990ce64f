/**
 * The evaluation's file of analyses: what a run kept is found by the next one under the same image and
 * analysis identity only, and a line torn by an interrupted run does not stop the next from reading the
 * rest. (Analyses themselves round-trip through the FaceAnalysis codec, tested with it; the CLI test
 * re-runs `eval --identify` from such a file.) If this fails, a re-run analyses everything again or
 * serves an analysis made under other settings.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AnalysisFileCache } from '../../../src/eval/analysis-cache.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('keeps outcomes across runs, by image and identity, past a torn line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fv-analysis-cache-'));
  dirs.push(dir);
  const file = join(dir, 'sub', 'analyses.jsonl');
  const first = await AnalysisFileCache.open(file);
  const bytes = new TextEncoder().encode('an image');
  const key = first.key(bytes, 'model-a');
  expect(first.get(key)).toBeUndefined();
  await first.put(key, { error: { code: 'NO_FACE', message: 'No face detected in the image' } });
  appendFileSync(file, '{"key":"torn'); // a run killed while writing

  const second = await AnalysisFileCache.open(file);
  expect(second.size).toBe(1);
  expect(second.get(second.key(bytes, 'model-a'))).toEqual({
    error: { code: 'NO_FACE', message: 'No face detected in the image' },
  });
  expect(second.get(second.key(bytes, 'model-b'))).toBeUndefined();
  expect(second.get(second.key(new TextEncoder().encode('another image'), 'model-a'))).toBeUndefined();
  expect([second.hits, second.misses]).toEqual([1, 2]);

  // What the second run adds after the torn line is found by a third.
  await second.put(second.key(bytes, 'model-b'), { error: { code: 'FACE_TOO_SMALL', message: 'small' } });
  const third = await AnalysisFileCache.open(file);
  expect(third.size).toBe(2);
  expect(third.get(third.key(bytes, 'model-b'))).toEqual({
    error: { code: 'FACE_TOO_SMALL', message: 'small' },
  });
});
