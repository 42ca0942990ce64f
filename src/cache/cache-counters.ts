/** The hit, miss and eviction counts of one cache in this process, and the stats built from them. */
import type { CacheBackend, CacheStats } from './cache.js';

export class CacheCounters {
  hits = 0;
  misses = 0;
  evictions = 0;

  /** Counts a lookup and passes its value through. */
  count<V>(value: V | undefined): V | undefined {
    if (value === undefined) this.misses++;
    else this.hits++;
    return value;
  }

  stats(backend: CacheBackend, size: number): CacheStats {
    const asked = this.hits + this.misses;
    return {
      backend,
      hits: this.hits,
      misses: this.misses,
      size,
      evictions: this.evictions,
      hit_ratio: asked === 0 ? 0 : this.hits / asked,
    };
  }
}
