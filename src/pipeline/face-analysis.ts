/**
 * The pipeline's one output: what analysing one image found. Defined once, as a TypeBox schema, and
 * used as the TypeScript type (`Static`), to validate and serialise HTTP answers, by the embedding
 * cache's codec and by the gallery store. A new field is added here and in the stage that fills it;
 * everything else (codec, cache keys, response schemas) follows from this file.
 *
 * Coordinates are in the original image's pixels (after EXIF rotation), continuous: pixel i spans
 * [i, i+1]. The embedding is a unit float32 vector; it is not part of the JSON schema (answers never
 * carry it) and travels as raw bytes in the codec.
 */
import { Type, type Static } from 'typebox';
import type { QualityReason } from '../core/face-quality.js';
import type { FacePolicy } from './select-face.js';

export { FACE_POLICIES, type FacePolicy } from './select-face.js';

/** Which face to compare when an image has several. */
export const FacePolicySchema = Type.Union(
  [Type.Literal('strict'), Type.Literal('largest'), Type.Literal('center')],
  {
    description:
      'strict: exactly one face (default); largest: the largest face; center: the largest and most central',
  },
);

/** Face quality with reasons (src/core/face-quality.ts, docs/quality.md). */
function FaceQualitySchema() {
  const angle = Type.Union([Type.Number(), Type.Null()], { description: 'degrees; null when unreadable' });
  return Type.Object(
    {
      level: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]),
      reasons: Type.Array(
        Type.Union([
          Type.Literal('LOW_SHARPNESS'),
          Type.Literal('LOW_BRIGHTNESS'),
          Type.Literal('OVEREXPOSED'),
          Type.Literal('LOW_CONTRAST'),
          Type.Literal('SMALL_FACE'),
          Type.Literal('EXTREME_POSE'),
          Type.Literal('OCCLUDED'),
        ]),
        {
          description: 'Why the face is not high quality',
        },
      ),
      sharpness: Type.Number({ description: 'Laplacian variance / luma variance of the aligned face' }),
      brightness: Type.Number({ description: 'Mean luma of the face, 0–255' }),
      contrast: Type.Number({ description: 'Standard deviation of the face’s luma' }),
      interocular_px: Type.Number({ description: 'Distance between the eyes in original pixels' }),
      occlusion: Type.Number({ description: 'Colour shift of the lower face against the upper face' }),
      score: Type.Optional(
        Type.Number({
          description:
            'Overall quality, 0–1: the estimated probability that a comparison with this face is answered right at the shipped threshold (fitted on degraded LFW for mobilefacenet and accurate; docs/quality.md). The level follows from it; absent for other models, whose level comes from the measures',
        }),
      ),
      embedding_norm: Type.Number({
        description:
          'Norm of the embedding model’s raw output (before normalisation): lower when the model finds the face hard to recognise; model-specific scale (for an ensemble, its first member’s)',
      }),
      pose: Type.Object({ yaw: angle, pitch: angle, roll: angle }),
    },
    { description: 'Face quality: the measures, a level and the reasons for it (docs/quality.md)' },
  );
}

export const FaceReportSchema = Type.Object(
  {
    box: Type.Object({
      x: Type.Number(),
      y: Type.Number(),
      width: Type.Number(),
      height: Type.Number(),
    }),
    score: Type.Number({ description: 'Detector confidence' }),
    landmarks: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), {
      description: 'left eye, right eye, nose, left and right mouth corner (original pixels)',
    }),
    quality: Type.Optional(FaceQualitySchema()),
    orientation: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)], {
        description:
          'Degrees the photo had to be turned clockwise for the face to be upright (a photo saved sideways without EXIF); box and landmarks are still in the photo’s own pixels',
      }),
    ),
    exposure_gain: Type.Optional(
      Type.Number({
        description:
          'Present when the face was dark (underexposed, backlit): the gain its pixels were lifted by before embedding (FACE_EXPOSURE_NORMALISE)',
      }),
    ),
    deblur_sigma: Type.Optional(
      Type.Number({
        description:
          'Present when the face was blurred: the Gaussian blur (σ, image pixels) estimated from its sharpness, which it was sharpened for before embedding (FACE_DEBLUR)',
      }),
    ),
  },
  { title: 'FaceReport', description: 'A face, in the original image’s pixels' },
);
/** A face as reported to callers, in original image pixels. */
export type FaceReport = Static<typeof FaceReportSchema>;

/** Milliseconds per stage of the run that produced an analysis (a cached analysis keeps its own). */
export const StageTimingsSchema = Type.Object({
  decode: Type.Number(),
  detect: Type.Number(),
  embed: Type.Number(),
});
export type StageTimings = Static<typeof StageTimingsSchema>;

/** Everything of a {@link FaceAnalysis} but the embedding: plain JSON. */
export const FaceAnalysisDataSchema = Type.Object({
  /** The chosen face. */
  face: FaceReportSchema,
  /** Faces the detector found (the face policy chose one of them). */
  faceCount: Type.Integer({ minimum: 1 }),
  /** The original image's size (after EXIF rotation). */
  width: Type.Number(),
  height: Type.Number(),
  /** The embedding model's id: its name and the hash of its weights (`name@sha`). */
  modelId: Type.String(),
  timings: StageTimingsSchema,
});
export type FaceAnalysisData = Static<typeof FaceAnalysisDataSchema>;

/**
 * One image analysed: the chosen face, how many faces were found, and the face's embedding.
 *
 * @example
 * const { face, embedding, modelId } = await analyzer.analyze(bytes);
 */
export type FaceAnalysis = FaceAnalysisData & { embedding: Float32Array };

// The schema's lists and the code's must not drift apart (a compile error if they do).
const reasonsMatch = (r: QualityReason): NonNullable<FaceReport['quality']>['reasons'][number] => r;
const policiesMatch = (p: FacePolicy): Static<typeof FacePolicySchema> => p;
void reasonsMatch;
void policiesMatch;
