/**
 * `faceverify gallery` as a user runs it: child processes of bin/faceverify.js (built code in dist/) on
 * one temporary DATA_DIR, real LFW photos. Each call is a fresh process, so this also shows that the
 * embedded store keeps what the previous command wrote; and a running service on the same file sees
 * what the CLI enrols and deletes without a restart (the SQLite change feed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService } from '../../../src/container.js';
import { describeWithFaces, facePath, readFace } from '../../support/faces.js';
import { galleryCli, requireBuiltCli } from '../../support/gallery-cli.js';
import { waitUntil } from '../../support/wait-until.js';

const lfw = (name: string, n: number): string =>
  facePath(`lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`);

let dataDir: string;

const gallery = (...args: string[]) => galleryCli({ DATA_DIR: dataDir }, ...args);

beforeAll(() => {
  requireBuiltCli();
  dataDir = mkdtempSync(join(tmpdir(), 'fv-gallery-cli-'));
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeWithFaces('faceverify gallery', () => {
  it('enrols, lists, searches, verifies and deletes across separate runs', async () => {
    expect((await gallery('enrol', 'staff', 'bush', lfw('George_W_Bush', 7))).code).toBe(0);
    expect((await gallery('enrol', 'staff', 'powell', lfw('Colin_Powell', 40))).code).toBe(0);
    expect((await gallery('list')).json).toMatchObject({
      galleries: [{ gallery: 'staff', subjects: 2, faces: 2 }],
    });

    const search = await gallery('search', 'staff', lfw('George_W_Bush', 16));
    expect(search.code).toBe(0);
    expect((search.json.matches as { subject: string }[])[0]?.subject).toBe('bush');
    const verify = await gallery('verify', 'staff', 'powell', lfw('George_W_Bush', 16));
    expect(verify.json).toMatchObject({ subject: 'powell', is_match: false });

    expect((await gallery('delete', 'staff', 'bush')).json).toEqual({ deleted_faces: 1 });
    const show = await gallery('show', 'staff', 'bush');
    expect(show.code).not.toBe(0);
    expect(show.stderr).toContain('SUBJECT_NOT_FOUND');
  });

  it('sets and changes retention and consent as the API does (enrol and update)', async () => {
    // Wrong if it fails: a CLI user could not record consent or an expiry, or clear them again.
    const enrol = await gallery(
      'enrol',
      'visitors',
      'schroeder',
      lfw('Gerhard_Schroeder', 5),
      '--expires-at',
      '2099-01-31',
      '--consent-ref',
      'form-17',
    );
    expect(enrol.code).toBe(0);
    expect((await gallery('show', 'visitors', 'schroeder')).json).toMatchObject({
      expires_at: '2099-01-31T00:00:00.000Z',
      consent_ref: 'form-17',
    });
    const kept = await gallery(
      'update',
      'visitors',
      'schroeder',
      '--expires-at',
      'never',
      '--consent-ref',
      'none',
    );
    expect(kept.json).toMatchObject({
      gallery: 'visitors',
      subject: 'schroeder',
      expires_at: null,
      consent_ref: null,
    });
    const dated = await gallery('update', 'visitors', 'schroeder', '--expires-at', '2098-05-01T12:00:00Z');
    expect(dated.json).toMatchObject({ expires_at: '2098-05-01T12:00:00.000Z', consent_ref: null });

    // Refused with the API's code, and nothing changed: a past date, a non-date, `never` on enrol.
    const past = await gallery('update', 'visitors', 'schroeder', '--expires-at', '2001-01-01');
    expect(past.code).not.toBe(0);
    expect(past.stderr).toContain('INVALID_INPUT');
    expect((await gallery('update', 'visitors', 'schroeder', '--expires-at', 'soon')).stderr).toContain(
      'INVALID_INPUT',
    );
    const never = await gallery(
      'enrol',
      'visitors',
      'chavez',
      lfw('Hugo_Chavez', 2),
      '--expires-at',
      'never',
    );
    expect(never.stderr).toContain('INVALID_INPUT');
    expect((await gallery('show', 'visitors', 'schroeder')).json).toMatchObject({
      expires_at: '2098-05-01T12:00:00.000Z',
    });
    expect((await gallery('show', 'visitors', 'chavez')).stderr).toContain('SUBJECT_NOT_FOUND');
  });

  it('a running service finds what the CLI enrols beside it, and never what it deleted', async () => {
    // Wrong if it fails: `faceverify gallery enrol` while `npm start` runs would need a restart.
    const service = await createService(
      loadConfig({ LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '0', DATA_DIR: dataDir, DATABASE_URL: '' }),
      'both',
    );
    const app = service.app as FastifyInstance;
    const search = async (): Promise<string[]> => {
      const res = await app.inject({
        method: 'POST',
        url: '/galleries/live/search',
        payload: { image: readFace(`lfw/images/Colin_Powell/Colin_Powell_0040.jpg`).toString('base64') },
      });
      return res.statusCode === 200
        ? res.json<{ matches: { subject: string }[] }>().matches.map((m) => m.subject)
        : [`HTTP ${res.statusCode}`];
    };
    try {
      expect(await search()).toEqual(['HTTP 404']);
      expect((await gallery('enrol', 'live', 'powell', lfw('Colin_Powell', 71))).code).toBe(0);
      // The change arrives within a poll (500 ms); the guard only turns a hang into a failure.
      await waitUntil("the CLI's enrol is searchable in the service", search, (s) => s[0] === 'powell');
      expect((await gallery('delete', 'live', 'powell')).code).toBe(0);
      expect(await search()).toEqual([]);
    } finally {
      await service.close();
    }
  });
});
