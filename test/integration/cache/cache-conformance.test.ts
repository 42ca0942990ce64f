// One suite, written once, run against every storing backend: MemoryCache (with an injected clock) and
// RedisCache on the real Redis (unique key prefix per test, every key removed afterwards).
// Time budget: each test < 2 s; the Redis TTL test waits 1.1 s of real time, everything else is < 50 ms.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Cache, Codec } from '../../../src/cache/cache.js';
import { jsonCodec } from '../../../src/cache/codecs.js';
import { faceAnalysisCodec } from '../../../src/pipeline/face-analysis-codec.js';
import type { FaceAnalysis } from '../../../src/pipeline/face-analysis.js';
import { MemoryCache } from '../../../src/cache/memory-cache.js';
import { RedisCache } from '../../../src/cache/redis-cache.js';
import { describeWithRedis, REDIS_URL, uniqueName } from '../../support/redis.js';
import { prng } from '../../support/prng.js';

interface MakeOptions<V> {
  name: string;
  codec: Codec<V>;
  ttlSeconds?: number;
  maxEntries?: number;
  /** A second namespace: a different Redis key prefix (memory caches are separate objects anyway). */
  otherPrefix?: boolean;
}

interface Harness {
  make<V>(options: MakeOptions<V>): Cache<V>;
  /** Lets time pass for TTLs: moves the injected clock, or really waits. */
  elapse(seconds: number): Promise<void>;
  cleanup(): Promise<void>;
}

function memoryHarness(): Harness {
  let nowMs = 1_000_000;
  const caches: Cache<unknown>[] = [];
  return {
    make<V>(o: MakeOptions<V>): Cache<V> {
      const cache = new MemoryCache<V>({
        name: o.name,
        ttlSeconds: o.ttlSeconds ?? 0,
        maxEntries: o.maxEntries ?? 1000,
        now: () => nowMs,
      });
      caches.push(cache);
      return cache;
    },
    elapse(seconds) {
      nowMs += seconds * 1000;
      return Promise.resolve();
    },
    async cleanup() {
      await Promise.all(caches.map((c) => c.close()));
    },
  };
}

function redisHarness(client: Redis): Harness {
  const prefix = `${uniqueName('cache')}:`;
  const other = `${uniqueName('cache-other')}:`;
  return {
    make<V>(o: MakeOptions<V>): Cache<V> {
      return new RedisCache<V>({
        client,
        name: o.name,
        codec: o.codec,
        ttlSeconds: o.ttlSeconds ?? 0,
        prefix: o.otherPrefix ? other : prefix,
      });
    },
    elapse: (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
    async cleanup() {
      // Remove every key this test wrote, whichever cache wrote it.
      for (const p of [prefix, other]) {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 1000);
          if (keys.length > 0) await client.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
    },
  };
}

function sampleEntry(seed: number): FaceAnalysis {
  const rand = prng(seed);
  const embedding = new Float32Array(512);
  for (let i = 0; i < embedding.length; i++) embedding[i] = rand() * 2 - 1;
  return {
    embedding,
    face: { box: { x: 10.5, y: 20, width: 100, height: 120 }, score: 0.9987, landmarks: [[1, 2]] },
    width: 640,
    height: 480,
    faceCount: 1,
    modelId: 'mobilefacenet@d8ba40c0127fb8ca',
    timings: { decode: 2.5, detect: 10, embed: 9.75 },
  };
}

function conformance(label: string, makeHarness: () => Harness): void {
  describe(`${label} cache (conformance)`, () => {
    let h: Harness;
    beforeEach(() => {
      h = makeHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('returns what was stored, through the embedding codec, float for float', async () => {
      // Failing means embeddings come back changed from the cache: verification results would differ
      // between a cold and a warm cache.
      const cache = h.make({ name: 'embeddings', codec: faceAnalysisCodec });
      const entry = sampleEntry(1);
      await cache.set('k1', entry);
      const got = await cache.get('k1');
      expect(got).toBeDefined();
      expect(got?.embedding).toBeInstanceOf(Float32Array);
      expect(Array.from(got?.embedding ?? [])).toEqual(Array.from(entry.embedding));
      expect(got).toEqual(entry);
    });

    it('returns a JSON result as stored, and the latest value after an overwrite', async () => {
      // Failing means a result cache hit answers with a different (or stale) result than was computed.
      const cache = h.make({
        name: 'results',
        codec: jsonCodec<{ is_match: boolean; confidence: number }>(),
      });
      await cache.set('pair', { is_match: false, confidence: 0.1 });
      await cache.set('pair', { is_match: true, confidence: 0.93 });
      expect(await cache.get('pair')).toEqual({ is_match: true, confidence: 0.93 });
      expect((await cache.stats()).size).toBe(1);
    });

    it('counts hits and misses and reports the hit ratio', async () => {
      // Failing means /metrics/cache misreports how well the cache works.
      const cache = h.make({ name: 'results', codec: jsonCodec<number>() });
      expect((await cache.stats()).hit_ratio).toBe(0); // nothing asked yet: 0, not NaN
      expect(await cache.get('absent')).toBeUndefined();
      await cache.set('present', 42);
      expect(await cache.get('present')).toBe(42);
      expect(await cache.get('present')).toBe(42);
      expect(await cache.get('absent-too')).toBeUndefined();
      const stats = await cache.stats();
      expect(stats).toMatchObject({ backend: label, hits: 2, misses: 2, size: 1, hit_ratio: 0.5 });
    });

    it('expires entries after the default TTL or a per-entry TTL, and never with TTL 0', async () => {
      // Failing means biometric data outlives its configured TTL, or entries meant to stay vanish.
      const expiring = h.make({ name: 'expiring', codec: jsonCodec<string>(), ttlSeconds: 1 });
      const lasting = h.make({ name: 'lasting', codec: jsonCodec<string>(), ttlSeconds: 0 });
      await expiring.set('default-ttl', 'a');
      await expiring.set('long-ttl', 'b', 60);
      await lasting.set('no-ttl', 'c');
      await lasting.set('short-ttl', 'd', 1);
      await h.elapse(1.1);
      expect(await expiring.get('default-ttl')).toBeUndefined();
      expect(await expiring.get('long-ttl')).toBe('b');
      expect(await lasting.get('no-ttl')).toBe('c');
      expect(await lasting.get('short-ttl')).toBeUndefined();
      // Expired entries are misses and no longer held; expiry is not eviction.
      expect(await expiring.stats()).toMatchObject({ hits: 1, misses: 1, size: 1, evictions: 0 });
      expect(await lasting.stats()).toMatchObject({ hits: 1, misses: 1, size: 1, evictions: 0 });
    });

    it("clear() removes this cache's entries only", async () => {
      // Failing means POST /cache/clear on one cache wipes the other cache or another deployment's keys
      // (or leaves biometric data behind).
      const codec = jsonCodec<number>();
      const target = h.make({ name: 'embeddings', codec });
      const sameStartName = h.make({ name: 'embeddings2', codec }); // "embeddings" is a prefix of it
      const otherName = h.make({ name: 'results', codec });
      const otherPrefix = h.make({ name: 'embeddings', codec, otherPrefix: true });
      for (let i = 0; i < 5; i++) await target.set(`k${i}`, i);
      for (const c of [sameStartName, otherName, otherPrefix]) await c.set('k0', 100);

      expect(await target.clear()).toBe(5);
      expect(await target.get('k0')).toBeUndefined();
      expect((await target.stats()).size).toBe(0);
      for (const c of [sameStartName, otherName, otherPrefix]) {
        expect(await c.get('k0')).toBe(100);
        expect((await c.stats()).size).toBe(1);
      }
    });

    it('rejects a negative or non-finite TTL (a wiring bug, not a cache failure)', async () => {
      // Failing means a misconfigured TTL silently stores entries forever or not at all.
      expect(() => h.make({ name: 'bad', codec: jsonCodec<number>(), ttlSeconds: -1 })).toThrow(RangeError);
      const cache = h.make({ name: 'ok', codec: jsonCodec<number>() });
      await expect(cache.set('k', 1, Number.NaN)).rejects.toThrow(RangeError);
    });
  });
}

conformance('memory', memoryHarness);

describeWithRedis('with the real Redis', () => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await client.quit();
  });
  conformance('redis', () => redisHarness(client));
});
