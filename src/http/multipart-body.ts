/**
 * Turns a multipart/form-data request into the same plain body a JSON client sends (fields as
 * strings), so one schema checks all three content types; it runs before validation. Uploaded files
 * stay bytes, beside the body ({@link uploadsOf}): as base64 strings they were ~130 KB per photo on the
 * V8 heap for the life of the request, and under load the API thread spent 3× longer in garbage
 * collection (docs/performance.md).
 * Limits (file size, number of files, fields and parts, field size) are @fastify/multipart's, set in
 * app.ts; a file over the limit is an error, not a silently truncated image.
 */
import type { FastifyRequest } from 'fastify';
import { FaceVerifyError } from '../errors.js';

type FileField = 'image' | 'image1' | 'image2';
// image: the one photo of the gallery routes; image1/image2: the pair of /verify.
const FILE_FIELDS = new Set<string>(['image', 'image1', 'image2']);
const uploads = new WeakMap<FastifyRequest, Partial<Record<FileField, Uint8Array>>>();

/** The files uploaded with a multipart request (empty for other requests). */
export function uploadsOf(request: FastifyRequest): Partial<Record<FileField, Uint8Array>> {
  return uploads.get(request) ?? {};
}

export async function multipartToBody(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  // No prototype: a field called __proto__ or constructor is just an unknown field (refused by the schema).
  const body = Object.create(null) as Record<string, string>;
  const files: Partial<Record<FileField, Uint8Array>> = {};
  try {
    await readParts(request, body, files);
  } catch (err) {
    // busboy reports a malformed body (no boundary, truncated) with plain Errors: the client's fault.
    if (err instanceof FaceVerifyError || typeof (err as { statusCode?: unknown }).statusCode === 'number')
      throw err;
    throw new FaceVerifyError('INVALID_INPUT', 'The multipart body is malformed', undefined, { cause: err });
  }
  // Form fields arrive as strings; the schema wants a number.
  uploads.set(request, files);
  const threshold = body.threshold;
  (request as { body: unknown }).body = {
    ...body,
    ...(threshold !== undefined ? { threshold: Number(threshold) } : {}),
  };
}

async function readParts(
  request: FastifyRequest,
  body: Record<string, string>,
  files: Partial<Record<FileField, Uint8Array>>,
): Promise<void> {
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (!FILE_FIELDS.has(part.fieldname)) {
        part.file.resume();
        throw new FaceVerifyError(
          'INVALID_INPUT',
          `Unexpected file field "${part.fieldname}" (use image, image1, image2)`,
        );
      }
      const bytes = await part.toBuffer();
      if (part.file.truncated) throw new FaceVerifyError('IMAGE_TOO_LARGE', 'An uploaded file is too large');
      if (bytes.byteLength > 0) files[refuseRepeat(files, part.fieldname as FileField)] = bytes;
    } else if (typeof part.value === 'string' && part.value !== '') {
      body[refuseRepeat(body, part.fieldname)] = part.value;
    }
  }
}

/** A name already given (two files image1, two threshold fields) is refused: neither may silently win. */
function refuseRepeat<K extends string>(seen: Partial<Record<K, unknown>>, name: K): K {
  if (Object.hasOwn(seen, name)) throw new FaceVerifyError('INVALID_INPUT', `Field "${name}" is given twice`);
  return name;
}
