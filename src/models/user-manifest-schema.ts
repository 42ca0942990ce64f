/** The JSON schema of a user-registered embedder's manifest (`faceverify models pull|add`). */
import { Type, type Static } from 'typebox';
import { MODEL_NAME_PATTERN } from './model-name.js';

const Point = Type.Tuple([Type.Number(), Type.Number()]);

/** The JSON file of a user-registered embedder: an {@link EmbedderManifest} with an ONNX source. */
export const UserManifestSchema = Type.Object(
  {
    kind: Type.Literal('embedder'),
    name: Type.String({ pattern: MODEL_NAME_PATTERN }),
    description: Type.String({ maxLength: 1000 }),
    license: Type.String({ maxLength: 1000 }),
    source: Type.Object(
      {
        format: Type.Literal('onnx'),
        /** A file name beside the manifest, or an absolute path. */
        path: Type.String({ minLength: 1, maxLength: 4096 }),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
      },
      { additionalProperties: false },
    ),
    inputSize: Type.Integer({ minimum: 16, maximum: 1024 }),
    normalization: Type.Object(
      {
        mean: Type.Number(),
        std: Type.Number({ exclusiveMinimum: 0 }),
        channels: Type.Union([Type.Literal('RGB'), Type.Literal('BGR')]),
      },
      { additionalProperties: false },
    ),
    template: Type.Array(Point, { minItems: 5, maxItems: 5 }),
    embeddingSize: Type.Integer({ minimum: 1, maximum: 65536 }),
    threshold: Type.Number({ minimum: -1, maximum: 1 }),
    calibration: Type.Object(
      {
        method: Type.Literal('platt'),
        a: Type.Number(),
        b: Type.Number(),
        fittedOn: Type.String({ maxLength: 1000 }),
      },
      { additionalProperties: false },
    ),
    flip: Type.Boolean(),
    alignment: Type.Optional(
      Type.Union([
        Type.Object({ kind: Type.Literal('landmarks') }, { additionalProperties: false }),
        Type.Object(
          { kind: Type.Literal('box'), margin: Type.Number({ minimum: 0, maximum: 1024 }) },
          { additionalProperties: false },
        ),
      ]),
    ),
    origin: Type.Optional(
      Type.Object(
        {
          kind: Type.Union([Type.Literal('pull'), Type.Literal('add')]),
          from: Type.String({ maxLength: 4096 }),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          converter: Type.Optional(Type.String({ maxLength: 200 })),
          addedAt: Type.String({ maxLength: 64 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type UserManifest = Static<typeof UserManifestSchema>;
