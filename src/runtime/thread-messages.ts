/** What an {@link AnalyzerPool} and its inference threads say to each other (structured-clone data). */
import { FaceVerifyError, type ErrorCode, type ErrorDetails } from '../errors.js';
import type { ModelManifest } from '../models/manifest.js';
import type { Analysis, AnalyzerModel, AnalyzerOptions, AnalyzeOptions } from '../pipeline/face-analyzer.js';

/** What a thread is started with: the analyzer's options without the registry, and its manifests. */
export interface ThreadData {
  options: Omit<AnalyzerOptions, 'registry' | 'session'> & {
    session: Omit<AnalyzerOptions['session'], 'onWarning'>;
  };
  manifests: ModelManifest[];
}

export type ToThread =
  { type: 'analyze'; id: number; bytes: Uint8Array; options: AnalyzeOptions } | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
  code?: ErrorCode;
  details?: ErrorDetails;
  cause?: string;
}

export type FromThread =
  | { type: 'ready'; model: AnalyzerModel }
  | { type: 'failed'; error: SerializedError }
  | { type: 'warning'; message: string }
  | { type: 'result'; id: number; analysis: Analysis }
  | { type: 'error'; id: number; error: SerializedError };

/**
 * Whether a typed array covers its whole buffer. Structured clone copies a view's entire buffer, and
 * transferring a view's buffer detaches everything else in it: either needs a view that owns its
 * buffer (else send a copy, `view.slice()`).
 */
export function ownsBuffer(view: ArrayBufferView): boolean {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

function describe(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Error) return value.message;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** An error as plain data: a FaceVerifyError keeps its code and details, anything else its message. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof FaceVerifyError) {
    const cause = describe(err.cause);
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      ...(err.details ? { details: err.details } : {}),
      ...(cause !== undefined ? { cause } : {}),
    };
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** The error a thread reported, rebuilt on this side (a FaceVerifyError stays one, with its code). */
export function deserializeError(e: SerializedError): Error {
  const cause = e.cause !== undefined ? { cause: new Error(e.cause) } : undefined;
  if (e.code) return new FaceVerifyError(e.code, e.message, e.details, cause);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
