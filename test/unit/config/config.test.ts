import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envExample, envMarkdown, loadConfig } from '../../../src/config/config.js';
import { cpuQuota, inferenceThreads } from '../../../src/config/verifier-options.js';
import { FaceVerifyError } from '../../../src/errors.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.maxImageDimension).toBe(1920);
    expect(c.minFaceSize).toBe(60);
    expect(c.detectionThresholds).toEqual([0.6, 0.7, 0.9]);
    expect(c.cosineThreshold).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('parses values and lists every invalid setting by name at once', () => {
    expect(loadConfig({ MIN_FACE_SIZE: '80', FACE_POLICY: 'Largest' })).toMatchObject({
      minFaceSize: 80,
      facePolicy: 'largest',
    });
    try {
      loadConfig({ MIN_FACE_SIZE: 'ten', FACE_POLICY: 'any', DETECTION_THRESHOLDS: '0.5,2' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FaceVerifyError);
      const msg = (err as Error).message;
      for (const name of ['MIN_FACE_SIZE', 'FACE_POLICY', 'DETECTION_THRESHOLDS'])
        expect(msg).toContain(name);
    }
  });

  it('checks TEMPLATE_ENCRYPTION_KEY at start-up without echoing the key', () => {
    // Wrong if it fails: a short key would only fail at the first enrol, or a key would reach the logs.
    const short = Buffer.alloc(16, 7).toString('base64');
    expect(() => loadConfig({ TEMPLATE_ENCRYPTION_KEY: `k1:${short}` })).toThrow(
      /TEMPLATE_ENCRYPTION_KEY.*16 bytes/,
    );
    const good = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    expect(loadConfig({ TEMPLATE_ENCRYPTION_KEY: good, RETAIN_FACE_CROPS: 'yes' })).toMatchObject({
      templateEncryptionKey: good,
      retainFaceCrops: true,
      galleryRetentionDays: 0,
      dataDir: './data',
    });
  });
});

it('.env.example is the one generated from the schema (regenerate with `faceverify config example`)', () => {
  expect(readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8').trim()).toBe(
    envExample().trim(),
  );
});

it('docs/configuration.md is the one generated from the schema (`faceverify config markdown`)', () => {
  expect(readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8').trim()).toBe(
    envMarkdown().trim(),
  );
});

it('accepts the reference service’s names as aliases', () => {
  expect(loadConfig({ CELERY_TASK_TIMEOUT: '45', RETRY_DELAY: '5' })).toMatchObject({
    taskTimeoutS: 45,
    retryDelayS: 5,
  });
});

describe('INFERENCE_THREADS', () => {
  it('takes auto or a whole number from 0 to 64, and rejects anything else', () => {
    expect(loadConfig({}).inferenceThreads).toBe('auto');
    expect(loadConfig({ INFERENCE_THREADS: 'AUTO' }).inferenceThreads).toBe('auto');
    expect(loadConfig({ INFERENCE_THREADS: '0' }).inferenceThreads).toBe(0);
    expect(inferenceThreads(loadConfig({ INFERENCE_THREADS: '3' }))).toBe(3);
    for (const bad of ['-1', '65', '1.5', 'two']) {
      expect(() => loadConfig({ INFERENCE_THREADS: bad }), bad).toThrow(/INFERENCE_THREADS/);
    }
  });

  it('auto is one per CPU, capped by a cgroup CPU quota', () => {
    expect(inferenceThreads({ inferenceThreads: 'auto' })).toBeGreaterThanOrEqual(1);
    expect(inferenceThreads({ inferenceThreads: 'auto' })).toBeLessThanOrEqual(availableParallelism());
    expect(cpuQuota('200000 100000\n')).toBe(2);
    expect(cpuQuota('150000 100000')).toBe(2);
    expect(cpuQuota('50000 100000')).toBe(1);
    expect(cpuQuota('max 100000')).toBeUndefined();
    expect(cpuQuota('')).toBeUndefined();
  });
});
