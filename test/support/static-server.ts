/**
 * A static file server on 127.0.0.1 (random port) serving ../shared/faces, so URL inputs are fetched
 * over real HTTP in tests. `/redirect?to=PATH` answers 302 to PATH; `/slow` never answers;
 * `?delay=MS` on a file delays the answer (a slow upstream, to keep a task running).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { FACES_DIR } from './faces.js';

export interface StaticServer {
  url: (path: string) => string;
  close: () => Promise<void>;
}

export async function startStaticServer(root = FACES_DIR): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/redirect') {
      res.writeHead(302, { location: u.searchParams.get('to') ?? '/' }).end();
      return;
    }
    if (u.pathname === '/slow') return; // never answers
    const path = normalize(join(root, decodeURIComponent(u.pathname)));
    if (!path.startsWith(root) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const send = (): void => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': statSync(path).size,
      });
      createReadStream(path).pipe(res);
    };
    const delay = Number(u.searchParams.get('delay') ?? 0);
    if (delay > 0) setTimeout(send, delay).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\//, '')}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
