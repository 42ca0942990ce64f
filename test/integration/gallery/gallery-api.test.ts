/**
 * The gallery routes through real HTTP (a real port), with real LFW photos and the real pipeline: enrol,
 * search, verify against a subject, delete, and a restart on the same data — on the embedded SQLite
 * default in a temporary DATA_DIR, and on the real PostgreSQL in a fresh schema.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { facePath, HAVE_FACES } from '../../support/faces.js';
import { multipartBody } from '../../support/multipart.js';
import { HAVE_POSTGRES, POSTGRES_URL } from '../../support/postgres.js';

const lfw = (name: string, n: number): string =>
  `lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`;
const BUSH = [lfw('George_W_Bush', 7), lfw('George_W_Bush', 16), lfw('George_W_Bush', 65)];
const POWELL = lfw('Colin_Powell', 40);
const BLAIR = lfw('Tony_Blair', 18);

interface SearchAnswer {
  matches: { subject: string; face_id: string; cosine_similarity: number; confidence: number }[];
  threshold: number;
  model: string;
}

const backends = [
  { name: 'embedded SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
] as const;

for (const backend of backends) {
  describe.skipIf(!HAVE_FACES || (backend.postgres && !HAVE_POSTGRES))(
    `gallery API (${backend.name})`,
    () => {
      let dataDir: string;
      let service: Service;
      let base: string;
      const schema = `fvtest_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

      const start = async (): Promise<void> => {
        const config = loadConfig({
          LOG_LEVEL: 'silent',
          RATE_LIMIT_MAX: '0',
          DATA_DIR: dataDir,
          ...(backend.postgres ? { DATABASE_URL: POSTGRES_URL } : {}),
        });
        service = await createService(config, 'both', backend.postgres ? { gallerySchema: schema } : {});
        const app = service.app;
        if (!app) throw new Error('no app');
        base = await app.listen({ port: 0, host: '127.0.0.1' });
      };

      beforeAll(async () => {
        dataDir = mkdtempSync(join(tmpdir(), 'fv-gallery-api-'));
        await start();
      });

      afterAll(async () => {
        await service?.close();
        rmSync(dataDir, { recursive: true, force: true });
        if (backend.postgres) {
          const admin = new pg.Client({ connectionString: POSTGRES_URL });
          await admin.connect();
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await admin.end();
        }
      });

      const call = async (
        method: string,
        path: string,
        body?: unknown,
        headers: Record<string, string> = {},
      ) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const photo = (path: string): { image: string } => ({
        image: readFileSync(facePath(path)).toString('base64'),
      });

      it('enrols photos as multipart files and base64, answering 201 and the face', async () => {
        const { payload, contentType } = multipartBody([
          { name: 'image', filename: 'a.jpg', value: readFileSync(facePath(BUSH[0] as string)) },
        ]);
        const res = await fetch(`${base}/galleries/staff/subjects/bush/faces`, {
          method: 'POST',
          headers: { 'content-type': contentType, 'idempotency-key': 'bush-1' },
          body: payload,
        });
        const first = (await res.json()) as Record<string, unknown>;
        expect(res.status).toBe(201);
        expect(first).toMatchObject({ gallery: 'staff', subject: 'bush' });
        expect(first.model).toMatch(/@/);
        expect(first.box).toBeDefined();

        // The same Idempotency-Key answers the first enrol instead of adding a face.
        const again = await call('POST', '/galleries/staff/subjects/bush/faces', photo(BUSH[0] as string), {
          'idempotency-key': 'bush-1',
        });
        expect(again.status).toBe(200);
        expect(again.body.face_id).toBe(first.face_id);

        expect(
          (await call('POST', '/galleries/staff/subjects/bush/faces', photo(BUSH[1] as string))).status,
        ).toBe(201);
        expect((await call('POST', '/galleries/staff/subjects/powell/faces', photo(POWELL))).status).toBe(
          201,
        );

        const subject = await call('GET', '/galleries/staff/subjects/bush');
        expect(subject.status).toBe(200);
        expect((subject.body.faces_list as unknown[]).length).toBe(2);
        const list = await call('GET', '/galleries/staff/subjects?limit=1');
        expect(list.body).toMatchObject({ subjects: [{ subject: 'bush', faces: 2 }], next: 'bush' });
      });

      it('finds the enrolled person first, and nobody for an unknown person', async () => {
        const known = await call('POST', '/galleries/staff/search', photo(BUSH[2] as string));
        expect(known.status).toBe(200);
        const answer = known.body as unknown as SearchAnswer;
        expect(answer.matches[0]?.subject).toBe('bush');
        expect(answer.matches.every((m) => m.cosine_similarity >= answer.threshold)).toBe(true);
        expect(answer.matches[0]?.confidence).toBeGreaterThan(0.5);
        // A gallery this small keeps the verification threshold (SEARCH_FPIR raises it from ~10 people).
        expect(known.body.threshold_source).toBe('model');
        expect(known.body.open_set).toBeUndefined();

        const unknown = await call('POST', '/galleries/staff/search', photo(BLAIR));
        expect(unknown.status).toBe(200);
        expect((unknown.body as unknown as SearchAnswer).matches).toEqual([]);
      });

      it('verifies a photo against a subject: the best of its faces decides', async () => {
        const same = await call('POST', '/galleries/staff/subjects/bush/verify', photo(BUSH[2] as string));
        expect(same.status).toBe(200);
        expect(same.body).toMatchObject({ is_match: true, subject: 'bush' });
        const faces = (await call('GET', '/galleries/staff/subjects/bush')).body.faces_list as {
          face_id: string;
        }[];
        expect(faces.map((f) => f.face_id)).toContain(same.body.matched_face_id);

        const other = await call('POST', '/galleries/staff/subjects/powell/verify', photo(BUSH[2] as string));
        expect(other.body).toMatchObject({ is_match: false, subject: 'powell' });

        const missing = await call(
          'POST',
          '/galleries/staff/subjects/nobody/verify',
          photo(BUSH[2] as string),
        );
        expect(missing).toMatchObject({ status: 404, body: { code: 'SUBJECT_NOT_FOUND' } });
        const noGallery = await call('POST', '/galleries/nowhere/search', photo(BUSH[2] as string));
        expect(noGallery).toMatchObject({ status: 404, body: { code: 'GALLERY_NOT_FOUND' } });
      });

      it('keeps the galleries across a restart, and a deleted subject is no longer found', async () => {
        await service.close();
        await start();
        const galleries = await call('GET', '/galleries');
        expect(galleries.body.galleries).toMatchObject([{ gallery: 'staff', subjects: 2, faces: 3 }]);

        const deleted = await call('DELETE', '/galleries/staff/subjects/bush');
        expect(deleted).toMatchObject({ status: 200, body: { deleted_faces: 2 } });
        const after = await call('POST', '/galleries/staff/search', photo(BUSH[2] as string));
        expect((after.body as unknown as SearchAnswer).matches.map((m) => m.subject)).not.toContain('bush');
        expect((await call('DELETE', '/galleries/staff/subjects/bush')).status).toBe(404);
        expect(await call('DELETE', '/galleries/staff')).toMatchObject({
          status: 200,
          body: { deleted_faces: 1 },
        });
      });
    },
  );
}
