/**
 * Request and response schemas of the gallery routes (src/http/routes/galleries.ts): validation,
 * serialisation and OpenAPI from one definition.
 */
import { Type, type Static } from 'typebox';
import { ComparisonSchema } from '../../pipeline/verify-result.js';
import { FaceReportSchema } from '../../pipeline/face-analysis.js';
import { AUDIT_ACTIONS } from '../../gallery/gallery-store.js';
import { FacePolicy } from './common.js';

const Name = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: '1-64 of A-Z a-z 0-9 _ . -' });

export const GalleryParams = Type.Object({ gallery: Name });
export const SubjectParams = Type.Object({ gallery: Name, subject: Name });
export const FaceParams = Type.Object({
  gallery: Name,
  subject: Name,
  face_id: Type.String({ maxLength: 64 }),
});

const imageFields = {
  image_url: Type.Optional(
    Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL of an image' }),
  ),
  image: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'The image file (multipart upload), or its bytes in base64 (JSON)',
    }),
  ),
  face_policy: Type.Optional(FacePolicy),
};

export const EnrolBody = Type.Object(
  {
    ...imageFields,
    expires_at: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'When the subject is deleted (default: GALLERY_RETENTION_DAYS)',
      }),
    ),
    consent_ref: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'A reference to the consent the subject gave',
      }),
    ),
  },
  { additionalProperties: false, description: 'Give the image as a URL or as an upload' },
);
export type EnrolBody = Static<typeof EnrolBody>;

export const GalleryVerifyBody = Type.Object(
  {
    ...imageFields,
    threshold: Type.Optional(
      Type.Number({ minimum: -1, maximum: 1, description: "Cosine threshold instead of the model's" }),
    ),
  },
  { additionalProperties: false },
);
export type GalleryVerifyBody = Static<typeof GalleryVerifyBody>;

export const SearchBody = Type.Object(
  {
    ...imageFields,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Most subjects' }),
    ),
    threshold: Type.Optional(
      Type.Number({
        minimum: -1,
        maximum: 1,
        description: "Only matches at or above this cosine similarity (default: the model's threshold)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type SearchBody = Static<typeof SearchBody>;

const FaceRecord = Type.Object({
  face_id: Type.String(),
  model: Type.String(),
  box: FaceReportSchema.properties.box,
  score: Type.Number(),
  quality: Type.Optional(FaceReportSchema.properties.quality),
  created_at: Type.String(),
});

export const Enrolled = Type.Object({
  gallery: Type.String(),
  subject: Type.String(),
  ...FaceRecord.properties,
});

export const GalleryList = Type.Object({
  galleries: Type.Array(
    Type.Object({
      gallery: Type.String(),
      model: Type.String(),
      dim: Type.Integer(),
      subjects: Type.Integer(),
      faces: Type.Integer(),
      created_at: Type.String(),
    }),
  ),
});

const SubjectSummary = Type.Object({
  subject: Type.String(),
  faces: Type.Integer(),
  created_at: Type.String(),
  expires_at: Type.Union([Type.String(), Type.Null()]),
  consent_ref: Type.Union([Type.String(), Type.Null()]),
});

export const SubjectsQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 64, description: 'The `next` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

export const SubjectList = Type.Object({
  gallery: Type.String(),
  subjects: Type.Array(SubjectSummary),
  next: Type.Optional(Type.String({ description: 'Pass as `after` for the next page; absent on the last' })),
});

export const SubjectPatchBody = Type.Object(
  {
    expires_at: Type.Optional(
      Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
        description: 'When the subject is deleted (in the future); null: kept until deleted',
      }),
    ),
    consent_ref: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
        description: 'A reference to the consent the subject gave; null: none',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1, description: 'The fields to change; others stay' },
);
export type SubjectPatchBody = Static<typeof SubjectPatchBody>;

export const SubjectUpdated = Type.Object({ gallery: Type.String(), ...SubjectSummary.properties });

export const AuditQuery = Type.Object({
  gallery: Type.Optional(Name),
  subject: Type.Optional(Name),
  action: Type.Optional(
    Type.Union(
      AUDIT_ACTIONS.map((a) => Type.Literal(a)),
      { description: 'Only entries of this action' },
    ),
  ),
  since: Type.Optional(
    Type.String({ format: 'date-time', description: 'Only entries at or after this time' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  cursor: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,18}$', description: 'The `next` of the previous page' }),
  ),
});
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditPage = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Type.String({ description: 'ISO 8601' }),
      actor: Type.String({
        description: 'key:<name or 12 hex digits of the key’s SHA-256>, cli, sweeper, anonymous',
      }),
      action: Type.String({ description: AUDIT_ACTIONS.join(', ') }),
      gallery: Type.String(),
      subject: Type.Union([Type.String(), Type.Null()]),
      face_id: Type.Union([Type.String(), Type.Null()]),
      count: Type.Union([Type.Integer(), Type.Null()], {
        description: 'Faces removed (delete, expire), matches returned (search), faces compared (verify)',
      }),
    }),
    { description: 'Oldest first' },
  ),
  next: Type.Optional(Type.String({ description: 'Pass as `cursor` for the next page; absent on the last' })),
});

export const SubjectDetail = Type.Object({
  gallery: Type.String(),
  ...SubjectSummary.properties,
  faces_list: Type.Array(FaceRecord),
});

export const Deleted = Type.Object({
  deleted_faces: Type.Integer({ description: 'How many faces were removed' }),
});

export const GalleryVerifyResult = Type.Object({
  ...ComparisonSchema.properties,
  subject: Type.String(),
  matched_face_id: Type.String({ description: "The subject's face closest to the photo" }),
  model: Type.String(),
  processing_time: Type.Number({ description: 'Seconds' }),
  faces: Type.Array(FaceReportSchema, {
    minItems: 1,
    maxItems: 1,
    description: 'The face found in the photo',
  }),
});

export const SearchResult = Type.Object({
  matches: Type.Array(
    Type.Object({
      subject: Type.String(),
      face_id: Type.String(),
      cosine_similarity: Type.Number(),
      confidence: Type.Number(),
    }),
    { description: 'Best first, one per subject, at or above the threshold; [] = an unknown person' },
  ),
  threshold: Type.Number({ description: 'The cosine threshold applied' }),
  threshold_source: Type.String({
    description:
      'request (given), open-set (raised for the gallery size to keep SEARCH_FPIR), or where the verification threshold came from',
  }),
  open_set: Type.Optional(
    Type.Object(
      {
        fpir: Type.Number({ description: 'Target rate of an unknown person matched to someone' }),
        subjects: Type.Integer({ description: 'Subjects the search compared against' }),
      },
      { description: 'With threshold_source open-set: what the threshold was raised for' },
    ),
  ),
  faces: Type.Array(FaceReportSchema, { minItems: 1, maxItems: 1 }),
  model: Type.String(),
  processing_time: Type.Number({ description: 'Seconds' }),
});
