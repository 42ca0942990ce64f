// The download's limits over real sockets on 127.0.0.1: size while streaming and from Content-Length,
// header, body and overall timeouts, upstream errors, redirect count, and the caller's abort. Time
// budgets are named below; every test < 2 s.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCode, fetcherFactory, LIMITS } from './fetch-support.js';
import { IMAGE_BYTES, startHostileServer, type HostileServer, type Streamed } from './hostile-server.js';

/** The short timeouts the timeout tests configure. */
const SHORT_MS = 200;
/** Slack for timers and scheduling on a loaded 2-core machine. */
const SLACK_MS = 400;
/**
 * undici runs its headers and body timeouts on coarse "fast timers" (lib/util/timers.js, RESOLUTION_MS):
 * they fire up to about a second late. Harmless for the service's 10–15 s timeouts; budgeted here.
 */
const UNDICI_TIMER_RESOLUTION_MS = 1_000;
/** How soon the client must hang up on an oversized body. */
const HANG_UP_MS = 1_000;

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

function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  ]);
}

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
    await withinMs(s.closed, HANG_UP_MS, 'the server noticing the hang-up');
    expect(s.finished).toBe(false);
    // The server would send 256 MB; socket buffers on loopback hold a few MB at most.
    expect(s.bytesWritten).toBeLessThan(16 * 1024 * 1024);
  });

  it('a Content-Length over the limit is refused before the body is read', async () => {
    // Wrong if it fails: a declared 1 GB image would be read (here: wait for a body that never comes).
    const fetch = fetchers.make({ allowPrivate: true, bodyTimeoutMs: 5_000, headersTimeoutMs: 5_000 });
    const { ms } = await timed(() => expectCode(fetch(server.url('/declared-huge')), 'IMAGE_TOO_LARGE'));
    expect(ms).toBeLessThan(SHORT_MS + SLACK_MS);
    await withinMs(lastStream('/declared-huge').closed, HANG_UP_MS, 'the server noticing the hang-up');
  });

  it('an image just under the limit downloads whole', async () => {
    // Wrong if it fails: the limit would be off by one or cut valid images.
    const fetch = fetchers.make({ allowPrivate: true, maxBytes: IMAGE_BYTES.byteLength });
    expect(Buffer.from(await fetch(server.url('/image')))).toEqual(IMAGE_BYTES);
  });
});

describe('timeouts', () => {
  const short = {
    allowPrivate: true,
    connectTimeoutMs: SHORT_MS,
    headersTimeoutMs: SHORT_MS,
    bodyTimeoutMs: SHORT_MS,
  };

  it('a server that never answers is DOWNLOAD_TIMEOUT after the headers timeout', async () => {
    // Wrong if it fails: a silent server would hold a worker until the task's own timeout.
    const fetch = fetchers.make({ ...short, bodyTimeoutMs: 5_000 });
    const { ms } = await timed(() => expectCode(fetch(server.url('/stall-headers')), 'DOWNLOAD_TIMEOUT'));
    expect(ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
    expect(ms).toBeLessThan(SHORT_MS + UNDICI_TIMER_RESOLUTION_MS + SLACK_MS);
  });

  it('a body that stalls is DOWNLOAD_TIMEOUT after the body timeout', async () => {
    // Wrong if it fails: a server sending headers and then nothing would hang the download.
    const fetch = fetchers.make({ ...short, headersTimeoutMs: 5_000 });
    const { ms } = await timed(() => expectCode(fetch(server.url('/stall-body')), 'DOWNLOAD_TIMEOUT'));
    expect(ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
    expect(ms).toBeLessThan(SHORT_MS + UNDICI_TIMER_RESOLUTION_MS + SLACK_MS);
    await withinMs(lastStream('/stall-body').closed, HANG_UP_MS, 'the server noticing the hang-up');
  });

  it('a body trickling a byte at a time is DOWNLOAD_TIMEOUT once connect + headers + body time is spent', async () => {
    // Each byte arrives well within the body timeout, so only the overall cap stops it. Wrong if it
    // fails: a slow-loris server could keep a download going forever.
    const fetch = fetchers.make(short);
    const { ms } = await timed(() => expectCode(fetch(server.url('/trickle')), 'DOWNLOAD_TIMEOUT'));
    expect(ms).toBeGreaterThanOrEqual(3 * SHORT_MS - 20);
    expect(ms).toBeLessThan(3 * SHORT_MS + SLACK_MS);
  });

  it('totalTimeoutMs caps the whole download below the sum of the other timeouts', async () => {
    // Wrong if it fails: DOWNLOAD_TIMEOUT_S ("in all") could not be enforced as one budget.
    const fetch = fetchers.make({ ...short, connectTimeoutMs: 1_000, totalTimeoutMs: SHORT_MS });
    const { ms } = await timed(() => expectCode(fetch(server.url('/trickle')), 'DOWNLOAD_TIMEOUT'));
    expect(ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
    expect(ms).toBeLessThan(SHORT_MS + SLACK_MS);
  });

  it('the caller aborting stops the download at once, with the caller’s reason', async () => {
    // Wrong if it fails: a task that timed out or was cancelled would keep downloading in the background.
    const fetch = fetchers.make({ allowPrivate: true, headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
    const controller = new AbortController();
    const reason = new Error('task cancelled');
    setTimeout(() => controller.abort(reason), 50);
    const { value, ms } = await timed(() =>
      fetch(server.url('/stall-body'), controller.signal).catch((e: unknown) => e),
    );
    expect(value).toBe(reason);
    expect(ms).toBeLessThan(50 + SLACK_MS);
    await withinMs(lastStream('/stall-body').closed, HANG_UP_MS, 'the server noticing the hang-up');
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
