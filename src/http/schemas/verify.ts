import { Type, type Static } from 'typebox';
import { BatchResult, FacePolicy, TaskError, TaskState, VerifyResult } from './common.js';

const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL of an image' });
const Upload = Type.String({
  minLength: 1,
  description: 'The image file (multipart upload), or its bytes in base64 (JSON)',
});

export const VerifyBody = Type.Object(
  {
    image1_url: Type.Optional(Url),
    image2_url: Type.Optional(Url),
    image1: Type.Optional(Upload),
    image2: Type.Optional(Upload),
    face_policy: Type.Optional(FacePolicy),
    threshold: Type.Optional(
      Type.Number({ minimum: -1, maximum: 1, description: "Cosine threshold instead of the model's" }),
    ),
  },
  { additionalProperties: false, description: 'Give each image as a URL or as an upload' },
);
export type VerifyBody = Static<typeof VerifyBody>;

export const BatchBody = Type.Object(
  {
    image_pairs: Type.Array(Type.Array(Url, { minItems: 2, maxItems: 2 }), {
      minItems: 1,
      description: 'Pairs of image URLs; at most BATCH_MAX_PAIRS',
    }),
    face_policy: Type.Optional(FacePolicy),
    threshold: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type BatchBody = Static<typeof BatchBody>;

export const TaskCreated = Type.Object(
  {
    task_id: Type.String({ format: 'uuid' }),
    status: Type.Literal('PENDING'),
    message: Type.String(),
  },
  {
    examples: [
      {
        task_id: '3e889a59-0f76-4768-a3b2-9786dba4e36f',
        status: 'PENDING',
        message: 'Task created successfully',
      },
    ],
  },
);

export const TaskStatus = Type.Object(
  {
    task_id: Type.String(),
    status: TaskState,
    result: Type.Optional(
      Type.Union([VerifyResult, BatchResult], { description: 'A verification, or a batch of them' }),
    ),
    error: Type.Optional(TaskError),
  },
  { $id: 'TaskStatus' },
);
export type TaskStatus = Static<typeof TaskStatus>;

export const TaskParams = Type.Object({ task_id: Type.String({ maxLength: 64 }) });

export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'Wait for the result (like POST /verify/sync)' })),
});
