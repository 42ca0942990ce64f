/**
 * The answer to "are these two photos the same person?", defined once as a TypeBox schema: the type the
 * library returns, the HTTP response schema (validation, serialisation, OpenAPI) and the result cache's
 * content. Its faces are the analyses' face reports, so a field added to FaceReportSchema shows here too.
 */
import { Type, type Static } from 'typebox';
import type { Comparison } from '../core/scoring.js';
import { FaceReportSchema } from './face-analysis.js';

export const ComparisonSchema = Type.Object({
  is_match: Type.Boolean(),
  confidence: Type.Number({ description: 'Calibrated probability that the faces are the same person' }),
  metrics: Type.Object({ cosine_similarity: Type.Number(), euclidean_distance: Type.Number() }),
  threshold: Type.Object({
    metric: Type.Literal('cosine_similarity'),
    cosine_similarity: Type.Number(),
    euclidean_distance: Type.Number(),
    min_confidence: Type.Optional(
      Type.Number({ description: 'A match must also reach this confidence (MIN_CONFIDENCE_THRESHOLD)' }),
    ),
    source: Type.Union(
      [
        Type.Literal('request'),
        Type.Literal('configured'),
        Type.Literal('translated'),
        Type.Literal('match_far'),
        Type.Literal('model'),
      ],
      {
        description:
          "request: the call's threshold; configured: COSINE_SIMILARITY_THRESHOLD or EUCLIDEAN_DISTANCE_THRESHOLD; translated: a threshold of THRESHOLD_MODEL moved to this model at the same LFW false-match rate; match_far: MATCH_FAR; model: the model's calibrated threshold",
      },
    ),
    operating_point: Type.Optional(
      Type.Object(
        {
          far: Type.Number({ description: 'False-match rate at this threshold on `data`' }),
          tar: Type.Number({ description: 'True-match rate at this threshold on `data`' }),
          data: Type.String(),
        },
        {
          description:
            'What this threshold gave on LFW: a threshold far from the calibrated one shows here as a low TAR or a high FAR, which is why is_match can disagree with confidence',
        },
      ),
    ),
  }),
});

export const VerifyResultSchema = Type.Object(
  {
    ...ComparisonSchema.properties,
    model: Type.String(),
    processing_time: Type.Number({ description: 'Seconds' }),
    faces: Type.Array(FaceReportSchema, { minItems: 2, maxItems: 2 }),
    cached: Type.Optional(Type.Boolean({ description: 'Answered from the result cache' })),
  },
  {
    title: 'VerifyResult',
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

type VerifyResultData = Static<typeof VerifyResultSchema>;
/** The faces of the two images, in the order they were given. */
export type VerifyResult = Omit<VerifyResultData, 'faces'> & {
  faces: [VerifyResultData['faces'][number], VerifyResultData['faces'][number]];
};

// The scoring module's answer and its schema must not drift apart (a compile error if they do).
const comparisonMatchesSchema = (c: Comparison): Static<typeof ComparisonSchema> => c;
void comparisonMatchesSchema;
