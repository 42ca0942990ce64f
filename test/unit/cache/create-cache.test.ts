// Time budget: < 5 ms. (The Redis backend through createCache is in
// test/integration/cache/redis-cache.test.ts.)
import { describe, expect, it } from 'vitest';
import { jsonCodec } from '../../../src/cache/codecs.js';
import { createCache } from '../../../src/cache/create-cache.js';
import { DisabledCache } from '../../../src/cache/disabled-cache.js';
import { MemoryCache } from '../../../src/cache/memory-cache.js';

const common = { name: 'embeddings', ttlSeconds: 60, maxEntries: 10, codec: jsonCodec<number>() };

describe('createCache', () => {
  it('builds the backend asked for', () => {
    // Failing means EMBEDDING_CACHE=off or the default memory setting builds the wrong cache.
    expect(createCache({ ...common, backend: 'memory' })).toBeInstanceOf(MemoryCache);
    expect(createCache({ ...common, backend: 'off' })).toBeInstanceOf(DisabledCache);
  });

  it("refuses the 'redis' backend without a client", () => {
    // Failing means a missing REDIS_URL wiring error surfaces later as a crash on the first request.
    expect(() => createCache({ ...common, backend: 'redis' })).toThrow(/needs a Redis client/);
  });
});

describe('DisabledCache (EMBEDDING_CACHE=off)', () => {
  it('keeps nothing: every get misses, size stays 0, and the lookups are counted', async () => {
    // Failing means a deployment that must not keep biometric data keeps it anyway.
    const cache = createCache({ ...common, backend: 'off' });
    await cache.set('k', 1);
    await cache.set('k', 2, 3600);
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.clear()).toBe(0);
    expect(await cache.stats()).toEqual({
      backend: 'off',
      hits: 0,
      misses: 1,
      size: 0,
      evictions: 0,
      hit_ratio: 0,
    });
    await cache.close();
  });
});
