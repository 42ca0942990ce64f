// The Redis cache when Redis is not there: a client pointed at a closed port (127.0.0.1:1). Needs no
// Redis server. Time budget: each test < 500 ms. No test measures it: each one uses a client that would
// wait for Redis forever, so only the behaviour under test can end it (vitest's testTimeout catches a hang).
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonCodec } from '../../../src/cache/codecs.js';
import { faceAnalysisCodec } from '../../../src/pipeline/face-analysis-codec.js';
import { RedisCache, type RedisCacheErrorContext } from '../../../src/cache/redis-cache.js';
import { FaceVerifyError } from '../../../src/errors.js';

const clients: Redis[] = [];

function deadClient(options: RedisOptions): Redis {
  const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, ...options });
  client.on('error', () => {}); // connection errors are expected here; unhandled, they'd be logged
  clients.push(client);
  return client;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

const entry = {
  embedding: new Float32Array(512),
  face: { box: { x: 0, y: 0, width: 1, height: 1 }, score: 1, landmarks: [] },
  width: 1,
  height: 1,
  faceCount: 1,
  modelId: 'm@0',
  timings: { decode: 0, detect: 0, embed: 0 },
};

describe('RedisCache when Redis is down', () => {
  it('get answers a miss and set resolves, reporting both errors', async () => {
    // Failing means a Redis outage fails verification requests, though the cache is only an
    // optimisation.
    const errors: RedisCacheErrorContext[] = [];
    const cache = new RedisCache({
      client: deadClient({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }),
      name: 'embeddings',
      codec: faceAnalysisCodec,
      ttlSeconds: 60,
      onError: (_err, context) => errors.push(context),
    });
    expect(await cache.get('k')).toBeUndefined();
    await expect(cache.set('k', entry)).resolves.toBeUndefined();
    expect(errors).toEqual([
      { cache: 'embeddings', operation: 'get' },
      { cache: 'embeddings', operation: 'set' },
    ]);
  });

  it('gives up after commandTimeoutMs when the client would queue commands until Redis returns', async () => {
    // Failing means that with a client that queues commands while it reconnects (ioredis's default
    // offline queue; here without a retry cap, so nothing but commandTimeoutMs can end a command) a
    // request waits for a cache that isn't there.
    const cache = new RedisCache({
      client: deadClient({ maxRetriesPerRequest: null }), // offline queue on, reconnecting forever
      name: 'results',
      codec: jsonCodec<number>(),
      ttlSeconds: 60,
      commandTimeoutMs: 100,
    });
    const started = performance.now();
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', 1);
    // Not earlier than the timeout either (two commands of 100 ms); a busy machine only adds to it.
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('rejects clear() and stats() with UNAVAILABLE rather than reporting an empty cache', async () => {
    // Failing means /cache/clear answers "0 removed" while the biometric data is still in Redis, or
    // /metrics/cache shows a healthy empty cache during an outage.
    const cache = new RedisCache({
      client: deadClient({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }),
      name: 'results',
      codec: jsonCodec<number>(),
      ttlSeconds: 60,
    });
    for (const call of [() => cache.clear(), () => cache.stats()]) {
      const err: unknown = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FaceVerifyError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    }
  });

  it('survives an onError callback that throws', async () => {
    // Failing means a broken logger turns a cache miss into a failed request.
    const cache = new RedisCache({
      client: deadClient({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }),
      name: 'results',
      codec: jsonCodec<number>(),
      ttlSeconds: 60,
      onError: () => {
        throw new Error('logger down');
      },
    });
    expect(await cache.get('k')).toBeUndefined();
    await expect(cache.set('k', 1)).resolves.toBeUndefined();
  });
});
