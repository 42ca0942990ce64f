/**
 * API keys limited to galleries and permissions (API_KEY_SCOPES), through HTTP (Fastify inject) on the
 * real service with the real pipeline and LFW photos, on the embedded store in a temporary DATA_DIR:
 * what each key may do, 403 FORBIDDEN that says nothing about which galleries exist, GET /galleries
 * filtered, the audit actor a key id that is not the key; the audit log for admin keys; a subject's
 * retention changed by PATCH; and the configuration checked at start-up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { parseKeyScopes } from '../../../src/config/key-scopes.js';
import { createService, type Service } from '../../../src/container.js';
import { describeWithFaces, facePath } from '../../support/faces.js';

const lfw = (name: string, n: number): string =>
  `lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`;
const BUSH = [lfw('George_W_Bush', 7), lfw('George_W_Bush', 65)] as const;
const POWELL = lfw('Colin_Powell', 40);

const KEYS = {
  frontdesk: 'fd-Zk3dQ9xLm2==',
  reader: 'rd-7hT2pQ',
  ops: 'ops-unscoped-key',
  admin: 'adm-Q9x',
};
const SCOPES = [
  `${KEYS.frontdesk}=galleries:staff;perms:enrol,search;name:frontdesk`,
  `${KEYS.reader}=galleries:staff,team-*;perms:read`,
].join(' ');

describe('API_KEY_SCOPES is checked at start-up', () => {
  it('lists every problem at once, and never the keys themselves', () => {
    // Wrong if it fails: a typo in a scope would start a service that grants more (or less) than meant,
    // or a start-up error would print a secret into the logs.
    let message = '';
    try {
      loadConfig({
        API_KEYS: 'k1-secret,k2-secret',
        ADMIN_API_KEYS: 'adm-secret',
        API_KEY_SCOPES: [
          'k1-secret=galleries:staff,bad/name;perms:enrol,fly',
          'k2-secret=colour:blue',
          'unknown-secret=perms:read',
          'adm-secret=perms:read',
          'no-equals-sign',
        ].join('\n'),
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('API_KEY_SCOPES=(hidden)');
    expect(message).toContain('entry 1: invalid gallery names bad/name');
    expect(message).toContain('entry 1: unknown permissions fly');
    expect(message).toContain('entry 5: write KEY=galleries');
    expect(message).not.toMatch(/k1-secret|k2-secret|adm-secret|unknown-secret/);

    // Each entry valid on its own, wrong against the key lists.
    expect(() =>
      loadConfig({
        API_KEYS: 'k1-secret',
        ADMIN_API_KEYS: 'adm-secret',
        API_KEY_SCOPES: 'unknown-secret=perms:read adm-secret=name:boss;perms:read',
      }),
    ).toThrow(
      /entry 1: the key is not one of API_KEYS[\s\S]*entry 2 \(boss\): an admin key may do everything/,
    );
    expect(() => loadConfig({ API_KEY_SCOPES: 'k=perms:read' })).toThrow(/API_KEYS is not/);
  });

  it('reads keys that end in "=" and defaults to every gallery and permission', () => {
    const scopes = parseKeyScopes('abc==;x=galleries:a,b*;perms:* plain=name:tool');
    expect([...scopes.keys()]).toEqual(['abc==;x', 'plain']);
    expect(scopes.get('abc==;x')?.galleries).toEqual(['a', 'b*']);
    expect(scopes.get('plain')).toMatchObject({ galleries: ['*'], name: 'tool' });
    expect([...(scopes.get('plain')?.permissions ?? [])].sort()).toEqual([
      'delete',
      'enrol',
      'read',
      'search',
    ]);
  });
});

describeWithFaces('gallery routes with scoped API keys', () => {
  let dataDir: string;
  let service: Service;
  let app: FastifyInstance;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fv-gallery-access-'));
    service = await createService(
      loadConfig({
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
        DATA_DIR: dataDir,
        API_KEYS: [KEYS.frontdesk, KEYS.reader, KEYS.ops].join(','),
        ADMIN_API_KEYS: KEYS.admin,
        API_KEY_SCOPES: SCOPES,
      }),
      'both',
    );
    app = service.app as FastifyInstance;
  });

  afterAll(async () => {
    await service?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A request with this key; `body`: a photo's path (sent as base64 `image`) or a JSON body. */
  const call = async (
    key: string | undefined,
    method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
    url: string,
    body?: string | Record<string, unknown>,
  ) => {
    const payload =
      typeof body === 'string' ? { image: readFileSync(facePath(body)).toString('base64') } : body;
    const res = await app.inject({
      method,
      url,
      headers: key ? { 'x-api-key': key } : {},
      ...(payload ? { payload } : {}),
    });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  it('a scoped key may do what its scope says in its galleries, and gets 403 FORBIDDEN elsewhere', async () => {
    // Wrong if it fails: a front-desk key could read, delete or search galleries it was never given.
    expect((await call(KEYS.ops, 'POST', '/galleries/secret/subjects/powell/faces', POWELL)).status).toBe(
      201,
    );
    expect((await call(KEYS.ops, 'POST', '/galleries/team-a/subjects/powell/faces', POWELL)).status).toBe(
      201,
    );

    const enrolled = await call(KEYS.frontdesk, 'POST', '/galleries/staff/subjects/bush/faces', BUSH[0]);
    expect(enrolled.status).toBe(201);
    const found = await call(KEYS.frontdesk, 'POST', '/galleries/staff/search', BUSH[1]);
    expect(found.status).toBe(200);
    expect((found.body.matches as { subject: string }[])[0]?.subject).toBe('bush');
    expect(
      (await call(KEYS.frontdesk, 'POST', '/galleries/staff/subjects/bush/verify', BUSH[1])).status,
    ).toBe(200);

    const refused = [
      ['POST', '/galleries/secret/subjects/x/faces'],
      ['POST', '/galleries/secret/search'],
      ['POST', '/galleries/secret/subjects/powell/verify'],
      ['GET', '/galleries/staff/subjects'],
      ['GET', '/galleries'],
      ['DELETE', '/galleries/staff/subjects/bush'],
      ['DELETE', '/galleries/staff'],
    ] as const;
    for (const [method, url] of refused) {
      const res = await call(KEYS.frontdesk, method, url, method === 'POST' ? BUSH[1] : undefined);
      expect(res, `${method} ${url}`).toMatchObject({
        status: 403,
        body: { status: 'error', code: 'FORBIDDEN' },
      });
    }
    // The reader key reads its galleries (named or by prefix), nothing else, and changes nothing.
    expect((await call(KEYS.reader, 'GET', '/galleries/staff/subjects/bush')).status).toBe(200);
    expect((await call(KEYS.reader, 'GET', '/galleries/team-a/subjects')).status).toBe(200);
    expect((await call(KEYS.reader, 'GET', '/galleries/secret/subjects')).status).toBe(403);
    expect((await call(KEYS.reader, 'POST', '/galleries/staff/search', BUSH[1])).status).toBe(403);
    expect((await call(KEYS.reader, 'DELETE', '/galleries/team-a')).status).toBe(403);
    // Without a key, or with a wrong one: 401 as before.
    expect((await call(undefined, 'GET', '/galleries')).status).toBe(401);
    expect((await call('wrong', 'GET', '/galleries')).status).toBe(401);
  });

  it('a refusal says nothing about whether the gallery exists', async () => {
    // Wrong if it fails: a key could probe other tenants' gallery names by the answers it gets.
    for (const key of [KEYS.frontdesk, KEYS.reader]) {
      const existing = await call(key, 'GET', '/galleries/secret/subjects');
      const missing = await call(key, 'GET', '/galleries/nowhere/subjects');
      expect(existing.status).toBe(403);
      expect(missing.status).toBe(403);
      // Every field but the request id, with the gallery's name taken out.
      const shape = (body: Record<string, unknown>, name: string): string =>
        JSON.stringify({ ...body, request_id: undefined }).replaceAll(name, 'G');
      expect(shape(missing.body, 'nowhere')).toBe(shape(existing.body, 'secret'));
    }
    const a = await call(KEYS.frontdesk, 'DELETE', '/galleries/secret/subjects/powell');
    const b = await call(KEYS.frontdesk, 'DELETE', '/galleries/nowhere/subjects/powell');
    expect(a.status).toBe(403);
    expect(b.status).toBe(403);
    // The refused delete deleted nothing.
    expect((await call(KEYS.ops, 'GET', '/galleries/secret/subjects/powell')).status).toBe(200);
  });

  it('GET /galleries lists only the galleries a key may read; unscoped and admin keys see all', async () => {
    const names = async (key: string) =>
      ((await call(key, 'GET', '/galleries')).body.galleries as { gallery: string }[]).map((g) => g.gallery);
    expect(await names(KEYS.reader)).toEqual(['staff', 'team-a']);
    expect(await names(KEYS.ops)).toEqual(['secret', 'staff', 'team-a']);
    expect(await names(KEYS.admin)).toEqual(['secret', 'staff', 'team-a']);
  });

  it('records a key id in the audit log, never the key', async () => {
    // Wrong if it fails: whoever reads the audit log could use the keys it names.
    const entries = await service.galleries?.readAudit({ limit: 1000 });
    const actors = new Set(entries?.map((e) => e.actor));
    expect(actors).toContain('key:frontdesk');
    expect([...actors].find((a) => a !== 'key:frontdesk')).toMatch(/^key:[0-9a-f]{12}$/);
    for (const key of Object.values(KEYS)) expect(JSON.stringify(entries)).not.toContain(key);
  });

  it("PATCH changes a subject's retention and consent, with the enrol permission", async () => {
    // Wrong if it fails: retention promised to a person could not be shortened (or lifted) later, or
    // a key could change subjects in galleries it was not given.
    const url = '/galleries/staff/subjects/bush';
    const soon = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const changed = await call(KEYS.frontdesk, 'PATCH', url, { expires_at: soon, consent_ref: 'form-42' });
    expect(changed).toMatchObject({
      status: 200,
      body: { gallery: 'staff', subject: 'bush', expires_at: soon, consent_ref: 'form-42' },
    });
    expect((await call(KEYS.reader, 'GET', url)).body).toMatchObject({
      expires_at: soon,
      consent_ref: 'form-42',
    });
    expect((await call(KEYS.frontdesk, 'PATCH', url, { expires_at: null })).body).toMatchObject({
      expires_at: null,
      consent_ref: 'form-42',
    });
    const past = await call(KEYS.frontdesk, 'PATCH', url, { expires_at: '2001-01-01T00:00:00Z' });
    expect(past).toMatchObject({ status: 400, body: { code: 'INVALID_INPUT' } });
    expect((await call(KEYS.frontdesk, 'PATCH', url, {})).status).toBe(400);
    expect((await call(KEYS.frontdesk, 'PATCH', url, { colour: 'blue' })).status).toBe(400);
    expect((await call(KEYS.reader, 'PATCH', url, { consent_ref: 'x' })).status).toBe(403);
    expect(
      (await call(KEYS.frontdesk, 'PATCH', '/galleries/secret/subjects/powell', { consent_ref: 'x' })).status,
    ).toBe(403);
    expect(
      (await call(KEYS.ops, 'PATCH', '/galleries/staff/subjects/nobody', { consent_ref: 'x' })).body,
    ).toMatchObject({
      code: 'SUBJECT_NOT_FOUND',
    });
  });

  it('GET /admin/audit: admin keys only, filtered and paged, never images, embeddings or keys', async () => {
    // Wrong if it fails: any key could read who was enrolled and searched, or an administrator could
    // not answer "who touched this person".
    for (const key of [KEYS.ops, KEYS.frontdesk, KEYS.reader]) {
      expect(await call(key, 'GET', '/admin/audit'), key).toMatchObject({
        status: 403,
        body: { code: 'FORBIDDEN' },
      });
    }
    expect((await call(undefined, 'GET', '/admin/audit')).status).toBe(401);

    type Page = { entries: Record<string, unknown>[]; next?: string };
    const read = async (query: string): Promise<Page> => {
      const res = await call(KEYS.admin, 'GET', `/admin/audit${query}`);
      expect(res.status, query).toBe(200);
      return res.body as unknown as Page;
    };
    const bush = await read('?gallery=staff&subject=bush');
    expect(bush.entries.map((e) => `${e.actor as string} ${e.action as string}`)).toEqual([
      'key:frontdesk enrol',
      'key:frontdesk verify',
      'key:frontdesk update',
      'key:frontdesk update',
    ]);
    expect(Object.keys(bush.entries[0] ?? {}).sort()).toEqual([
      'action',
      'actor',
      'at',
      'count',
      'face_id',
      'gallery',
      'id',
      'subject',
    ]);
    const searches = await read('?action=search');
    expect(searches.entries.map((e) => [e.gallery, e.count])).toEqual([['staff', 1]]);
    expect(
      (await read(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).entries,
    ).toEqual([]);

    // Page by page with the cursor gives the whole log once, in order.
    const all = await read('?limit=500');
    const paged: Record<string, unknown>[] = [];
    let cursor = '';
    for (;;) {
      const page = await read(`?limit=2${cursor}`);
      paged.push(...page.entries);
      if (!page.next) break;
      cursor = `&cursor=${page.next}`;
    }
    expect(paged).toEqual(all.entries);
    expect(all.entries.length).toBeGreaterThan(4);
    expect(JSON.stringify(all)).not.toMatch(/embedding|base64|fd-Zk3d|rd-7hT2|ops-unscoped|adm-Q9x/);
    expect((await call(KEYS.admin, 'GET', '/admin/audit?action=fly')).status).toBe(400);
  });
});
