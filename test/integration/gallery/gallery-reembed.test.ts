/**
 * Moving a gallery to another model (src/gallery/reembed-gallery.ts) on both backends — a fresh SQLite
 * folder and a fresh PostgreSQL schema per test — with real LFW photos and the real models: enrolled
 * with MobileFaceNet and retained face chips, re-embedded to dlib-resnet, then searched with dlib
 * embeddings of other photos of the same people. Also: the refusal when chips are missing, faces
 * enrolled and deleted during a run, a run killed by SIGKILL (a real child process) and resumed, and a
 * second node (store) following the switch through the change feed.
 *
 * Time budget: models and 24 analyses once (~10 s); each test re-embeds at most 10 faces (~2 s); the
 * SIGKILL test starts a child that loads dlib-resnet (~3 s).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createGalleryStore,
  type CreateGalleryStoreOptions,
} from '../../../src/gallery/create-gallery-store.js';
import type { GalleryStore } from '../../../src/gallery/gallery-store.js';
import { reembedGallery } from '../../../src/gallery/reembed-gallery.js';
import { TemplateCipher } from '../../../src/gallery/template-cipher.js';
import { FaceAnalyzer, type Analysis } from '../../../src/pipeline/face-analyzer.js';
import { facePath, HAVE_FACES, readFace } from '../../support/faces.js';
import { HAVE_POSTGRES, POSTGRES_URL } from '../../support/postgres.js';
import { rejection } from '../../support/rejection.js';

const CHILD = fileURLToPath(new URL('./reembed-child.ts', import.meta.url));
const PEOPLE = [
  'George_W_Bush',
  'Colin_Powell',
  'Tony_Blair',
  'Serena_Williams',
  'Donald_Rumsfeld',
  'Gerhard_Schroeder',
  'Ariel_Sharon',
  'Hugo_Chavez',
];
const KEY = randomBytes(32).toString('base64');

/** Per person: the enrol photo analysed by MobileFaceNet with its chip; another photo, by both models. */
interface Person {
  name: string;
  enrol: Analysis;
  probeMobile: Analysis;
  probeDlib: Analysis;
}
let people: Person[] = [];
let extra: Analysis; // one more person, enrolled during a run
let mobile: FaceAnalyzer;
let dlib: FaceAnalyzer;

beforeAll(async () => {
  if (!HAVE_FACES) return;
  // LFW photos may show a second face at the edge: the central one is the person (as in `eval`).
  [mobile, dlib] = await Promise.all([
    FaceAnalyzer.create({ model: 'mobilefacenet', facePolicy: 'center' }),
    FaceAnalyzer.create({ model: 'dlib-resnet', facePolicy: 'center' }),
  ]);
  const photos = (name: string) => readdirSync(facePath(`lfw/images/${name}`)).sort();
  const read = (name: string, file: string) => readFace(`lfw/images/${name}/${file}`);
  for (const name of PEOPLE) {
    const [first, second] = photos(name) as [string, string];
    people.push({
      name,
      enrol: await mobile.analyze(read(name, first), { faceChip: true }),
      probeMobile: await mobile.analyze(read(name, second)),
      probeDlib: await dlib.analyze(read(name, second)),
    });
  }
  extra = await mobile.analyze(read('Vladimir_Putin', photos('Vladimir_Putin')[0] as string), {
    faceChip: true,
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([mobile?.close(), dlib?.close()]);
  people = [];
});

interface Harness {
  open(options?: { retainCrops?: boolean }): Promise<GalleryStore>;
  childOptions: CreateGalleryStoreOptions;
  cleanup(): Promise<void>;
}

function harness(postgres: boolean): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'fv-reembed-'));
  const schema = `fvtest_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const where: CreateGalleryStoreOptions = postgres
    ? { databaseUrl: POSTGRES_URL, schema, dataDir: '' }
    : { dataDir: dir };
  const stores: GalleryStore[] = [];
  return {
    async open({ retainCrops = true } = {}) {
      const cipher = new TemplateCipher([{ id: 'k1', key: Buffer.from(KEY, 'base64') }]);
      const store = createGalleryStore({ ...where, cipher, retainCrops });
      stores.push(store);
      await store.open();
      return store;
    },
    childOptions: where,
    async cleanup() {
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
      if (postgres) {
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    },
  };
}

function enrol(store: GalleryStore, subject: string, analysis: Analysis) {
  return store.enrol({
    gallery: 'g',
    subject,
    modelId: analysis.modelId,
    embedding: analysis.embedding,
    face: analysis.face,
    ...(analysis.faceChip ? { crop: analysis.faceChip } : {}),
    actor: 'cli',
  });
}

/** The best subject for a probe, searched with its own model's threshold. */
async function top(store: GalleryStore, probe: Analysis, threshold: number): Promise<string | undefined> {
  const matches = await store.search({
    gallery: 'g',
    modelId: probe.modelId,
    embedding: probe.embedding,
    threshold,
  });
  return matches[0]?.subject;
}

let current: Harness | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

const backends = [
  { name: 'embedded SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
] as const;

for (const backend of backends) {
  describe.skipIf(!HAVE_FACES || (backend.postgres && !HAVE_POSTGRES))(
    `gallery reembed (${backend.name})`,
    () => {
      const setup = (): Harness => (current = harness(backend.postgres));

      it('moves a gallery to dlib-resnet: search with dlib finds the same people, after a restart too', async () => {
        // Wrong if it fails: re-embedded templates would not match the new model's embeddings of other
        // photos of the same people, the switch would not persist, or old-model searches would still
        // compare against new-model vectors.
        const h = setup();
        let store = await h.open();
        for (const p of people) await enrol(store, p.name, p.enrol);
        for (const p of people) expect(await top(store, p.probeMobile, mobile.model.threshold)).toBe(p.name);
        const progress: number[] = [];
        const result = await reembedGallery(store, dlib, {
          gallery: 'g',
          actor: 'cli',
          onProgress: (p) => progress.push(p.done),
        });
        expect(result).toMatchObject({
          from: mobile.model.id,
          to: dlib.model.id,
          faces: people.length,
          embedded: people.length,
          resumed: 0,
          switched: true,
        });
        expect(progress).toEqual(Array.from({ length: people.length + 1 }, (_, i) => i));
        for (const p of people) expect(await top(store, p.probeDlib, dlib.model.threshold)).toBe(p.name);
        const probe = people[0]?.probeMobile as Analysis;
        expect((await rejection(top(store, probe, 0.4))).code).toBe('MODEL_MISMATCH');
        expect((await store.readAudit({ limit: 100 })).filter((e) => e.action === 'reembed')).toMatchObject([
          { gallery: 'g', count: people.length, actor: 'cli' },
        ]);
        // Each face keeps its chip (so it can move again), sealed and readable.
        const [face] = (await store.getSubject('g', PEOPLE[0] as string)).faces_list;
        expect(face).toMatchObject({ model: dlib.model.id, has_crop: true });

        await store.close();
        store = await h.open();
        expect(await store.listGalleries()).toMatchObject([{ gallery: 'g', model: dlib.model.id, dim: 128 }]);
        for (const p of people) expect(await top(store, p.probeDlib, dlib.model.threshold)).toBe(p.name);
        // Run again: already there, nothing to do.
        expect(await reembedGallery(store, dlib, { gallery: 'g', actor: 'cli' })).toMatchObject({
          switched: false,
          embedded: 0,
        });
      });

      it('refuses with FACE_CROPS_MISSING, naming who must be enrolled again, and changes nothing', async () => {
        // Wrong if it fails: a gallery with faces that cannot be re-embedded would be switched without
        // them (people silently lost) or left half switched, or the user would not learn what to do.
        const h = setup();
        const withCrops = await h.open();
        for (const p of people.slice(0, 2)) await enrol(withCrops, p.name, p.enrol);
        const withoutCrops = await h.open({ retainCrops: false });
        const late = people[2] as Person;
        await enrol(withoutCrops, late.name, late.enrol);
        const err = await rejection(reembedGallery(withCrops, dlib, { gallery: 'g', actor: 'cli' }));
        expect(err).toMatchObject({
          code: 'FACE_CROPS_MISSING',
          status: 409,
          details: { gallery: 'g', faces_without_crop: 1, subjects: [late.name] },
        });
        expect(err.message).toContain('enrol these subjects again');
        expect(await withCrops.reembedStatus('g', dlib.model.id)).toMatchObject({
          model: mobile.model.id,
          faces: 3,
          staged: 0,
          without_crop: 1,
        });
        // A fresh node: the state as stored, whatever the change feeds have delivered so far.
        const fresh = await h.open();
        for (const p of people.slice(0, 3))
          expect(await top(fresh, p.probeMobile, mobile.model.threshold)).toBe(p.name);
        expect(
          (await rejection(reembedGallery(withCrops, dlib, { gallery: 'nope', actor: 'cli' }))).code,
        ).toBe('GALLERY_NOT_FOUND');
      });

      it('embeds faces enrolled during the run before the switch, and forgets faces deleted', async () => {
        // Wrong if it fails: a face enrolled while the job runs would keep its old-model template in a
        // new-model gallery (never found again), or a deleted face would come back.
        const h = setup();
        const store = await h.open();
        const ids: string[] = [];
        for (const p of people.slice(0, 4)) ids.push((await enrol(store, p.name, p.enrol)).face_id);
        let once = false;
        let pending: Promise<unknown> = Promise.resolve();
        const result = await reembedGallery(store, dlib, {
          gallery: 'g',
          actor: 'cli',
          batchSize: 2,
          onProgress: (p) => {
            if (p.done !== 1 || once) return;
            once = true;
            // Fire and wait below: progress callbacks are synchronous.
            pending = Promise.all([
              enrol(store, 'Vladimir_Putin', extra),
              store.deleteFace('g', PEOPLE[3] as string, ids[3] as string, 'cli'),
            ]);
          },
        });
        await pending;
        expect(result.switched).toBe(true);
        const subjects = (await store.listSubjects('g')).subjects.map((s) => s.subject);
        expect(subjects).toEqual([...PEOPLE.slice(0, 3), 'Vladimir_Putin'].sort());
        expect(await store.listGalleries()).toMatchObject([{ model: dlib.model.id, faces: 4 }]);
        const putin = await dlib.embedFaceChip(extra.faceChip as Uint8Array);
        expect(await top(store, { ...extra, modelId: dlib.model.id, embedding: putin }, 0.99)).toBe(
          'Vladimir_Putin',
        );
        for (const p of people.slice(0, 3))
          expect(await top(store, p.probeDlib, dlib.model.threshold)).toBe(p.name);
      });

      it('a run killed by SIGKILL leaves the gallery whole in its old model; the next run resumes', async () => {
        // Wrong if it fails: a crash mid-run would leave a gallery half in one model and half in the
        // other (searches comparing vectors of two models), unreadable, or unable to finish later.
        const h = setup();
        const store = await h.open();
        for (const p of people) await enrol(store, p.name, p.enrol);
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', CHILD, JSON.stringify({ ...h.childOptions, key: KEY })],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let seen = '';
        await new Promise<void>((resolve, reject) => {
          child.stdout.setEncoding('utf8');
          child.stdout.on('data', (chunk: string) => {
            seen += chunk;
            if (/done [2-9]/.test(seen) && !child.killed) child.kill('SIGKILL');
          });
          child.on('exit', (_code, signal) =>
            signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${signal}: ${seen}`)),
          );
        });
        expect(seen).not.toContain('finished');

        const after = await h.open();
        const status = await after.reembedStatus('g', dlib.model.id);
        expect(status.model).toBe(mobile.model.id);
        expect(status.staged).toBeGreaterThanOrEqual(2);
        expect(status.staged).toBeLessThan(people.length);
        for (const p of people) expect(await top(after, p.probeMobile, mobile.model.threshold)).toBe(p.name);

        const result = await reembedGallery(after, dlib, { gallery: 'g', actor: 'cli' });
        expect(result).toMatchObject({
          switched: true,
          resumed: status.staged,
          embedded: people.length - status.staged,
        });
        for (const p of people) expect(await top(after, p.probeDlib, dlib.model.threshold)).toBe(p.name);
      });

      it('another node follows the switch without a restart', async () => {
        // Wrong if it fails: after a re-embedding, other API nodes would keep searching the old
        // templates (or refuse the new model) until restarted.
        const h = setup();
        const a = await h.open();
        const b = await h.open();
        for (const p of people.slice(0, 3)) await enrol(a, p.name, p.enrol);
        await reembedGallery(a, dlib, { gallery: 'g', actor: 'cli' });
        const probe = people[0] as Person;
        const end = Date.now() + 30_000;
        while (
          (await b.listGalleries())[0]?.model !== dlib.model.id ||
          !(await top(b, probe.probeDlib, dlib.model.threshold).catch(() => undefined))
        ) {
          if (Date.now() > end) throw new Error('node B never followed the switch');
          await new Promise((r) => setTimeout(r, 20));
        }
        for (const p of people.slice(0, 3))
          expect(await top(b, p.probeDlib, dlib.model.threshold)).toBe(p.name);
      });
    },
  );
}
