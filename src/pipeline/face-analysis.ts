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

export const FACE_POLICIES = ['strict', 'largest', 'center'] as const;

/** Which face to compare when an image has several. */
export const FacePolicySchema = Type.Union(
  FACE_POLICIES.map((p) => Type.Literal(p)),
  {
    description:
      'strict: exactly one face (default); largest: the largest face; center: the largest and most central',
  },
);
export type FacePolicy = (typeof FACE_POLICIES)[number];

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
