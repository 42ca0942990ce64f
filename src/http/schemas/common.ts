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

export {
  FacePolicySchema as FacePolicy,
  FaceReportSchema as FaceReport,
} from '../../pipeline/face-analysis.js';
export { VerifyResultSchema as VerifyResult } from '../../pipeline/verify-result.js';
export { BatchResultSchema as BatchResult } from '../../jobs/handlers/batch-result.js';

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
