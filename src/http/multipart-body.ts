/**
 * Turns a multipart/form-data request into the same plain body a JSON client sends: fields as strings,
 * files as base64 strings. Runs before validation, so one schema checks all three content types.
 * Limits (file size, number of files, fields and parts, field size) are @fastify/multipart's, set in
 * app.ts; a file over the limit is an error, not a silently truncated image.
 */
import type { FastifyRequest } from 'fastify';
import { FaceVerifyError } from '../errors.js';

const FILE_FIELDS = new Set(['image1', 'image2']);

export async function multipartToBody(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  // No prototype: a field called __proto__ or constructor is just an unknown field (refused by the schema).
  const body = Object.create(null) as Record<string, string>;
  try {
    await readParts(request, body);
  } catch (err) {
    // busboy reports a malformed body (no boundary, truncated) with plain Errors: the client's fault.
    if (err instanceof FaceVerifyError || typeof (err as { statusCode?: unknown }).statusCode === 'number')
      throw err;
    throw new FaceVerifyError('INVALID_INPUT', 'The multipart body is malformed', undefined, { cause: err });
  }
  // Form fields arrive as strings; the schema wants a number.
  const threshold = body.threshold;
  (request as { body: unknown }).body = {
    ...body,
    ...(threshold !== undefined ? { threshold: Number(threshold) } : {}),
  };
}

async function readParts(request: FastifyRequest, body: Record<string, string>): Promise<void> {
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (!FILE_FIELDS.has(part.fieldname)) {
        part.file.resume();
        throw new FaceVerifyError(
          'INVALID_INPUT',
          `Unexpected file field "${part.fieldname}" (use image1, image2)`,
        );
      }
      const bytes = await part.toBuffer();
      if (part.file.truncated) throw new FaceVerifyError('IMAGE_TOO_LARGE', 'An uploaded file is too large');
      if (bytes.byteLength > 0) body[part.fieldname] = bytes.toString('base64');
    } else if (typeof part.value === 'string' && part.value !== '') {
      body[part.fieldname] = part.value;
    }
  }
}
