// Time budget: a handful of tiny files in a temporary folder and a stub verifier (< 50 ms).
// The stub stands in for the models so that caching, concurrency, failure counting
// and the fallback can be checked exactly; the real pipeline is exercised by scratch/eval-lfw.mts
// and the integration tests.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { DEFAULT_DETECT_OPTIONS } from '../../../src/pipeline/mtcnn/mtcnn.js';
import type { FaceAnalysis } from '../../../src/pipeline/face-analysis.js';
import {
  analysisSettings,
  DEFAULT_ANALYZER_OPTIONS,
  type AnalyzeOptions,
} from '../../../src/pipeline/face-analyzer.js';
import { MOBILEFACENET } from '../../../src/models/builtin.js';
import { reportJson, writeEvalReport } from '../../../src/eval/report.js';
import { runEval, type EvalProgress, type EvalVerifier } from '../../../src/eval/run-eval.js';

/**
 * A verifier whose "images" are text: "x,y" is an embedding, "NO_FACE" / "SMALL" fail with
 * NO_FACE / FACE_TOO_SMALL, unless the stub is a fallback, which finds a face in "SMALL" (0.6, 0.8).
 */
class StubVerifier implements EvalVerifier {
  readonly model = { ...MOBILEFACENET, name: 'stub', id: 'stub@0', sha256: MOBILEFACENET.source.sha256 };
  readonly settings;
  readonly calls: string[] = [];
  readonly policies: (string | undefined)[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    options: { detect: typeof DEFAULT_DETECT_OPTIONS },
    private readonly fallback = false,
  ) {
    this.settings = { ...analysisSettings(DEFAULT_ANALYZER_OPTIONS), detect: options.detect };
  }

  async analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<FaceAnalysis> {
    const text = Buffer.from(bytes).toString('utf8');
    this.calls.push(text);
    this.policies.push(options?.facePolicy);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.inFlight--;
    if (text === 'NO_FACE') throw new FaceVerifyError('NO_FACE');
    if (text === 'SMALL' && !this.fallback) throw new FaceVerifyError('FACE_TOO_SMALL');
    const values = text === 'SMALL' ? [0.6, 0.8] : text.split(',').map(Number);
    return {
      face: { box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.99, landmarks: [] },
      faceCount: text.startsWith('0.8') ? 2 : 1,
      embedding: Float32Array.from(values),
      width: 250,
      height: 250,
      modelId: this.model.id,
      timings: { decode: 1, detect: 2, embed: 3 },
    };
  }
}

const IMAGES: Record<string, string> = {
  'A/A_0001.jpg': '1,0',
  'A/A_0002.jpg': '0.8,0.6',
  'A/A_0003.jpg': 'NO_FACE',
  'B/B_0001.jpg': '0,1',
  'D/D_0001.jpg': 'SMALL',
};

// Fold 1: A1–A2 same (cos 0.8), A1–B1 different (cos 0).
// Fold 2: A2–A3 same (A3 has no face: failed), A1–D1 different (D1 rescued by the fallback: cos 0.6).
const PAIRS = '2\t1\nA\t1\t2\nA\t1\tB\t1\nA\t2\t3\nA\t1\tD\t1\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faceverify-eval-'));
  for (const [file, content] of Object.entries(IMAGES)) {
    await mkdir(join(dir, 'images', file.split('/')[0]!), { recursive: true });
    await writeFile(join(dir, 'images', file), content);
  }
  await writeFile(join(dir, 'pairs.txt'), PAIRS);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(concurrency = 2) {
  const verifier = new StubVerifier({ detect: DEFAULT_DETECT_OPTIONS });
  const fallbackVerifier = new StubVerifier({ detect: { ...DEFAULT_DETECT_OPTIONS, minFaceSize: 20 } }, true);
  const progress: EvalProgress[] = [];
  const result = await runEval({
    pairsFile: join(dir, 'pairs.txt'),
    imagesDir: join(dir, 'images'),
    verifier,
    fallbackVerifier,
    concurrency,
    onProgress: (p) => progress.push(p),
  });
  return { ...result, verifier, fallbackVerifier, progress };
}

describe('runEval', () => {
  it('analyses each distinct image once, with the center face policy by default', async () => {
    const { verifier } = await run();
    expect(verifier.calls.sort(), 'an image used by several pairs must come from the cache').toEqual(
      Object.values(IMAGES).sort(),
    );
    expect(new Set(verifier.policies)).toEqual(new Set(['center']));
  });

  it('keeps at most `concurrency` images in flight, and more than one when allowed', async () => {
    const two = await run(2);
    expect(two.verifier.maxInFlight).toBe(2);
    const one = await run(1);
    expect(one.verifier.maxInFlight).toBe(1);
  });

  it('scores pairs by cosine and marks pairs with a failed image as failed', async () => {
    const { pairs } = await run();
    expect(pairs.map((p) => p.score)).toEqual([expect.closeTo(0.8, 6), 0, null, expect.closeTo(0.6, 6)]);
    expect(pairs[2]!.errors).toEqual(['NO_FACE']);
    expect(pairs.map((p) => [p.fold, p.same])).toEqual([
      [0, true],
      [0, false],
      [1, true],
      [1, false],
    ]);
  });

  it('counts failures by code, the pairs they affect, and how often the fallback fired and helped', async () => {
    const { report, fallbackVerifier } = await run();
    expect(fallbackVerifier.calls.sort(), 'only NO_FACE / FACE_TOO_SMALL images go to the fallback').toEqual([
      'NO_FACE',
      'SMALL',
    ]);
    expect(report.counts).toMatchObject({
      pairs: 4,
      images: 5,
      failedImages: 1,
      failuresByCode: { NO_FACE: 1 },
      failedPairs: 1,
      fallbackTried: 2,
      fallbackRescued: 1,
      imagesWithSeveralFaces: 1,
    });
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({
      path: join(dir, 'images', 'A', 'A_0003.jpg'),
      code: 'NO_FACE',
      fallbackTried: true,
    });
    expect(report.fallbacks.map((f) => [f.primaryCode, f.rescued])).toEqual([
      ['NO_FACE', false],
      ['FACE_TOO_SMALL', true],
    ]);
    expect(report.detection.fallbackMinFaceSize).toBe(20);
  });

  it('feeds the scores to the metrics with the failed pair counted as wrong', async () => {
    const { report } = await run();
    // Fold 2 is tested at the threshold learnt on fold 1 (0.4): the failed same pair is wrong and the
    // different pair at 0.6 is accepted, so 0 of 2; fold 1 is tested at 0.6 (+1e-6) from fold 2: 2 of 2.
    expect(report.metrics.accuracy!.folds.map((f) => [f.accuracy, f.threshold])).toEqual([
      [1, expect.closeTo(0.6, 5)],
      [0, expect.closeTo(0.4, 6)],
    ]);
    expect(report.metrics.failedPairs).toBe(1);
    expect(
      report.metrics.accuracyDetectedOnly,
      'with a failure, the comparison figure is reported',
    ).not.toBeNull();
  });

  it('reports progress after every image, ending at done = total', async () => {
    const { progress } = await run();
    expect(progress).toHaveLength(5);
    expect(progress.at(-1)).toMatchObject({ done: 5, total: 5, failed: 1, fallbackRescued: 1 });
  });

  it('stops with INVALID_INPUT naming the file when an image is missing (a setup error, not a photo)', async () => {
    await writeFile(join(dir, 'missing.txt'), '1\nA\t1\t9\nA\t1\tB\t1\n');
    const result = runEval({
      pairsFile: join(dir, 'missing.txt'),
      imagesDir: join(dir, 'images'),
      verifier: new StubVerifier({ detect: DEFAULT_DETECT_OPTIONS }),
    });
    await expect(result).rejects.toThrow(/A_0009\.jpg/);
    await expect(result).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('writes the report files; the JSON has no NaN/Infinity and a thinned ROC', async () => {
    const result = await run();
    const out = join(dir, 'report');
    const files = await writeEvalReport(result, out);
    expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual([
      'histogram.svg',
      'reliability.svg',
      'report.json',
      'report.md',
      'roc.svg',
      'scores.csv',
    ]);
    const json = JSON.parse(reportJson(result.report)) as { metrics: { roc: { threshold: unknown }[] } };
    expect(json.metrics.roc[0]!.threshold, '+∞ must be written as null, not dropped').toBeNull();
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/2-fold accuracy \| \*\*50\.00 % ± 50\.00 %\*\*/);
    expect(md).toContain('A/A_0003.jpg');
    const csv = (await readFile(join(out, 'scores.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('fold,same,score,a,b,errors');
    expect(csv[3]).toBe('2,1,,A/A_0002.jpg,A/A_0003.jpg,NO_FACE');
  });
});
