// SSRF protection over real sockets on 127.0.0.1 only: which addresses a download may dial, checked on
// the address dialled, for literal IPs, names, redirects and DNS rebinding. Every test < 500 ms.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, buildConnector } from 'undici';
import { parseAllowlist } from '../../../src/fetch/address-policy.js';
import { DEFAULT_FETCH_OPTIONS, fetchImage } from '../../../src/fetch/fetch-image.js';
import { guardConnector } from '../../../src/fetch/ssrf-guard.js';
import { expectCode, fetcherFactory, hostTable } from './fetch-support.js';
import { IMAGE_BYTES, startHostileServer, type HostileServer } from './hostile-server.js';

let server: HostileServer;
const fetchers = fetcherFactory();
beforeAll(async () => {
  server = await startHostileServer();
});
afterEach(() => fetchers.closeAll());
afterAll(() => server.close());

/** Runs `fn` and returns how many connections and requests reached the server meanwhile. */
async function traffic(fn: () => Promise<unknown>): Promise<{ connections: number; requests: number }> {
  const before = { connections: server.connections, requests: server.requests.length };
  await fn();
  return {
    connections: server.connections - before.connections,
    requests: server.requests.length - before.requests,
  };
}

describe('literal addresses', () => {
  it.each([
    ['127.0.0.1', (port: number) => `http://127.0.0.1:${port}/image`],
    ['[::1]', (port: number) => `http://[::1]:${port}/image`],
    ['decimal 2130706433', (port: number) => `http://2130706433:${port}/image`],
    ['hex 0x7f.1', (port: number) => `http://0x7f.1:${port}/image`],
    ['short 127.1', (port: number) => `http://127.1:${port}/image`],
    ['mapped [::ffff:127.0.0.1]', (port: number) => `http://[::ffff:127.0.0.1]:${port}/image`],
    ['unspecified 0.0.0.0', (port: number) => `http://0.0.0.0:${port}/image`],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/'],
    ['mapped metadata', () => 'http://[::ffff:a9fe:a9fe]/latest/meta-data/'],
    ['private 10.0.0.1', () => 'https://10.0.0.1/'],
    ['https 127.0.0.1', (port: number) => `https://127.0.0.1:${port}/image`],
  ])('refuses %s with URL_NOT_ALLOWED before connecting', async (_name, url) => {
    // Wrong if it fails: a caller could make the service open connections to itself or its network.
    const lookup = hostTable({});
    const fetch = fetchers.make({ lookup });
    const seen = await traffic(() => expectCode(fetch(url(server.port)), 'URL_NOT_ALLOWED'));
    expect(seen).toEqual({ connections: 0, requests: 0 });
    expect(lookup.calls).toEqual({}); // literals are judged as they are, not resolved
  });

  it('allows loopback with allowPrivate, or when the address or its block is allowlisted', async () => {
    // Wrong if it fails: ALLOW_PRIVATE_URLS and URL_ALLOWLIST could not open intranet sources (or tests).
    for (const options of [
      { allowPrivate: true },
      { allowlist: '127.0.0.1' },
      { allowlist: '127.0.0.0/8' },
    ]) {
      const bytes = await fetchers.make(options)(server.url('/image'));
      expect(Buffer.from(bytes)).toEqual(IMAGE_BYTES);
    }
  });
});

describe('host names', () => {
  it('refuses a name resolving to loopback; the server sees no connection', async () => {
    // Wrong if it fails: checking only the URL's text would let `rebind.test` → 127.0.0.1 through.
    const lookup = hostTable({
      'rebind.test': ['127.0.0.1'],
      'v6.test': ['::1'],
      'mapped.test': ['::ffff:7f00:1'],
    });
    const fetch = fetchers.make({ lookup });
    for (const host of ['rebind.test', 'v6.test', 'mapped.test']) {
      const seen = await traffic(() => expectCode(fetch(server.urlFor(host, '/image')), 'URL_NOT_ALLOWED'));
      expect(seen).toEqual({ connections: 0, requests: 0 });
    }
    // https goes through tls.connect, which must consult the same lookup (refused before any handshake).
    const tls = await traffic(() =>
      expectCode(fetch(`https://rebind.test:${server.port}/image`), 'URL_NOT_ALLOWED'),
    );
    expect(tls).toEqual({ connections: 0, requests: 0 });
  });

  it('refuses a name if ANY of its addresses is forbidden, even when the others are allowed', async () => {
    // Wrong if it fails: happy eyeballs could fall back to the forbidden address. (::1 stands in for a
    // public address here, being allowlisted, so that nothing but loopback is ever dialled.)
    const lookup = hostTable({ 'mixed.test': ['::1', '127.0.0.1'] });
    const fetch = fetchers.make({ lookup, allowlist: '::1' });
    const seen = await traffic(() =>
      expectCode(fetch(server.urlFor('mixed.test', '/image')), 'URL_NOT_ALLOWED'),
    );
    expect(seen).toEqual({ connections: 0, requests: 0 });
  });

  it('allows a private address for an allowlisted host name or *.domain', async () => {
    // Wrong if it fails: an intranet image host could not be allowlisted by name.
    const lookup = hostTable({ 'images.intranet': ['127.0.0.1'], 'cdn.corp.test': ['127.0.0.1'] });
    const fetch = fetchers.make({ lookup, allowlist: 'IMAGES.intranet,*.corp.test' });
    expect(Buffer.from(await fetch(server.urlFor('images.intranet', '/image')))).toEqual(IMAGE_BYTES);
    expect(Buffer.from(await fetch(server.urlFor('cdn.corp.test', '/image')))).toEqual(IMAGE_BYTES);
    await expectCode(fetch(server.urlFor('corp.test', '/image')), 'DOWNLOAD_FAILED'); // not in the table
  });

  it('an unknown host is DOWNLOAD_FAILED, not a crash', async () => {
    // Wrong if it fails: a typo in a URL would surface as an internal error.
    await expectCode(fetchers.make()(server.urlFor('nowhere.test', '/image')), 'DOWNLOAD_FAILED');
  });
});

describe('DNS rebinding', () => {
  it('dials the address it checked: one resolution per connection, and a rebind on the next is refused', async () => {
    // 127.0.0.1 (allowlisted) plays the public address; the rebind answers ::1 (forbidden, and no server
    // listens there on this port). Wrong if it fails: if the guard resolved once to check and Node
    // resolved again to dial, the first download would go to ::1 and fail, or the lookup would run twice.
    const lookup = hostTable({ 'rebind.test': (n) => (n === 1 ? ['127.0.0.1'] : ['::1']) });
    const fetch = fetchers.make({ lookup, allowlist: '127.0.0.1' });
    const first = await traffic(async () => {
      expect(Buffer.from(await fetch(server.urlFor('rebind.test', '/close')))).toEqual(IMAGE_BYTES);
    });
    expect(first).toEqual({ connections: 1, requests: 1 });
    expect(lookup.calls['rebind.test']).toBe(1);
    expect(server.requests.at(-1)?.host).toBe(`rebind.test:${server.port}`);
    // /close dropped the connection, so the next download dials again and sees the rebound answer.
    const second = await traffic(() =>
      expectCode(fetch(server.urlFor('rebind.test', '/image')), 'URL_NOT_ALLOWED'),
    );
    expect(second).toEqual({ connections: 0, requests: 0 });
    expect(lookup.calls['rebind.test']).toBe(2);
  });

  it('a socket connected to a forbidden address by some other path is dropped before any request', async () => {
    // A connector whose lookup does no checking stands in for a path that dials around the guard's lookup.
    // Wrong if it fails: the last line of defence (checking the socket's remote address) is missing.
    const unchecked = buildConnector({
      timeout: 60_000, // a hang guard: connecting can take seconds on a busy machine
      lookup: (_host, _options, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]),
    });
    const dispatcher = new Agent({
      connect: guardConnector(unchecked, { allowPrivate: false, allowlist: parseAllowlist('') }),
    });
    try {
      const seen = await traffic(() =>
        expectCode(
          fetchImage(server.urlFor('sneaky.test', '/image'), { ...DEFAULT_FETCH_OPTIONS, dispatcher }),
          'URL_NOT_ALLOWED',
        ),
      );
      expect(seen.requests).toBe(0);
    } finally {
      await dispatcher.close();
    }
  });
});

describe('redirects', () => {
  it('refuses a redirect from an allowlisted host to a forbidden address', async () => {
    // Wrong if it fails: an allowed host could bounce the service to 127.0.0.1 or cloud metadata.
    const lookup = hostTable({ 'trusted.test': ['127.0.0.1'] });
    const fetch = fetchers.make({ lookup, allowlist: 'trusted.test' });
    for (const to of [
      server.url('/image'),
      `http://[::ffff:7f00:1]:${server.port}/image`,
      'http://169.254.169.254/',
    ]) {
      const url = server.urlFor('trusted.test', `/redirect?to=${encodeURIComponent(to)}`);
      const seen = await traffic(() => expectCode(fetch(url), 'URL_NOT_ALLOWED'));
      expect(seen.requests).toBe(1); // the redirect itself, never its target
    }
  });

  it('follows a redirect to an allowed host (each hop is checked on its own)', async () => {
    // Wrong if it fails: ordinary redirects (http → CDN) would break.
    const lookup = hostTable({ 'a.test': ['127.0.0.1'], 'b.test': ['127.0.0.1'] });
    const fetch = fetchers.make({ lookup, allowlist: 'a.test,b.test' });
    const url = server.urlFor(
      'a.test',
      `/redirect?to=${encodeURIComponent(server.urlFor('b.test', '/image'))}`,
    );
    expect(Buffer.from(await fetch(url))).toEqual(IMAGE_BYTES);
  });

  it.each([
    'file:///etc/passwd',
    'ftp://example.com/a.jpg',
    'gopher://127.0.0.1:6379/_INFO',
    'http://u:p@a.test/',
  ])('refuses a redirect to %s', async (to) => {
    // Wrong if it fails: a redirect could switch to a protocol or credentials the first URL could not use.
    const fetch = fetchers.make({ allowPrivate: true });
    await expectCode(fetch(server.url(`/redirect?to=${encodeURIComponent(to)}`)), 'URL_NOT_ALLOWED');
  });
});

describe('URL rules', () => {
  it.each([
    'file:///etc/passwd',
    'ftp://example.com/face.jpg',
    'data:image/png;base64,iVBORw0KGgo=',
    'gopher://127.0.0.1:70/',
    'javascript:alert(1)',
    'ws://example.com/',
  ])('refuses %s with URL_NOT_ALLOWED', async (url) => {
    // Wrong if it fails: the fetcher would read local files or speak other protocols for a caller.
    await expectCode(fetchers.make({ allowPrivate: true })(url), 'URL_NOT_ALLOWED');
  });

  it('refuses credentials in the URL, even where the address is allowed, before connecting', async () => {
    // Wrong if it fails: callers could make the service send credentials to a host.
    const fetch = fetchers.make({ allowPrivate: true });
    for (const url of [
      `http://user:pass@127.0.0.1:${server.port}/image`,
      `http://user@127.0.0.1:${server.port}/image`,
    ]) {
      const seen = await traffic(() => expectCode(fetch(url), 'URL_NOT_ALLOWED'));
      expect(seen).toEqual({ connections: 0, requests: 0 });
    }
  });

  it('a string that is not a URL is INVALID_INPUT', async () => {
    // Wrong if it fails: garbage input would be reported as a download or policy failure.
    await expectCode(fetchers.make()('not a url'), 'INVALID_INPUT');
  });
});
