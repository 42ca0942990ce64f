/**
 * Minimal photo degradations for the quality benchmark (sharp, in memory, deterministic): what phone
 * photos, scans and re-saves do to a face. A fuller set for `faceverify eval --degrade` is being written
 * as src/eval/degrade.ts on another branch; this file is the bench's own until that lands.
 */
import sharp, { type Sharp } from 'sharp';
import { prng } from '../../test/support/prng.js';

export interface Degradation {
  name: string;
  apply(bytes: Uint8Array, seed: number): Promise<Buffer>;
}

const png = (s: Sharp): Promise<Buffer> => s.png({ compressionLevel: 1 }).toBuffer();

/** Gaussian noise of standard deviation `sigma` grey levels on every channel (Box–Muller, seeded). */
async function addNoise(bytes: Uint8Array, sigma: number, seed: number): Promise<Buffer> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rand = prng(seed);
  for (let i = 0; i < data.length; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    data[i] = Math.max(0, Math.min(255, Math.round(data[i]! + sigma * g)));
  }
  return png(sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }));
}

/** The degradations of the fit, each applied to the second photo of a pair. */
export const DEGRADATIONS: Degradation[] = [
  { name: 'blur-2', apply: (b) => png(sharp(b).blur(2)) },
  { name: 'blur-4', apply: (b) => png(sharp(b).blur(4)) },
  { name: 'blur-6', apply: (b) => png(sharp(b).blur(6)) },
  { name: 'dark-22', apply: (b) => png(sharp(b).linear(0.22, 0)) },
  { name: 'dark-10', apply: (b) => png(sharp(b).linear(0.1, 0)) },
  { name: 'bright', apply: (b) => png(sharp(b).linear(1.6, 70)) },
  { name: 'low-contrast', apply: (b) => png(sharp(b).linear(0.25, 96)) },
  { name: 'small-140', apply: (b) => png(sharp(b).resize(140)) },
  { name: 'lowres-60', apply: async (b) => png(sharp(await sharp(b).resize(60).toBuffer()).resize(250)) },
  { name: 'lowres-40', apply: async (b) => png(sharp(await sharp(b).resize(40).toBuffer()).resize(250)) },
  { name: 'jpeg-5', apply: (b) => sharp(b).jpeg({ quality: 5 }).toBuffer() },
  { name: 'noise-20', apply: (b, seed) => addNoise(b, 20, seed) },
  { name: 'noise-40', apply: (b, seed) => addNoise(b, 40, seed) },
  { name: 'tilt-25', apply: (b) => png(sharp(b).rotate(25, { background: '#000' })) },
];
