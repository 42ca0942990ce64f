// One suite, written once, run against both GalleryStore backends: SQLite in a fresh temp folder, and
// PostgreSQL on the real server in a fresh schema per test (dropped afterwards).
// Time budget: each test < 2 s; the SIGKILL test starts one child process (~1 s).
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createGalleryStore } from '../../../src/gallery/create-gallery-store.js';
import type { CreateGalleryStoreOptions } from '../../../src/gallery/create-gallery-store.js';
import type { GalleryChange } from '../../../src/gallery/gallery-database.js';
import type { GalleryStore } from '../../../src/gallery/gallery-store.js';
import { IndexedGalleryStore } from '../../../src/gallery/indexed-gallery-store.js';
import { TemplateCipher } from '../../../src/gallery/template-cipher.js';
import { prng } from '../../support/prng.js';
import { rejection } from '../../support/rejection.js';
import { describeWithPostgres, POSTGRES_URL } from '../../support/postgres.js';
import { freePort, TcpProxy } from '../../support/tcp-proxy.js';

const DIM = 192;
const MODEL = 'mobilefacenet@d8ba40c0127f';
const CHILD = fileURLToPath(new URL('./enrol-child.ts', import.meta.url));
const CHANGE_CHILD = fileURLToPath(new URL('./change-child.ts', import.meta.url));
const run = promisify(execFile);

interface Harness {
  /** A store on this test's database (same data for every call); closed after the test. */
  open(options?: Omit<CreateGalleryStoreOptions, 'dataDir'>): Promise<GalleryStore>;
  /** The embedding column of a face as stored, read behind the store's back. */
  storedEmbedding(faceId: string): Promise<Uint8Array>;
  /** Options a child process passes to createGalleryStore to reach the same data. */
  childOptions: Record<string, string>;
  /**
   * A store reaching this test's database through a proxy the test can cut (a server backend only;
   * SQLite's outage, a lock held by another process, has its own test below).
   */
  openBehindProxy?: () => Promise<{ store: GalleryStore; proxy: TcpProxy }>;
  cleanup(): Promise<void>;
}

function sqliteHarness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'fv-gallery-'));
  const stores: GalleryStore[] = [];
  return {
    async open(options = {}) {
      const store = createGalleryStore({ ...options, dataDir: dir });
      stores.push(store);
      await store.open();
      return store;
    },
    storedEmbedding(faceId) {
      const db = new Database(join(dir, 'galleries.sqlite'), { readonly: true });
      try {
        const row = db.prepare('SELECT embedding FROM faces WHERE face_id = ?').get(faceId) as {
          embedding: Uint8Array;
        };
        return Promise.resolve(row.embedding);
      } finally {
        db.close();
      }
    },
    childOptions: { dataDir: dir },
    async cleanup() {
      await Promise.all(stores.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresHarness(): Harness {
  const schema = `fvtest_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const stores: GalleryStore[] = [];
  const proxies: TcpProxy[] = [];
  const base = { databaseUrl: POSTGRES_URL, schema, dataDir: '' };
  return {
    async open(options = {}) {
      const store = createGalleryStore({
        ...options,
        ...base,
        postgres: { reconnectDelayMs: 50 },
      });
      stores.push(store);
      await store.open();
      return store;
    },
    async storedEmbedding(faceId) {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ embedding: Uint8Array }>(
          `SELECT embedding FROM ${schema}.faces WHERE face_id = $1`,
          [faceId],
        );
        return rows[0]?.embedding ?? new Uint8Array();
      } finally {
        await admin.end();
      }
    },
    childOptions: { databaseUrl: POSTGRES_URL, schema, dataDir: '' },
    async openBehindProxy() {
      const target = new URL(POSTGRES_URL);
      const proxy = new TcpProxy(await freePort(), {
        host: target.hostname,
        port: Number(target.port || 5432),
      });
      proxies.push(proxy);
      await proxy.up();
      const via = new URL(POSTGRES_URL);
      via.host = `127.0.0.1:${proxy.port}`;
      const store = createGalleryStore({
        ...base,
        databaseUrl: via.toString(),
        // The listener waits 1 s before reconnecting, so the first searches after the outage run before
        // its resync and must rely on the candidate check alone.
        postgres: { reconnectDelayMs: 1000, connectTimeoutMs: 1000 },
      });
      stores.push(store);
      await store.open();
      return { store, proxy };
    },
    async cleanup() {
      await Promise.all(proxies.map((p) => p.up()));
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      await Promise.all(proxies.map((p) => p.down()));
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** `n` seeded random unit vectors. */
function vectors(seed: number, n: number): Float32Array[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const v = new Float32Array(DIM);
    let s = 0;
    for (let j = 0; j < DIM; j++) s += (v[j] = r() - 0.5) ** 2;
    for (let j = 0; j < DIM; j++) v[j] = (v[j] as number) / Math.sqrt(s);
    return v;
  });
}

const face = { box: [10, 20, 110, 140], score: 0.999, landmarks: [[40, 60]], quality: 0.8 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for a condition; the long limit only guards against a hang (no time budget is asserted). */
async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The harness of the running test, cleaned up after it. */
let current: Harness | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

function conformance(makeHarness: () => Harness, serverBackend: boolean): void {
  const setup = (): Harness => (current = makeHarness());

  it('enrols, lists, shows and searches; everything survives a re-open', async () => {
    // Wrong if it fails: enrolled people are lost on restart, or search does not find them.
    const harness = setup();
    const [a, b, c] = vectors(1, 3) as [Float32Array, Float32Array, Float32Array];
    let store = await harness.open();
    const first = await store.enrol({
      gallery: 'staff',
      subject: 'alice',
      modelId: MODEL,
      embedding: a,
      face,
      actor: 'cli',
    });
    expect(first).toMatchObject({
      gallery: 'staff',
      subject: 'alice',
      model: MODEL,
      face,
      created: true,
      has_crop: false,
    });
    expect(first.face_id).toMatch(/^[0-9a-f-]{36}$/);
    await store.enrol({
      gallery: 'staff',
      subject: 'alice',
      modelId: MODEL,
      embedding: b,
      face,
      actor: 'cli',
    });
    await store.enrol({ gallery: 'staff', subject: 'bob', modelId: MODEL, embedding: c, face, actor: 'cli' });
    await store.close();

    // Pages of 2 when loading the index: 3 faces take two pages, and none is lost at the seam.
    store = await harness.open({ loadPageSize: 2 });
    expect((await store.health()).detail).toContain('3 faces indexed');
    expect(await store.listGalleries()).toMatchObject([
      { gallery: 'staff', model: MODEL, dim: DIM, subjects: 2, faces: 3 },
    ]);
    const alice = await store.getSubject('staff', 'alice');
    expect(alice.faces).toBe(2);
    expect(alice.faces_list.map((f) => f.face_id)).toContain(first.face_id);
    expect(alice.faces_list[0]).not.toHaveProperty('embedding');
    const matches = await store.search({ gallery: 'staff', modelId: MODEL, embedding: a, threshold: 0.5 });
    expect(matches).toEqual([
      { subject: 'alice', face_id: first.face_id, cosine_similarity: expect.closeTo(1, 5) as number },
    ]);
    const templates = await store.subjectTemplates('staff', 'alice');
    expect(templates).toHaveLength(2);
    expect([...(templates.find((t) => t.face_id === first.face_id)?.embedding ?? [])]).toEqual([...a]);
    expect(
      await store.search({
        gallery: 'staff',
        modelId: MODEL,
        embedding: vectors(99, 1)[0] as Float32Array,
        threshold: 0.5,
      }),
    ).toEqual([]);
  });

  it('answers 404 codes and refuses another model with MODEL_MISMATCH', async () => {
    // Wrong if it fails: vectors of two models would be compared, or a typo would look like "no match".
    const store = await setup().open();
    const [a] = vectors(2, 1) as [Float32Array];
    expect((await rejection(store.listSubjects('nope'))).code).toBe('GALLERY_NOT_FOUND');
    expect(
      (await rejection(store.search({ gallery: 'nope', modelId: MODEL, embedding: a, threshold: 0 }))).code,
    ).toBe('GALLERY_NOT_FOUND');
    await store.enrol({ gallery: 'g', subject: 's', modelId: MODEL, embedding: a, face, actor: 'cli' });
    expect((await rejection(store.getSubject('g', 'nobody'))).code).toBe('SUBJECT_NOT_FOUND');
    expect((await rejection(store.deleteFace('g', 's', randomUUID(), 'cli'))).code).toBe('FACE_NOT_FOUND');
    const mismatch = await rejection(
      store.enrol({
        gallery: 'g',
        subject: 's',
        modelId: 'dlib-resnet@0123456789ab',
        embedding: a,
        face,
        actor: 'cli',
      }),
    );
    expect(mismatch).toMatchObject({ code: 'MODEL_MISMATCH', status: 409, retryable: false });
    expect(
      (await rejection(store.search({ gallery: 'g', modelId: 'other@1', embedding: a, threshold: 0 }))).code,
    ).toBe('MODEL_MISMATCH');
    expect(
      (
        await rejection(
          store.enrol({
            gallery: 'bad/name',
            subject: 's',
            modelId: MODEL,
            embedding: a,
            face,
            actor: 'cli',
          }),
        )
      ).code,
    ).toBe('INVALID_INPUT');
    expect(
      (
        await rejection(
          store.search({ gallery: 'g', modelId: MODEL, embedding: new Float32Array(128), threshold: 0 }),
        )
      ).code,
    ).toBe('INVALID_INPUT');
    expect((await store.getSubject('g', 's')).faces).toBe(1);
  });

  it('answers the first record for a repeated Idempotency-Key', async () => {
    // Wrong if it fails: a client retrying a timed-out enrol would add the same face twice.
    const store = await setup().open();
    const [a, b] = vectors(3, 2) as [Float32Array, Float32Array];
    const input = { gallery: 'g', subject: 's', modelId: MODEL, face, actor: 'cli', idempotencyKey: 'key-1' };
    const first = await store.enrol({ ...input, embedding: a });
    const again = await Promise.all([
      store.enrol({ ...input, embedding: b }),
      store.enrol({ ...input, embedding: b }),
    ]);
    expect(again.map((r) => [r.face_id, r.created])).toEqual([
      [first.face_id, false],
      [first.face_id, false],
    ]);
    expect((await store.getSubject('g', 's')).faces).toBe(1);
    const other = await store.enrol({ ...input, gallery: 'h', embedding: b });
    expect(other.created, 'keys are per gallery').toBe(true);
  });

  it('pages subjects with a stable cursor', async () => {
    // Wrong if it fails: a client walking the pages would miss or repeat subjects.
    const store = await setup().open();
    const vs = vectors(4, 7);
    const names = ['e', 'a', 'g', 'c', 'B', 'd', 'f'];
    for (const [i, name] of names.entries()) {
      await store.enrol({
        gallery: 'g',
        subject: name,
        modelId: MODEL,
        embedding: vs[i] as Float32Array,
        face,
        actor: 'cli',
      });
    }
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.listSubjects('g', { limit: 3, ...(after !== undefined && { after }) });
      seen.push(...page.subjects.map((s) => s.subject));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(['B', 'a', 'c', 'd', 'e', 'f', 'g']);
  });

  it('deletes faces, subjects and galleries, answering how many faces went', async () => {
    // Wrong if it fails: a deleted person could still be found, or the API would report wrong counts.
    const store = await setup().open();
    const vs = vectors(5, 5);
    const enrol = (subject: string, i: number, gallery = 'g') =>
      store.enrol({
        gallery,
        subject,
        modelId: MODEL,
        embedding: vs[i] as Float32Array,
        face,
        actor: 'key-1',
      });
    const a1 = await enrol('a', 0);
    await enrol('a', 1);
    await enrol('b', 2);
    await enrol('c', 3);
    await enrol('x', 4, 'other');
    expect(await store.deleteFace('g', 'a', a1.face_id, 'key-1')).toBe(1);
    expect(
      await store.search({ gallery: 'g', modelId: MODEL, embedding: vs[0] as Float32Array, threshold: 0.9 }),
    ).toEqual([]);
    expect(await store.deleteSubject('g', 'a', 'key-1')).toBe(1);
    expect((await rejection(store.getSubject('g', 'a'))).code).toBe('SUBJECT_NOT_FOUND');
    expect(await store.deleteGallery('g', 'key-1')).toBe(2);
    expect((await rejection(store.listSubjects('g'))).code).toBe('GALLERY_NOT_FOUND');
    expect((await store.listGalleries()).map((g) => g.gallery)).toEqual(['other']);
  });

  it('sweeps expired subjects, with a default retention', async () => {
    // Wrong if it fails: biometric data would be kept past its retention period.
    const harness = setup();
    let now = Date.UTC(2026, 0, 1);
    const store = await harness.open({ retentionDays: 30, now: () => now });
    const vs = vectors(6, 3);
    await store.enrol({
      gallery: 'g',
      subject: 'default',
      modelId: MODEL,
      embedding: vs[0] as Float32Array,
      face,
      actor: 'cli',
    });
    await store.enrol({
      gallery: 'g',
      subject: 'short',
      modelId: MODEL,
      embedding: vs[1] as Float32Array,
      face,
      actor: 'cli',
      expiresAt: new Date(now + 86_400_000),
      consentRef: 'form-17',
    });
    await store.enrol({
      gallery: 'g',
      subject: 'long',
      modelId: MODEL,
      embedding: vs[2] as Float32Array,
      face,
      actor: 'cli',
      expiresAt: new Date(now + 90 * 86_400_000),
    });
    expect((await store.getSubject('g', 'short')).consent_ref).toBe('form-17');
    expect((await store.getSubject('g', 'default')).expires_at).toBe(
      new Date(now + 30 * 86_400_000).toISOString(),
    );
    now += 2 * 86_400_000;
    expect(await store.sweepExpired('sweeper')).toEqual({ subjects: 1, faces: 1 });
    now += 29 * 86_400_000;
    expect(await store.sweepExpired('sweeper')).toEqual({ subjects: 1, faces: 1 });
    expect((await store.listSubjects('g')).subjects.map((s) => s.subject)).toEqual(['long']);
    expect(
      await store.search({ gallery: 'g', modelId: MODEL, embedding: vs[1] as Float32Array, threshold: 0.9 }),
    ).toEqual([]);
    const audit = await store.readAudit({ gallery: 'g' });
    expect(audit.filter((e) => e.action === 'expire').map((e) => [e.subject, e.actor, e.count])).toEqual([
      ['short', 'sweeper', 1],
      ['default', 'sweeper', 1],
    ]);
  });

  it("keeps a subject's expiry on later enrols, and changes retention and consent when asked", async () => {
    // Wrong if it fails: every new photo would silently extend how long a person is kept, a changed
    // retention would not be honoured by the sweeper, or a change would go unaudited.
    const harness = setup();
    let now = Date.UTC(2026, 0, 1);
    const day = 86_400_000;
    const store = await harness.open({ retentionDays: 30, now: () => now });
    const vs = vectors(13, 3);
    const enrol = (subject: string, i: number, extra: { expiresAt?: Date } = {}) =>
      store.enrol({
        gallery: 'g',
        subject,
        modelId: MODEL,
        embedding: vs[i] as Float32Array,
        face,
        actor: 'cli',
        ...extra,
      });
    await enrol('kept', 0);
    await enrol('moved', 1);
    const first = new Date(now + 30 * day).toISOString();
    now += 10 * day;
    await enrol('kept', 2);
    expect((await store.getSubject('g', 'kept')).expires_at).toBe(first);
    // An explicit expiry on a later enrol does change it.
    await enrol('kept', 2, { expiresAt: new Date(now + 40 * day) });
    expect((await store.getSubject('g', 'kept')).expires_at).toBe(new Date(now + 40 * day).toISOString());

    const moved = await store.updateSubject(
      'g',
      'moved',
      { expiresAt: new Date(now + day), consentRef: 'c-1' },
      'key-A',
    );
    expect(moved).toMatchObject({ subject: 'moved', faces: 1, consent_ref: 'c-1' });
    expect(moved.expires_at).toBe(new Date(now + day).toISOString());
    // Only the fields given change.
    expect(await store.updateSubject('g', 'moved', { consentRef: null }, 'key-A')).toMatchObject({
      consent_ref: null,
      expires_at: moved.expires_at,
    });
    expect(await store.updateSubject('g', 'kept', { expiresAt: null }, 'key-A')).toMatchObject({
      expires_at: null,
    });
    for (const bad of [new Date(now), new Date(Number.NaN)]) {
      expect(await rejection(store.updateSubject('g', 'moved', { expiresAt: bad }, 'key-A'))).toMatchObject({
        code: 'INVALID_INPUT',
      });
    }
    expect((await rejection(store.updateSubject('g', 'nobody', { consentRef: 'x' }, 'key-A'))).code).toBe(
      'SUBJECT_NOT_FOUND',
    );
    expect(
      (await rejection(store.updateSubject('nowhere', 'moved', { consentRef: 'x' }, 'key-A'))).code,
    ).toBe('GALLERY_NOT_FOUND');

    now += 2 * day;
    expect(await store.sweepExpired('sweeper')).toEqual({ subjects: 1, faces: 1 });
    now += 1000 * day;
    expect(await store.sweepExpired('sweeper')).toEqual({ subjects: 0, faces: 0 });
    expect((await store.listSubjects('g')).subjects.map((s) => s.subject)).toEqual(['kept']);
    const audit = await store.readAudit({ gallery: 'g' });
    expect(audit.filter((e) => e.action !== 'enrol').map((e) => [e.actor, e.action, e.subject])).toEqual([
      ['key-A', 'update', 'moved'],
      ['key-A', 'update', 'moved'],
      ['key-A', 'update', 'kept'],
      ['sweeper', 'expire', 'moved'],
    ]);
  });

  it('reads the audit log by gallery, subject, action and time, a page at a time', async () => {
    // Wrong if it fails: an administrator asking who touched one person would get everyone, or miss some.
    const harness = setup();
    let now = Date.UTC(2026, 0, 1);
    const store = await harness.open({ now: () => now });
    const [a, b] = vectors(14, 2) as [Float32Array, Float32Array];
    await store.enrol({ gallery: 'g', subject: 'ana', modelId: MODEL, embedding: a, face, actor: 'key-A' });
    now += 1000;
    await store.enrol({ gallery: 'h', subject: 'ana', modelId: MODEL, embedding: b, face, actor: 'key-A' });
    now += 1000;
    await store.search({ gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.5, actor: 'key-B' });
    now += 1000;
    await store.enrol({ gallery: 'g', subject: 'bo', modelId: MODEL, embedding: b, face, actor: 'key-A' });
    await store.deleteSubject('g', 'ana', 'key-C');
    const pick = (entries: { actor: string; action: string; gallery: string; subject: string | null }[]) =>
      entries.map((e) => `${e.actor} ${e.action} ${e.gallery}/${e.subject ?? ''}`);
    expect(pick(await store.readAudit({ subject: 'ana' }))).toEqual([
      'key-A enrol g/ana',
      'key-A enrol h/ana',
      'key-C delete g/ana',
    ]);
    expect(pick(await store.readAudit({ gallery: 'g', subject: 'ana' }))).toEqual([
      'key-A enrol g/ana',
      'key-C delete g/ana',
    ]);
    expect(pick(await store.readAudit({ action: 'search' }))).toEqual(['key-B search g/']);
    const since = new Date(Date.UTC(2026, 0, 1) + 2000);
    expect(pick(await store.readAudit({ since, gallery: 'g' }))).toEqual([
      'key-B search g/',
      'key-A enrol g/bo',
      'key-C delete g/ana',
    ]);
    const firstPage = await store.readAudit({ gallery: 'g', limit: 2 });
    const secondPage = await store.readAudit({ gallery: 'g', limit: 2, after: firstPage.at(-1)?.id ?? 0 });
    expect(pick([...firstPage, ...secondPage])).toEqual(pick(await store.readAudit({ gallery: 'g' })));
    expect(secondPage).toHaveLength(2);
  });

  it('prunes audit entries older than the audit retention, and none without one', async () => {
    // Wrong if it fails: AUDIT_RETENTION_DAYS would keep who-touched-whom forever, or delete recent entries.
    const harness = setup();
    let now = Date.UTC(2026, 0, 1);
    const store = await harness.open({ auditRetentionDays: 30, now: () => now });
    const [a, b] = vectors(15, 2) as [Float32Array, Float32Array];
    await store.enrol({ gallery: 'g', subject: 'ana', modelId: MODEL, embedding: a, face, actor: 'key-A' });
    now += 20 * 86_400_000;
    await store.enrol({ gallery: 'g', subject: 'bo', modelId: MODEL, embedding: b, face, actor: 'key-A' });
    now += 11 * 86_400_000; // ana's enrol is 31 days old, bo's 11
    expect(await store.pruneAudit()).toBe(1);
    expect((await store.readAudit({ gallery: 'g' })).map((e) => e.subject)).toEqual(['bo']);
    expect(await store.pruneAudit()).toBe(0);
    // The faces themselves are not touched: only the log.
    expect((await store.getSubject('g', 'ana')).faces).toBe(1);

    const keepAll = await harness.open({ now: () => now + 10_000 * 86_400_000 });
    expect(await keepAll.pruneAudit()).toBe(0);
    expect(await keepAll.readAudit({ gallery: 'g' })).toHaveLength(1);
  });

  it('keeps an audit log of enrol, delete, search and verify, without images or embeddings', async () => {
    // Wrong if it fails: an administrator could not tell who enrolled, searched or deleted whom.
    const store = await setup().open();
    const [a] = vectors(7, 1) as [Float32Array];
    const enrolled = await store.enrol({
      gallery: 'g',
      subject: 's',
      modelId: MODEL,
      embedding: a,
      face,
      actor: 'key-A',
    });
    await store.search({ gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.5, actor: 'key-B' });
    await store.subjectTemplates('g', 's', 'key-B');
    await store.deleteSubject('g', 's', 'cli');
    const entries = await store.readAudit();
    expect(entries.map((e) => [e.actor, e.action, e.gallery, e.subject, e.count])).toEqual([
      ['key-A', 'enrol', 'g', 's', null],
      ['key-B', 'search', 'g', null, 1],
      ['key-B', 'verify', 'g', 's', 1],
      ['cli', 'delete', 'g', 's', 1],
    ]);
    expect(entries[0]?.face_id).toBe(enrolled.face_id);
    expect(Object.keys(entries[0] ?? {}).sort()).toEqual([
      'action',
      'actor',
      'at',
      'count',
      'face_id',
      'gallery',
      'id',
      'subject',
    ]);
    expect(await store.readAudit({ after: entries[1]?.id ?? 0, limit: 1 })).toEqual([entries[2]]);
  });

  it('encrypts templates and crops, refuses tampering, rotates keys', async () => {
    // Wrong if it fails: templates would be readable from a copied database, a wrong key would yield
    // garbage vectors, or rotation would lose faces.
    const harness = setup();
    const k1 = { id: 'k1', key: randomBytes(32) };
    const k2 = { id: 'k2', key: randomBytes(32) };
    const [a, b] = vectors(8, 2) as [Float32Array, Float32Array];
    const crop = new Uint8Array(112 * 112 * 3).fill(7);
    let store = await harness.open({ cipher: new TemplateCipher([k1]), retainCrops: true });
    const plainStore = await harness.open({});
    const sealed = await store.enrol({
      gallery: 'g',
      subject: 's',
      modelId: MODEL,
      embedding: a,
      face,
      crop,
      actor: 'cli',
    });
    expect(sealed.has_crop).toBe(true);
    expect(await store.faceCrop(sealed.face_id)).toEqual(crop);
    const plain = await plainStore.enrol({
      gallery: 'p',
      subject: 's',
      modelId: MODEL,
      embedding: a,
      face,
      crop,
      actor: 'cli',
    });
    expect(plain.has_crop, 'crops only kept when asked').toBe(false);
    expect(await plainStore.faceCrop(plain.face_id)).toBeUndefined();
    const asFloats = (b: Uint8Array): number[] => [...new Float32Array(Uint8Array.from(b).buffer)];
    expect(asFloats(await harness.storedEmbedding(plain.face_id)), 'plain: raw float32').toEqual([...a]);
    const stored = await harness.storedEmbedding(sealed.face_id);
    expect(stored.byteLength).toBe(12 + 16 + DIM * 4);
    expect(
      Buffer.from(stored).includes(Buffer.from(a.buffer).subarray(0, 16)),
      'no plain floats at rest',
    ).toBe(false);
    await plainStore.close();
    // Without the key the template cannot be read: a typed error, not a vector of noise.
    expect((await rejection(harness.open({}))).code).toBe('TEMPLATE_UNREADABLE');
    // With another key under the same id: authentication fails.
    expect(
      (await rejection(harness.open({ cipher: new TemplateCipher([{ id: 'k1', key: randomBytes(32) }]) })))
        .code,
    ).toBe('TEMPLATE_UNREADABLE');
    await store.close();
    // Rotation: k2 first seals new faces; k1 still opens the old one; reencrypt moves it to k2.
    store = await harness.open({ cipher: new TemplateCipher([k2, k1]), retainCrops: true });
    await store.enrol({ gallery: 'g', subject: 't', modelId: MODEL, embedding: b, face, actor: 'cli' });
    // The k1 face and the plain one are re-sealed with k2.
    expect(await store.reencrypt()).toBe(2);
    expect(await store.reencrypt()).toBe(0);
    await store.close();
    store = await harness.open({ cipher: new TemplateCipher([k2]) });
    const [template] = await store.subjectTemplates('g', 's');
    expect([...(template?.embedding ?? [])]).toEqual([...a]);
    expect((await store.subjectTemplates('p', 's'))[0]?.embedding).toEqual(a);
    expect(await store.faceCrop(sealed.face_id)).toEqual(crop);
    expect(
      (await store.search({ gallery: 'g', modelId: MODEL, embedding: b, threshold: 0.9 }))[0]?.subject,
    ).toBe('t');
  });

  it('loses nothing under concurrent enrol, delete and search', async () => {
    // Wrong if it fails: a race between writers and the in-memory index would drop or resurrect faces.
    const store = await setup().open();
    const vs = vectors(9, 40);
    const enrol = (i: number) =>
      store.enrol({
        gallery: 'g',
        subject: `p${i}`,
        modelId: MODEL,
        embedding: vs[i] as Float32Array,
        face,
        actor: 'cli',
      });
    const firsts = await Promise.all(Array.from({ length: 20 }, (_, i) => enrol(i)));
    const ops: Promise<unknown>[] = [];
    for (let i = 20; i < 40; i++) ops.push(enrol(i));
    for (let i = 0; i < 10; i++) ops.push(store.deleteSubject('g', `p${i}`, 'cli'));
    for (let i = 0; i < 40; i++)
      ops.push(
        store.search({ gallery: 'g', modelId: MODEL, embedding: vs[i] as Float32Array, threshold: 0.99 }),
      );
    await Promise.all(ops);
    for (let i = 0; i < 40; i++) {
      const found = await store.search({
        gallery: 'g',
        modelId: MODEL,
        embedding: vs[i] as Float32Array,
        threshold: 0.99,
        limit: 1,
      });
      expect(
        found.map((m) => m.subject),
        `p${i}`,
      ).toEqual(i < 10 ? [] : [`p${i}`]);
    }
    expect((await store.listGalleries())[0]).toMatchObject({ subjects: 30, faces: 30 });
    expect(firsts.every((f) => f.created)).toBe(true);
  });

  it('leaves no half-written face when an enrolling process is killed', async () => {
    // Wrong if it fails: a crash mid-enrol would leave a face without its subject, template or audit
    // entry, or lose an enrol that was acknowledged.
    const harness = setup();
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(harness.childOptions)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged: string[] = [];
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        acknowledged.push(...chunk.split('\n').filter((l) => l.length === 36));
        if (acknowledged.length >= 30 && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${signal}`)),
      );
    });
    const store = await harness.open();
    const templates = await store.subjectTemplates('crash', 'victim');
    const ids = new Set(templates.map((t) => t.face_id));
    for (const id of acknowledged) expect(ids.has(id), `acknowledged face ${id}`).toBe(true);
    for (const t of templates) {
      expect(t.embedding).toHaveLength(DIM);
      expect(Math.hypot(...t.embedding)).toBeCloseTo(1, 5);
    }
    const enrols = (await store.readAudit({ limit: 1000 })).filter((e) => e.action === 'enrol');
    expect(enrols.map((e) => e.face_id).sort()).toEqual([...ids].sort());
  });

  it('two nodes on one database: a face enrolled on one is found on the other, a deleted one never', async () => {
    // Wrong if it fails: a person deleted through one API node (or the CLI beside a server) could still
    // be identified by another, or one enrolled there would not be found here.
    const harness = setup();
    const nodeA = await harness.open();
    const nodeB = await harness.open();
    const [a] = vectors(12, 1) as [Float32Array];
    const probe = { gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.9 };
    expect((await rejection(nodeB.search(probe))).code).toBe('GALLERY_NOT_FOUND');
    const enrolled = await nodeA.enrol({
      gallery: 'g',
      subject: 's',
      modelId: MODEL,
      embedding: a,
      face,
      actor: 'cli',
    });
    await until(async () => (await nodeB.search(probe)).length === 1);
    await nodeA.deleteFace('g', 's', enrolled.face_id, 'cli');
    // At once, whether or not B has had the notification yet: the candidate check drops it.
    expect(await nodeB.search(probe)).toEqual([]);
    // Without searching, B's index follows A's deletes through the change feed.
    await nodeA.enrol({ gallery: 'g', subject: 't', modelId: MODEL, embedding: a, face, actor: 'cli' });
    await until(async () => (await nodeB.health()).detail.includes('1 faces indexed'));
    await nodeA.deleteSubject('g', 't', 'cli');
    await until(async () => (await nodeB.health()).detail.includes('0 faces indexed'));
  });

  it.skipIf(!serverBackend)(
    'answers UNAVAILABLE (503, retryable) while the database is away, then recovers and catches up',
    async () => {
      // Wrong if it fails: an outage would hang requests or answer 500, need a restart to recover, or
      // leave this node's index without what other nodes changed meanwhile.
      const harness = setup();
      const [a, b, c] = vectors(10, 3) as [Float32Array, Float32Array, Float32Array];
      const broken = createGalleryStore({
        databaseUrl: 'postgres://postgres@127.0.0.1:1/postgres',
        dataDir: '',
      });
      expect(await rejection(broken.open())).toMatchObject({
        code: 'UNAVAILABLE',
        status: 503,
        retryable: true,
      });
      await broken.close();

      const direct = await harness.open();
      const gone = await direct.enrol({
        gallery: 'g',
        subject: 'gone',
        modelId: MODEL,
        embedding: a,
        face,
        actor: 'cli',
      });
      const { store, proxy } = await (harness.openBehindProxy as NonNullable<Harness['openBehindProxy']>)();
      expect(
        (await store.search({ gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.9 }))[0]?.subject,
      ).toBe('gone');

      await proxy.down();
      // Each call must reject (not hang: the test's hang guard would fail it) with UNAVAILABLE.
      const calls = [
        () => store.search({ gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.9 }),
        () => store.enrol({ gallery: 'g', subject: 'x', modelId: MODEL, embedding: b, face, actor: 'cli' }),
        () => store.listSubjects('g'),
      ];
      for (const call of calls) {
        expect(await rejection(call())).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryable: true });
      }
      expect((await store.health()).ok).toBe(false);
      // Meanwhile another node deletes one person and enrols another; this node hears nothing.
      await direct.deleteSubject('g', 'gone', 'cli');
      const added = await direct.enrol({
        gallery: 'g',
        subject: 'new',
        modelId: MODEL,
        embedding: c,
        face,
        actor: 'cli',
      });

      await proxy.up();
      await until(async () => (await store.health()).ok);
      expect((await store.health()).detail, 'not yet resynced').toContain('1 faces indexed');
      expect(await store.search({ gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.9 })).toEqual([]);
      // The listening connection comes back and reloads, so the face enrolled meanwhile is found.
      await until(
        async () =>
          (await store.search({ gallery: 'g', modelId: MODEL, embedding: c, threshold: 0.9 })).length === 1,
      );
      expect(
        (await store.search({ gallery: 'g', modelId: MODEL, embedding: c, threshold: 0.9 }))[0]?.face_id,
      ).toBe(added.face_id);
      expect(gone.created).toBe(true);
    },
  );
}

describe('GalleryStore conformance: SQLite', () => {
  conformance(sqliteHarness, false);

  it("another process's enrols and deletes reach this one's index through the change feed", async () => {
    // Wrong if it fails: a server would not find a person `faceverify gallery enrol` added beside it
    // until a restart, or would keep a deleted person in its index.
    const dir = mkdtempSync(join(tmpdir(), 'fv-gallery-'));
    const { SqliteGalleryDatabase } = await import('../../../src/gallery/sqlite-gallery-database.js');
    const db = new SqliteGalleryDatabase({ dataDir: dir, pollIntervalMs: 20 });
    const store = new IndexedGalleryStore(db);
    await store.open();
    /** The next change this process hears of that matches (the store, registered first, hears it first). */
    const heard = (match: (c: GalleryChange) => boolean): Promise<GalleryChange> =>
      new Promise((resolve) => db.onChange((c) => match(c) && resolve(c)));
    const child = async (op: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const { stdout } = await run(process.execPath, [
        '--import',
        'tsx',
        CHANGE_CHILD,
        JSON.stringify({ dataDir: dir }),
        JSON.stringify(op),
      ]);
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    const [a] = vectors(15, 1) as [Float32Array];
    const probe = { gallery: 'g', modelId: MODEL, embedding: a, threshold: 0.9 };
    try {
      const enrolHeard = heard((c) => c.op === 'enrol');
      const enrolled = await child({ op: 'enrol', gallery: 'g', subject: 's', embedding: [...a] });
      expect(await enrolHeard).toEqual({ op: 'enrol', gallery: 'g', faceId: enrolled.face_id });
      await store.settled();
      expect((await store.search(probe)).map((m) => m.face_id)).toEqual([enrolled.face_id]);

      const deleteHeard = heard((c) => c.op === 'delete-subject');
      expect(await child({ op: 'delete-subject', gallery: 'g', subject: 's' })).toEqual({ deleted_faces: 1 });
      await deleteHeard;
      await store.settled();
      expect((await store.health()).detail).toContain('0 faces indexed');
      expect(await store.search(probe)).toEqual([]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reloads everything when changes it had not read yet were pruned', async () => {
    // Wrong if it fails: a server that slept past the pruning of the change log would miss enrols.
    const dir = mkdtempSync(join(tmpdir(), 'fv-gallery-'));
    const { SqliteGalleryDatabase } = await import('../../../src/gallery/sqlite-gallery-database.js');
    const db = new SqliteGalleryDatabase({ dataDir: dir, pollIntervalMs: 20 });
    const store = new IndexedGalleryStore(db);
    await store.open();
    const other = new IndexedGalleryStore(new SqliteGalleryDatabase({ dataDir: dir }));
    await other.open();
    const raw = new Database(join(dir, 'galleries.sqlite'));
    try {
      const resynced = new Promise<GalleryChange>((resolve) =>
        db.onChange((c) => c.op === 'resync' && resolve(c)),
      );
      const vs = vectors(16, 2);
      // No timer runs between these (microtasks only): the pruning happens before the next poll.
      for (const [i, v] of vs.entries()) {
        await other.enrol({
          gallery: 'g',
          subject: `s${i}`,
          modelId: MODEL,
          embedding: v,
          face,
          actor: 'cli',
        });
      }
      raw.exec('DELETE FROM gallery_changes');
      await resynced;
      await store.settled();
      expect((await store.health()).detail).toContain('2 faces indexed');
    } finally {
      raw.close();
      await other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers UNAVAILABLE while another process holds the write lock, then recovers', async () => {
    // Wrong if it fails: a locked file would hang the request or answer 500.
    const dir = mkdtempSync(join(tmpdir(), 'fv-gallery-'));
    const { SqliteGalleryDatabase } = await import('../../../src/gallery/sqlite-gallery-database.js');
    const store = new IndexedGalleryStore(new SqliteGalleryDatabase({ dataDir: dir, busyTimeoutMs: 50 }));
    await store.open();
    const other = new Database(join(dir, 'galleries.sqlite'));
    const [a] = vectors(11, 1) as [Float32Array];
    try {
      other.exec('BEGIN IMMEDIATE');
      const err = await rejection(
        store.enrol({ gallery: 'g', subject: 's', modelId: MODEL, embedding: a, face, actor: 'cli' }),
      );
      expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryable: true });
      other.exec('ROLLBACK');
      expect(
        (await store.enrol({ gallery: 'g', subject: 's', modelId: MODEL, embedding: a, face, actor: 'cli' }))
          .created,
      ).toBe(true);
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithPostgres('GalleryStore conformance: PostgreSQL', () => {
  conformance(postgresHarness, true);

  it('two nodes migrating one fresh schema at the same time both start', async () => {
    // Wrong if it fails: API nodes started together would crash on duplicate tables.
    const harness = (current = postgresHarness());
    const [x, y] = await Promise.all([harness.open(), harness.open()]);
    expect((await x.health()).ok && (await y.health()).ok).toBe(true);
  });
});
