/** Order statistics of benchmark samples (nearest-rank quantiles, rounded to 0.01). */
export interface Stats {
  median: number;
  p90: number;
  p99: number;
  min: number;
  n: number;
}

/**
 * Median, p90, p99 and minimum of a sample.
 *
 * @example
 * stats([3, 1, 2]); // { median: 2, p90: 3, p99: 3, min: 1, n: 3 }
 */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  const r = (v: number): number => Math.round(v * 100) / 100;
  return { median: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), min: r(s[0] as number), n: s.length };
}

/** The median of a sample, unrounded. */
export function median(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
