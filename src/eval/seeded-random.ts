/**
 * Seeded pseudo-random numbers for the degradations and the benchmark's pair sample: the same seed
 * gives the same photos and pairs on every machine. mulberry32 (uniform) and Box–Muller (normal).
 */

/**
 * Uniform numbers in [0, 1) from a 32-bit seed (mulberry32).
 *
 * @example
 * const random = seededRandom(42);
 * random(); // the same first number on every run
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal numbers (mean 0, deviation 1) from a uniform source (Box–Muller, both values used).
 *
 * @example
 * const next = gaussian(seededRandom(7));
 * const noisy = 128 + 10 * next();
 */
export function gaussian(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * `count` distinct items of `items`, in their original order, chosen with a seeded shuffle.
 *
 * @example
 * seededSample([1, 2, 3, 4, 5], 2, 1); // the same two every run
 */
export function seededSample<T>(items: readonly T[], count: number, seed: number): T[] {
  const random = seededRandom(seed);
  const index = items.map((_, i) => i);
  for (let i = index.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [index[i], index[j]] = [index[j]!, index[i]!];
  }
  return index
    .slice(0, Math.min(count, items.length))
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}
