// Time budget: a few dozen sha256 digests (< 5 ms).
import { describe, expect, it } from 'vitest';
import { embeddingKey, isCanonicalPairOrder, resultKey, sha256Hex } from '../../../src/cache/cache-keys.js';
import { analysisIdentity } from '../../../src/pipeline/analysis-identity.js';
import { DEFAULT_ANALYZER_OPTIONS, analysisSettings } from '../../../src/pipeline/face-analyzer.js';

const settings = analysisSettings(DEFAULT_ANALYZER_OPTIONS);
const analyzer = { model: { id: 'mobilefacenet@d8ba40c0127fb8ca' }, settings };
const analysis = analysisIdentity(analyzer);
const shaA = sha256Hex(Buffer.from('image A bytes'));
const shaB = sha256Hex(Buffer.from('image B bytes'));
const result = { sha1: shaA, sha2: shaB, analysis, scoring: { threshold: 0.42 } };

/** The analysis identity with one thing changed. */
const changed = (patch: Partial<typeof settings>, id = analyzer.model.id): string =>
  analysisIdentity({ model: { id }, settings: { ...settings, ...patch } });

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 test vector for "abc"', () => {
    // Failing means keys are not the sha256 of the content, and hashes from elsewhere won't match.
    expect(sha256Hex(Buffer.from('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('embeddingKey', () => {
  it('is a sha256 hex digest and the same for the same input', () => {
    // Failing means a warm cache never hits (unstable keys) or keys have an unexpected shape.
    const key = embeddingKey({ imageSha256: shaA, analysis });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(embeddingKey({ imageSha256: shaA, analysis: analysisIdentity({ ...analyzer }) })).toBe(key);
    expect(embeddingKey({ imageSha256: shaA.toUpperCase(), analysis })).toBe(key);
  });

  it('differs when the image, the model, its weights or any analysis setting differs', () => {
    // Failing means an embedding computed under other settings (another face, another model, other
    // weights under the same model name) is served from the cache.
    const variants = [
      { imageSha256: shaA, analysis },
      { imageSha256: shaB, analysis },
      { imageSha256: shaA, analysis: changed({}, 'mobilefacenet@0000000000000000') },
      { imageSha256: shaA, analysis: changed({ model: 'arcface' }) },
      { imageSha256: shaA, analysis: changed({ detect: { ...settings.detect, minFaceSize: 40 } }) },
      {
        imageSha256: shaA,
        analysis: changed({ detect: { ...settings.detect, thresholds: [0.6, 0.7, 0.8] } }),
      },
      { imageSha256: shaA, analysis: changed({ facePolicy: 'largest' }) },
      { imageSha256: shaA, analysis: changed({ decode: { ...settings.decode, maxDimension: 1024 } }) },
      { imageSha256: shaA, analysis: changed({ tooSmallFloor: 0 }) },
    ];
    expect(new Set(variants.map(embeddingKey)).size).toBe(variants.length);
    expect(analysisIdentity(analyzer, 'center')).toBe(changed({ facePolicy: 'center' }));
  });

  it('does not collide with a result key built from the same parts', () => {
    // Failing means the two caches could overwrite each other's entries if they shared a namespace.
    const e = embeddingKey({ imageSha256: shaA, analysis });
    expect(resultKey({ ...result, sha2: shaA, sha1: shaA })).not.toBe(e);
  });

  it('refuses anything but a sha256 digest as the image, so raw input cannot reach a key', () => {
    // Failing means a caller could pass a URL or image data where a hash belongs.
    expect(() => embeddingKey({ imageSha256: 'https://example.com/a.jpg', analysis })).toThrow(TypeError);
    expect(() => embeddingKey({ imageSha256: shaA.slice(1), analysis })).toThrow(TypeError);
  });
});

describe('resultKey', () => {
  it('is the same for (a, b) and (b, a)', () => {
    // Failing means verify(a, b) and verify(b, a) are computed and cached twice.
    expect(resultKey({ ...result, sha1: shaB, sha2: shaA })).toBe(resultKey(result));
    expect(isCanonicalPairOrder(shaA, shaB)).not.toBe(isCanonicalPairOrder(shaB, shaA));
    expect(isCanonicalPairOrder(shaA, shaA)).toBe(true);
  });

  it('differs when an image, the analysis, the threshold or the minimum confidence differs', () => {
    // Failing means a result computed under another threshold or model answers this request.
    const other = sha256Hex(Buffer.from('image C bytes'));
    const variants = [
      result,
      { ...result, sha2: other },
      { ...result, analysis: changed({}, 'arcface@0') },
      { ...result, analysis: changed({ facePolicy: 'largest' }) },
      { ...result, scoring: { threshold: 0.5 } },
      { ...result, scoring: { threshold: 0.42, minConfidence: 0.9 } },
    ];
    expect(new Set(variants.map(resultKey)).size).toBe(variants.length);
  });

  it('contains nothing of its inputs: no hash, model name or URL appears in the key', () => {
    // Failing means keys in Redis (visible to anyone with SCAN) reveal which images were compared.
    const key = resultKey({ ...result, analysis: changed({}, 'model-name-xyz') });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    for (const part of [shaA, shaB, shaA.slice(0, 16), shaB.slice(0, 16), 'model-name-xyz']) {
      expect(key).not.toContain(part);
    }
  });
});
