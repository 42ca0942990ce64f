/**
 * HEIC decoding (libheif in WebAssembly on its own thread): the shared manifest's HEIC decodes to the
 * same picture as its JPEG twin; an `irot` property turns the pixels the way iPhones rely on; the pixel
 * limit is checked from the header before decoding; broken files and slow decodes get a typed 4xx and
 * leave the decoder usable. If the decoder were not wired in, HEIC would answer 415; if irot were
 * ignored, a portrait iPhone photo would reach the detector sideways.
 */
import sharp, { type Sharp } from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS, type DecodedImage } from '../../../src/pipeline/decode.js';
import { HeicDecoder, heicDecoder } from '../../../src/pipeline/heic-decoder.js';
import { describeWithFaces, HAVE_FACES, readFace } from '../../support/faces.js';
import { withDeclaredSize, withIrot } from '../../support/heif-boxes.js';

const heic = HAVE_FACES ? readFace('edge/formats/face.heic') : Buffer.alloc(0);
const jpeg = HAVE_FACES ? readFace('edge/formats/face_baseline.jpg') : Buffer.alloc(0);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof FaceVerifyError) return err.code;
    throw err;
  }
}

/** Mean absolute difference per channel value between two decoded images of the same size. */
function meanAbsDiff(a: DecodedImage, b: { data: Uint8Array; width: number; height: number }): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

async function rawOf(input: Sharp): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await input.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describeWithFaces('HEIC decoding', () => {
  afterAll(async () => {
    await heicDecoder().close();
  });

  it('decodes the HEIC to the same picture as its JPEG twin', async () => {
    const img = await decodeImage(heic);
    expect(img.format).toBe('heic');
    expect([img.width, img.height, img.scale]).toEqual([480, 600, 1]);
    // Both are lossy copies of one picture: a few levels apart, not a different or shifted image.
    expect(meanAbsDiff(img, await rawOf(sharp(jpeg)))).toBeLessThan(4);
  }, 20_000);

  it('applies an irot property (90° anti-clockwise), as for a portrait iPhone photo', async () => {
    const img = await decodeImage(withIrot(heic, 1));
    expect([img.width, img.height]).toEqual([600, 480]);
    // sharp's rotate() turns clockwise: -90 is the anti-clockwise turn irot asks for.
    expect(meanAbsDiff(img, await rawOf(sharp(jpeg).rotate(-90)))).toBeLessThan(4);
    expect(meanAbsDiff(img, await rawOf(sharp(jpeg).rotate(90)))).toBeGreaterThan(20);
  });

  it('refuses a header declaring 20,000 × 20,000 pixels before decoding', async () => {
    const bomb = withDeclaredSize(heic, 20_000, 20_000);
    const t = performance.now();
    expect(await codeOf(decodeImage(bomb))).toBe('IMAGE_TOO_LARGE');
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('answers INVALID_IMAGE for truncated or scrambled files, and keeps decoding good ones', async () => {
    for (const cut of [16, 200, heic.length >> 1]) {
      expect(await codeOf(decodeImage(heic.subarray(0, cut))), `first ${cut} bytes`).toBe('INVALID_IMAGE');
    }
    const scrambled = Buffer.from(heic);
    for (let i = 2000; i < scrambled.length; i += 7) scrambled[i] = (scrambled[i]! * 31 + 17) & 0xff;
    expect(['OK', 'INVALID_IMAGE']).toContain(await codeOf(decodeImage(scrambled)));
    expect((await decodeImage(heic)).width).toBe(480);
  });

  it('stops a decode past its time limit (IMAGE_TOO_LARGE) and decodes the next file', async () => {
    const slow = decodeImage(heic, { ...DEFAULT_DECODE_OPTIONS, timeoutSeconds: 0.001 });
    expect(await codeOf(slow)).toBe('IMAGE_TOO_LARGE');
    expect((await decodeImage(heic)).height).toBe(600);
  }, 20_000);
});

describe('HEIC decoder thread that never loads', () => {
  // A thread that never says it is ready (libheif's module hanging while it loads): without a loading
  // deadline every HEIC queued behind it would wait forever, and so would the request that sent it.
  const neverReady = () => ({ entry: 'setInterval(() => {}, 1000);', eval: true });
  const limits = { maxInputPixels: 1e8, timeoutSeconds: 1 };

  it('answers UNAVAILABLE (retryable) for every waiting file once the loading deadline passes', async () => {
    const decoder = new HeicDecoder({ loadTimeoutMs: 200, entry: neverReady });
    const codes = await Promise.all([1, 2].map(() => codeOf(decoder.decode(new Uint8Array(64), limits))));
    expect(codes).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    await decoder.close();
  });

  it('close() answers UNAVAILABLE for a file still waiting, instead of leaving it pending', async () => {
    const decoder = new HeicDecoder({ loadTimeoutMs: 60_000, entry: neverReady });
    const waiting = codeOf(decoder.decode(new Uint8Array(64), limits));
    await decoder.close();
    expect(await waiting).toBe('UNAVAILABLE');
  });
});
