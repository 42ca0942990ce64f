/**
 * POST /verify, POST /verify/sync (or ?wait=true), POST /verify/batch, GET /status/{task_id}: the
 * reference API. Creating a task answers 200 with its id, as the reference does.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { FaceVerifyError } from '../../errors.js';
import type { ImageRef, TaskPayload, TaskQueue, TaskRecord } from '../../jobs/task-queue.js';
import { ErrorBody } from '../schemas/common.js';
import { BatchBody, TaskCreated, TaskParams, TaskStatus, VerifyBody, WaitQuery } from '../schemas/verify.js';
import { multipartToBody, uploadsOf } from '../multipart-body.js';

export interface VerifyRouteOptions {
  queue: TaskQueue;
  maxImageBytes: number;
  batchMaxPairs: number;
  syncTimeoutMs: number;
  onAccepted?: () => void;
}

/** An upload: bytes from a multipart file, or base64 from a JSON body or a multipart text field. */
type Upload = Uint8Array | string;

function uploadBytes(upload: Upload): number {
  return typeof upload === 'string' ? Math.floor((upload.length * 3) / 4) - 2 : upload.byteLength;
}

function imageRef(
  url: string | undefined,
  uploads: (Upload | undefined)[],
  n: 1 | 2,
  maxBytes: number,
): ImageRef {
  const given = uploads.filter((u): u is Upload => u !== undefined);
  if (given.length > 1) {
    throw new FaceVerifyError('INVALID_INPUT', `Image ${n} is given twice: send one image${n}`);
  }
  const upload = given[0];
  if (upload !== undefined && uploadBytes(upload) > maxBytes) {
    throw new FaceVerifyError('IMAGE_TOO_LARGE', `Image ${n} is larger than ${maxBytes} bytes`, {
      max_bytes: maxBytes,
    });
  }
  if (url && upload) {
    throw new FaceVerifyError('INVALID_INPUT', `Give image ${n} as a URL or as an upload, not both`);
  }
  if (url) return { url };
  if (upload !== undefined) return typeof upload === 'string' ? { base64: upload } : { bytes: upload };
  throw new FaceVerifyError(
    'INVALID_INPUT',
    `Image ${n} is missing: send image${n}_url or an image${n} file`,
  );
}

export function statusBody(record: TaskRecord): TaskStatus {
  return {
    task_id: record.id,
    status: record.state,
    // A task's result is what its handler returned (a VerifyResult or a BatchResult); the response
    // schema checks it on the way out.
    ...(record.state === 'SUCCESS' ? { result: record.result as TaskStatus['result'] } : {}),
    ...(record.state === 'FAILURE' && record.error
      ? { error: { ...(record.error.details ?? {}), code: record.error.code, error: record.error.error } }
      : {}),
  };
}

const errors = { 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const CONSUMES = ['application/json', 'multipart/form-data', 'application/x-www-form-urlencoded'];

export const verifyRoutes: FastifyPluginAsync<VerifyRouteOptions> = async (app, opts) => {
  const { queue } = opts;

  const enqueue = async (task: TaskPayload): Promise<string> => {
    const id = await queue.enqueue(task);
    opts.onAccepted?.();
    return id;
  };

  const verifyTask = (request: FastifyRequest<{ Body: VerifyBody }>): TaskPayload => {
    const { body } = request;
    const files = uploadsOf(request);
    return {
      name: 'verify',
      data: {
        image1: imageRef(body.image1_url, [body.image1, files.image1], 1, opts.maxImageBytes),
        image2: imageRef(body.image2_url, [body.image2, files.image2], 2, opts.maxImageBytes),
        ...(body.face_policy ? { facePolicy: body.face_policy } : {}),
        ...(body.threshold !== undefined ? { threshold: body.threshold } : {}),
      },
    };
  };

  const waitFor = async (id: string): Promise<TaskStatus> => {
    const record = await queue.wait(id, opts.syncTimeoutMs);
    if (!record) throw new FaceVerifyError('TASK_NOT_FOUND', `Task ${id} not found`);
    return statusBody(record);
  };

  app.post<{ Body: VerifyBody; Querystring: { wait?: boolean } }>(
    '/verify',
    {
      preValidation: multipartToBody,
      schema: {
        summary: 'Verify two faces (asynchronous task)',
        description:
          'Creates a task and answers at once with its id; poll GET /status/{task_id}. With ?wait=true, waits like /verify/sync.',
        consumes: CONSUMES,
        body: VerifyBody,
        querystring: WaitQuery,
        response: { 200: Type.Union([TaskCreated, TaskStatus]), ...errors },
      },
    },
    async (request) => {
      const id = await enqueue(verifyTask(request));
      if (request.query.wait) return waitFor(id);
      return { task_id: id, status: 'PENDING' as const, message: 'Task created successfully' };
    },
  );

  app.post<{ Body: VerifyBody }>(
    '/verify/sync',
    {
      preValidation: multipartToBody,
      schema: {
        summary: 'Verify two faces and wait for the result',
        description:
          'Waits up to SYNC_TIMEOUT_S; if the task is not finished by then, answers with its current status (poll /status).',
        consumes: CONSUMES,
        body: VerifyBody,
        response: { 200: TaskStatus, ...errors },
      },
    },
    async (request) => waitFor(await enqueue(verifyTask(request))),
  );

  app.post<{ Body: BatchBody }>(
    '/verify/batch',
    {
      schema: {
        summary: 'Verify many pairs of image URLs in one task',
        description: 'An image that appears in several pairs is downloaded and embedded once.',
        body: BatchBody,
        response: { 200: TaskCreated, ...errors },
      },
    },
    async (request) => {
      const { image_pairs: pairs, face_policy, threshold } = request.body;
      if (pairs.length > opts.batchMaxPairs) {
        throw new FaceVerifyError('INVALID_INPUT', `At most ${opts.batchMaxPairs} pairs per batch`, {
          max_pairs: opts.batchMaxPairs,
        });
      }
      const id = await enqueue({
        name: 'verify-batch',
        data: {
          pairs: pairs.map(([a, b]) => [{ url: a as string }, { url: b as string }]),
          ...(face_policy ? { facePolicy: face_policy } : {}),
          ...(threshold !== undefined ? { threshold } : {}),
        },
      });
      return { task_id: id, status: 'PENDING' as const, message: 'Task created successfully' };
    },
  );

  app.get<{ Params: { task_id: string } }>(
    '/status/:task_id',
    {
      schema: {
        summary: 'The state of a task, and its result or error when finished',
        params: TaskParams,
        response: { 200: TaskStatus, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const record = await queue.get(request.params.task_id);
      if (!record) throw new FaceVerifyError('TASK_NOT_FOUND', `Task ${request.params.task_id} not found`);
      return statusBody(record);
    },
  );
};
