/**
 * Downloading an image from an http(s) URL with limits: only http and https, at most `maxRedirects`
 * redirects (each hop is checked again), timeouts for connecting, for the headers and for the body, and
 * a byte limit enforced while streaming (a lying or missing Content-Length cannot get past it). The
 * bytes' format is decided later by their magic numbers, never by Content-Type.
 *
 * Which addresses may be dialled is decided by the dispatcher passed in (ssrf-guard.ts; image-fetcher.ts
 * puts the two together for untrusted URLs); this module owns the protocol rules and the limits. Without
 * a dispatcher any address is dialled, which suits the CLI but not a service.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { FaceVerifyError } from '../errors.js';

export interface FetchImageOptions {
  maxBytes: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxRedirects: number;
  /** A cap on the whole download, redirects included; default connect + headers + body timeouts. */
  totalTimeoutMs?: number;
  dispatcher?: Dispatcher;
}

export const DEFAULT_FETCH_OPTIONS: FetchImageOptions = {
  maxBytes: 10 * 1024 * 1024,
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 15_000,
  maxRedirects: 3,
};

const defaultAgents = new WeakMap<FetchImageOptions, Dispatcher>();

function agentFor(options: FetchImageOptions): Dispatcher {
  if (options.dispatcher) return options.dispatcher;
  let agent = defaultAgents.get(options);
  if (!agent) {
    agent = new Agent({ connect: { timeout: options.connectTimeoutMs } });
    defaultAgents.set(options, agent);
  }
  return agent;
}

/** Parses and checks a URL: http or https only, no credentials. */
export function parseImageUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FaceVerifyError('INVALID_INPUT', 'The image URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FaceVerifyError('URL_NOT_ALLOWED', 'Only http and https image URLs are accepted');
  }
  if (url.username || url.password) {
    throw new FaceVerifyError('URL_NOT_ALLOWED', 'Image URLs with credentials are not accepted');
  }
  return url;
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  return /TIMEOUT/i.test(code) || (err instanceof Error && err.name === 'TimeoutError');
}

/**
 * Downloads an image's bytes. If `signal` aborts, the download stops (its socket is closed) and the
 * promise rejects with the signal's reason.
 *
 * @example
 * const bytes = await fetchImage('https://example.com/face.jpg', DEFAULT_FETCH_OPTIONS);
 */
export async function fetchImage(
  rawUrl: string,
  options: FetchImageOptions = DEFAULT_FETCH_OPTIONS,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  signal?.throwIfAborted();
  try {
    return await download(rawUrl, options, signal);
  } catch (err) {
    // Whatever undici made of the abort, the caller gets back the reason it aborted with.
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

async function download(
  rawUrl: string,
  options: FetchImageOptions,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  let url = parseImageUrl(rawUrl);
  const dispatcher = agentFor(options);
  // A cap on the whole download: bodyTimeout alone is per chunk, and a server trickling a byte a second
  // would otherwise never time out.
  const timeout = AbortSignal.timeout(
    options.totalTimeoutMs ?? options.connectTimeoutMs + options.headersTimeoutMs + options.bodyTimeoutMs,
  );
  const deadline = signal ? AbortSignal.any([signal, timeout]) : timeout;
  for (let hop = 0; ; hop++) {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'GET',
        dispatcher,
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
        signal: deadline,
        headers: { accept: 'image/*', 'user-agent': 'faceverify' },
      });
    } catch (err) {
      if (err instanceof FaceVerifyError) throw err;
      if (isTimeout(err)) {
        throw new FaceVerifyError('DOWNLOAD_TIMEOUT', 'Downloading the image timed out', undefined, {
          cause: err,
        });
      }
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof FaceVerifyError) throw cause;
      throw new FaceVerifyError('DOWNLOAD_FAILED', 'The image could not be downloaded', undefined, {
        cause: err,
      });
    }
    const { statusCode, headers, body } = res;
    if (statusCode >= 300 && statusCode < 400 && headers.location) {
      discard(body);
      if (hop >= options.maxRedirects) {
        throw new FaceVerifyError('DOWNLOAD_FAILED', `More than ${options.maxRedirects} redirects`);
      }
      const location = Array.isArray(headers.location) ? headers.location[0] : headers.location;
      let next: URL;
      try {
        next = new URL(location ?? '', url);
      } catch {
        throw new FaceVerifyError('DOWNLOAD_FAILED', 'The image server redirected to an invalid URL');
      }
      url = parseImageUrl(next.toString());
      continue;
    }
    if (statusCode !== 200) {
      discard(body);
      throw new FaceVerifyError('DOWNLOAD_FAILED', `The image server answered HTTP ${statusCode}`, {
        upstream_status: statusCode,
      });
    }
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      discard(body);
      throw tooLarge(options.maxBytes);
    }
    return readLimited(body, options.maxBytes);
  }
}

/**
 * Drops a response body we will not read, closing its connection. undici turns `destroy()` without an
 * error into an 'error' event ("Request aborted"); with no listener that would be an uncaught exception
 * and take the process down, so one is attached first.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function tooLarge(max: number): FaceVerifyError {
  return new FaceVerifyError(
    'IMAGE_TOO_LARGE',
    `The image is larger than ${Math.round(max / 1024 / 1024)} MB`,
    {
      max_bytes: max,
    },
  );
}

async function readLimited(body: Dispatcher.ResponseData['body'], max: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      total += buf.byteLength;
      if (total > max) {
        discard(body);
        throw tooLarge(max);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof FaceVerifyError) throw err;
    if (isTimeout(err)) {
      throw new FaceVerifyError('DOWNLOAD_TIMEOUT', 'Downloading the image timed out', undefined, {
        cause: err,
      });
    }
    throw new FaceVerifyError('DOWNLOAD_FAILED', 'The image download broke off', undefined, { cause: err });
  }
  const out = Buffer.concat(chunks, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
