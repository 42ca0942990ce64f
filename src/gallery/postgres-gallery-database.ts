/**
 * The shared gallery backend: PostgreSQL through `pg`, for several API nodes on one database.
 *
 * - Migrations run at open inside a transaction holding an advisory lock (per schema), so nodes that
 *   start together apply each version once; `gallery_migrations` records the versions applied.
 * - Every mutation is one transaction with its audit entry and a `pg_notify` on the schema's channel;
 *   PostgreSQL delivers notifications only at commit and in commit order, so other nodes apply enrols
 *   and deletes to their in-memory indexes in the order they happened. A dedicated connection LISTENs;
 *   when it is lost it reconnects and announces a resync (notifications in between are gone).
 * - A connection that cannot be made or is lost mid-query (refused, reset, terminated, admin shutdown)
 *   is UNAVAILABLE (503, retryable); the pool makes new connections for later calls, so the store
 *   recovers by itself when the server is back.
 * - `schema` puts every table in its own schema (tests use one per run); default `public`.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { FaceVerifyError, isFaceVerifyError } from '../errors.js';
import type {
  AuditRead,
  AuditRow,
  ChangeFeed,
  FaceRow,
  GalleryChange,
  GalleryDatabase,
  NewFaceRow,
  ReembedRowStatus,
  SealedFaceRow,
  StagedTemplateRow,
  SubjectRow,
  TemplateRow,
} from './gallery-database.js';
import { auditEntry, modelMismatch, subjectNotFound } from './gallery-database.js';
import type { Actor, AuditEntry, GalleryInfo } from './gallery-store.js';

export interface PostgresGalleryOptions {
  /** postgres://user:password@host:port/database */
  databaseUrl: string;
  schema?: string;
  /** Pool size per node. */
  maxConnections?: number;
  /** A connection attempt fails (UNAVAILABLE) after this. */
  connectTimeoutMs?: number;
  /** Any statement fails (UNAVAILABLE) after this. */
  statementTimeoutMs?: number;
  /** Delay before the listening connection tries again after losing the server. */
  reconnectDelayMs?: number;
  /** Shown in pg_stat_activity (default: faceverify-gallery). */
  applicationName?: string;
  onError?: (err: unknown) => void;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE galleries (
     name text PRIMARY KEY, model_id text NOT NULL, dim integer NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE subjects (
     gallery text NOT NULL REFERENCES galleries (name) ON DELETE CASCADE,
     name text NOT NULL, created_at bigint NOT NULL, expires_at bigint, consent_ref text,
     PRIMARY KEY (gallery, name));
   CREATE INDEX subjects_expiry ON subjects (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE faces (
     face_id uuid PRIMARY KEY, gallery text NOT NULL, subject text NOT NULL,
     model_id text NOT NULL, dim integer NOT NULL, embedding bytea NOT NULL, key_id text, crop bytea,
     face jsonb NOT NULL, idempotency_key text, created_at bigint NOT NULL,
     FOREIGN KEY (gallery, subject) REFERENCES subjects (gallery, name) ON DELETE CASCADE,
     UNIQUE (gallery, idempotency_key));
   CREATE INDEX faces_subject ON faces (gallery, subject);
   CREATE TABLE audit_log (
     id bigserial PRIMARY KEY, at bigint NOT NULL, actor text NOT NULL, action text NOT NULL,
     gallery text NOT NULL, subject text, face_id uuid, count integer);`,
  // Re-embedding: a face's template under the model a gallery is moving to, until the switch.
  `CREATE TABLE reembed_templates (
     face_id uuid PRIMARY KEY REFERENCES faces (face_id) ON DELETE CASCADE,
     gallery text NOT NULL, model_id text NOT NULL, dim integer NOT NULL,
     embedding bytea NOT NULL, crop bytea NOT NULL, key_id text);
   CREATE INDEX reembed_templates_gallery ON reembed_templates (gallery, model_id);`,
];

const FACE_COLUMNS = `face_id::text AS "faceId", gallery, subject, model_id AS "modelId", face::text AS "faceJson",
  created_at AS "createdAt", crop IS NOT NULL AS "hasCrop"`;
const TEMPLATE_COLUMNS = `face_id::text AS "faceId", gallery, subject, model_id AS "modelId", dim, embedding, key_id AS "keyId"`;

/** SQLSTATE classes and node errors that mean "the database is not reachable right now". */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|57P0|53300)/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code))
      return true;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(
    message,
  );
}

function translate(err: unknown): Error {
  if (isFaceVerifyError(err)) return err;
  if (!(err instanceof Error)) return new Error(String(err));
  if (isConnectionError(err) || (err as { code?: unknown }).code === '57014') {
    return new FaceVerifyError('UNAVAILABLE', 'The gallery database is unavailable', undefined, {
      cause: err,
    });
  }
  return err;
}

function faceRow(r: FaceRow & { createdAt: number | string }): FaceRow {
  return { ...r, createdAt: Number(r.createdAt) };
}

function bytes(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class PostgresGalleryDatabase implements GalleryDatabase, ChangeFeed {
  readonly backend = 'postgres' as const;
  readonly changes: ChangeFeed = this;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly channel: string;
  private readonly options: PostgresGalleryOptions;
  private listeners: ((change: GalleryChange) => void)[] = [];
  private listener: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: PostgresGalleryOptions) {
    this.options = options;
    this.schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) throw new Error(`invalid schema name ${this.schema}`);
    this.channel = `faceverify_gallery_${createHash('sha256').update(this.schema).digest('hex').slice(0, 12)}`;
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      options: `-c search_path=${this.schema}`,
      application_name: options.applicationName ?? 'faceverify-gallery',
    });
    // An idle connection the server drops emits here; without a handler it would crash the process.
    this.pool.on('error', (err) => options.onError?.(err));
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw translate(err);
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translate(err);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      broken = isConnectionError(err);
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      throw translate(err);
    } finally {
      client.release(broken);
    }
  }

  private async notify(c: pg.PoolClient, change: GalleryChange): Promise<void> {
    await c.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify(change)]);
  }

  private async audit(
    c: pg.PoolClient,
    at: number,
    actor: Actor,
    action: string,
    gallery: string,
    subject: string | null,
    faceId: string | null,
    count: number | null,
  ): Promise<void> {
    await c.query(
      `INSERT INTO audit_log (at, actor, action, gallery, subject, face_id, count) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [at, actor, action, gallery, subject, faceId, count],
    );
  }

  async migrate(): Promise<void> {
    await this.tx(async (c) => {
      const lockKey = createHash('sha256')
        .update(`faceverify-gallery:${this.schema}`)
        .digest()
        .readBigInt64BE(0);
      await c.query('SELECT pg_advisory_xact_lock($1)', [lockKey.toString()]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS gallery_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
      );
      const done = new Set(
        (await c.query<{ version: number }>('SELECT version FROM gallery_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      for (const [i, sql] of MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await c.query(sql);
        await c.query('INSERT INTO gallery_migrations VALUES ($1, $2)', [i + 1, Date.now()]);
      }
    });
    await this.listen();
  }

  onChange(listener: (change: GalleryChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(change: GalleryChange): void {
    for (const l of this.listeners) l(change);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 3000,
      application_name: this.options.applicationName ?? 'faceverify-gallery',
    });
    const lost = (err?: unknown): void => {
      if (err) this.options.onError?.(err);
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || !msg.payload) return;
      this.emit(JSON.parse(msg.payload) as GalleryChange);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw translate(err);
    }
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.listen().then(
        () => this.emit({ op: 'resync' }),
        (err: unknown) => {
          this.options.onError?.(err);
          this.scheduleReconnect();
        },
      );
    }, this.options.reconnectDelayMs ?? 500);
  }

  insertFace(f: NewFaceRow): Promise<{ face: FaceRow; created: boolean }> {
    return this.tx(async (c) => {
      // The gallery row, created by the first enrol and never updated, is share-locked: enrols run
      // side by side, while a gallery delete waits for them. Enrols with the same Idempotency-Key
      // are serialised by an advisory lock on the key, so the second sees the first's face.
      await c.query(`INSERT INTO galleries VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`, [
        f.gallery,
        f.modelId,
        f.dim,
        f.createdAt,
      ]);
      const gallery = (
        await c.query<{ model_id: string; dim: number }>(
          `SELECT model_id, dim FROM galleries WHERE name = $1 FOR SHARE`,
          [f.gallery],
        )
      ).rows[0];
      if (f.idempotencyKey !== null) {
        await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
          `faceverify-idempotency:${this.schema}:${f.gallery}:${f.idempotencyKey}`,
        ]);
      }
      if (f.idempotencyKey !== null) {
        const earlier = (
          await c.query<FaceRow>(
            `SELECT ${FACE_COLUMNS} FROM faces WHERE gallery = $1 AND idempotency_key = $2`,
            [f.gallery, f.idempotencyKey],
          )
        ).rows[0];
        if (earlier) return { face: faceRow(earlier), created: false };
      }
      if (gallery && (gallery.model_id !== f.modelId || gallery.dim !== f.dim)) {
        throw modelMismatch(f.gallery, gallery.model_id, f.modelId);
      }
      // A new subject gets the default expiry; an existing one keeps its own unless one is given.
      await c.query(
        `INSERT INTO subjects (gallery, name, created_at, expires_at, consent_ref)
         VALUES ($1, $2, $3, coalesce($4::bigint, $6::bigint), $5)
         ON CONFLICT (gallery, name) DO UPDATE SET
           expires_at = coalesce($4::bigint, subjects.expires_at),
           consent_ref = coalesce(excluded.consent_ref, subjects.consent_ref)`,
        [f.gallery, f.subject, f.createdAt, f.expiresAt, f.consentRef, f.defaultExpiresAt],
      );
      await c.query(
        `INSERT INTO faces (face_id, gallery, subject, model_id, dim, embedding, key_id, crop, face, idempotency_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          f.faceId,
          f.gallery,
          f.subject,
          f.modelId,
          f.dim,
          bytes(f.embedding),
          f.keyId,
          f.crop && bytes(f.crop),
          f.faceJson,
          f.idempotencyKey,
          f.createdAt,
        ],
      );
      await this.audit(c, f.createdAt, f.actor, 'enrol', f.gallery, f.subject, f.faceId, null);
      await this.notify(c, { op: 'enrol', gallery: f.gallery, faceId: f.faceId });
      const face: FaceRow = {
        faceId: f.faceId,
        gallery: f.gallery,
        subject: f.subject,
        modelId: f.modelId,
        faceJson: f.faceJson,
        createdAt: f.createdAt,
        hasCrop: f.crop !== null,
      };
      return { face, created: true };
    });
  }

  async galleryModel(gallery: string): Promise<{ modelId: string; dim: number } | undefined> {
    return (
      await this.query<{ modelId: string; dim: number }>(
        `SELECT model_id AS "modelId", dim FROM galleries WHERE name = $1`,
        [gallery],
      )
    )[0];
  }

  async listGalleries(): Promise<(Omit<GalleryInfo, 'created_at'> & { createdAt: number })[]> {
    const rows = await this.query<Omit<GalleryInfo, 'created_at'> & { createdAt: string }>(
      `SELECT g.name AS gallery, g.model_id AS model, g.dim, g.created_at AS "createdAt",
         (SELECT count(*)::int FROM subjects s WHERE s.gallery = g.name) AS subjects,
         (SELECT count(*)::int FROM faces f WHERE f.gallery = g.name) AS faces
       FROM galleries g ORDER BY g.name COLLATE "C"`,
    );
    return rows.map((r) => ({ ...r, createdAt: Number(r.createdAt) }));
  }

  private async requireGallery(c: pg.PoolClient | pg.Pool, gallery: string): Promise<void> {
    if ((await c.query(`SELECT 1 FROM galleries WHERE name = $1`, [gallery])).rowCount === 0) {
      throw new FaceVerifyError('GALLERY_NOT_FOUND', `Gallery "${gallery}" not found`);
    }
  }

  private async subjectRows(gallery: string, where: string, params: unknown[]): Promise<SubjectRow[]> {
    const rows = await this.query<SubjectRow & { createdAt: string; expiresAt: string | null }>(
      `SELECT s.name AS subject, s.created_at AS "createdAt", s.expires_at AS "expiresAt", s.consent_ref AS "consentRef",
         (SELECT count(*)::int FROM faces f WHERE f.gallery = s.gallery AND f.subject = s.name) AS faces
       FROM subjects s WHERE s.gallery = $1 ${where}`,
      [gallery, ...params],
    );
    return rows.map((r) => ({
      ...r,
      createdAt: Number(r.createdAt),
      expiresAt: r.expiresAt === null ? null : Number(r.expiresAt),
    }));
  }

  async listSubjects(gallery: string, after: string | undefined, limit: number): Promise<SubjectRow[]> {
    await this.requireGallery(this.pool, gallery).catch((err: unknown) => Promise.reject(translate(err)));
    // COLLATE "C": byte order, the same as SQLite's, so cursors behave alike on both backends.
    return this.subjectRows(gallery, `AND s.name COLLATE "C" > $2 ORDER BY s.name COLLATE "C" LIMIT $3`, [
      after ?? '',
      limit,
    ]);
  }

  async getSubject(gallery: string, subject: string): Promise<{ summary: SubjectRow; faces: FaceRow[] }> {
    await this.requireGallery(this.pool, gallery).catch((err: unknown) => Promise.reject(translate(err)));
    const summary = (await this.subjectRows(gallery, `AND s.name = $2`, [subject]))[0];
    if (!summary) throw subjectNotFound(gallery, subject);
    const faces = await this.query<FaceRow>(
      `SELECT ${FACE_COLUMNS} FROM faces WHERE gallery = $1 AND subject = $2 ORDER BY created_at, face_id`,
      [gallery, subject],
    );
    return { summary, faces: faces.map(faceRow) };
  }

  async templates(where: {
    gallery?: string;
    subject?: string;
    faceIds?: readonly string[];
  }): Promise<TemplateRow[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      params.push(v);
      clauses.push(sql.replace('?', `$${params.length}`));
    };
    if (where.gallery !== undefined) add('gallery = ?', where.gallery);
    if (where.subject !== undefined) add('subject = ?', where.subject);
    if (where.faceIds !== undefined) add('face_id = ANY(?::uuid[])', where.faceIds);
    return this.query<TemplateRow>(
      `SELECT ${TEMPLATE_COLUMNS} FROM faces ${clauses.length ? 'WHERE ' + clauses.join(' AND ') : ''} ORDER BY created_at, face_id`,
      params,
    );
  }

  templatePage(afterFaceId: string | null, limit: number): Promise<TemplateRow[]> {
    return this.query<TemplateRow>(
      `SELECT ${TEMPLATE_COLUMNS} FROM faces WHERE $1::uuid IS NULL OR face_id > $1::uuid ORDER BY face_id LIMIT $2`,
      [afterFaceId, limit],
    );
  }

  async crop(faceId: string): Promise<{ crop: Uint8Array | null; keyId: string | null } | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(faceId)) return undefined;
    return (
      await this.query<{ crop: Uint8Array | null; keyId: string | null }>(
        `SELECT crop, key_id AS "keyId" FROM faces WHERE face_id = $1`,
        [faceId],
      )
    )[0];
  }

  async existingFaceIds(faceIds: readonly string[]): Promise<Set<string>> {
    const rows = await this.query<{ id: string }>(
      `SELECT face_id::text AS id FROM faces WHERE face_id = ANY($1::uuid[])`,
      [faceIds],
    );
    return new Set(rows.map((r) => r.id));
  }

  deleteGallery(gallery: string, actor: Actor): Promise<number> {
    return this.tx(async (c) => {
      await this.requireGallery(c, gallery);
      const faces = (await c.query(`DELETE FROM faces WHERE gallery = $1`, [gallery])).rowCount ?? 0;
      await c.query(`DELETE FROM galleries WHERE name = $1`, [gallery]);
      await this.audit(c, Date.now(), actor, 'delete', gallery, null, null, faces);
      await this.notify(c, { op: 'delete-gallery', gallery });
      return faces;
    });
  }

  deleteSubject(gallery: string, subject: string, actor: Actor): Promise<number> {
    return this.tx(async (c) => {
      await this.requireGallery(c, gallery);
      const faces =
        (await c.query(`DELETE FROM faces WHERE gallery = $1 AND subject = $2`, [gallery, subject]))
          .rowCount ?? 0;
      const subjects = (
        await c.query(`DELETE FROM subjects WHERE gallery = $1 AND name = $2`, [gallery, subject])
      ).rowCount;
      if (subjects === 0) throw subjectNotFound(gallery, subject);
      await this.audit(c, Date.now(), actor, 'delete', gallery, subject, null, faces);
      await this.notify(c, { op: 'delete-subject', gallery, subject });
      return faces;
    });
  }

  deleteFace(gallery: string, subject: string, faceId: string, actor: Actor): Promise<number> {
    return this.tx(async (c) => {
      await this.requireGallery(c, gallery);
      if (
        (await c.query(`SELECT 1 FROM subjects WHERE gallery = $1 AND name = $2`, [gallery, subject]))
          .rowCount === 0
      ) {
        throw subjectNotFound(gallery, subject);
      }
      const removed = /^[0-9a-f-]{36}$/i.test(faceId)
        ? ((
            await c.query(`DELETE FROM faces WHERE gallery = $1 AND subject = $2 AND face_id = $3`, [
              gallery,
              subject,
              faceId,
            ])
          ).rowCount ?? 0)
        : 0;
      if (removed === 0) throw new FaceVerifyError('FACE_NOT_FOUND', `Face ${faceId} not found`);
      await c.query(
        `DELETE FROM subjects WHERE gallery = $1 AND name = $2 AND NOT EXISTS (SELECT 1 FROM faces WHERE gallery = $1 AND subject = $2)`,
        [gallery, subject],
      );
      await this.audit(c, Date.now(), actor, 'delete', gallery, subject, faceId, removed);
      await this.notify(c, { op: 'delete-face', gallery, faceId });
      return removed;
    });
  }

  async updateSubject(
    gallery: string,
    subject: string,
    change: { expiresAt?: number | null; consentRef?: string | null },
    at: number,
    actor: Actor,
  ): Promise<SubjectRow> {
    await this.tx(async (c) => {
      await this.requireGallery(c, gallery);
      const updated = await c.query(
        `UPDATE subjects SET
           expires_at = CASE WHEN $1::boolean THEN $2::bigint ELSE expires_at END,
           consent_ref = CASE WHEN $3::boolean THEN $4::text ELSE consent_ref END
         WHERE gallery = $5 AND name = $6`,
        [
          change.expiresAt !== undefined,
          change.expiresAt ?? null,
          change.consentRef !== undefined,
          change.consentRef ?? null,
          gallery,
          subject,
        ],
      );
      if (updated.rowCount === 0) throw subjectNotFound(gallery, subject);
      await this.audit(c, at, actor, 'update', gallery, subject, null, null);
    });
    const row = (await this.subjectRows(gallery, `AND s.name = $2`, [subject]))[0];
    // Deleted between the commit and this read: as if the update had come second.
    if (!row) throw subjectNotFound(gallery, subject);
    return row;
  }

  sweepExpired(now: number, actor: Actor): Promise<{ gallery: string; subject: string; faces: number }[]> {
    return this.tx(async (c) => {
      const due = (
        await c.query<{ gallery: string; subject: string }>(
          `SELECT gallery, name AS subject FROM subjects WHERE expires_at IS NOT NULL AND expires_at <= $1
         ORDER BY gallery COLLATE "C", name COLLATE "C" FOR UPDATE`,
          [now],
        )
      ).rows;
      const out: { gallery: string; subject: string; faces: number }[] = [];
      for (const { gallery, subject } of due) {
        const faces =
          (await c.query(`DELETE FROM faces WHERE gallery = $1 AND subject = $2`, [gallery, subject]))
            .rowCount ?? 0;
        await c.query(`DELETE FROM subjects WHERE gallery = $1 AND name = $2`, [gallery, subject]);
        await this.audit(c, now, actor, 'expire', gallery, subject, null, faces);
        await this.notify(c, { op: 'delete-subject', gallery, subject });
        out.push({ gallery, subject, faces });
      }
      return out;
    });
  }

  async appendAudit(e: Parameters<GalleryDatabase['appendAudit']>[0]): Promise<void> {
    await this.query(
      `INSERT INTO audit_log (at, actor, action, gallery, subject, face_id, count) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [e.at, e.actor, e.action, e.gallery, e.subject, e.faceId, e.count],
    );
  }

  async pruneAudit(before: number): Promise<number> {
    try {
      return (await this.pool.query(`DELETE FROM audit_log WHERE at < $1`, [before])).rowCount ?? 0;
    } catch (err) {
      throw translate(err);
    }
  }

  async readAudit(q: AuditRead): Promise<AuditEntry[]> {
    const rows = await this.query<AuditRow>(
      `SELECT id, at, actor, action, gallery, subject, face_id::text AS face_id, count FROM audit_log
       WHERE id > $1 AND ($2::text IS NULL OR gallery = $2) AND ($3::text IS NULL OR subject = $3)
         AND ($4::text IS NULL OR action = $4) AND ($5::bigint IS NULL OR at >= $5)
       ORDER BY id LIMIT $6`,
      [q.after, q.gallery, q.subject, q.action, q.since, q.limit],
    );
    return rows.map(auditEntry);
  }

  facesNotSealedWith(keyId: string, limit: number): Promise<SealedFaceRow[]> {
    return this.query<SealedFaceRow>(
      `SELECT ${TEMPLATE_COLUMNS}, crop FROM faces WHERE key_id IS DISTINCT FROM $1 ORDER BY created_at, face_id LIMIT $2`,
      [keyId, limit],
    );
  }

  async resealFace(
    faceId: string,
    from: { keyId: string | null; modelId: string },
    next: { keyId: string; embedding: Uint8Array; crop: Uint8Array | null },
  ): Promise<boolean> {
    const rows = await this.query(
      `UPDATE faces SET key_id = $1, embedding = $2, crop = $3
       WHERE face_id = $4 AND key_id IS NOT DISTINCT FROM $5 AND model_id = $6 RETURNING 1`,
      [next.keyId, bytes(next.embedding), next.crop && bytes(next.crop), faceId, from.keyId, from.modelId],
    );
    return rows.length === 1;
  }

  reembedStatus(gallery: string, modelId: string): Promise<ReembedRowStatus> {
    return this.tx(async (c) => {
      const g = (
        await c.query<{ model_id: string }>(`SELECT model_id FROM galleries WHERE name = $1`, [gallery])
      ).rows[0];
      if (!g) throw new FaceVerifyError('GALLERY_NOT_FOUND', `Gallery "${gallery}" not found`);
      await c.query(`DELETE FROM reembed_templates WHERE gallery = $1 AND model_id <> $2`, [
        gallery,
        modelId,
      ]);
      const counts = (
        await c.query<{ faces: number; staged: number; without_crop: number }>(
          `SELECT (SELECT count(*)::int FROM faces WHERE gallery = $1) AS faces,
             (SELECT count(*)::int FROM reembed_templates WHERE gallery = $1 AND model_id = $2) AS staged,
             (SELECT count(*)::int FROM faces WHERE gallery = $1 AND crop IS NULL) AS without_crop`,
          [gallery, modelId],
        )
      ).rows[0] as { faces: number; staged: number; without_crop: number };
      const subjects = await c.query<{ subject: string }>(
        `SELECT DISTINCT subject COLLATE "C" AS subject FROM faces WHERE gallery = $1 AND crop IS NULL
         ORDER BY 1 LIMIT 20`,
        [gallery],
      );
      return {
        modelId: g.model_id,
        faces: counts.faces,
        staged: counts.staged,
        withoutCrop: counts.without_crop,
        subjectsWithoutCrop: subjects.rows.map((r) => r.subject),
      };
    });
  }

  facesToReembed(gallery: string, modelId: string, limit: number): Promise<SealedFaceRow[]> {
    return this.query<SealedFaceRow>(
      `SELECT ${TEMPLATE_COLUMNS}, crop FROM faces f WHERE gallery = $1 AND crop IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM reembed_templates r WHERE r.face_id = f.face_id AND r.model_id = $2)
       ORDER BY face_id LIMIT $3`,
      [gallery, modelId, limit],
    );
  }

  async stageTemplate(row: StagedTemplateRow): Promise<void> {
    try {
      await this.query(
        `INSERT INTO reembed_templates (face_id, gallery, model_id, dim, embedding, crop, key_id)
         SELECT face_id, $2, $3, $4, $5, $6, $7 FROM faces WHERE face_id = $1
         ON CONFLICT (face_id) DO UPDATE SET model_id = excluded.model_id, dim = excluded.dim,
           embedding = excluded.embedding, crop = excluded.crop, key_id = excluded.key_id`,
        [row.faceId, row.gallery, row.modelId, row.dim, bytes(row.embedding), bytes(row.crop), row.keyId],
      );
    } catch (err) {
      // The face was deleted between the SELECT and the foreign-key check: nothing to stage.
      if ((err as { code?: unknown }).code !== '23503') throw err;
    }
  }

  switchModel(
    gallery: string,
    modelId: string,
    dim: number,
    at: number,
    actor: Actor,
  ): Promise<{ switched: boolean; missing: number; faces: number }> {
    return this.tx(async (c) => {
      // FOR UPDATE waits for enrols in flight (they hold the row FOR SHARE) and holds off new ones
      // until the commit, after which they meet the new model.
      if ((await c.query(`SELECT 1 FROM galleries WHERE name = $1 FOR UPDATE`, [gallery])).rowCount === 0) {
        throw new FaceVerifyError('GALLERY_NOT_FOUND', `Gallery "${gallery}" not found`);
      }
      const { faces, missing } = (
        await c.query<{ faces: number; missing: number }>(
          `SELECT count(*)::int AS faces, count(*) FILTER (WHERE NOT EXISTS (
             SELECT 1 FROM reembed_templates r WHERE r.face_id = f.face_id AND r.model_id = $2))::int AS missing
           FROM faces f WHERE gallery = $1`,
          [gallery, modelId],
        )
      ).rows[0] as { faces: number; missing: number };
      if (missing > 0) return { switched: false, missing, faces };
      await c.query(
        `UPDATE faces f SET model_id = r.model_id, dim = r.dim, embedding = r.embedding, crop = r.crop, key_id = r.key_id
         FROM reembed_templates r WHERE r.face_id = f.face_id AND f.gallery = $1 AND r.model_id = $2`,
        [gallery, modelId],
      );
      await c.query(`UPDATE galleries SET model_id = $2, dim = $3 WHERE name = $1`, [gallery, modelId, dim]);
      await c.query(`DELETE FROM reembed_templates WHERE gallery = $1`, [gallery]);
      await this.audit(c, at, actor, 'reembed', gallery, null, null, faces);
      await this.notify(c, { op: 'reembed', gallery });
      return { switched: true, missing: 0, faces };
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}
