// What only the Redis backend does, on the real Redis (the shared behaviour is in
// cache-conformance.test.ts). Unique key prefix per test, every key removed afterwards.
// Time budget: each test < 100 ms.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { jsonCodec } from '../../../src/cache/codecs.js';
import { faceAnalysisCodec } from '../../../src/pipeline/face-analysis-codec.js';
import { createCache } from '../../../src/cache/create-cache.js';
import { RedisCache, type RedisCacheErrorContext } from '../../../src/cache/redis-cache.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';

describeWithRedis('RedisCache on the real Redis', () => {
  let client: Redis;
  let prefix: string;

  async function keysUnder(p: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${p.replace(/[*?[\]\\]/g, '\\$&')}*`);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found.sort();
  }

  beforeAll(() => {
    client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await client.quit();
  });
  beforeEach(() => {
    prefix = `${uniqueName('rcache')}:`;
  });
  afterEach(async () => {
    const keys = await keysUnder(prefix.slice(0, -1)); // also the test's look-alike prefixes below
    if (keys.length > 0) await client.unlink(...keys);
  });

  it('stores the codec bytes under prefix + name + ":" + key with the TTL, rounded up to seconds', async () => {
    // Failing means keys land outside this cache's namespace (clear() and other deployments' caches
    // would be affected), values aren't the compact codec bytes, or entries never expire.
    const cache = new RedisCache({
      client,
      name: 'results',
      codec: jsonCodec<number>(),
      ttlSeconds: 60,
      prefix,
    });
    // The expiry Redis set, as an absolute time, bounded by the clock before and after the writes:
    // exact however long the machine takes between the write and the check.
    const before = Date.now();
    await cache.set('k1', 7);
    await cache.set('k2', 8, 0.2);
    const after = Date.now();
    await cache.set('k3', 9, 0);
    expect(await keysUnder(prefix)).toEqual([
      `${prefix}results:k1`,
      `${prefix}results:k2`,
      `${prefix}results:k3`,
    ]);
    expect((await client.getBuffer(`${prefix}results:k1`))?.toString()).toBe('7');
    const expiresAt = (key: string): Promise<number> => client.pexpiretime(`${prefix}results:${key}`);
    expect(await expiresAt('k1')).toBeGreaterThanOrEqual(before + 60_000);
    expect(await expiresAt('k1')).toBeLessThanOrEqual(after + 60_000);
    expect(await expiresAt('k2')).toBeGreaterThanOrEqual(before + 1000); // 0.2 s → EX 1
    expect(await expiresAt('k2')).toBeLessThanOrEqual(after + 1000);
    expect(await client.pttl(`${prefix}results:k3`)).toBe(-1); // no expiry
  });

  it('is shared: a value stored through one connection is found through another', async () => {
    // Failing means API and worker processes don't share the cache, the point of the Redis backend.
    const other = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const writer = new RedisCache({
        client,
        name: 'embeddings',
        codec: faceAnalysisCodec,
        ttlSeconds: 60,
        prefix,
      });
      const reader = new RedisCache({
        client: other,
        name: 'embeddings',
        codec: faceAnalysisCodec,
        ttlSeconds: 60,
        prefix,
      });
      const entry = {
        embedding: Float32Array.from([0.5, -0.25, 3]),
        face: { box: { x: 0, y: 0, width: 1, height: 1 }, score: 1, landmarks: [] },
        width: 2,
        height: 3,
        faceCount: 1,
        modelId: 'm@0',
        timings: { decode: 0, detect: 0, embed: 0 },
      };
      await writer.set('img', entry);
      expect(await reader.get('img')).toEqual(entry);
      // Hits and misses are per process (per cache object).
      expect(await reader.stats()).toMatchObject({ hits: 1, misses: 0, size: 1 });
      expect(await writer.stats()).toMatchObject({ hits: 0, misses: 0, size: 1 });
    } finally {
      await other.quit();
    }
  });

  it('answers a miss, and reports it, when the stored bytes are not a value of its codec', async () => {
    // Failing means a corrupt or old-format entry fails the request instead of being recomputed.
    const errors: RedisCacheErrorContext[] = [];
    const cache = new RedisCache({
      client,
      name: 'embeddings',
      codec: faceAnalysisCodec,
      ttlSeconds: 60,
      prefix,
      onError: (_err, context) => errors.push(context),
    });
    await client.set(`${prefix}embeddings:bad`, 'not an embedding');
    expect(await cache.get('bad')).toBeUndefined();
    expect(errors).toEqual([{ cache: 'embeddings', operation: 'decode' }]);
    expect(await cache.stats()).toMatchObject({ misses: 1, hits: 0 });
  });

  it('counts size and clears across many SCAN pages, stopping the count at sizeCountLimit', async () => {
    // Failing means clear() leaves keys behind on a large cache, or /metrics/cache scans an unbounded
    // keyspace without saying it stopped.
    const options = {
      client,
      name: 'results',
      codec: jsonCodec<number>(),
      ttlSeconds: 60,
      prefix,
      scanCount: 2,
    };
    const cache = new RedisCache({ ...options, sizeCountLimit: 1000 });
    const capped = new RedisCache({ ...options, sizeCountLimit: 4 });
    for (let i = 0; i < 25; i++) await cache.set(`k${i}`, i);
    expect(await cache.stats()).toMatchObject({ size: 25, size_capped: false, evictions: 0 });
    expect(await capped.stats()).toMatchObject({ size: 4, size_capped: true });
    expect(await cache.clear()).toBe(25);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('treats glob characters in the prefix literally', async () => {
    // Failing means a prefix such as "app[1]:" would make clear() delete "app1:" keys of another cache.
    const codec = jsonCodec<number>();
    const globby = new RedisCache({ client, name: 'c', codec, ttlSeconds: 60, prefix: `${prefix}[x]*?:` });
    const plain = new RedisCache({ client, name: 'c', codec, ttlSeconds: 60, prefix: `${prefix}x:` });
    await globby.set('k', 1);
    await plain.set('k', 2);
    expect((await globby.stats()).size).toBe(1);
    expect(await globby.clear()).toBe(1);
    expect(await plain.get('k')).toBe(2);
  });

  it('closes the client only when it owns it', async () => {
    // Failing means closing one cache breaks the shared connection (the queue, the other cache), or
    // an owned connection leaks past shutdown.
    const own = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const shared = new RedisCache({ client, name: 'a', codec: jsonCodec<number>(), ttlSeconds: 1, prefix });
    const owning = new RedisCache({
      client: own,
      name: 'b',
      codec: jsonCodec<number>(),
      ttlSeconds: 1,
      prefix,
      ownsClient: true,
    });
    await owning.set('k', 1); // makes sure `own` is connected before closing
    await shared.close();
    await owning.close();
    await owning.close(); // idempotent
    // QUIT is answered before the socket closes: wait for the end (the test's timeout bounds it).
    if (own.status !== 'end') await new Promise((resolve) => own.once('end', resolve));
    expect(own.status).toBe('end');
    expect(client.status).toBe('ready');
  });

  it('refuses a client with keyPrefix, whose SCAN results would not match its commands', () => {
    // Failing means clear() on such a client silently removes nothing.
    const prefixed = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true });
    expect(
      () => new RedisCache({ client: prefixed, name: 'a', codec: jsonCodec<number>(), ttlSeconds: 1 }),
    ).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });

  it("is what createCache builds for the 'redis' backend, with the given prefix", async () => {
    // Failing means REDIS_URL deployments silently use a per-process memory cache, or the wrong keys.
    const cache = createCache({
      backend: 'redis',
      name: 'embeddings',
      ttlSeconds: 60,
      maxEntries: 1,
      codec: jsonCodec<number>(),
      redis: client,
      prefix,
    });
    expect(cache).toBeInstanceOf(RedisCache);
    await cache.set('k', 1);
    expect(await keysUnder(prefix)).toEqual([`${prefix}embeddings:k`]);
  });
});
