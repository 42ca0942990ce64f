/** Shapes shared by several routes, defined once (validation, serialisation, OpenAPI, TypeScript). */
import { Type, type Static } from 'typebox';

export const ErrorBody = Type.Object(
  {
    status: Type.Literal('error'),
    error: Type.String({ description: 'A safe, human-readable message' }),
    code: Type.String({ description: 'A stable error code, e.g. NO_FACE, MULTIPLE_FACES, QUEUE_FULL' }),
    request_id: Type.Optional(Type.String({ description: 'Quote it when reporting a problem' })),
  },
  { $id: 'Error', additionalProperties: true, description: 'Every error of the API has this shape' },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const FacePolicy = Type.Union(
  [Type.Literal('strict'), Type.Literal('largest'), Type.Literal('center')],
  {
    description:
      'strict: exactly one face (default); largest: the largest face; center: the largest and most central',
  },
);

export const FaceReport = Type.Object({
  box: Type.Object({ x: Type.Number(), y: Type.Number(), width: Type.Number(), height: Type.Number() }),
  score: Type.Number(),
  landmarks: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), {
    description: 'left eye, right eye, nose, left and right mouth corner (original pixels)',
  }),
});

export const VerifyResult = Type.Object(
  {
    is_match: Type.Boolean(),
    confidence: Type.Number({ description: 'Calibrated probability that the faces are the same person' }),
    metrics: Type.Object({ cosine_similarity: Type.Number(), euclidean_distance: Type.Number() }),
    threshold: Type.Object({
      metric: Type.Literal('cosine_similarity'),
      cosine_similarity: Type.Number(),
      euclidean_distance: Type.Number(),
    }),
    model: Type.String(),
    processing_time: Type.Number({ description: 'Seconds' }),
    faces: Type.Array(FaceReport, { minItems: 2, maxItems: 2 }),
    cached: Type.Optional(Type.Boolean()),
  },
  { $id: 'VerifyResult' },
);

export const TaskState = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('STARTED'),
  Type.Literal('RETRY'),
  Type.Literal('SUCCESS'),
  Type.Literal('FAILURE'),
]);

export const TaskError = Type.Object(
  { code: Type.String(), error: Type.String() },
  {
    additionalProperties: true,
    description: 'Plus safe details: `image` (1 or 2), `faces` for MULTIPLE_FACES, …',
  },
);
