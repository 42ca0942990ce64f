// The download's limits over real sockets on 127.0.0.1: size while streaming and from Content-Length,
// header, body and overall timeouts, upstream errors, redirect count, and the caller's abort. Every
// test < 3 s. Which limit stopped a download is read from the error's cause (undici's headers or body
// timeout, the overall AbortSignal timeout, the caller's reason), not from how long it took: the
// limits not under test are set beyond the test's own timeout, and elapsed time is only checked from
// below (a busy machine makes everything later, never earlier).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCode, fetcherFactory, LIMITS } from './fetch-support.js';
import {
  IMAGE_BYTES,
  startHostileServer,
  TRICKLE_MS,
  type HostileServer,
  type Streamed,
} from './hostile-server.js';

/** The short timeout under test. */
const SHORT_MS = 200;
/** A timeout that must not be the one that fires: beyond any test's run, so reaching it is a hang. */
const NEVER_MS = 10 * 60_000;

/** What ended a download: undici's error code, or the name of an AbortSignal reason. */
function causeOf(err: Error): string {
  const cause = err.cause as { code?: unknown; name?: unknown } | undefined;
  // undici's errors have a string code; a DOMException's code is a legacy number, its name says it.
  return String(typeof cause?.code === 'string' ? cause.code : cause?.name);
}

let server: HostileServer;
const fetchers = fetcherFactory();
beforeAll(async () => {
  server = await startHostileServer();
});
afterEach(() => fetchers.closeAll());
afterAll(() => server.close());

const lastStream = (path: string): Streamed => {
  const s = server.streams.filter((x) => x.path === path).at(-1);
  if (!s) throw new Error(`no stream for ${path}`);
  return s;
};

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

describe('size limit', () => {
  it('a body over the limit without Content-Length is IMAGE_TOO_LARGE and the connection is closed early', async () => {
    // Wrong if it fails: a server streaming without end would fill the service's memory, or keep its socket.
    const fetch = fetchers.make({ allowPrivate: true });
    const err = await expectCode(fetch(server.url('/endless')), 'IMAGE_TOO_LARGE');
    expect(err.details).toEqual({ max_bytes: LIMITS.maxBytes });
    const s = lastStream('/endless');
    await s.closed; // the server notices the hang-up
    expect(s.finished).toBe(false);
    // The server would send 256 MB; socket buffers on loopback hold a few MB at most.
    expect(s.bytesWritten).toBeLessThan(16 * 1024 * 1024);
  });

  it('a Content-Length over the limit is refused before the body is read', async () => {
    // Wrong if it fails: a declared 1 GB image would be read (here: wait for a body that never comes,
    // until the test's hang guard).
    const fetch = fetchers.make({ allowPrivate: true, bodyTimeoutMs: NEVER_MS, headersTimeoutMs: NEVER_MS });
    await expectCode(fetch(server.url('/declared-huge')), 'IMAGE_TOO_LARGE');
    await lastStream('/declared-huge').closed; // the server notices the hang-up
  });

  it('an image just under the limit downloads whole', async () => {
    // Wrong if it fails: the limit would be off by one or cut valid images.
    const fetch = fetchers.make({ allowPrivate: true, maxBytes: IMAGE_BYTES.byteLength });
    expect(Buffer.from(await fetch(server.url('/image')))).toEqual(IMAGE_BYTES);
  });
});

describe('timeouts', () => {
  const only = {
    allowPrivate: true,
    connectTimeoutMs: NEVER_MS,
    headersTimeoutMs: NEVER_MS,
    bodyTimeoutMs: NEVER_MS,
  };

  it('a server that never answers is DOWNLOAD_TIMEOUT after the headers timeout', async () => {
    // Wrong if it fails: a silent server would hold a worker until the task's own timeout.
    const fetch = fetchers.make({ ...only, headersTimeoutMs: SHORT_MS });
    const { value: err, ms } = await timed(() =>
      expectCode(fetch(server.url('/stall-headers')), 'DOWNLOAD_TIMEOUT'),
    );
    expect(causeOf(err)).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
  });

  it('a body that stalls is DOWNLOAD_TIMEOUT after the body timeout', async () => {
    // Wrong if it fails: a server sending headers and then nothing would hang the download.
    const fetch = fetchers.make({ ...only, bodyTimeoutMs: SHORT_MS });
    const { value: err, ms } = await timed(() =>
      expectCode(fetch(server.url('/stall-body')), 'DOWNLOAD_TIMEOUT'),
    );
    expect(causeOf(err)).toBe('UND_ERR_BODY_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
    await lastStream('/stall-body').closed; // the server notices the hang-up
  });

  it('a body trickling a byte at a time is DOWNLOAD_TIMEOUT once connect + headers + body time is spent', async () => {
    // Each byte (every TRICKLE_MS) arrives well within the body timeout, so only the overall cap
    // stops it. Wrong if it fails: a slow-loris server could keep a download going forever. The body
    // timeout is 40 bytes' time, so that only a stall of the whole process that long could let it fire.
    const bodyMs = 40 * TRICKLE_MS;
    const fetch = fetchers.make({
      allowPrivate: true,
      connectTimeoutMs: SHORT_MS,
      headersTimeoutMs: SHORT_MS,
      bodyTimeoutMs: bodyMs,
    });
    const { value: err, ms } = await timed(() =>
      expectCode(fetch(server.url('/trickle')), 'DOWNLOAD_TIMEOUT'),
    );
    expect(causeOf(err), 'the overall cap, not the body timeout').toBe('TimeoutError');
    expect(ms).toBeGreaterThanOrEqual(2 * SHORT_MS + bodyMs - 20);
  });

  it('totalTimeoutMs caps the whole download below the sum of the other timeouts', async () => {
    // Wrong if it fails: DOWNLOAD_TIMEOUT_S ("in all") could not be enforced as one budget.
    const fetch = fetchers.make({ ...only, totalTimeoutMs: SHORT_MS });
    const { value: err, ms } = await timed(() =>
      expectCode(fetch(server.url('/trickle')), 'DOWNLOAD_TIMEOUT'),
    );
    expect(causeOf(err)).toBe('TimeoutError');
    expect(ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
  });

  it('the caller aborting stops the download at once, with the caller’s reason', async () => {
    // Wrong if it fails: a task that timed out or was cancelled would keep downloading in the background.
    const fetch = fetchers.make(only);
    const controller = new AbortController();
    const reason = new Error('task cancelled');
    setTimeout(() => controller.abort(reason), 50);
    const value = await fetch(server.url('/stall-body'), controller.signal).catch((e: unknown) => e);
    expect(value).toBe(reason);
    await lastStream('/stall-body').closed; // the server notices the hang-up
    // Already aborted: nothing is dialled.
    const before = server.connections;
    await expect(fetch(server.url('/image'), controller.signal)).rejects.toBe(reason);
    expect(server.connections).toBe(before);
  });
});

describe('upstream answers', () => {
  it.each([404, 500, 403])('HTTP %i is DOWNLOAD_FAILED with upstream_status', async (status) => {
    // Wrong if it fails: callers could not tell a missing image from a broken service.
    const err = await expectCode(
      fetchers.make({ allowPrivate: true })(server.url(`/status/${status}`)),
      'DOWNLOAD_FAILED',
    );
    expect(err.details).toEqual({ upstream_status: status });
  });

  it('follows 3 redirects, and refuses a 4th with DOWNLOAD_FAILED', async () => {
    // Wrong if it fails: a redirect loop would keep the fetcher busy, or normal redirects would break.
    const fetch = fetchers.make({ allowPrivate: true });
    expect(Buffer.from(await fetch(server.url('/chain/3')))).toEqual(IMAGE_BYTES);
    const before = server.requests.length;
    const err = await expectCode(fetch(server.url('/chain/4')), 'DOWNLOAD_FAILED');
    expect(err.message).toMatch(/More than 3 redirects/);
    expect(server.requests.length - before).toBe(4); // the 4th redirect is not followed
  });

  it('a redirect to a malformed URL is DOWNLOAD_FAILED', async () => {
    // Wrong if it fails: a hostile Location header would surface as an internal error.
    const fetch = fetchers.make({ allowPrivate: true });
    await expectCode(
      fetch(server.url(`/redirect?to=${encodeURIComponent('http://[bad')}`)),
      'DOWNLOAD_FAILED',
    );
  });
});
