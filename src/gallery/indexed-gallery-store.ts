/**
 * The GalleryStore over either database: validates input, seals templates (TemplateCipher), keeps one
 * in-memory SearchIndex per gallery and keeps it in step with the database.
 *
 * - open(): migrations, then every gallery's templates are read, opened and indexed.
 * - This node's enrols and deletes update its indexes after the commit; other nodes' arrive through the
 *   database's change feed (PostgreSQL LISTEN/NOTIFY), applied one at a time in commit order.
 * - A search's candidates are checked against the database before they are returned, and any found
 *   deleted are dropped from the index and the search repeated without them: a face deleted anywhere
 *   is never returned, even if its notification is late or was lost. The cost is one indexed
 *   primary-key lookup per search, and a search fails with UNAVAILABLE while the database is away.
 */
import { randomUUID } from 'node:crypto';
import { FaceVerifyError } from '../errors.js';
import type { FaceRow, GalleryChange, GalleryDatabase, SubjectRow, TemplateRow } from './gallery-database.js';
import { modelMismatch } from './gallery-database.js';
import type {
  Actor,
  AuditEntry,
  AuditQuery,
  EnrolInput,
  EnrolResult,
  FaceRecord,
  FaceToReembed,
  GalleryInfo,
  GalleryStore,
  GalleryStoreHealth,
  ReembedStatus,
  SearchInput,
  SearchMatch,
  SubjectDetail,
  SubjectChange,
  SubjectPage,
  SubjectSummary,
  SweepResult,
  Template,
} from './gallery-store.js';
import { NAME_PATTERN } from './gallery-store.js';
import { SearchIndex } from './search-index.js';
import type { TemplateCipher } from './template-cipher.js';

export interface GalleryStoreOptions {
  /** Seals templates and crops at rest; none: stored plain. */
  cipher?: TemplateCipher;
  /** Keep the face chips given to enrol, for re-embedding (RETAIN_FACE_CROPS). */
  retainCrops?: boolean;
  /** Days a new subject is kept when enrol gives no expiresAt (GALLERY_RETENTION_DAYS; 0 = forever). */
  retentionDays?: number;
  /** Days an audit entry is kept (AUDIT_RETENTION_DAYS; 0 = forever). */
  auditRetentionDays?: number;
  /** Templates read per query when loading the indexes. */
  loadPageSize?: number;
  /** The clock (tests of expiry pass their own). */
  now?: () => number;
  onError?: (err: unknown) => void;
}

const MAX_PAGE = 1000;
const RESEAL_BATCH = 500;
const LOAD_PAGE = 5000;

const iso = (ms: number): string => new Date(ms).toISOString();

function checkName(kind: 'gallery' | 'subject', name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new FaceVerifyError('INVALID_INPUT', `Invalid ${kind} name: use 1-64 of A-Z a-z 0-9 _ . -`, {
      field: kind,
    });
  }
}

function floatBytes(v: Float32Array): Uint8Array {
  // Little-endian on every platform Node supports; copied so later edits of `v` cannot leak in.
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

function faceRecord(r: FaceRow): FaceRecord {
  return {
    face_id: r.faceId,
    gallery: r.gallery,
    subject: r.subject,
    model: r.modelId,
    face: JSON.parse(r.faceJson) as Record<string, unknown>,
    created_at: iso(r.createdAt),
    has_crop: r.hasCrop,
  };
}

function subjectSummary(r: SubjectRow): SubjectSummary {
  return {
    subject: r.subject,
    faces: Number(r.faces),
    created_at: iso(r.createdAt),
    expires_at: r.expiresAt === null ? null : iso(r.expiresAt),
    consent_ref: r.consentRef,
  };
}

export class IndexedGalleryStore implements GalleryStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly retainsCrops: boolean;
  private readonly db: GalleryDatabase;
  private readonly options: GalleryStoreOptions;
  private readonly now: () => number;
  private indexes = new Map<string, { modelId: string; index: SearchIndex }>();
  /** Changes from the feed, applied one after another. */
  private applying: Promise<void> = Promise.resolve();

  constructor(db: GalleryDatabase, options: GalleryStoreOptions = {}) {
    this.db = db;
    this.backend = db.backend;
    this.retainsCrops = options.retainCrops ?? false;
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  async open(): Promise<void> {
    this.db.changes?.onChange((change) => {
      this.applying = this.applying
        .then(() => this.apply(change))
        .catch((err: unknown) => this.options.onError?.(err));
    });
    await this.db.migrate();
    await this.reload();
  }

  /** Waits until every change received so far is applied (tests and benchmarks). */
  settled(): Promise<void> {
    return this.applying;
  }

  private async reload(): Promise<void> {
    const next = new Map<string, { modelId: string; index: SearchIndex }>();
    // Page by page: one query for a large database would hold every row in memory at once and can
    // outlast the statement timeout.
    const pageSize = this.options.loadPageSize ?? LOAD_PAGE;
    let after: string | null = null;
    for (;;) {
      const rows: TemplateRow[] = await this.db.templatePage(after, pageSize);
      for (const row of rows) this.addTo(next, row);
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) break;
      after = last.faceId;
    }
    this.indexes = next;
  }

  private addTo(map: Map<string, { modelId: string; index: SearchIndex }>, row: TemplateRow): void {
    let entry = map.get(row.gallery);
    if (!entry) {
      entry = { modelId: row.modelId, index: new SearchIndex(row.dim) };
      map.set(row.gallery, entry);
    }
    entry.index.add(row.faceId, row.subject, this.openEmbedding(row));
  }

  private async apply(change: GalleryChange): Promise<void> {
    switch (change.op) {
      case 'resync':
        return this.reload();
      case 'enrol': {
        if (this.indexes.get(change.gallery)?.index.has(change.faceId)) return;
        for (const row of await this.db.templates({ faceIds: [change.faceId] }))
          this.addTo(this.indexes, row);
        return;
      }
      case 'delete-face':
        this.indexes.get(change.gallery)?.index.remove(change.faceId);
        return;
      case 'delete-subject':
        this.indexes.get(change.gallery)?.index.removeSubject(change.subject);
        return;
      case 'delete-gallery':
        this.indexes.delete(change.gallery);
        return;
      case 'reembed':
        return this.reloadGallery(change.gallery);
    }
  }

  /** Rebuilds one gallery's index from the database and swaps it in whole (after a re-embedding). */
  private async reloadGallery(gallery: string): Promise<void> {
    const next = new Map<string, { modelId: string; index: SearchIndex }>();
    for (const row of await this.db.templates({ gallery })) this.addTo(next, row);
    const entry = next.get(gallery);
    if (entry) this.indexes.set(gallery, entry);
    else this.indexes.delete(gallery);
  }

  private seal(plain: Uint8Array, context: string): { keyId: string | null; bytes: Uint8Array } {
    const { cipher } = this.options;
    if (!cipher) return { keyId: null, bytes: plain };
    const sealed = cipher.seal(plain, context);
    return { keyId: sealed.keyId, bytes: sealed.bytes };
  }

  private unseal(keyId: string | null, bytes: Uint8Array, context: string): Uint8Array {
    if (keyId === null) return bytes;
    const { cipher } = this.options;
    if (!cipher) {
      throw new FaceVerifyError(
        'TEMPLATE_UNREADABLE',
        'Stored templates are encrypted and TEMPLATE_ENCRYPTION_KEY is not set',
        { key_id: keyId },
      );
    }
    return cipher.open({ keyId, bytes }, context);
  }

  private openEmbedding(row: Pick<TemplateRow, 'faceId' | 'dim' | 'embedding' | 'keyId'>): Float32Array {
    const plain = this.unseal(row.keyId, row.embedding, `embedding:${row.faceId}`);
    if (plain.byteLength !== row.dim * 4) {
      throw new FaceVerifyError('TEMPLATE_UNREADABLE', `Template of face ${row.faceId} has the wrong length`);
    }
    const out = new Float32Array(row.dim);
    new Uint8Array(out.buffer).set(plain);
    return out;
  }

  async enrol(input: EnrolInput): Promise<EnrolResult> {
    checkName('gallery', input.gallery);
    checkName('subject', input.subject);
    const dim = input.embedding.length;
    if (dim === 0 || !input.embedding.every(Number.isFinite)) {
      throw new FaceVerifyError(
        'INVALID_INPUT',
        'The embedding must be a non-empty vector of finite numbers',
      );
    }
    if (!input.modelId) throw new FaceVerifyError('INVALID_INPUT', 'The model id is required');
    const faceId = randomUUID();
    const createdAt = this.now();
    const retention = this.options.retentionDays ?? 0;
    const expiresAt = input.expiresAt ? this.futureTime(input.expiresAt) : null;
    const embedding = this.seal(floatBytes(input.embedding), `embedding:${faceId}`);
    const crop =
      this.options.retainCrops && input.crop ? this.seal(input.crop, `crop:${faceId}`).bytes : null;
    const template: TemplateRow = {
      faceId,
      gallery: input.gallery,
      subject: input.subject,
      modelId: input.modelId,
      dim,
      embedding: embedding.bytes,
      keyId: embedding.keyId,
    };
    const { face, created } = await this.db.insertFace({
      ...template,
      crop,
      faceJson: JSON.stringify(input.face),
      createdAt,
      expiresAt,
      defaultExpiresAt: retention > 0 ? createdAt + retention * 86_400_000 : null,
      consentRef: input.consentRef ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      actor: input.actor,
    });
    if (created) this.addTo(this.indexes, template);
    return { ...faceRecord(face), created };
  }

  async listGalleries(): Promise<GalleryInfo[]> {
    return (await this.db.listGalleries()).map(({ createdAt, ...g }) => ({
      ...g,
      created_at: iso(createdAt),
    }));
  }

  async listSubjects(gallery: string, page: { after?: string; limit?: number } = {}): Promise<SubjectPage> {
    const limit = Math.min(Math.max(1, page.limit ?? 100), MAX_PAGE);
    // One more than asked tells whether there is a next page.
    const rows = await this.db.listSubjects(gallery, page.after, limit + 1);
    const subjects = rows.slice(0, limit).map(subjectSummary);
    const last = subjects.at(-1);
    return rows.length > limit && last ? { subjects, next: last.subject } : { subjects };
  }

  async getSubject(gallery: string, subject: string): Promise<SubjectDetail> {
    const { summary, faces } = await this.db.getSubject(gallery, subject);
    return { ...subjectSummary(summary), gallery, faces_list: faces.map(faceRecord) };
  }

  async subjectTemplates(gallery: string, subject: string, actor?: Actor): Promise<Template[]> {
    const { summary } = await this.db.getSubject(gallery, subject); // the 404s
    const rows = await this.db.templates({ gallery, subject: summary.subject });
    if (actor !== undefined) {
      await this.appendAudit({ actor, action: 'verify', gallery, subject, count: rows.length });
    }
    return rows.map((r) => ({
      face_id: r.faceId,
      subject: r.subject,
      model: r.modelId,
      embedding: this.openEmbedding(r),
    }));
  }

  async faceCrop(faceId: string): Promise<Uint8Array | undefined> {
    const row = await this.db.crop(faceId);
    if (!row) throw new FaceVerifyError('FACE_NOT_FOUND', `Face ${faceId} not found`);
    if (row.crop === null) return undefined;
    const crop = this.unseal(row.keyId, row.crop, `crop:${faceId}`);
    // A plain Uint8Array view (the drivers and node:crypto hand out Buffers).
    return new Uint8Array(crop.buffer, crop.byteOffset, crop.byteLength);
  }

  async subjectCount(gallery: string): Promise<number> {
    return this.indexes.get(gallery)?.index.subjectCount ?? 0;
  }

  async search(input: SearchInput): Promise<SearchMatch[]> {
    const entry = this.indexes.get(input.gallery);
    if (!entry) {
      // Another node may have created it a moment ago; the database is the authority.
      if (!(await this.db.galleryModel(input.gallery))) {
        throw new FaceVerifyError('GALLERY_NOT_FOUND', `Gallery "${input.gallery}" not found`);
      }
    }
    const model = entry?.modelId ?? (await this.db.galleryModel(input.gallery))?.modelId;
    if (model !== undefined && model !== input.modelId)
      throw modelMismatch(input.gallery, model, input.modelId);
    if (entry && input.embedding.length !== entry.index.dim) {
      throw new FaceVerifyError(
        'INVALID_INPUT',
        `The embedding has ${input.embedding.length} values; gallery "${input.gallery}" holds ${entry.index.dim}`,
      );
    }
    let matches: SearchMatch[] = [];
    if (entry) {
      const exclude = new Set<string>();
      for (;;) {
        const hits = entry.index.search(input.embedding, {
          limit: input.limit ?? 5,
          threshold: input.threshold,
          exclude,
        });
        const alive = hits.length ? await this.db.existingFaceIds(hits.map((h) => h.faceId)) : new Set();
        const gone = hits.filter((h) => !alive.has(h.faceId));
        if (gone.length === 0) {
          matches = hits.map((h) => ({ subject: h.subject, face_id: h.faceId, cosine_similarity: h.score }));
          break;
        }
        for (const h of gone) {
          exclude.add(h.faceId);
          entry.index.remove(h.faceId);
        }
      }
    }
    if (input.actor !== undefined) {
      await this.appendAudit({
        actor: input.actor,
        action: 'search',
        gallery: input.gallery,
        count: matches.length,
      });
    }
    return matches;
  }

  async deleteGallery(gallery: string, actor: Actor): Promise<number> {
    const removed = await this.db.deleteGallery(gallery, actor);
    this.indexes.delete(gallery);
    return removed;
  }

  async deleteSubject(gallery: string, subject: string, actor: Actor): Promise<number> {
    const removed = await this.db.deleteSubject(gallery, subject, actor);
    this.indexes.get(gallery)?.index.removeSubject(subject);
    return removed;
  }

  async deleteFace(gallery: string, subject: string, faceId: string, actor: Actor): Promise<number> {
    const removed = await this.db.deleteFace(gallery, subject, faceId, actor);
    this.indexes.get(gallery)?.index.remove(faceId);
    return removed;
  }

  /** A subject's expiry: a valid date after now (a past one would be deleted at once: use a delete). */
  private futureTime(date: Date): number {
    const t = date.getTime();
    if (!Number.isFinite(t) || t <= this.now()) {
      throw new FaceVerifyError('INVALID_INPUT', 'expires_at must be a date in the future', {
        field: 'expires_at',
      });
    }
    return t;
  }

  async updateSubject(
    gallery: string,
    subject: string,
    change: SubjectChange,
    actor: Actor,
  ): Promise<SubjectSummary> {
    checkName('gallery', gallery);
    checkName('subject', subject);
    const row = await this.db.updateSubject(
      gallery,
      subject,
      {
        ...(change.expiresAt !== undefined
          ? { expiresAt: change.expiresAt === null ? null : this.futureTime(change.expiresAt) }
          : {}),
        ...(change.consentRef !== undefined ? { consentRef: change.consentRef } : {}),
      },
      this.now(),
      actor,
    );
    return subjectSummary(row);
  }

  async sweepExpired(actor: Actor): Promise<SweepResult> {
    const swept = await this.db.sweepExpired(this.now(), actor);
    for (const s of swept) this.indexes.get(s.gallery)?.index.removeSubject(s.subject);
    return { subjects: swept.length, faces: swept.reduce((n, s) => n + s.faces, 0) };
  }

  async pruneAudit(): Promise<number> {
    const days = this.options.auditRetentionDays ?? 0;
    if (days <= 0) return 0;
    return this.db.pruneAudit(this.now() - days * 86_400_000);
  }

  appendAudit(e: Parameters<GalleryStore['appendAudit']>[0]): Promise<void> {
    return this.db.appendAudit({
      at: this.now(),
      actor: e.actor,
      action: e.action,
      gallery: e.gallery,
      subject: e.subject ?? null,
      faceId: e.faceId ?? null,
      count: e.count ?? null,
    });
  }

  readAudit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    return this.db.readAudit({
      after: query.after ?? 0,
      limit: Math.min(Math.max(1, query.limit ?? 100), MAX_PAGE),
      gallery: query.gallery ?? null,
      subject: query.subject ?? null,
      action: query.action ?? null,
      since: query.since?.getTime() ?? null,
    });
  }

  async reencrypt(): Promise<number> {
    const { cipher } = this.options;
    if (!cipher) throw new FaceVerifyError('INVALID_INPUT', 'Re-encryption needs TEMPLATE_ENCRYPTION_KEY');
    let resealed = 0;
    for (;;) {
      const rows = await this.db.facesNotSealedWith(cipher.primaryKeyId, RESEAL_BATCH);
      if (rows.length === 0) return resealed;
      for (const row of rows) {
        const embedding = this.unseal(row.keyId, row.embedding, `embedding:${row.faceId}`);
        const crop = row.crop && this.unseal(row.keyId, row.crop, `crop:${row.faceId}`);
        const next = {
          keyId: cipher.primaryKeyId,
          embedding: cipher.seal(embedding, `embedding:${row.faceId}`).bytes,
          crop: crop && cipher.seal(crop, `crop:${row.faceId}`).bytes,
        };
        // A face deleted (or re-embedded) meanwhile simply is not updated.
        if (await this.db.resealFace(row.faceId, row, next)) resealed += 1;
      }
    }
  }

  async reembedStatus(gallery: string, modelId: string): Promise<ReembedStatus> {
    checkName('gallery', gallery);
    const s = await this.db.reembedStatus(gallery, modelId);
    return {
      gallery,
      model: s.modelId,
      faces: s.faces,
      staged: s.staged,
      without_crop: s.withoutCrop,
      subjects_without_crop: s.subjectsWithoutCrop,
    };
  }

  async facesToReembed(gallery: string, modelId: string, limit: number): Promise<FaceToReembed[]> {
    const rows = await this.db.facesToReembed(gallery, modelId, limit);
    return rows.map((r) => {
      const crop = this.unseal(r.keyId, r.crop as Uint8Array, `crop:${r.faceId}`);
      return {
        face_id: r.faceId,
        subject: r.subject,
        crop: new Uint8Array(crop.buffer, crop.byteOffset, crop.byteLength),
      };
    });
  }

  async stageReembedded(input: {
    gallery: string;
    faceId: string;
    modelId: string;
    embedding: Float32Array;
    crop: Uint8Array;
  }): Promise<void> {
    const { faceId, embedding } = input;
    if (embedding.length === 0 || !embedding.every(Number.isFinite)) {
      throw new FaceVerifyError(
        'INVALID_INPUT',
        'The embedding must be a non-empty vector of finite numbers',
      );
    }
    // Embedding and crop sealed by the same (primary) key: the switch moves both and the key id.
    const sealed = this.seal(floatBytes(embedding), `embedding:${faceId}`);
    await this.db.stageTemplate({
      faceId,
      gallery: input.gallery,
      modelId: input.modelId,
      dim: embedding.length,
      embedding: sealed.bytes,
      keyId: sealed.keyId,
      crop: this.seal(input.crop, `crop:${faceId}`).bytes,
    });
  }

  async switchModel(
    gallery: string,
    modelId: string,
    dim: number,
    actor: Actor,
  ): Promise<{ switched: boolean; missing: number; faces: number }> {
    const result = await this.db.switchModel(gallery, modelId, dim, this.now(), actor);
    if (result.switched) await this.reloadGallery(gallery);
    return result;
  }

  async health(): Promise<GalleryStoreHealth> {
    try {
      await this.db.ping();
      const faces = [...this.indexes.values()].reduce((n, e) => n + e.index.size, 0);
      return {
        ok: true,
        backend: this.backend,
        detail: `${this.indexes.size} galleries, ${faces} faces indexed`,
      };
    } catch (err) {
      return { ok: false, backend: this.backend, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    await this.applying;
    await this.db.close();
  }
}
