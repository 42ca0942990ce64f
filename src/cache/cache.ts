/**
 * The cache interface shared by the in-memory LRU and Redis backends. Values go through a codec so that
 * the Redis backend can store them as bytes; the memory backend keeps the decoded value.
 *
 * Two caches use it: embeddings (keyed by image sha256 + model + detection settings) and results
 * (keyed by the order-independent pair of image hashes + model + threshold + face policy).
 */

export interface CacheStats {
  backend: CacheBackend;
  hits: number;
  misses: number;
  /** Entries held now (for Redis: keys under this cache's prefix). */
  size: number;
  evictions: number;
  /** hits / (hits + misses), 0 when nothing was asked. */
  hit_ratio: number;
}

export type CacheBackend = 'memory' | 'redis' | 'off';

export interface Codec<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer): V;
}

export interface Cache<V> {
  readonly backend: CacheBackend;
  readonly name: string;
  get(key: string): Promise<V | undefined>;
  /** Stores with the cache's default TTL unless one is given (seconds). */
  set(key: string, value: V, ttlSeconds?: number): Promise<void>;
  /** Removes every entry of this cache; returns how many were removed. */
  clear(): Promise<number>;
  stats(): Promise<CacheStats>;
  close(): Promise<void>;
}
