/**
 * The in-process cache: an LRU (`lru-cache`) bounded by entry count, with a default TTL. It is the
 * default backend when no Redis is configured; each process has its own.
 *
 * Values are kept as given, not encoded, so a hit costs no decoding: callers must treat what they put
 * in and get back as immutable (a caller that modifies a cached embedding modifies the cache).
 *
 * Counting: a lookup that finds nothing, or finds an expired entry, is a miss; an eviction is an entry
 * pushed out to make room at `maxEntries` (expiry and overwrites are not evictions).
 */
import { LRUCache } from 'lru-cache';
import type { Cache, CacheStats } from './cache.js';
import { CacheCounters } from './cache-counters.js';
import { checkCacheName, checkTtlSeconds } from './cache-options.js';

/** Runs synchronous work behind the async interface, turning a throw into a rejection as callers expect. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

export interface MemoryCacheOptions {
  name: string;
  /** The most entries held; the least recently used goes first. */
  maxEntries: number;
  /** Default time to live in seconds; 0 = no expiry. */
  ttlSeconds: number;
  /**
   * Milliseconds clock for TTLs; tests inject one to expire entries without waiting. It must return
   * values > 0: lru-cache reads an entry start time of 0 as "no TTL".
   */
  now?: () => number;
}

/**
 * @example
 * const cache = new MemoryCache<VerifyResult>({ name: 'results', maxEntries: 10_000, ttlSeconds: 3600 });
 * await cache.set(key, result);
 * await cache.get(key); // result
 */
export class MemoryCache<V> implements Cache<V> {
  readonly backend = 'memory' as const;
  readonly name: string;
  private readonly lru: LRUCache<string, { value: V }>;
  private readonly counters = new CacheCounters();

  constructor(options: MemoryCacheOptions) {
    this.name = checkCacheName(options.name);
    const ttlSeconds = checkTtlSeconds('ttlSeconds', options.ttlSeconds);
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.lru = new LRUCache<string, { value: V }>({
      max: options.maxEntries,
      ttl: ttlSeconds * 1000,
      // lru-cache reads its clock at most once per ttlResolution ms; an injected clock must be read
      // every time or a jump in it would be missed.
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.counters.evictions++;
      },
    });
  }

  get(key: string): Promise<V | undefined> {
    return settle(() => this.counters.count(this.lru.get(key)?.value));
  }

  set(key: string, value: V, ttlSeconds?: number): Promise<void> {
    return settle(() => {
      // Wrapped because lru-cache only holds non-nullish values and V may include null.
      const entry = { value };
      if (ttlSeconds === undefined) this.lru.set(key, entry);
      else this.lru.set(key, entry, { ttl: checkTtlSeconds('ttlSeconds', ttlSeconds) * 1000 });
    });
  }

  clear(): Promise<number> {
    return settle(() => {
      const held = this.heldEntries();
      this.lru.clear();
      return held;
    });
  }

  stats(): Promise<CacheStats> {
    return settle(() => this.counters.stats(this.backend, this.heldEntries()));
  }

  /** Drops every entry, so biometric data doesn't outlive the cache's use. */
  close(): Promise<void> {
    return settle(() => this.lru.clear());
  }

  /** Entries held and not expired (expired ones linger in lru-cache until touched). */
  private heldEntries(): number {
    this.lru.purgeStale();
    return this.lru.size;
  }
}
