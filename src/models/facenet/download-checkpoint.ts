/**
 * Downloads a model file into memory, with progress, a size limit and an idle timeout.
 *
 * This is for files an operator asks for by URL (`faceverify models pull`), not for request-time
 * image URLs, which go through src/fetch's SSRF guard. Redirects are followed (release assets are
 * served through one).
 */
import { FaceVerifyError } from '../../errors.js';

export interface DownloadOptions {
  /** Refuse bodies larger than this (default 1 GiB). */
  maxBytes?: number;
  /** Give up when no data arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Called as data arrives; `total` is the Content-Length when the server sent one. */
  onProgress?: (received: number, total: number | undefined) => void;
}

const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Fetches `url` into memory.
 *
 * @example
 * const bytes = await downloadFile(url, { onProgress: (n, total) => bar.update(n, total) });
 */
export async function downloadFile(url: string, options: DownloadOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FaceVerifyError('INVALID_INPUT', `Not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new FaceVerifyError('INVALID_INPUT', 'Only http and https URLs can be downloaded');
  }
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, idleMs);
  };
  const failed = (err: unknown, what: string): FaceVerifyError =>
    err instanceof FaceVerifyError
      ? err
      : timedOut
        ? new FaceVerifyError('DOWNLOAD_TIMEOUT', `No data from ${parsed.host} for ${idleMs / 1000} s`)
        : new FaceVerifyError('DOWNLOAD_FAILED', `${what} ${parsed.host} failed`, undefined, { cause: err });
  arm();
  try {
    let response: Response;
    try {
      response = await fetch(parsed, { redirect: 'follow', signal: controller.signal });
    } catch (err) {
      throw failed(err, 'Connecting to');
    }
    if (!response.ok || !response.body) {
      throw new FaceVerifyError('DOWNLOAD_FAILED', `${parsed.host} answered HTTP ${response.status}`);
    }
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    if (total !== undefined && total > maxBytes) {
      throw new FaceVerifyError('DOWNLOAD_FAILED', `The file is ${total} bytes, more than ${maxBytes}`);
    }
    const chunks: Uint8Array[] = [];
    let received = 0;
    try {
      // Node's fetch types the body as ReadableStream<any>; its chunks are Uint8Arrays.
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        received += value.length;
        if (received > maxBytes) {
          await reader.cancel();
          throw new FaceVerifyError('DOWNLOAD_FAILED', `The file is larger than ${maxBytes} bytes`);
        }
        chunks.push(value);
        options.onProgress?.(received, total);
      }
    } catch (err) {
      controller.abort();
      throw failed(err, 'Downloading from');
    }
    if (total !== undefined && received !== total) {
      throw new FaceVerifyError('DOWNLOAD_FAILED', `Got ${received} of ${total} bytes`);
    }
    const out = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}
