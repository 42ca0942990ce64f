/** Shapes shared by several routes, defined once (validation, serialisation, OpenAPI, TypeScript). */
import { Type, type Static } from 'typebox';
import { ERROR_CATALOGUE } from '../../errors.js';

/** Every code an error response can carry: the catalogue's and those of request parsing. */
export const ERROR_CODES = [...Object.keys(ERROR_CATALOGUE), 'UNSUPPORTED_MEDIA_TYPE', 'TOO_MANY_PARTS'];

export const ErrorBody = Type.Object(
  {
    status: Type.Literal('error'),
    error: Type.String({ description: 'A safe, human-readable message' }),
    code: Type.String({ description: `A stable error code, one of: ${ERROR_CODES.join(', ')}` }),
    request_id: Type.Optional(Type.String({ description: 'Quote it when reporting a problem' })),
  },
  {
    $id: 'Error',
    additionalProperties: true,
    description: 'Every error of the API has this shape (plus safe details such as the faces found)',
    examples: [
      {
        status: 'error',
        error: 'Image 2 is missing: send image2_url or an image2 file',
        code: 'INVALID_INPUT',
        request_id: '2195cd1a-0c6e-4a8e-9f0e-0d8f3f1b7a11',
      },
    ],
  },
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
  {
    $id: 'VerifyResult',
    examples: [
      {
        is_match: true,
        confidence: 0.9999,
        metrics: { cosine_similarity: 0.810509, euclidean_distance: 0.615615 },
        threshold: { metric: 'cosine_similarity', cosine_similarity: 0.3989, euclidean_distance: 1.096449 },
        model: 'mobilefacenet',
        processing_time: 0.2744,
        faces: [
          {
            box: { x: 367.87, y: 84.73, width: 241.89, height: 329.6 },
            score: 1,
            landmarks: [
              [442.95, 216.63],
              [552.54, 213.69],
              [502.74, 277.43],
              [439.77, 320.91],
              [557.05, 318.77],
            ],
          },
          {
            box: { x: 191.21, y: 234.51, width: 289.66, height: 405.28 },
            score: 0.9999,
            landmarks: [
              [252.31, 370.25],
              [371.15, 380.5],
              [285.41, 446.15],
              [244.31, 519.43],
              [354.16, 528.66],
            ],
          },
        ],
      },
    ],
  },
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
