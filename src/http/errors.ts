/**
 * The one error format: every error — ours, Fastify's (validation, body too large, unsupported media
 * type, 404), and unexpected ones — becomes `{ "status": "error", "error", "code", "request_id" }` with
 * the right status. Details of 5xx errors go to the log, never to the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FaceVerifyError, isFaceVerifyError } from '../errors.js';

const FASTIFY_CODES: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'IMAGE_TOO_LARGE',
    message: 'The request body is too large',
  },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'IMAGE_TOO_LARGE', message: 'An uploaded file is too large' },
  FST_FILES_LIMIT: { status: 413, code: 'TOO_MANY_PARTS', message: 'Too many files' },
  FST_FIELDS_LIMIT: { status: 413, code: 'TOO_MANY_PARTS', message: 'Too many fields' },
  FST_PARTS_LIMIT: { status: 413, code: 'TOO_MANY_PARTS', message: 'Too many parts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported content type',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_INPUT', message: 'The JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'INVALID_INPUT',
    message: 'The JSON body is not valid JSON',
  },
  FST_ERR_BAD_URL: { status: 400, code: 'INVALID_INPUT', message: 'The URL is malformed' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'INVALID_INPUT', message: 'A path parameter is too long' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Not a multipart request',
  },
};

export interface ErrorResponse {
  status: 'error';
  error: string;
  code: string;
  request_id: string;
  [detail: string]: unknown;
}

/** Maps any thrown value to an HTTP status and the error body. */
export function toErrorResponse(err: unknown, requestId: string): { status: number; body: ErrorResponse } {
  if (isFaceVerifyError(err)) {
    const hide = err.status >= 500 && err.code === 'INTERNAL_ERROR';
    return {
      status: err.status,
      body: {
        ...(hide ? {} : (err.details ?? {})),
        status: 'error',
        error: hide ? 'Internal error' : err.message,
        code: err.code,
        request_id: requestId,
      },
    };
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) {
    return {
      status: 400,
      body: {
        status: 'error',
        error: `Invalid request: ${fe.message ?? ''}`.trim(),
        code: 'INVALID_INPUT',
        request_id: requestId,
      },
    };
  }
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) {
    return {
      status: known.status,
      body: {
        status: 'error',
        error: known.message ?? fe.message ?? '',
        code: known.code,
        request_id: requestId,
      },
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // A 4xx from a plugin (for example a malformed multipart body): its message is about the request.
    return {
      status: fe.statusCode,
      body: {
        status: 'error',
        error: fe.message ?? 'Bad request',
        code: 'INVALID_INPUT',
        request_id: requestId,
      },
    };
  }
  return {
    status: 500,
    body: { status: 'error', error: 'Internal error', code: 'INTERNAL_ERROR', request_id: requestId },
  };
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body } = toErrorResponse(err, String(reply.request.id));
  // Set here too: errors raised by the router (bad URLs) skip the onSend hooks.
  void reply.header('x-request-id', reply.request.id);
  if (status === 429 || status === 503) {
    const retry = (err as FaceVerifyError).details?.retry_after_s;
    void reply.header('retry-after', String(typeof retry === 'number' ? Math.ceil(retry) : 1));
  }
  return reply.code(status).send(body);
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status } = toErrorResponse(err, String(request.id));
    if (status >= 500) request.log.error({ err }, 'request failed');
    else {
      // The cause (e.g. which address an image URL resolved to) is for operators, not the client.
      const cause = (err as { cause?: unknown }).cause;
      request.log.info(
        {
          code: (err as { code?: string }).code,
          status,
          cause: cause instanceof Error ? cause.message : undefined,
        },
        'request refused',
      );
    }
    return sendError(reply, err);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new FaceVerifyError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );
}
