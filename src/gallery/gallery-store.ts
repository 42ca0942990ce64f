/**
 * The gallery-store interface: galleries of enrolled subjects, each subject with one or more faces
 * (a template = embedding of one model, plus the face's detection data), exact 1:N search, retention
 * and an audit log. Two interchangeable backends behind it: an embedded SQLite file under DATA_DIR
 * (default, single node) and PostgreSQL (DATABASE_URL; several API nodes share it). One conformance
 * suite (test/integration/gallery/gallery-store-conformance.test.ts) runs against both.
 *
 * Errors: GALLERY_NOT_FOUND, SUBJECT_NOT_FOUND, FACE_NOT_FOUND (404), MODEL_MISMATCH (409),
 * INVALID_INPUT (400: names, dimensions), TEMPLATE_UNREADABLE (500: encryption), UNAVAILABLE (503,
 * retryable: the database cannot be reached or is locked). Design and figures: docs/identities.md.
 */

/** Who did something, for the audit log: an API key's id, or 'cli'. */
export type Actor = string;

export interface EnrolInput {
  gallery: string;
  subject: string;
  /** Model name and weights' hash, e.g. "mobilefacenet@d8ba40c0127f". A gallery keeps its first. */
  modelId: string;
  /** Unit-length embedding. */
  embedding: Float32Array;
  /** The face's detection data (box, score, landmarks, quality…); stored and returned as it is. */
  face: Record<string, unknown>;
  /**
   * The encoded face chip (src/pipeline/face-chip.ts: 256×256 lossless, with its landmarks), kept only
   * when the store retains crops, for re-embedding with another model.
   */
  crop?: Uint8Array;
  /**
   * When the subject is to be deleted (must be in the future). A new subject without one gets now +
   * the store's retention, if it has one; an existing subject keeps its own unless one is given.
   */
  expiresAt?: Date;
  /** A reference to the consent the subject gave (opaque). */
  consentRef?: string;
  /** The same key for the same gallery answers the first enrol's record instead of adding a face. */
  idempotencyKey?: string;
  actor: Actor;
}

export interface FaceRecord {
  face_id: string;
  gallery: string;
  subject: string;
  model: string;
  face: Record<string, unknown>;
  created_at: string;
  has_crop: boolean;
}

export interface EnrolResult extends FaceRecord {
  /** false when an Idempotency-Key matched an earlier enrol (this is that enrol's face). */
  created: boolean;
}

export interface GalleryInfo {
  gallery: string;
  model: string;
  dim: number;
  subjects: number;
  faces: number;
  created_at: string;
}

export interface SubjectSummary {
  subject: string;
  faces: number;
  created_at: string;
  expires_at: string | null;
  consent_ref: string | null;
}

export interface SubjectDetail extends SubjectSummary {
  gallery: string;
  faces_list: FaceRecord[];
}

export interface SubjectPage {
  subjects: SubjectSummary[];
  /** Pass as `after` for the next page; absent on the last page. Stable: subject names in order. */
  next?: string;
}

export interface Template {
  face_id: string;
  subject: string;
  model: string;
  embedding: Float32Array;
}

export interface SearchMatch {
  subject: string;
  face_id: string;
  cosine_similarity: number;
}

export interface SearchInput {
  gallery: string;
  modelId: string;
  embedding: Float32Array;
  /** Most subjects (default 5). */
  limit?: number;
  /** Only matches at or above this cosine similarity. */
  threshold: number;
  /** When given, the search is written to the audit log. */
  actor?: Actor;
}

export type AuditAction = 'enrol' | 'update' | 'delete' | 'search' | 'verify' | 'expire' | 'reembed';

export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'enrol',
  'update',
  'delete',
  'search',
  'verify',
  'expire',
  'reembed',
];

/** A change of a subject's retention or consent; an absent field is left as it is. */
export interface SubjectChange {
  /** null: kept until deleted; a date: deleted by the sweeper then (must be in the future). */
  expiresAt?: Date | null;
  consentRef?: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: Actor;
  action: AuditAction;
  gallery: string;
  subject: string | null;
  face_id: string | null;
  /** Faces the action removed (deletes, expiry) or returned (search). */
  count: number | null;
}

export interface AuditQuery {
  gallery?: string;
  subject?: string;
  action?: AuditAction;
  /** Entries at or after this time. */
  since?: Date;
  /** Entries with an id greater than this (paging, oldest first). */
  after?: number;
  limit?: number;
}

export interface SweepResult {
  subjects: number;
  faces: number;
}

export interface GalleryStoreHealth {
  ok: boolean;
  backend: 'sqlite' | 'postgres';
  detail: string;
}

/** Where a gallery's re-embedding into a model stands (src/gallery/reembed-gallery.ts). */
export interface ReembedStatus {
  gallery: string;
  /** The gallery's model now. */
  model: string;
  faces: number;
  /** Faces already embedded with the target model (kept beside the live templates until the switch). */
  staged: number;
  /** Faces without a retained crop: they cannot be re-embedded. */
  without_crop: number;
  /** Some of their subjects (at most 20), in name order. */
  subjects_without_crop: string[];
}

/** A face to re-embed: its retained crop, opened. */
export interface FaceToReembed {
  face_id: string;
  subject: string;
  crop: Uint8Array;
}

export interface GalleryStore {
  readonly backend: 'sqlite' | 'postgres';
  /** Whether enrol keeps the crops it is given (RETAIN_FACE_CROPS): callers then make one. */
  readonly retainsCrops: boolean;
  /** Runs migrations and loads every gallery's index. Call once before anything else. */
  open(): Promise<void>;
  enrol(input: EnrolInput): Promise<EnrolResult>;
  listGalleries(): Promise<GalleryInfo[]>;
  /** Subjects in name order; GALLERY_NOT_FOUND if the gallery does not exist. */
  listSubjects(gallery: string, page?: { after?: string; limit?: number }): Promise<SubjectPage>;
  /** The subject and its faces, without embeddings. */
  getSubject(gallery: string, subject: string): Promise<SubjectDetail>;
  /** The subject's templates (for verify against a subject); audited as 'verify' when actor is given. */
  subjectTemplates(gallery: string, subject: string, actor?: Actor): Promise<Template[]>;
  /** The face's aligned crop, if crops are retained (for re-embedding with another model). */
  faceCrop(faceId: string): Promise<Uint8Array | undefined>;
  /** Best face per subject, best first; `[]` = nobody in the gallery is that close. */
  search(input: SearchInput): Promise<SearchMatch[]>;
  /** How many subjects a search of the gallery compares against (0 for an unknown gallery). */
  subjectCount(gallery: string): Promise<number>;
  /** Hard deletes; each answers the number of faces removed. */
  deleteGallery(gallery: string, actor: Actor): Promise<number>;
  deleteSubject(gallery: string, subject: string, actor: Actor): Promise<number>;
  deleteFace(gallery: string, subject: string, faceId: string, actor: Actor): Promise<number>;
  /** Changes a subject's expires_at or consent_ref (audited as 'update'); answers the subject. */
  updateSubject(
    gallery: string,
    subject: string,
    change: SubjectChange,
    actor: Actor,
  ): Promise<SubjectSummary>;
  /** Deletes the subjects whose expires_at has passed. */
  sweepExpired(actor: Actor): Promise<SweepResult>;
  appendAudit(entry: {
    actor: Actor;
    action: AuditAction;
    gallery: string;
    subject?: string;
    faceId?: string;
    count?: number;
  }): Promise<void>;
  readAudit(query?: AuditQuery): Promise<AuditEntry[]>;
  /**
   * Deletes audit entries older than the store's audit retention (AUDIT_RETENTION_DAYS; 0 keeps them
   * all and answers 0); answers how many were deleted. Run by the service's sweeper.
   */
  pruneAudit(): Promise<number>;
  /**
   * Re-embedding a gallery into another model, step by step (src/gallery/reembed-gallery.ts drives
   * them): where it stands (a run to another model is dropped), the next faces to embed, a new
   * template staged beside the live one, and the switch — all faces at once, or none.
   */
  reembedStatus(gallery: string, modelId: string): Promise<ReembedStatus>;
  facesToReembed(gallery: string, modelId: string, limit: number): Promise<FaceToReembed[]>;
  stageReembedded(input: {
    gallery: string;
    faceId: string;
    modelId: string;
    embedding: Float32Array;
    crop: Uint8Array;
  }): Promise<void>;
  switchModel(
    gallery: string,
    modelId: string,
    dim: number,
    actor: Actor,
  ): Promise<{ switched: boolean; missing: number; faces: number }>;
  /** Re-seals every template and crop not sealed with the primary key; answers how many faces. */
  reencrypt(): Promise<number>;
  health(): Promise<GalleryStoreHealth>;
  close(): Promise<void>;
}

/** Gallery and subject names, as in the API paths. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
