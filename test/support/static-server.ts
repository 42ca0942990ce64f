/**
 * A static file server on 127.0.0.1 (random port) serving ../shared/faces, so URL inputs are fetched
 * over real HTTP in tests. `/redirect?to=PATH` answers 302 to PATH; `/slow` never answers;
 * `?hold=NAME` on a file holds the answer until the test calls `release(NAME)` (an upstream that keeps
 * a task running for exactly as long as the test needs, whatever the machine's load), and
 * `requested(NAME)` tells the test that a download has reached that point.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { FACES_DIR } from './faces.js';

export interface StaticServer {
  url: (path: string) => string;
  /** Resolves once `count` requests with `?hold=name` have arrived (those before the call count). */
  requested: (name: string, count?: number) => Promise<void>;
  /** Answers the requests held under `name`, and every later one at once. */
  release: (name: string) => void;
  close: () => Promise<void>;
}

class Hold {
  private arrivals = 0;
  private readonly waiters: { count: number; wake: () => void }[] = [];
  release!: () => void;
  readonly released = new Promise<void>((r) => (this.release = r));

  arrive(): void {
    this.arrivals += 1;
    for (const w of this.waiters.filter((x) => x.count <= this.arrivals)) w.wake();
  }

  arrived(count: number): Promise<void> {
    if (this.arrivals >= count) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ count, wake }));
  }
}

export async function startStaticServer(root = FACES_DIR): Promise<StaticServer> {
  const holds = new Map<string, Hold>();
  const hold = (name: string): Hold => {
    let h = holds.get(name);
    if (!h) holds.set(name, (h = new Hold()));
    return h;
  };
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
    const held = u.searchParams.get('hold');
    if (held === null) {
      send();
      return;
    }
    const h = hold(held);
    h.arrive();
    void h.released.then(() => {
      if (!res.destroyed) send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\//, '')}`,
    requested: (name, count = 1) => hold(name).arrived(count),
    release: (name) => hold(name).release(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
