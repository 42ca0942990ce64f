// What only the memory backend does (the shared behaviour is in the conformance suite under
// test/integration/cache). Time budget: < 10 ms.
import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../../src/cache/memory-cache.js';

describe('MemoryCache', () => {
  it('evicts the least recently used entry at maxEntries and counts each eviction', async () => {
    // Failing means the cache grows without bound, evicts the wrong entries, or /metrics/cache
    // hides that the bound is too small.
    const cache = new MemoryCache<number>({ name: 'lru', maxEntries: 3, ttlSeconds: 0 });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    expect(await cache.get('a')).toBe(1); // a is now the most recently used; b the least
    await cache.set('d', 4);
    await cache.set('e', 5);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('c')).toBeUndefined();
    expect(await cache.get('a')).toBe(1);
    expect(await cache.stats()).toMatchObject({ size: 3, evictions: 2 });
  });

  it('does not count overwrites, expiry or clear() as evictions', async () => {
    // Failing means the eviction count overstates pressure on the cache.
    let now = 1_000; // not 0: lru-cache reads a start time of 0 as "no TTL"
    const cache = new MemoryCache<number>({ name: 'lru', maxEntries: 2, ttlSeconds: 1, now: () => now });
    await cache.set('a', 1);
    await cache.set('a', 2);
    await cache.set('b', 3);
    now += 1500;
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('c', 4);
    expect(await cache.clear()).toBe(1);
    expect(await cache.stats()).toMatchObject({ evictions: 0, size: 0, misses: 1 });
  });

  it('does not count expired entries in size before they are touched', async () => {
    // Failing means size (and /metrics/cache) counts entries that can no longer be served.
    let now = 1_000; // not 0: lru-cache reads a start time of 0 as "no TTL"
    const cache = new MemoryCache<number>({ name: 'ttl', maxEntries: 10, ttlSeconds: 1, now: () => now });
    await cache.set('a', 1);
    await cache.set('b', 2, 10);
    now += 2000;
    expect((await cache.stats()).size).toBe(1);
  });

  it('drops its entries on close()', async () => {
    // Failing means biometric data stays reachable in memory after the cache is shut down.
    const cache = new MemoryCache<number>({ name: 'c', maxEntries: 10, ttlSeconds: 0 });
    await cache.set('a', 1);
    await cache.close();
    expect((await cache.stats()).size).toBe(0);
  });

  it('refuses a maxEntries that is not a positive integer and names that would break Redis patterns', () => {
    // Failing means a typo in configuration gives an unbounded or useless cache instead of a clear error.
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryCache({ name: 'c', maxEntries, ttlSeconds: 0 })).toThrow(RangeError);
    }
    for (const name of ['', 'a:b', 'a*', 'a b']) {
      expect(() => new MemoryCache({ name, maxEntries: 1, ttlSeconds: 0 })).toThrow(RangeError);
    }
  });
});
