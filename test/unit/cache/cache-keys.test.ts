// Time budget: a few dozen sha256 digests (< 5 ms); limit 200 ms.
import { describe, expect, it } from 'vitest';
import {
  embeddingKey,
  isCanonicalPairOrder,
  resultKey,
  sha256Hex,
  type DetectionKeySettings,
} from '../../../src/cache/cache-keys.js';

const detection: DetectionKeySettings = {
  minFaceSize: 60,
  thresholds: [0.6, 0.7, 0.9],
  facePolicy: 'strict',
  maxDimension: 1920,
};
const shaA = sha256Hex(Buffer.from('image A bytes'));
const shaB = sha256Hex(Buffer.from('image B bytes'));
const result = {
  sha1: shaA,
  sha2: shaB,
  model: 'mobilefacenet',
  threshold: 0.42,
  facePolicy: 'strict',
  detection,
};

describe('sha256Hex', { timeout: 2000 }, () => {
  it('matches the FIPS 180-2 test vector for "abc"', () => {
    // Failing means keys are not the sha256 of the content, and hashes from elsewhere won't match.
    expect(sha256Hex(Buffer.from('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('embeddingKey', { timeout: 2000 }, () => {
  it('is a sha256 hex digest and the same for the same input', () => {
    // Failing means a warm cache never hits (unstable keys) or keys have an unexpected shape.
    const key = embeddingKey({ imageSha256: shaA, model: 'mobilefacenet', detection });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(embeddingKey({ imageSha256: shaA, model: 'mobilefacenet', detection: { ...detection } })).toBe(
      key,
    );
    expect(embeddingKey({ imageSha256: shaA.toUpperCase(), model: 'mobilefacenet', detection })).toBe(key);
  });

  it('differs when the image, the model or any detection setting differs', () => {
    // Failing means an embedding computed under other settings (another face, another model) is
    // served from the cache.
    const base = { imageSha256: shaA, model: 'mobilefacenet', detection };
    const variants = [
      base,
      { ...base, imageSha256: shaB },
      { ...base, model: 'arcface' },
      { ...base, detection: { ...detection, minFaceSize: 40 } },
      { ...base, detection: { ...detection, thresholds: [0.6, 0.7, 0.8] } },
      { ...base, detection: { ...detection, facePolicy: 'largest' } },
      { ...base, detection: { ...detection, maxDimension: 1024 } },
    ];
    expect(new Set(variants.map(embeddingKey)).size).toBe(variants.length);
  });

  it('does not collide with a result key built from the same parts', () => {
    // Failing means the two caches could overwrite each other's entries if they shared a namespace.
    const e = embeddingKey({ imageSha256: shaA, model: 'm', detection });
    expect(resultKey({ ...result, sha2: shaA, sha1: shaA, model: 'm' })).not.toBe(e);
  });

  it('refuses anything but a sha256 digest as the image, so raw input cannot reach a key', () => {
    // Failing means a caller could pass a URL or image data where a hash belongs.
    expect(() => embeddingKey({ imageSha256: 'https://example.com/a.jpg', model: 'm', detection })).toThrow(
      TypeError,
    );
    expect(() => embeddingKey({ imageSha256: shaA.slice(1), model: 'm', detection })).toThrow(TypeError);
  });
});

describe('resultKey', { timeout: 2000 }, () => {
  it('is the same for (a, b) and (b, a)', () => {
    // Failing means verify(a, b) and verify(b, a) are computed and cached twice.
    expect(resultKey({ ...result, sha1: shaB, sha2: shaA })).toBe(resultKey(result));
    expect(isCanonicalPairOrder(shaA, shaB)).not.toBe(isCanonicalPairOrder(shaB, shaA));
    expect(isCanonicalPairOrder(shaA, shaA)).toBe(true);
  });

  it('differs when an image, the model, the threshold, the face policy or detection differs', () => {
    // Failing means a result computed under another threshold or model answers this request.
    const other = sha256Hex(Buffer.from('image C bytes'));
    const variants = [
      result,
      { ...result, sha2: other },
      { ...result, model: 'arcface' },
      { ...result, threshold: 0.5 },
      { ...result, facePolicy: 'largest' },
      { ...result, detection: { ...detection, minFaceSize: 40 } },
      { ...result, detection: { ...detection, maxDimension: 1024 } },
    ];
    expect(new Set(variants.map(resultKey)).size).toBe(variants.length);
  });

  it('contains nothing of its inputs: no hash, model name or URL appears in the key', () => {
    // Failing means keys in Redis (visible to anyone with SCAN) reveal which images were compared.
    const key = resultKey({ ...result, model: 'model-name-xyz' });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    for (const part of [shaA, shaB, shaA.slice(0, 16), shaB.slice(0, 16), 'model-name-xyz']) {
      expect(key).not.toContain(part);
    }
  });
});
