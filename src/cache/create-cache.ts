/** Builds a cache of the configured backend; the composition root calls it once per cache. */
import type { Redis } from 'ioredis';
import type { Cache, CacheBackend, Codec } from './cache.js';
import { DisabledCache } from './disabled-cache.js';
import { MemoryCache } from './memory-cache.js';
import { RedisCache, type RedisCacheOptions } from './redis-cache.js';

export interface CreateCacheOptions<V> {
  backend: CacheBackend;
  /** 'embeddings' or 'results'; part of Redis keys. */
  name: string;
  /** Default time to live in seconds; 0 = no expiry. */
  ttlSeconds: number;
  /** Bound of the memory backend (ignored by the others). */
  maxEntries: number;
  /** Encodes values for Redis (the memory backend keeps values as they are). */
  codec: Codec<V>;
  /** Required for the 'redis' backend; shared, not closed by the cache. */
  redis?: Redis;
  /** Redis key prefix; see DEFAULT_CACHE_PREFIX. */
  prefix?: string;
  /** Redis errors that `get` and `set` absorbed (for logging). */
  onError?: RedisCacheOptions<V>['onError'];
}

/**
 * @example
 * const embeddings = createCache({ backend: 'redis', name: 'embeddings', ttlSeconds: 86_400,
 *   maxEntries: 10_000, codec: embeddingCodec, redis, onError: (err) => log.warn({ err }, 'cache') });
 */
export function createCache<V>(options: CreateCacheOptions<V>): Cache<V> {
  switch (options.backend) {
    case 'off':
      return new DisabledCache<V>(options.name);
    case 'memory':
      return new MemoryCache<V>({
        name: options.name,
        maxEntries: options.maxEntries,
        ttlSeconds: options.ttlSeconds,
      });
    case 'redis': {
      if (!options.redis)
        throw new TypeError(`the ${options.name} cache's 'redis' backend needs a Redis client`);
      return new RedisCache<V>({
        client: options.redis,
        name: options.name,
        codec: options.codec,
        ttlSeconds: options.ttlSeconds,
        ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
      });
    }
  }
}
