/**
 * HEIC decoding cost (not a test): a 12 MP (4000×3000) photo-like picture — a mosaic of 48 LFW photos
 * with mild noise, so the encoder has detail everywhere as in a phone photo — saved as HEIC (heif-enc,
 * quality 50) and as JPEG (quality 90, the peer), each decoded by `decodeImage` (to 1920 px, as the
 * service does). Prints medians and spread, the HEIC thread's cold start, and the process's RSS.
 *
 *   npx tsx bench/heic-decode.ts [--runs 10]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { degrade } from '../src/eval/degrade.js';
import { encodeHeic } from '../src/eval/heic-encoder.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS } from '../src/pipeline/decode.js';
import { heicDecoder } from '../src/pipeline/heic-decoder.js';
import { FACES_DIR } from './faces-dir.js';
import { stats } from './stats.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 10);
// A generous limit: the point is to measure, and the machine may be shared.
const options = { ...DEFAULT_DECODE_OPTIONS, timeoutSeconds: 120 };

async function mosaic(): Promise<Buffer> {
  const people = readdirSync(join(FACES_DIR, 'lfw/images')).sort().slice(0, 48);
  const tiles = await Promise.all(
    people.map(async (name, i) => {
      const dir = join(FACES_DIR, 'lfw/images', name);
      const file = join(dir, readdirSync(dir).sort()[0]!);
      return {
        input: await sharp(readFileSync(file)).resize(500, 500).toBuffer(),
        left: (i % 8) * 500,
        top: Math.floor(i / 8) * 500,
      };
    }),
  );
  const png = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080' } })
    .composite(tiles)
    .png()
    .toBuffer();
  return degrade(png, { kind: 'noise', sigma: 3 }, { seed: 1 });
}

async function time(bytes: Uint8Array): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await decodeImage(bytes, options);
    out.push(performance.now() - t);
  }
  return out;
}

const picture = await mosaic();
const jpeg = await sharp(picture).jpeg({ quality: 90 }).toBuffer();
const heic = await encodeHeic(await sharp(picture).png().toBuffer(), 50);
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
await decodeImage(heic, options);
const cold = performance.now() - t0;
const heicMs = stats(await time(heic));
const jpegMs = stats(await time(jpeg));
const rss1 = process.memoryUsage().rss;
console.log(
  `machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version} (shared with other jobs: compare the ratio)`,
);
console.log(
  `12 MP HEIC ${(heic.length / 1e6).toFixed(2)} MB, JPEG q90 ${(jpeg.length / 1e6).toFixed(2)} MB, ${runs} runs each`,
);
console.log(`HEIC first decode (thread start + module load + decode): ${cold.toFixed(0)} ms`);
console.log(
  `HEIC decode: median ${heicMs.median.toFixed(0)} ms (min ${heicMs.min.toFixed(0)}, p90 ${heicMs.p90.toFixed(0)})`,
);
console.log(
  `JPEG decode: median ${jpegMs.median.toFixed(0)} ms (min ${jpegMs.min.toFixed(0)}, p90 ${jpegMs.p90.toFixed(0)})`,
);
console.log(`ratio HEIC / JPEG: ${(heicMs.median / jpegMs.median).toFixed(1)}×`);
console.log(
  `RSS before the first HEIC ${(rss0 / 1e6).toFixed(0)} MB, after ${(rss1 / 1e6).toFixed(0)} MB (the decoder thread and its wasm heap)`,
);
await heicDecoder().close();
