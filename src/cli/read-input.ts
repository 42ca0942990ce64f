/** CLI inputs are file paths or http(s) URLs; both become bytes for the pipeline. */
import { readFile } from 'node:fs/promises';
import { FaceVerifyError } from '../errors.js';

export async function readInput(input: string, maxBytes: number): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(input)) {
    // Loaded on use: undici is not needed (nor paid for at start-up) for local files.
    const { DEFAULT_FETCH_OPTIONS, fetchImage } = await import('../fetch/fetch-image.js');
    return fetchImage(input, { ...DEFAULT_FETCH_OPTIONS, maxBytes });
  }
  try {
    const bytes = await readFile(input);
    if (bytes.byteLength > maxBytes) {
      throw new FaceVerifyError('IMAGE_TOO_LARGE', `${input} is larger than ${maxBytes} bytes`);
    }
    return bytes;
  } catch (err) {
    if (err instanceof FaceVerifyError) throw err;
    throw new FaceVerifyError(
      'INVALID_INPUT',
      `Cannot read ${input}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
