/**
 * HEIC encoding for the benchmark's HEIC row and tests. Nothing on npm encodes HEVC without a
 * download (sharp's prebuilt libvips and libheif-js decode only), so this runs libheif's `heif-enc`
 * (Debian package `libheif-examples`, with x265) when it is on PATH; without it the HEIC row is
 * skipped and says why.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FaceVerifyError } from '../errors.js';

const run = promisify(execFile);

let available: Promise<boolean> | undefined;

/** Whether `heif-enc` runs here and has an HEVC encoder (checked once). */
export function haveHeicEncoder(): Promise<boolean> {
  available ??= run('heif-enc', ['--list-encoders'], { timeout: 10_000 }).then(
    ({ stdout }) => /HEIC encoders:\s*\n\s*-/.test(stdout),
    () => false,
  );
  return available;
}

/**
 * Encodes a PNG or JPEG as HEIC (HEVC, 4:2:0, as phones write it) with heif-enc at `quality` (0–100).
 *
 * @example
 * const heic = await encodeHeic(await sharp(photo).png().toBuffer(), 50);
 */
export async function encodeHeic(image: Uint8Array, quality: number): Promise<Buffer> {
  if (!(await haveHeicEncoder())) {
    throw new FaceVerifyError(
      'UNSUPPORTED_FORMAT',
      'HEIC encoding needs heif-enc (Debian: apt-get install libheif-examples)',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'faceverify-heic-'));
  try {
    const input = join(dir, 'in.png');
    const output = join(dir, 'out.heic');
    await writeFile(input, image);
    await run('heif-enc', ['-q', String(Math.round(quality)), '-o', output, input], {
      timeout: 600_000,
    });
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
