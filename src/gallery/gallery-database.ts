/**
 * What a gallery backend stores, as rows: the SQL of one database behind a small interface, so the
 * logic above it (validation, encryption, the in-memory search indexes, their sync) is written once in
 * IndexedGalleryStore. Times are epoch milliseconds; templates are raw little-endian float32 bytes,
 * sealed when a key is configured (`key_id` says by which key, null = plain).
 *
 * Each mutating call is one transaction that also writes its audit entry, so a face never exists
 * without its enrol entry and a crash leaves either all of an enrol or none of it. Not-found cases
 * throw GALLERY_NOT_FOUND / SUBJECT_NOT_FOUND / FACE_NOT_FOUND; an unreachable or locked database
 * throws UNAVAILABLE.
 */
import { FaceVerifyError } from '../errors.js';
import type { Actor, AuditAction, AuditEntry, GalleryInfo } from './gallery-store.js';

/** A face's template as stored: raw float32 bytes, or sealed by the key `keyId`. */
export interface TemplateRow {
  faceId: string;
  gallery: string;
  subject: string;
  modelId: string;
  dim: number;
  embedding: Uint8Array;
  keyId: string | null;
}

export interface NewFaceRow extends TemplateRow {
  crop: Uint8Array | null;
  faceJson: string;
  createdAt: number;
  /** Set on the subject when given (null: keep what it has; a new subject gets defaultExpiresAt). */
  expiresAt: number | null;
  /** A new subject's expiry when expiresAt is null (the store's retention; null: none). */
  defaultExpiresAt: number | null;
  consentRef: string | null;
  idempotencyKey: string | null;
  actor: Actor;
}

export interface FaceRow {
  faceId: string;
  gallery: string;
  subject: string;
  modelId: string;
  faceJson: string;
  createdAt: number;
  hasCrop: boolean;
}

export interface SealedFaceRow extends TemplateRow {
  crop: Uint8Array | null;
}

export interface SubjectRow {
  subject: string;
  faces: number;
  createdAt: number;
  expiresAt: number | null;
  consentRef: string | null;
}

/** What changed, as other nodes learn it (PostgreSQL NOTIFY, SQLite's gallery_changes table). */
export type GalleryChange =
  | { op: 'enrol'; gallery: string; faceId: string }
  | { op: 'delete-face'; gallery: string; faceId: string }
  | { op: 'delete-subject'; gallery: string; subject: string }
  | { op: 'delete-gallery'; gallery: string }
  /** The gallery moved to another model (a re-embedding switched it): reload its templates. */
  | { op: 'reembed'; gallery: string }
  /** Notifications may have been missed (the listening connection was lost): reload everything. */
  | { op: 'resync' };

/**
 * A face's template under another model, built beside the live one by a re-embedding
 * (src/gallery/reembed-gallery.ts), with its crop sealed by the same key as the new embedding.
 */
export interface StagedTemplateRow extends Omit<TemplateRow, 'subject'> {
  crop: Uint8Array;
}

/** Where a gallery's re-embedding into a model stands. */
export interface ReembedRowStatus {
  /** The gallery's model now. */
  modelId: string;
  faces: number;
  /** Faces with a staged template for the target model. */
  staged: number;
  /** Faces without a retained crop, and (some of) their subjects, in name order. */
  withoutCrop: number;
  subjectsWithoutCrop: string[];
}

export interface ChangeFeed {
  /** Called for every change, in commit order, including this node's own. */
  onChange(listener: (change: GalleryChange) => void): void;
}

export interface GalleryDatabase {
  readonly backend: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  /** Inserts the face; with a known idempotency key returns that face instead (created: false). */
  insertFace(row: NewFaceRow): Promise<{ face: FaceRow; created: boolean }>;
  /** The gallery's model and dimension, or undefined. */
  galleryModel(gallery: string): Promise<{ modelId: string; dim: number } | undefined>;
  listGalleries(): Promise<(Omit<GalleryInfo, 'created_at'> & { createdAt: number })[]>;
  listSubjects(gallery: string, after: string | undefined, limit: number): Promise<SubjectRow[]>;
  getSubject(gallery: string, subject: string): Promise<{ summary: SubjectRow; faces: FaceRow[] }>;
  /** Templates of a gallery, a subject, or some faces (for loading indexes). */
  templates(where: {
    gallery?: string;
    subject?: string;
    faceIds?: readonly string[];
  }): Promise<TemplateRow[]>;
  /** Every template, in face-id order, `limit` at a time after `afterFaceId` (loading indexes). */
  templatePage(afterFaceId: string | null, limit: number): Promise<TemplateRow[]>;
  /** A face's stored crop (null: none kept), or undefined for an unknown face. */
  crop(faceId: string): Promise<{ crop: Uint8Array | null; keyId: string | null } | undefined>;
  /** Which of these faces still exist. */
  existingFaceIds(faceIds: readonly string[]): Promise<Set<string>>;
  deleteGallery(gallery: string, actor: Actor): Promise<number>;
  deleteSubject(gallery: string, subject: string, actor: Actor): Promise<number>;
  deleteFace(gallery: string, subject: string, faceId: string, actor: Actor): Promise<number>;
  /** Sets the fields given (undefined: unchanged), audited as 'update'; answers the subject after. */
  updateSubject(
    gallery: string,
    subject: string,
    change: { expiresAt?: number | null; consentRef?: string | null },
    at: number,
    actor: Actor,
  ): Promise<SubjectRow>;
  /** Deletes subjects with expires_at ≤ now, each audited as 'expire'. */
  sweepExpired(now: number, actor: Actor): Promise<{ gallery: string; subject: string; faces: number }[]>;
  appendAudit(entry: {
    at: number;
    actor: Actor;
    action: AuditAction;
    gallery: string;
    subject: string | null;
    faceId: string | null;
    count: number | null;
  }): Promise<void>;
  readAudit(query: AuditRead): Promise<AuditEntry[]>;
  /** Deletes the audit entries written before `before` (ms); answers how many. */
  pruneAudit(before: number): Promise<number>;
  /** Faces not sealed with `keyId` (null rows included), at most `limit`. */
  facesNotSealedWith(keyId: string, limit: number): Promise<SealedFaceRow[]>;
  /**
   * Replaces a face's sealed bytes if it is still sealed with `fromKeyId` and still a template of
   * `modelId` (compare-and-set: a re-embedding that switched the face meanwhile wins).
   */
  resealFace(
    faceId: string,
    from: { keyId: string | null; modelId: string },
    next: { keyId: string; embedding: Uint8Array; crop: Uint8Array | null },
  ): Promise<boolean>;
  /**
   * Re-embedding. Drops the gallery's staged templates of models other than `modelId` (an earlier run
   * to another model starts over) and says how far the one to `modelId` is.
   */
  reembedStatus(gallery: string, modelId: string): Promise<ReembedRowStatus>;
  /** Faces of the gallery with a crop and no staged template for `modelId`, at most `limit`. */
  facesToReembed(gallery: string, modelId: string, limit: number): Promise<SealedFaceRow[]>;
  /** Stages (or replaces) a face's template for another model; a face deleted meanwhile is skipped. */
  stageTemplate(row: StagedTemplateRow): Promise<void>;
  /**
   * One transaction: if every face of the gallery has a staged template for `modelId`, they replace
   * the live templates (and crops, and key ids), the gallery takes the model, the staged rows go and
   * the switch is audited ('reembed') and announced; else nothing changes and it answers how many
   * faces are missing.
   */
  switchModel(
    gallery: string,
    modelId: string,
    dim: number,
    at: number,
    actor: Actor,
  ): Promise<{ switched: boolean; missing: number; faces: number }>;
  /** Other processes' changes to the same database (both backends; each also sees its own). */
  readonly changes?: ChangeFeed;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** An audit query as the databases take it: every filter present (null: none), times in ms. */
export interface AuditRead {
  after: number;
  limit: number;
  gallery: string | null;
  subject: string | null;
  action: AuditAction | null;
  since: number | null;
}

/** An audit row as both databases return it. */
export interface AuditRow {
  id: number | string;
  at: number | string;
  actor: string;
  action: string;
  gallery: string;
  subject: string | null;
  face_id: string | null;
  count: number | null;
}

export function auditEntry(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    at: new Date(Number(r.at)).toISOString(),
    actor: r.actor,
    action: r.action as AuditAction,
    gallery: r.gallery,
    subject: r.subject,
    face_id: r.face_id,
    count: r.count === null ? null : Number(r.count),
  };
}

export function modelMismatch(gallery: string, galleryModel: string, requested: string): FaceVerifyError {
  return new FaceVerifyError(
    'MODEL_MISMATCH',
    `Gallery "${gallery}" holds templates of ${galleryModel}, not ${requested}; enrol into another gallery or re-enrol this one`,
    { gallery, gallery_model: galleryModel, model: requested },
  );
}

export function subjectNotFound(gallery: string, subject: string): FaceVerifyError {
  return new FaceVerifyError('SUBJECT_NOT_FOUND', `Subject "${subject}" not found in gallery "${gallery}"`);
}
