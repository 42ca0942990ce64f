/**
 * Fuzzing the image decoder and the whole image analysis with random and mutated bytes. Whatever the
 * bytes, decodeImage either gives a sane image or rejects with a FaceVerifyError of an input code, fast;
 * analyze adds only the face codes. Anything else — a TypeError, a native crash, a hang, a decode that
 * takes seconds — would reach callers as a 500, a dead worker or a stuck task.
 *
 * Runs are bounded and the seed fixed (FUZZ_SEED overrides it), so CI is reproducible; a failure
 * prints the seed and the path fast-check needs to replay it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS, type DecodedImage } from '../../../src/pipeline/decode.js';
import { describeWithFaces } from '../../support/faces.js';
import { useVerifier } from '../../support/verifier.js';
import { FUZZ_SEED, fuzzRuns, mutatedImage, randomImageBytes } from './image-mutations.js';

/** Time budget of one decode of a file of at most a few hundred kilobytes. */
const DECODE_BUDGET_MS = 2_000;
/** Time budget of one analysis (decode, detection on at most 1920², embedding). */
const ANALYZE_BUDGET_MS = 4_000;
/** Past this, a call is reported as hung rather than slow. */
const HANG_MS = 15_000;

const DECODE_CODES = new Set(['INVALID_IMAGE', 'UNSUPPORTED_FORMAT', 'IMAGE_TOO_LARGE']);
const ANALYZE_CODES = new Set([...DECODE_CODES, 'NO_FACE', 'MULTIPLE_FACES', 'FACE_TOO_SMALL']);

type Outcome<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

/** Settles `run()`, timing it; a call that does not settle within HANG_MS fails the property. */
async function settle<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const value = await Promise.race([run(), hang]);
    return { ok: true, value, ms: performance.now() - start };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('did not settle')) throw error;
    return { ok: false, error, ms: performance.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

function expectSaneImage(img: DecodedImage): void {
  expect(Number.isInteger(img.width) && img.width >= 1).toBe(true);
  expect(Number.isInteger(img.height) && img.height >= 1).toBe(true);
  expect(Math.max(img.width, img.height)).toBeLessThanOrEqual(DEFAULT_DECODE_OPTIONS.maxDimension);
  expect(img.data.length).toBe(img.width * img.height * 3);
  expect(img.originalWidth).toBeGreaterThanOrEqual(img.width);
  expect(img.originalHeight).toBeGreaterThanOrEqual(img.height);
  expect(Number.isFinite(img.scale) && img.scale >= 1).toBe(true);
}

/** The error is ours, with one of the expected codes (anything else would be a 500 or a dead worker). */
function expectTypedError(error: unknown, codes: ReadonlySet<string>): void {
  if (!(error instanceof FaceVerifyError)) {
    throw new Error(`expected a FaceVerifyError, got ${String(error)}`, { cause: error });
  }
  expect(codes.has(error.code), `unexpected code ${error.code}: ${error.message}`).toBe(true);
  expect(error.status).toBeGreaterThanOrEqual(400);
  expect(error.status).toBeLessThan(500);
}

const RUNS = { randomBytes: fuzzRuns(300), mutated: fuzzRuns(600), analyze: fuzzRuns(100) };

describe('decodeImage under fuzzing', () => {
  it(`random bytes, often behind a magic number (${RUNS.randomBytes} runs): a sane image or a typed 4xx error, fast`, async () => {
    await fc.assert(
      fc.asyncProperty(randomImageBytes, async (bytes) => {
        const out = await settle(() => decodeImage(bytes));
        if (out.ok) expectSaneImage(out.value);
        else expectTypedError(out.error, DECODE_CODES);
        expect(out.ms).toBeLessThan(DECODE_BUDGET_MS);
      }),
      { seed: FUZZ_SEED, numRuns: RUNS.randomBytes },
    );
  });
});

describeWithFaces('decodeImage and analyze on mutated real images', () => {
  it(`mutated JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF, HEIC (${RUNS.mutated} runs): a sane image or a typed 4xx error, fast`, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedImage, async (img) => {
        const out = await settle(() => decodeImage(img.bytes()));
        if (out.ok) expectSaneImage(out.value);
        else expectTypedError(out.error, DECODE_CODES);
        expect(out.ms).toBeLessThan(DECODE_BUDGET_MS);
      }),
      { seed: FUZZ_SEED, numRuns: RUNS.mutated },
    );
  });

  const verifier = useVerifier();

  it(`analyze on mutated images (${RUNS.analyze} runs): a finite unit embedding or a typed 4xx error`, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedImage, async (img) => {
        const out = await settle(() => verifier().analyze(img.bytes()));
        if (out.ok) {
          const { embedding, faceCount } = out.value;
          expect(faceCount).toBeGreaterThanOrEqual(1);
          expect(embedding.length).toBeGreaterThan(0);
          expect(embedding.every((v) => Number.isFinite(v))).toBe(true);
          expect(Math.hypot(...embedding)).toBeCloseTo(1, 3);
        } else {
          expectTypedError(out.error, ANALYZE_CODES);
        }
        expect(out.ms).toBeLessThan(ANALYZE_BUDGET_MS);
      }),
      { seed: FUZZ_SEED, numRuns: RUNS.analyze },
    );
  });
});
