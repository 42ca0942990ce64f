/**
 * An HTTP server on 127.0.0.1 (random port) that misbehaves on request, and records what reached it:
 * connections, requests, and for streamed answers how much it wrote before the client hung up.
 *
 *   /image            200, IMAGE_BYTES with Content-Length
 *   /close            200, IMAGE_BYTES, then closes the connection (so the next request dials again)
 *   /redirect?to=U    302 to U
 *   /chain/N          302 to /chain/N-1, …, /chain/0 answers like /image
 *   /status/N         answers HTTP N
 *   /stall-headers    never answers
 *   /stall-body       200 with a Content-Length, sends a few bytes, then nothing
 *   /trickle          200, one byte every TRICKLE_MS, forever
 *   /endless          200 without Content-Length, streams as fast as the client reads (up to 256 MB)
 *   /declared-huge    200 with Content-Length 1 GB, sends 1 KB, then nothing
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const IMAGE_BYTES = Buffer.from('\x89PNG\r\n\x1a\n not really a png, but bytes all the same');
export const TRICKLE_MS = 50;
const ENDLESS_LIMIT = 256 * 1024 * 1024;

export interface Streamed {
  path: string;
  bytesWritten: number;
  /** Resolves when the response's connection closed (the client hung up or the server finished). */
  closed: Promise<void>;
  finished: boolean;
}

export interface HostileServer {
  port: number;
  /** `http://127.0.0.1:PORT/path` */
  url: (path: string) => string;
  /** The same path on another host name (resolved by the test's injected lookup). */
  urlFor: (host: string, path: string) => string;
  connections: number;
  requests: { path: string; host: string | undefined }[];
  streams: Streamed[];
  close: () => Promise<void>;
}

function stream(res: ServerResponse, streamed: Streamed, chunk: Buffer, total: number, everyMs = 0): void {
  const next = (): void => {
    if (res.destroyed || streamed.bytesWritten >= total) return;
    streamed.bytesWritten += chunk.byteLength;
    const more = res.write(chunk);
    if (everyMs > 0) setTimeout(next, everyMs);
    else if (more) setImmediate(next);
    else res.once('drain', next);
  };
  next();
}

export async function startHostileServer(): Promise<HostileServer> {
  const state: Omit<HostileServer, 'port' | 'url' | 'urlFor' | 'close'> = {
    connections: 0,
    requests: [],
    streams: [],
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname;
    state.requests.push({ path: `${path}${u.search}`, host: req.headers.host });
    const track = (): Streamed => {
      let done!: () => void;
      const streamed: Streamed = {
        path,
        bytesWritten: 0,
        closed: new Promise<void>((resolve) => (done = resolve)),
        finished: false,
      };
      res.on('finish', () => (streamed.finished = true));
      res.on('close', () => done());
      state.streams.push(streamed);
      return streamed;
    };
    const chain = /^\/chain\/(\d+)$/.exec(path);
    if (path === '/image' || path === '/close' || chain?.[1] === '0') {
      const headers = {
        'content-length': IMAGE_BYTES.byteLength,
        ...(path === '/close' ? { connection: 'close' } : {}),
      };
      res.writeHead(200, headers).end(IMAGE_BYTES);
    } else if (chain) {
      res.writeHead(302, { location: `/chain/${Number(chain[1]) - 1}` }).end();
    } else if (path === '/redirect') {
      res.writeHead(302, { location: u.searchParams.get('to') ?? '/' }).end();
    } else if (path.startsWith('/status/')) {
      res.writeHead(Number(path.slice('/status/'.length))).end('nope');
    } else if (path === '/stall-headers') {
      track(); // never answers
    } else if (path === '/stall-body') {
      track();
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10));
    } else if (path === '/trickle') {
      const s = track();
      res.writeHead(200);
      stream(res, s, Buffer.alloc(1), Number.MAX_SAFE_INTEGER, TRICKLE_MS);
    } else if (path === '/endless') {
      const s = track();
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      stream(res, s, Buffer.alloc(64 * 1024, 0xff), ENDLESS_LIMIT);
    } else if (path === '/declared-huge') {
      const s = track();
      res.writeHead(200, { 'content-length': 1024 ** 3 });
      s.bytesWritten = 1024;
      res.write(Buffer.alloc(1024));
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    urlFor: (host: string, path: string) => `http://${host}:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
