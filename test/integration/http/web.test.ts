/**
 * The web page is served by the service itself at / when WEB_UI=on (with the same CSP as the API, so
 * nothing can load from another origin), and not at all when WEB_UI=off: then / is the API's JSON 404.
 */
import { readdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { WEB_ROOT } from '../../../src/http/app.js';

const services: Service[] = [];

async function app(env: Record<string, string>): Promise<FastifyInstance> {
  const service = await createService(
    loadConfig({ DATA_DIR: process.env.DATA_DIR, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '0', ...env }),
    'both',
  );
  services.push(service);
  return service.app as FastifyInstance;
}

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
});

describe('web page (WEB_UI)', () => {
  let on: FastifyInstance;
  let off: FastifyInstance;

  beforeAll(async () => {
    [on, off] = await Promise.all([app({ WEB_UI: 'on' }), app({ WEB_UI: 'off' })]);
  });

  it('resolves web/ at the package root, from src/ as from dist/', () => {
    expect(WEB_ROOT.replace(/\\/g, '/')).toMatch(/\/web\/$/);
    expect(readdirSync(WEB_ROOT)).toEqual(expect.arrayContaining(['index.html', 'app.js', 'style.css']));
  });

  it('WEB_UI=on serves the page at / with its scripts and styles, under a CSP that allows this origin only', async () => {
    const page = await on.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");

    for (const file of readdirSync(WEB_ROOT).filter((f) => f.endsWith('.js'))) {
      const res = await on.inject({ method: 'GET', url: `/${file}` });
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type'], file).toMatch(/javascript/);
    }
    const css = await on.inject({ method: 'GET', url: '/style.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  it('WEB_UI=on leaves other paths to the API: an unknown one is still the JSON 404', async () => {
    const res = await on.inject({ method: 'GET', url: '/no-such-file.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ status: 'error', code: 'NOT_FOUND' });
    expect((await on.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('WEB_UI=off serves the API alone: / and the page files answer 404 in the error format', async () => {
    for (const url of ['/', '/index.html', '/app.js', '/style.css']) {
      const res = await off.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ status: 'error', code: 'NOT_FOUND' });
    }
    expect((await off.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
