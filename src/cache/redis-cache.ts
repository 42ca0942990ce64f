/**
 * The shared cache on Redis, used when REDIS_URL is set so that every API and worker process sees the
 * same entries. Keys are `${prefix}${name}:${key}`; values are the codec's bytes, stored with
 * `SET key value EX ttl` and read with GETBUFFER.
 *
 * The cache is an optimisation, never a reason for a request to fail or stall: when Redis errors or
 * does not answer within `commandTimeoutMs`, `get` answers a miss and `set` does nothing, and the error
 * goes to `onError`. `clear()` and `stats()` are admin and monitoring calls and do reject (with
 * UNAVAILABLE), because answering "0 removed" or "size 0" when Redis is down would be a lie.
 *
 * What is counted where:
 * - hits and misses are this process's lookups (each process reports its own);
 * - size is the number of keys under this cache's prefix, counted by SCAN (never KEYS) and capped at
 *   `sizeCountLimit`, with `size_capped` saying when the cap was reached; SCAN walks the whole keyspace
 *   whatever the pattern, so it costs O(keys in the database);
 * - evictions are always 0: Redis evicts under `maxmemory` server-wide and does not say from which
 *   prefix; its `evicted_keys` counter is in INFO stats, served at /metrics/redis.
 */
import type { Redis } from 'ioredis';
import { FaceVerifyError } from '../errors.js';
import type { Cache, CacheStats, Codec } from './cache.js';
import { CacheCounters } from './cache-counters.js';
import { checkCacheName, checkTtlSeconds } from './cache-options.js';

export const DEFAULT_CACHE_PREFIX = 'faceverify:cache:';

export interface RedisCacheErrorContext {
  cache: string;
  /** `decode`: Redis answered, but the bytes were not a value of this codec (answered as a miss). */
  operation: 'get' | 'decode' | 'set';
}

export interface RedisCacheOptions<V> {
  /** A connected (or lazily connecting) client without `keyPrefix`; shared unless `ownsClient`. */
  client: Redis;
  name: string;
  codec: Codec<V>;
  /** Default time to live in seconds, rounded up to whole seconds; 0 = no expiry. */
  ttlSeconds: number;
  /** Defaults to DEFAULT_CACHE_PREFIX. */
  prefix?: string;
  /** When true, `close()` closes the client too. */
  ownsClient?: boolean;
  /** Called with each error that `get` or `set` turned into a miss or a no-op. Keys are hashes, values never included. */
  onError?: (err: unknown, context: RedisCacheErrorContext) => void;
  /** Longest wait for one Redis command before giving up on it (ms; 0 = wait as long as the client does). Default 500. */
  commandTimeoutMs?: number;
  /** Stop counting keys for `size` at this many. Default 100,000. */
  sizeCountLimit?: number;
  /** COUNT hint per SCAN call (keys examined per round trip). Default 1,000. */
  scanCount?: number;
}

export interface RedisCacheStats extends CacheStats {
  /** True when `size` stopped at `sizeCountLimit`: there are at least that many keys. */
  size_capped: boolean;
}

/** Thrown (internally) when Redis doesn't answer a command in time. */
class RedisCommandTimeout extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisCommandTimeout';
  }
}

/** Escapes the characters SCAN's MATCH treats as glob syntax, so a prefix matches only itself. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * @example
 * const cache = new RedisCache({ client: redis, name: 'embeddings', codec: embeddingCodec, ttlSeconds: 86_400 });
 * await cache.set(key, entry);
 * await cache.get(key); // entry, or undefined on a miss or when Redis is down
 */
export class RedisCache<V> implements Cache<V> {
  readonly backend = 'redis' as const;
  readonly name: string;
  /** Every key of this cache starts with this. */
  readonly keyPrefix: string;
  private readonly client: Redis;
  private readonly codec: Codec<V>;
  private readonly ttlSeconds: number;
  private readonly ownsClient: boolean;
  private readonly onError: RedisCacheOptions<V>['onError'];
  private readonly commandTimeoutMs: number;
  private readonly sizeCountLimit: number;
  private readonly scanCount: number;
  private readonly counters = new CacheCounters();
  private closed = false;

  constructor(options: RedisCacheOptions<V>) {
    this.name = checkCacheName(options.name);
    this.ttlSeconds = checkTtlSeconds('ttlSeconds', options.ttlSeconds);
    // ioredis applies keyPrefix to commands but not to SCAN patterns or results, so clear() would
    // UNLINK doubly-prefixed names and remove nothing.
    if (options.client.options.keyPrefix) {
      throw new RangeError('RedisCache needs a client without keyPrefix; use the prefix option instead');
    }
    this.client = options.client;
    this.codec = options.codec;
    this.keyPrefix = `${options.prefix ?? DEFAULT_CACHE_PREFIX}${this.name}:`;
    this.ownsClient = options.ownsClient ?? false;
    this.onError = options.onError;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 500;
    this.sizeCountLimit = options.sizeCountLimit ?? 100_000;
    this.scanCount = options.scanCount ?? 1000;
  }

  async get(key: string): Promise<V | undefined> {
    let bytes: Buffer | null;
    try {
      bytes = await this.bounded(this.client.getBuffer(this.keyPrefix + key));
    } catch (err) {
      this.report(err, 'get');
      return this.counters.count<V>(undefined);
    }
    if (bytes === null) return this.counters.count<V>(undefined);
    try {
      return this.counters.count(this.codec.decode(bytes));
    } catch (err) {
      // Bytes written by another codec version: a miss, overwritten by the caller's next set.
      this.report(err, 'decode');
      return this.counters.count<V>(undefined);
    }
  }

  async set(key: string, value: V, ttlSeconds?: number): Promise<void> {
    // A bad TTL is a bug in the caller, reported like the memory cache does, not a Redis problem.
    const ttl = Math.ceil(checkTtlSeconds('ttlSeconds', ttlSeconds ?? this.ttlSeconds));
    try {
      const bytes = this.codec.encode(value);
      const redisKey = this.keyPrefix + key;
      await this.bounded(
        ttl > 0 ? this.client.set(redisKey, bytes, 'EX', ttl) : this.client.set(redisKey, bytes),
      );
    } catch (err) {
      this.report(err, 'set');
    }
  }

  /** Removes this cache's keys with SCAN + UNLINK, one SCAN page per UNLINK; never KEYS or FLUSHDB. */
  async clear(): Promise<number> {
    let removed = 0;
    await this.unavailableOnError(() =>
      this.scan(async (keys) => {
        if (keys.length > 0) removed += await this.bounded(this.client.unlink(...keys));
        return true;
      }),
    );
    return removed;
  }

  async stats(): Promise<RedisCacheStats> {
    const seen = new Set<string>(); // SCAN may return a key twice while Redis rehashes
    await this.unavailableOnError(() =>
      this.scan((keys) => {
        for (const k of keys) {
          if (seen.size >= this.sizeCountLimit) return Promise.resolve(false);
          seen.add(k);
        }
        return Promise.resolve(true);
      }),
    );
    return {
      ...this.counters.stats(this.backend, seen.size),
      size_capped: seen.size >= this.sizeCountLimit,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // already broken: drop it without the QUIT round trip
    }
  }

  /** Walks SCAN over this cache's keys, page by page, until done or `onPage` answers false. */
  private async scan(onPage: (keys: string[]) => Promise<boolean>): Promise<void> {
    const pattern = `${globEscape(this.keyPrefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.bounded(
        this.client.scan(cursor, 'MATCH', pattern, 'COUNT', this.scanCount),
      );
      if (!(await onPage(keys))) return;
      cursor = next;
    } while (cursor !== '0');
  }

  private async unavailableOnError(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      throw new FaceVerifyError('UNAVAILABLE', `The ${this.name} cache's Redis is unavailable`, undefined, {
        cause: err,
      });
    }
  }

  /** The command's result, or a rejection after commandTimeoutMs (the command itself is left to finish). */
  private bounded<T>(command: Promise<T>): Promise<T> {
    const ms = this.commandTimeoutMs;
    if (ms <= 0) return command;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisCommandTimeout(ms)), ms);
    });
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }

  private report(err: unknown, operation: RedisCacheErrorContext['operation']): void {
    try {
      this.onError?.(err, { cache: this.name, operation });
    } catch {
      // A failing logger must not turn a cache miss into a failed request.
    }
  }
}
