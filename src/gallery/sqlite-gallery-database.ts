/**
 * The embedded gallery backend: one SQLite file (better-sqlite3) under DATA_DIR. Single node: one
 * process serves it; another process (the CLI) may write to the same file.
 *
 * Change feed: every mutation appends its change (the same JSON as PostgreSQL's NOTIFY payload) to
 * `gallery_changes` in its own transaction. Each open database polls `PRAGMA data_version` every
 * `pollIntervalMs` (500 ms): a read of a counter in shared memory, which moves only when another
 * connection committed. When it moved, the rows after the last one seen are read and emitted in id
 * order (= commit order: SQLite has one writer at a time). So a face the CLI enrols is searchable in
 * the server within about a poll; a face it deletes is never returned even before that (the store's
 * candidate check). Rows older than `changeRetentionMs` (1 h) are pruned; a reader that finds rows
 * missing after its cursor (it slept past the pruning) reloads everything instead (`resync`).
 *
 * WAL journal with synchronous=NORMAL: a committed transaction survives a crash of the process
 * (SIGKILL); a power loss may drop the last commits but never leaves half of one. A write that waits
 * longer than `busyTimeoutMs` for another process's lock fails with UNAVAILABLE (503, retryable).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FaceVerifyError, isFaceVerifyError } from '../errors.js';
import type {
  AuditRead,
  AuditRow,
  ChangeFeed,
  GalleryChange,
  FaceRow,
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

export interface SqliteGalleryOptions {
  /** Folder of the database file (created if missing). */
  dataDir: string;
  /** File name inside dataDir. */
  fileName?: string;
  busyTimeoutMs?: number;
  /** How often other processes' commits are looked for (the change feed). */
  pollIntervalMs?: number;
  /** Changes older than this are pruned from gallery_changes. */
  changeRetentionMs?: number;
  onError?: (err: unknown) => void;
}

const POLL_MS = 500;
const CHANGE_RETENTION_MS = 3_600_000;
const PRUNE_EVERY_MS = 60_000;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE galleries (
     name TEXT PRIMARY KEY, model_id TEXT NOT NULL, dim INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE subjects (
     gallery TEXT NOT NULL REFERENCES galleries(name) ON DELETE CASCADE,
     name TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, consent_ref TEXT,
     PRIMARY KEY (gallery, name));
   CREATE INDEX subjects_expiry ON subjects (expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE faces (
     face_id TEXT PRIMARY KEY, gallery TEXT NOT NULL, subject TEXT NOT NULL,
     model_id TEXT NOT NULL, dim INTEGER NOT NULL, embedding BLOB NOT NULL, key_id TEXT, crop BLOB,
     face TEXT NOT NULL, idempotency_key TEXT, created_at INTEGER NOT NULL,
     FOREIGN KEY (gallery, subject) REFERENCES subjects (gallery, name) ON DELETE CASCADE,
     UNIQUE (gallery, idempotency_key));
   CREATE INDEX faces_subject ON faces (gallery, subject);
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
     action TEXT NOT NULL, gallery TEXT NOT NULL, subject TEXT, face_id TEXT, count INTEGER);`,
  // The change feed between processes on one file (AUTOINCREMENT: ids never reused after a prune).
  `CREATE TABLE gallery_changes (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, change TEXT NOT NULL);
   CREATE INDEX gallery_changes_at ON gallery_changes (at);`,
  // Re-embedding: a face's template under the model a gallery is moving to, until the switch.
  `CREATE TABLE reembed_templates (
     face_id TEXT PRIMARY KEY REFERENCES faces (face_id) ON DELETE CASCADE,
     gallery TEXT NOT NULL, model_id TEXT NOT NULL, dim INTEGER NOT NULL,
     embedding BLOB NOT NULL, crop BLOB NOT NULL, key_id TEXT);
   CREATE INDEX reembed_templates_gallery ON reembed_templates (gallery, model_id);`,
];

interface FaceSqlRow {
  face_id: string;
  gallery: string;
  subject: string;
  model_id: string;
  face: string;
  created_at: number;
  has_crop: number;
}

const FACE_COLUMNS = `face_id, gallery, subject, model_id, face, created_at, crop IS NOT NULL AS has_crop`;
const TEMPLATE_COLUMNS = `face_id AS faceId, gallery, subject, model_id AS modelId, dim, embedding, key_id AS keyId`;

function faceRow(r: FaceSqlRow): FaceRow {
  return {
    faceId: r.face_id,
    gallery: r.gallery,
    subject: r.subject,
    modelId: r.model_id,
    faceJson: r.face,
    createdAt: r.created_at,
    hasCrop: r.has_crop === 1,
  };
}

/** SQLITE_BUSY/LOCKED (another process holds the lock too long), I/O and full-disk errors. */
function translate(err: unknown): Error {
  if (isFaceVerifyError(err)) return err;
  if (!(err instanceof Error)) return new Error(String(err));
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/.test(code)) {
    return new FaceVerifyError('UNAVAILABLE', 'The gallery database is busy or unavailable', undefined, {
      cause: err,
    });
  }
  return err;
}

export class SqliteGalleryDatabase implements GalleryDatabase, ChangeFeed {
  readonly backend = 'sqlite' as const;
  readonly changes: ChangeFeed = this;
  private readonly db: Database.Database;
  private readonly options: SqliteGalleryOptions;
  private listeners: ((change: GalleryChange) => void)[] = [];
  /** The last change row emitted (or known to be this connection's own, already applied). */
  private cursor = 0;
  private dataVersion = -1;
  private lastPrune = 0;
  private poller: NodeJS.Timeout | undefined;
  /** Change rows written by the transaction in progress. */
  private own: number[] = [];

  constructor(options: SqliteGalleryOptions) {
    this.options = options;
    mkdirSync(options.dataDir, { recursive: true });
    this.db = new Database(join(options.dataDir, options.fileName ?? 'galleries.sqlite'), {
      timeout: options.busyTimeoutMs ?? 5000,
    });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared once per SQL text (preparing costs more than running these small statements). */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in the caller's tick, mapping SQLite's transient errors to UNAVAILABLE. */
  private run<T>(fn: () => T): Promise<T> {
    try {
      const out = fn();
      this.committed(true);
      return Promise.resolve(out);
    } catch (err) {
      this.committed(false);
      return Promise.reject(translate(err));
    }
  }

  private audit(
    at: number,
    actor: Actor,
    action: string,
    gallery: string,
    subject: string | null,
    faceId: string | null,
    count: number | null,
  ): void {
    this.stmt(
      `INSERT INTO audit_log (at, actor, action, gallery, subject, face_id, count) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(at, actor, action, gallery, subject, faceId, count);
  }

  onChange(listener: (change: GalleryChange) => void): void {
    this.listeners.push(listener);
  }

  /** Appends a change to the feed, inside the caller's transaction. */
  private record(change: GalleryChange): void {
    const id = this.stmt(`INSERT INTO gallery_changes (at, change) VALUES (?, ?)`).run(
      Date.now(),
      JSON.stringify(change),
    ).lastInsertRowid;
    this.own.push(Number(id));
  }

  /**
   * After a commit: our own changes, already applied by the store, need no replay when nothing of
   * another process's lies between them and the cursor. (Others are replayed by the poll, in order.)
   */
  private committed(ok: boolean): void {
    if (ok) {
      for (const id of this.own.sort((a, b) => a - b)) if (id === this.cursor + 1) this.cursor = id;
    }
    this.own = [];
  }

  /** Emits the changes other processes committed since the last poll (cheap when there are none). */
  private poll(): void {
    const version = this.stmt('PRAGMA data_version').pluck().get() as number;
    if (version !== this.dataVersion) {
      this.dataVersion = version;
      const rows = this.stmt(`SELECT id, change FROM gallery_changes WHERE id > ? ORDER BY id`).all(
        this.cursor,
      ) as { id: number; change: string }[];
      // The last id ever given (AUTOINCREMENT keeps it in sqlite_sequence, also after a prune).
      const latest =
        (this.stmt(`SELECT seq FROM sqlite_sequence WHERE name = 'gallery_changes'`).pluck().get() as
          number | undefined) ?? 0;
      if (latest > this.cursor && (rows[0]?.id ?? Infinity) > this.cursor + 1) {
        // Rows after our cursor were pruned while we were not looking: what they said is lost.
        this.cursor = latest;
        this.emit({ op: 'resync' });
      } else {
        for (const row of rows) {
          this.cursor = row.id;
          this.emit(JSON.parse(row.change) as GalleryChange);
        }
      }
    }
    const now = Date.now();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.stmt(`DELETE FROM gallery_changes WHERE at < ?`).run(
        now - (this.options.changeRetentionMs ?? CHANGE_RETENTION_MS),
      );
    }
  }

  private emit(change: GalleryChange): void {
    for (const l of this.listeners) l(change);
  }

  private startFeed(): void {
    // Start after the changes already there: the store loads the tables next (replays are harmless).
    this.cursor =
      (this.stmt(`SELECT coalesce(max(id), 0) FROM gallery_changes`).pluck().get() as number) ?? 0;
    this.dataVersion = this.stmt('PRAGMA data_version').pluck().get() as number;
    this.lastPrune = Date.now();
    this.poller = setInterval(() => {
      try {
        this.poll();
      } catch (err) {
        this.options.onError?.(translate(err));
      }
    }, this.options.pollIntervalMs ?? POLL_MS);
    this.poller.unref();
  }

  migrate(): Promise<void> {
    return this.run(() => {
      this.migrateSchema();
      if (!this.poller) this.startFeed();
    });
  }

  private migrateSchema(): void {
    this.db
      .transaction(() => {
        this.db.exec(
          `CREATE TABLE IF NOT EXISTS gallery_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
        );
        const done = new Set(this.stmt(`SELECT version FROM gallery_migrations`).pluck().all() as number[]);
        MIGRATIONS.forEach((sql, i) => {
          if (done.has(i + 1)) return;
          this.db.exec(sql);
          this.stmt(`INSERT INTO gallery_migrations VALUES (?, ?)`).run(i + 1, Date.now());
        });
      })
      .immediate();
  }

  insertFace(f: NewFaceRow): Promise<{ face: FaceRow; created: boolean }> {
    return this.run(() =>
      this.db
        .transaction(() => {
          const gallery = this.stmt(`SELECT model_id, dim FROM galleries WHERE name = ?`).get(f.gallery) as
            { model_id: string; dim: number } | undefined;
          if (f.idempotencyKey !== null && gallery) {
            const earlier = this.stmt(
              `SELECT ${FACE_COLUMNS} FROM faces WHERE gallery = ? AND idempotency_key = ?`,
            ).get(f.gallery, f.idempotencyKey) as FaceSqlRow | undefined;
            if (earlier) return { face: faceRow(earlier), created: false };
          }
          if (gallery && (gallery.model_id !== f.modelId || gallery.dim !== f.dim)) {
            throw modelMismatch(f.gallery, gallery.model_id, f.modelId);
          }
          if (!gallery) {
            this.stmt(`INSERT INTO galleries VALUES (?, ?, ?, ?)`).run(
              f.gallery,
              f.modelId,
              f.dim,
              f.createdAt,
            );
          }
          // A new subject gets the default expiry; an existing one keeps its own unless one is given.
          this.stmt(
            `INSERT INTO subjects (gallery, name, created_at, expires_at, consent_ref)
               VALUES (?, ?, ?, coalesce(?, ?), ?)
               ON CONFLICT (gallery, name) DO UPDATE SET
                 expires_at = coalesce(?, subjects.expires_at),
                 consent_ref = coalesce(excluded.consent_ref, subjects.consent_ref)`,
          ).run(
            f.gallery,
            f.subject,
            f.createdAt,
            f.expiresAt,
            f.defaultExpiresAt,
            f.consentRef,
            f.expiresAt,
          );
          this.stmt(
            `INSERT INTO faces (face_id, gallery, subject, model_id, dim, embedding, key_id, crop, face, idempotency_key, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(
            f.faceId,
            f.gallery,
            f.subject,
            f.modelId,
            f.dim,
            f.embedding,
            f.keyId,
            f.crop,
            f.faceJson,
            f.idempotencyKey,
            f.createdAt,
          );
          this.audit(f.createdAt, f.actor, 'enrol', f.gallery, f.subject, f.faceId, null);
          this.record({ op: 'enrol', gallery: f.gallery, faceId: f.faceId });
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
        })
        .immediate(),
    );
  }

  galleryModel(gallery: string): Promise<{ modelId: string; dim: number } | undefined> {
    return this.run(
      () =>
        this.stmt(`SELECT model_id AS modelId, dim FROM galleries WHERE name = ?`).get(gallery) as
          { modelId: string; dim: number } | undefined,
    );
  }

  listGalleries(): Promise<(Omit<GalleryInfo, 'created_at'> & { createdAt: number })[]> {
    return this.run(
      () =>
        this.stmt(
          `SELECT g.name AS gallery, g.model_id AS model, g.dim, g.created_at AS createdAt,
               (SELECT count(*) FROM subjects s WHERE s.gallery = g.name) AS subjects,
               (SELECT count(*) FROM faces f WHERE f.gallery = g.name) AS faces
             FROM galleries g ORDER BY g.name`,
        ).all() as (Omit<GalleryInfo, 'created_at'> & { createdAt: number })[],
    );
  }

  private requireGallery(gallery: string): void {
    if (!this.stmt(`SELECT 1 FROM galleries WHERE name = ?`).get(gallery)) {
      throw new FaceVerifyError('GALLERY_NOT_FOUND', `Gallery "${gallery}" not found`);
    }
  }

  private subjectRows(gallery: string, where: string, ...params: unknown[]): SubjectRow[] {
    return this.stmt(
      `SELECT s.name AS subject, s.created_at AS createdAt, s.expires_at AS expiresAt, s.consent_ref AS consentRef,
           (SELECT count(*) FROM faces f WHERE f.gallery = s.gallery AND f.subject = s.name) AS faces
         FROM subjects s WHERE s.gallery = ? ${where}`,
    ).all(gallery, ...params) as SubjectRow[];
  }

  listSubjects(gallery: string, after: string | undefined, limit: number): Promise<SubjectRow[]> {
    return this.run(() => {
      this.requireGallery(gallery);
      return this.subjectRows(gallery, `AND s.name > ? ORDER BY s.name LIMIT ?`, after ?? '', limit);
    });
  }

  getSubject(gallery: string, subject: string): Promise<{ summary: SubjectRow; faces: FaceRow[] }> {
    return this.run(() => {
      this.requireGallery(gallery);
      const summary = this.subjectRows(gallery, `AND s.name = ?`, subject)[0];
      if (!summary) throw subjectNotFound(gallery, subject);
      const faces = this.stmt(
        `SELECT ${FACE_COLUMNS} FROM faces WHERE gallery = ? AND subject = ? ORDER BY created_at, face_id`,
      ).all(gallery, subject) as FaceSqlRow[];
      return { summary, faces: faces.map(faceRow) };
    });
  }

  templates(where: {
    gallery?: string;
    subject?: string;
    faceIds?: readonly string[];
  }): Promise<TemplateRow[]> {
    return this.run(() => {
      const clauses: string[] = [];
      const params: unknown[] = [];
      if (where.gallery !== undefined) {
        clauses.push('gallery = ?');
        params.push(where.gallery);
      }
      if (where.subject !== undefined) {
        clauses.push('subject = ?');
        params.push(where.subject);
      }
      if (where.faceIds !== undefined) {
        clauses.push(`face_id IN (SELECT value FROM json_each(?))`);
        params.push(JSON.stringify(where.faceIds));
      }
      const sql = `SELECT ${TEMPLATE_COLUMNS} FROM faces ${clauses.length ? 'WHERE ' + clauses.join(' AND ') : ''} ORDER BY rowid`;
      return this.stmt(sql).all(...params) as TemplateRow[];
    });
  }

  templatePage(afterFaceId: string | null, limit: number): Promise<TemplateRow[]> {
    return this.run(
      () =>
        this.stmt(`SELECT ${TEMPLATE_COLUMNS} FROM faces WHERE face_id > ? ORDER BY face_id LIMIT ?`).all(
          afterFaceId ?? '',
          limit,
        ) as TemplateRow[],
    );
  }

  crop(faceId: string): Promise<{ crop: Uint8Array | null; keyId: string | null } | undefined> {
    return this.run(
      () =>
        this.stmt(`SELECT crop, key_id AS keyId FROM faces WHERE face_id = ?`).get(faceId) as
          { crop: Uint8Array | null; keyId: string | null } | undefined,
    );
  }

  existingFaceIds(faceIds: readonly string[]): Promise<Set<string>> {
    return this.run(
      () =>
        new Set(
          this.stmt(`SELECT face_id FROM faces WHERE face_id IN (SELECT value FROM json_each(?))`)
            .pluck()
            .all(JSON.stringify(faceIds)) as string[],
        ),
    );
  }

  deleteGallery(gallery: string, actor: Actor): Promise<number> {
    return this.run(() =>
      this.db
        .transaction(() => {
          this.requireGallery(gallery);
          const faces = this.stmt(`DELETE FROM faces WHERE gallery = ?`).run(gallery).changes;
          this.stmt(`DELETE FROM galleries WHERE name = ?`).run(gallery);
          this.audit(Date.now(), actor, 'delete', gallery, null, null, faces);
          this.record({ op: 'delete-gallery', gallery });
          return faces;
        })
        .immediate(),
    );
  }

  deleteSubject(gallery: string, subject: string, actor: Actor): Promise<number> {
    return this.run(() =>
      this.db
        .transaction(() => {
          this.requireGallery(gallery);
          const faces = this.stmt(`DELETE FROM faces WHERE gallery = ? AND subject = ?`).run(
            gallery,
            subject,
          ).changes;
          const subjects = this.stmt(`DELETE FROM subjects WHERE gallery = ? AND name = ?`).run(
            gallery,
            subject,
          ).changes;
          if (subjects === 0) throw subjectNotFound(gallery, subject);
          this.audit(Date.now(), actor, 'delete', gallery, subject, null, faces);
          this.record({ op: 'delete-subject', gallery, subject });
          return faces;
        })
        .immediate(),
    );
  }

  deleteFace(gallery: string, subject: string, faceId: string, actor: Actor): Promise<number> {
    return this.run(() =>
      this.db
        .transaction(() => {
          this.requireGallery(gallery);
          if (!this.stmt(`SELECT 1 FROM subjects WHERE gallery = ? AND name = ?`).get(gallery, subject)) {
            throw subjectNotFound(gallery, subject);
          }
          const removed = this.stmt(
            `DELETE FROM faces WHERE gallery = ? AND subject = ? AND face_id = ?`,
          ).run(gallery, subject, faceId).changes;
          if (removed === 0) throw new FaceVerifyError('FACE_NOT_FOUND', `Face ${faceId} not found`);
          // A subject is its faces: the last one gone, the subject (and its consent reference) goes.
          this.stmt(
            `DELETE FROM subjects WHERE gallery = ? AND name = ? AND NOT EXISTS (SELECT 1 FROM faces WHERE gallery = ? AND subject = ?)`,
          ).run(gallery, subject, gallery, subject);
          this.audit(Date.now(), actor, 'delete', gallery, subject, faceId, removed);
          this.record({ op: 'delete-face', gallery, faceId });
          return removed;
        })
        .immediate(),
    );
  }

  updateSubject(
    gallery: string,
    subject: string,
    change: { expiresAt?: number | null; consentRef?: string | null },
    at: number,
    actor: Actor,
  ): Promise<SubjectRow> {
    return this.run(() =>
      this.db
        .transaction(() => {
          this.requireGallery(gallery);
          const updated = this.stmt(
            `UPDATE subjects SET
               expires_at = CASE WHEN ? THEN ? ELSE expires_at END,
               consent_ref = CASE WHEN ? THEN ? ELSE consent_ref END
             WHERE gallery = ? AND name = ?`,
          ).run(
            change.expiresAt !== undefined ? 1 : 0,
            change.expiresAt ?? null,
            change.consentRef !== undefined ? 1 : 0,
            change.consentRef ?? null,
            gallery,
            subject,
          ).changes;
          if (updated === 0) throw subjectNotFound(gallery, subject);
          this.audit(at, actor, 'update', gallery, subject, null, null);
          return this.subjectRows(gallery, `AND s.name = ?`, subject)[0] as SubjectRow;
        })
        .immediate(),
    );
  }

  sweepExpired(now: number, actor: Actor): Promise<{ gallery: string; subject: string; faces: number }[]> {
    return this.run(() =>
      this.db
        .transaction(() => {
          const due = this.stmt(
            `SELECT gallery, name AS subject FROM subjects WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY gallery, name`,
          ).all(now) as { gallery: string; subject: string }[];
          return due.map(({ gallery, subject }) => {
            const faces = this.stmt(`DELETE FROM faces WHERE gallery = ? AND subject = ?`).run(
              gallery,
              subject,
            ).changes;
            this.stmt(`DELETE FROM subjects WHERE gallery = ? AND name = ?`).run(gallery, subject);
            this.audit(now, actor, 'expire', gallery, subject, null, faces);
            this.record({ op: 'delete-subject', gallery, subject });
            return { gallery, subject, faces };
          });
        })
        .immediate(),
    );
  }

  appendAudit(e: Parameters<GalleryDatabase['appendAudit']>[0]): Promise<void> {
    return this.run(() => this.audit(e.at, e.actor, e.action, e.gallery, e.subject, e.faceId, e.count));
  }

  pruneAudit(before: number): Promise<number> {
    return this.run(() => this.stmt(`DELETE FROM audit_log WHERE at < ?`).run(before).changes);
  }

  readAudit(q: AuditRead): Promise<AuditEntry[]> {
    return this.run(() => {
      const rows = this.stmt(
        `SELECT * FROM audit_log WHERE id > @after
           AND (@gallery IS NULL OR gallery = @gallery) AND (@subject IS NULL OR subject = @subject)
           AND (@action IS NULL OR action = @action) AND (@since IS NULL OR at >= @since)
         ORDER BY id LIMIT @limit`,
      ).all(q) as AuditRow[];
      return rows.map(auditEntry);
    });
  }

  facesNotSealedWith(keyId: string, limit: number): Promise<SealedFaceRow[]> {
    return this.run(
      () =>
        this.stmt(
          `SELECT ${TEMPLATE_COLUMNS}, crop FROM faces WHERE key_id IS NULL OR key_id <> ? ORDER BY rowid LIMIT ?`,
        ).all(keyId, limit) as SealedFaceRow[],
    );
  }

  resealFace(
    faceId: string,
    from: { keyId: string | null; modelId: string },
    next: { keyId: string; embedding: Uint8Array; crop: Uint8Array | null },
  ): Promise<boolean> {
    return this.run(
      () =>
        this.stmt(
          `UPDATE faces SET key_id = ?, embedding = ?, crop = ? WHERE face_id = ? AND key_id IS ? AND model_id = ?`,
        ).run(next.keyId, next.embedding, next.crop, faceId, from.keyId, from.modelId).changes === 1,
    );
  }

  reembedStatus(gallery: string, modelId: string): Promise<ReembedRowStatus> {
    return this.run(() =>
      this.db
        .transaction(() => {
          const g = this.stmt(`SELECT model_id FROM galleries WHERE name = ?`).get(gallery) as
            { model_id: string } | undefined;
          if (!g) throw new FaceVerifyError('GALLERY_NOT_FOUND', `Gallery "${gallery}" not found`);
          this.stmt(`DELETE FROM reembed_templates WHERE gallery = ? AND model_id <> ?`).run(
            gallery,
            modelId,
          );
          const count = (sql: string, ...params: unknown[]) =>
            this.stmt(sql)
              .pluck()
              .get(...params) as number;
          return {
            modelId: g.model_id,
            faces: count(`SELECT count(*) FROM faces WHERE gallery = ?`, gallery),
            staged: count(
              `SELECT count(*) FROM reembed_templates WHERE gallery = ? AND model_id = ?`,
              gallery,
              modelId,
            ),
            withoutCrop: count(`SELECT count(*) FROM faces WHERE gallery = ? AND crop IS NULL`, gallery),
            subjectsWithoutCrop: this.stmt(
              `SELECT DISTINCT subject FROM faces WHERE gallery = ? AND crop IS NULL ORDER BY subject LIMIT 20`,
            )
              .pluck()
              .all(gallery) as string[],
          };
        })
        .immediate(),
    );
  }

  facesToReembed(gallery: string, modelId: string, limit: number): Promise<SealedFaceRow[]> {
    return this.run(
      () =>
        this.stmt(
          `SELECT ${TEMPLATE_COLUMNS}, crop FROM faces f WHERE gallery = ? AND crop IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM reembed_templates r WHERE r.face_id = f.face_id AND r.model_id = ?)
           ORDER BY face_id LIMIT ?`,
        ).all(gallery, modelId, limit) as SealedFaceRow[],
    );
  }

  stageTemplate(row: StagedTemplateRow): Promise<void> {
    return this.run(() => {
      this.stmt(
        `INSERT INTO reembed_templates (face_id, gallery, model_id, dim, embedding, crop, key_id)
           SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE face_id = ?)
           ON CONFLICT (face_id) DO UPDATE SET model_id = excluded.model_id, dim = excluded.dim,
             embedding = excluded.embedding, crop = excluded.crop, key_id = excluded.key_id`,
      ).run(row.faceId, row.gallery, row.modelId, row.dim, row.embedding, row.crop, row.keyId, row.faceId);
    });
  }

  switchModel(
    gallery: string,
    modelId: string,
    dim: number,
    at: number,
    actor: Actor,
  ): Promise<{ switched: boolean; missing: number; faces: number }> {
    return this.run(() =>
      this.db
        .transaction(() => {
          this.requireGallery(gallery);
          const faces = this.stmt(`SELECT count(*) FROM faces WHERE gallery = ?`)
            .pluck()
            .get(gallery) as number;
          const missing = this.stmt(
            `SELECT count(*) FROM faces f WHERE gallery = ?
               AND NOT EXISTS (SELECT 1 FROM reembed_templates r WHERE r.face_id = f.face_id AND r.model_id = ?)`,
          )
            .pluck()
            .get(gallery, modelId) as number;
          if (missing > 0) return { switched: false, missing, faces };
          this.stmt(
            `UPDATE faces SET model_id = r.model_id, dim = r.dim, embedding = r.embedding, crop = r.crop, key_id = r.key_id
               FROM reembed_templates r WHERE r.face_id = faces.face_id AND faces.gallery = ? AND r.model_id = ?`,
          ).run(gallery, modelId);
          this.stmt(`UPDATE galleries SET model_id = ?, dim = ? WHERE name = ?`).run(modelId, dim, gallery);
          this.stmt(`DELETE FROM reembed_templates WHERE gallery = ?`).run(gallery);
          this.audit(at, actor, 'reembed', gallery, null, null, faces);
          this.record({ op: 'reembed', gallery });
          return { switched: true, missing: 0, faces };
        })
        .immediate(),
    );
  }

  ping(): Promise<void> {
    return this.run(() => void this.stmt('SELECT 1').get());
  }

  close(): Promise<void> {
    clearInterval(this.poller);
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
