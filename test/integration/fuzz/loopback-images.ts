/**
 * Where fuzzed image URLs lead: a small server on 127.0.0.1 with good, bad and hostile answers, and a
 * closed port on 127.0.0.1. `keepOnLoopback` is the guard every generated URL passes through: a string
 * that the WHATWG parser (the one the service uses) reads as an http(s) URL must point at one of these
 * two ports on 127.0.0.1, so the fuzzer never sends a packet off this machine or to another local
 * service, whatever garbage it generates.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFace } from '../../support/faces.js';

export interface LoopbackImages {
  /** Port of the image server. */
  port: number;
  /** A port on 127.0.0.1 that nothing listens on (connections are refused). */
  closedPort: number;
  /** Paths the server answers (anything else is a 404). */
  paths: readonly string[];
  /** Requests the server has received (to check nothing hangs on it). */
  requests: () => number;
  close: () => Promise<void>;
}

const FACE_1 = 'sanity/face_recognition/obama/obama.jpg';
const FACE_2 = 'sanity/face_recognition/obama/obama2.jpg';
const NO_FACE = 'edge/no_face/flat_gray_640x480.jpg';

/**
 * Starts the server. `oversize` is a byte count past the service's download limit, for `/big`
 * (chunked, no Content-Length, so only the streaming limit can stop it).
 */
export async function startLoopbackImages(oversize: number): Promise<LoopbackImages> {
  const files: Record<string, Buffer> = {
    '/face1.jpg': readFace(FACE_1),
    '/face2.jpg': readFace(FACE_2),
    '/noface.jpg': readFace(NO_FACE),
    '/text.jpg': readFace('edge/invalid/text_file.jpg'),
    '/truncated.jpg': readFace('edge/invalid/truncated_half.jpg'),
    '/svg': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:1/x"/></svg>'),
    '/empty': Buffer.alloc(0),
  };
  let count = 0;
  let port = 0;
  const server: Server = createServer((req, res) => {
    count++;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = files[path];
    if (file) {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': file.length }).end(file);
      return;
    }
    const redirect = /^\/redirect\/(\d)$/.exec(path);
    if (redirect) {
      const n = Number(redirect[1]);
      res.writeHead(302, { location: n > 0 ? `/redirect/${n - 1}` : '/face1.jpg' }).end();
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(path);
    if (status) {
      const code = Math.min(599, Math.max(200, Number(status[1])));
      res.writeHead(code, { 'content-type': 'text/plain' }).end('status');
      return;
    }
    switch (path) {
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      case '/redirect-file':
        res.writeHead(302, { location: 'file:///etc/passwd' }).end();
        return;
      case '/redirect-credentials':
        res.writeHead(302, { location: `http://user:pass@127.0.0.1:${port}/face1.jpg` }).end();
        return;
      case '/redirect-invalid':
        res.writeHead(302, { location: 'http://[::1' }).end();
        return;
      case '/big': {
        // Chunked: no Content-Length to refuse up front.
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        const chunk = Buffer.alloc(64 * 1024, 0xff);
        for (let sent = 0; sent <= oversize; sent += chunk.length) res.write(chunk);
        res.end();
        return;
      }
      case '/declared-big':
        res.writeHead(200, { 'content-length': String(oversize) }).end();
        return;
      case '/short-body':
        // Declares more than it sends, then hangs up.
        res.writeHead(200, { 'content-length': '100000' });
        res.write(files['/face1.jpg']?.subarray(0, 1000));
        setTimeout(() => res.destroy(), 10);
        return;
      case '/hang-up':
        req.socket.destroy();
        return;
      default:
        res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const closedPort = await findClosedPort();
  return {
    port,
    closedPort,
    paths: [
      ...Object.keys(files),
      '/redirect/1',
      '/redirect/3',
      '/redirect/5',
      '/status/200',
      '/status/204',
      '/status/301',
      '/status/404',
      '/status/500',
      '/status/503',
      '/loop',
      '/redirect-file',
      '/redirect-credentials',
      '/redirect-invalid',
      '/big',
      '/declared-big',
      '/short-body',
      '/hang-up',
      '/missing',
    ],
    requests: () => count,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was free a moment ago: listen on port 0, note it, close. */
async function findClosedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Host spellings that the URL parser turns into 127.0.0.1 (or its IPv4-mapped IPv6 form). */
export const LOOPBACK_HOSTS = [
  '127.0.0.1',
  '127.1',
  '2130706433',
  '0x7f000001',
  '0177.0.0.1',
  '127.0.0.1.',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
] as const;
const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', '[::ffff:7f00:1]']);

/**
 * Returns `raw` if the service would not dial anything other than our two ports on 127.0.0.1 for it;
 * otherwise an http URL on the closed port carrying `raw` in its path (so the value stays random but
 * harmless).
 */
export function keepOnLoopback(raw: string, lb: Pick<LoopbackImages, 'port' | 'closedPort'>): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw; // not a URL: refused before any download
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return raw; // refused by scheme
  const ports = new Set([String(lb.port), String(lb.closedPort)]);
  if (LOOPBACK_HOSTNAMES.has(url.hostname) && ports.has(url.port)) return raw;
  return `http://127.0.0.1:${lb.closedPort}/${encodeURIComponent(raw).slice(0, 1500)}`;
}
