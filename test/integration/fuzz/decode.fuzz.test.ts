/**
 * Fuzzing the image decoder and the whole image analysis with random and mutated bytes. Whatever the
 * bytes, decodeImage either gives a sane image or rejects with a FaceVerifyError of an input code;
 * analyze adds only the face codes. Anything else — a TypeError, a native crash, a hang — would reach
 * callers as a 500, a dead worker or a stuck task. How long a decode takes is not asserted here: a
 * mutated header may legitimately declare a frame of several megapixels (a 12 MP GIF frame from an 8 KB
 * file takes 1–7 s on 2 busy cores), and wall-clock time on a shared machine is no test; decode cost
 * against image size is measured in bench/. An absurd frame must be refused from its header, which the
 * error message shows.
 *
 * Runs are bounded and the seed fixed (FUZZ_SEED overrides it), so CI is reproducible; a failure
 * prints the seed and the path fast-check needs to replay it.
 */
import { crc32, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS, type DecodedImage } from '../../../src/pipeline/decode.js';
import { describeWithFaces, HAVE_FACES, readFace } from '../../support/faces.js';
import { useVerifier } from '../../support/verifier.js';
import { FUZZ_SEED, fuzzRuns, mutatedImage, randomImageBytes } from './image-mutations.js';

/**
 * Past this, a call is reported as hung. A hang guard, not a budget: the slowest legitimate call (an
 * analysis of a mutated frame of ~12 MP, decode plus detection) takes seconds on a loaded machine, and
 * sharp's own decode timeout (10 s) turns a slow decode into IMAGE_TOO_LARGE well before this.
 */
const HANG_MS = 60_000;
/** The hang guard of a property: every run may be slow on a busy machine, but no run may hang. */
const PROPERTY_TIMEOUT_MS = 10 * 60_000;

const DECODE_CODES = new Set(['INVALID_IMAGE', 'UNSUPPORTED_FORMAT', 'IMAGE_TOO_LARGE']);
const ANALYZE_CODES = new Set([...DECODE_CODES, 'NO_FACE', 'MULTIPLE_FACES', 'FACE_TOO_SMALL']);

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Settles `run()`; a call that does not settle within HANG_MS fails the property. */
async function settle<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const value = await Promise.race([run(), hang]);
    return { ok: true, value };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('did not settle')) throw error;
    return { ok: false, error };
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

const RUNS = { randomBytes: fuzzRuns(300), mutated: fuzzRuns(300), analyze: fuzzRuns(60) };

// The HEIC decoder's thread loads its module once per process (seconds on a busy machine): paid
// here, once, rather than inside the first run of a property.
beforeAll(async () => {
  if (HAVE_FACES) await decodeImage(readFace('edge/formats/face.heic'));
});

describe('decodeImage under fuzzing', () => {
  it(
    `random bytes, often behind a magic number (${RUNS.randomBytes} runs): a sane image or a typed 4xx error`,
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      await fc.assert(
        fc.asyncProperty(randomImageBytes, async (bytes) => {
          const out = await settle(() => decodeImage(bytes));
          if (out.ok) expectSaneImage(out.value);
          else expectTypedError(out.error, DECODE_CODES);
        }),
        { seed: FUZZ_SEED, numRuns: RUNS.randomBytes },
      );
    },
  );
});

describeWithFaces('decodeImage and analyze on mutated real images', () => {
  it(
    `mutated JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF, HEIC (${RUNS.mutated} runs): a sane image or a typed 4xx error`,
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      await fc.assert(
        fc.asyncProperty(mutatedImage, async (img) => {
          const out = await settle(() => decodeImage(img.bytes()));
          if (out.ok) expectSaneImage(out.value);
          else expectTypedError(out.error, DECODE_CODES);
        }),
        { seed: FUZZ_SEED, numRuns: RUNS.mutated },
      );
    },
  );

  const verifier = useVerifier();

  it(
    `analyze on mutated images (${RUNS.analyze} runs): a finite unit embedding or a typed 4xx error`,
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
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
        }),
        { seed: FUZZ_SEED, numRuns: RUNS.analyze },
      );
    },
  );
});

/** A PNG (8-bit RGB) whose header declares width × height, with 1 KB of pixel data. */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An uncompressed little-endian RGB TIFF declaring width × height (LONG tags), with 1 KB of pixels. */
function tiffDeclaring(width: number, height: number): Buffer {
  const SHORT = 3;
  const LONG = 4;
  const entries: [tag: number, type: number, value: number][] = [
    [256, LONG, width],
    [257, LONG, height],
    [258, SHORT, 8],
    [259, SHORT, 1],
    [262, SHORT, 2],
    [273, LONG, 0], // strip offset, filled in below
    [277, SHORT, 3],
    [278, LONG, height],
    [279, LONG, 1024],
  ];
  const dataOffset = 8 + 2 + entries.length * 12 + 4;
  const b = Buffer.alloc(dataOffset + 1024);
  b.write('II*\0', 0, 'latin1');
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], k) => {
    const e = 10 + 12 * k;
    b.writeUInt16LE(tag, e);
    b.writeUInt16LE(type, e + 2);
    b.writeUInt32LE(1, e + 4);
    const v = tag === 273 ? dataOffset : value;
    if (type === SHORT) b.writeUInt16LE(v, e + 8);
    else b.writeUInt32LE(v, e + 8);
  });
  return b;
}

/**
 * Found by the mutation property (seed 3, FUZZ_SCALE=5): frames within the pixel limit but absurdly
 * wide or tall. A 74-byte PNG declaring 50,000,000 × 2 took 20 s and 10 GB of memory to be refused; a
 * 1 KB TIFF of the same size decoded "successfully" after 18 s and 9.7 GB; a 2 × 50,000,000 TIFF took
 * 13 s. Pinned here at 1,000,000 × 100, which is as absurd for a photo but cheap if it regresses.
 */
describe('frames far wider or taller than any photo', () => {
  it.each([
    ['PNG 1,000,000 × 100', pngDeclaring(1_000_000, 100)],
    ['PNG 100 × 1,000,000', pngDeclaring(100, 1_000_000)],
    ['TIFF 1,000,000 × 100', tiffDeclaring(1_000_000, 100)],
    ['TIFF 100 × 1,000,000', tiffDeclaring(100, 1_000_000)],
  ])('%s is refused from its header as IMAGE_TOO_LARGE', async (_name, bytes) => {
    const out = await settle(() => decodeImage(bytes));
    expect(out.ok, 'decoded an absurd frame').toBe(false);
    if (!out.ok) {
      expectTypedError(out.error, DECODE_CODES);
      expect((out.error as FaceVerifyError).code).toBe('IMAGE_TOO_LARGE');
      // Refused from the header, before any pixel was decoded (not by sharp's pixel limit or timeout).
      expect((out.error as FaceVerifyError).message).toMatch(/^The image declares \d+×\d+ pixels/);
    }
  });
});
