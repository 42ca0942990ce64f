/**
 * The image fetcher the service uses for URLs from callers: fetch-image's limits over the SSRF-guarded
 * dispatcher, built once and shared by every download (connections are kept alive per origin; each new
 * connection is checked when it is dialled).
 */
import type { Allowlist } from './address-policy.js';
import { DEFAULT_FETCH_OPTIONS, fetchImage } from './fetch-image.js';
import { createGuardedDispatcher, type ResolveHost } from './ssrf-guard.js';

export interface ImageFetcherOptions {
  maxBytes: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** A cap on the whole download, redirects included; default the sum of the three timeouts. */
  totalTimeoutMs?: number;
  /** Allow loopback, private, link-local … addresses (`ALLOW_PRIVATE_URLS`). */
  allowPrivate: boolean;
  /** Hosts and CIDR blocks allowed although private (`URL_ALLOWLIST`, parsed by `parseAllowlist`). */
  allowlist: Allowlist;
  /** Default 3. */
  maxRedirects?: number;
  /** For tests: resolve host names without real DNS. */
  lookup?: ResolveHost;
}

export interface ImageFetcher {
  /** Downloads an image; an aborted `signal` stops the download and rejects with its reason. */
  (url: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** Closes the kept-alive connections (at shutdown). */
  close: () => Promise<void>;
}

/**
 * Builds the SSRF-safe, size- and time-limited image downloader.
 *
 * @example
 * const fetchUrl = createImageFetcher({ maxBytes: 10 << 20, connectTimeoutMs: 5000, headersTimeoutMs: 10000,
 *   bodyTimeoutMs: 15000, allowPrivate: false, allowlist: parseAllowlist('') });
 * const bytes = await fetchUrl('https://example.com/face.jpg', task.signal);
 */
export function createImageFetcher(options: ImageFetcherOptions): ImageFetcher {
  const dispatcher = createGuardedDispatcher({
    allowPrivate: options.allowPrivate,
    allowlist: options.allowlist,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  const fetchOptions = Object.freeze({
    maxBytes: options.maxBytes,
    connectTimeoutMs: options.connectTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    maxRedirects: options.maxRedirects ?? DEFAULT_FETCH_OPTIONS.maxRedirects,
    ...(options.totalTimeoutMs === undefined ? {} : { totalTimeoutMs: options.totalTimeoutMs }),
    dispatcher,
  });
  const fetcher = (url: string, signal?: AbortSignal): Promise<Uint8Array> =>
    fetchImage(url, fetchOptions, signal);
  return Object.assign(fetcher, { close: () => dispatcher.close() });
}
