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

/**
 * Microseconds this machine takes to map in one fresh 4 KiB page (the first write to new memory),
 * median of 5 rounds of 64 MiB: the time of the first fill minus the second. Virtual machines differ
 * by 50× here (about 0.2 µs on bare metal, 10–14 µs measured on the 2-core development VM), and it
 * moves a cold start and allocation-heavy code more than anything in them does, so benchmarks report it
 * beside their figures.
 */
export function pageFaultMicros(): number {
  const size = 64 * 2 ** 20;
  const rounds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const buf = Buffer.allocUnsafeSlow(size); // malloc: fresh pages, not yet written
    const t0 = performance.now();
    buf.fill(1);
    const t1 = performance.now();
    buf.fill(2);
    const t2 = performance.now();
    rounds.push(((t1 - t0 - (t2 - t1)) * 1000) / (size / 4096));
  }
  return Math.round(median(rounds) * 100) / 100;
}
