/**
 * The 'off' backend (`EMBEDDING_CACHE=off`): stores nothing and always misses, for deployments that
 * must not keep biometric data (embeddings, face boxes) beyond the request that computed them. Lookups
 * are still counted, so /metrics/cache shows the cache is off rather than idle.
 */
import type { Cache, CacheStats } from './cache.js';
import { CacheCounters } from './cache-counters.js';
import { checkCacheName } from './cache-options.js';

/**
 * @example
 * const cache = new DisabledCache<EmbeddingEntry>('embeddings');
 * await cache.set(key, entry); // nothing kept
 * await cache.get(key); // undefined
 */
export class DisabledCache<V> implements Cache<V> {
  readonly backend = 'off' as const;
  readonly name: string;
  private readonly counters = new CacheCounters();

  constructor(name: string) {
    this.name = checkCacheName(name);
  }

  get(_key: string): Promise<V | undefined> {
    return Promise.resolve(this.counters.count<V>(undefined));
  }

  set(_key: string, _value: V, _ttlSeconds?: number): Promise<void> {
    return Promise.resolve();
  }

  clear(): Promise<number> {
    return Promise.resolve(0);
  }

  stats(): Promise<CacheStats> {
    return Promise.resolve(this.counters.stats(this.backend, 0));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
