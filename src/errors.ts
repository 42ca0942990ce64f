/**
 * The error catalogue: every error the library and service raise, with a stable `code`, the HTTP status
 * the service maps it to, and whether retrying can help. The pipeline throws these without knowing
 * about HTTP; the service's error handler and the CLI turn them into
 * `{ "status": "error", "error": "<message>", "code": "<CODE>" }`.
 */

export const ERROR_CATALOGUE = {
  // Input problems (the caller can fix them; never retried).
  INVALID_IMAGE: { status: 400, retryable: false, message: 'The file is not a valid image' },
  UNSUPPORTED_FORMAT: { status: 415, retryable: false, message: 'Unsupported image format' },
  IMAGE_TOO_LARGE: { status: 413, retryable: false, message: 'Image is too large' },
  NO_FACE: { status: 422, retryable: false, message: 'No face detected in the image' },
  MULTIPLE_FACES: { status: 422, retryable: false, message: 'More than one face detected in the image' },
  FACE_TOO_SMALL: { status: 422, retryable: false, message: 'The face is too small' },
  LOW_QUALITY: { status: 422, retryable: false, message: 'The face is below the required quality' },
  INVALID_INPUT: { status: 400, retryable: false, message: 'Invalid input' },
  // Fetching URLs.
  URL_NOT_ALLOWED: { status: 400, retryable: false, message: 'This URL is not allowed' },
  DOWNLOAD_FAILED: { status: 502, retryable: true, message: 'The image could not be downloaded' },
  DOWNLOAD_TIMEOUT: { status: 504, retryable: true, message: 'Downloading the image timed out' },
  // Service.
  QUEUE_FULL: { status: 429, retryable: true, message: 'Too many tasks in progress; retry later' },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests; retry later' },
  TASK_NOT_FOUND: { status: 404, retryable: false, message: 'Task not found' },
  TASK_TIMEOUT: { status: 504, retryable: true, message: 'The task did not finish in time' },
  UNAVAILABLE: { status: 503, retryable: true, message: 'The service is not ready' },
  UNAUTHORIZED: { status: 401, retryable: false, message: 'A valid API key is required' },
  // A valid key without the permission (API_KEY_SCOPES, admin endpoints). Decided from the key's scope
  // alone, so it says nothing about whether the gallery asked for exists.
  FORBIDDEN: { status: 403, retryable: false, message: 'This API key may not do that' },
  NOT_FOUND: { status: 404, retryable: false, message: 'Not found' },
  // Galleries of enrolled subjects.
  GALLERY_NOT_FOUND: { status: 404, retryable: false, message: 'Gallery not found' },
  SUBJECT_NOT_FOUND: { status: 404, retryable: false, message: 'Subject not found' },
  FACE_NOT_FOUND: { status: 404, retryable: false, message: 'Face not found' },
  // 409, not 422: the request is well formed; it conflicts with the state of the gallery, which is
  // bound to the model of its first face (the same request succeeds on another gallery).
  MODEL_MISMATCH: {
    status: 409,
    retryable: false,
    message: 'The gallery was enrolled with another model',
  },
  TEMPLATE_UNREADABLE: {
    status: 500,
    retryable: false,
    message: 'A stored template could not be decrypted (wrong key or altered data)',
  },
  // Models and runtime.
  MODEL_NOT_FOUND: { status: 500, retryable: false, message: 'Model not found' },
  MODEL_INVALID: { status: 500, retryable: false, message: 'Model file is invalid' },
  MODEL_UNSUPPORTED: { status: 500, retryable: false, message: 'Model uses an unsupported operation' },
  INFERENCE_FAILED: { status: 500, retryable: false, message: 'Inference failed' },
  INTERNAL_ERROR: { status: 500, retryable: false, message: 'Internal error' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Extra, safe-to-show data attached to an error (for example the boxes of the faces found). */
export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type of faceverify. `code` is stable and documented; `message` is safe to show to a
 * caller; `details` carries structured, non-sensitive context.
 *
 * @example
 * throw new FaceVerifyError('NO_FACE', 'No face detected in image 2', { image: 2 });
 */
export class FaceVerifyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message?: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    const entry = ERROR_CATALOGUE[code];
    super(message ?? entry.message, options);
    this.name = 'FaceVerifyError';
    this.code = code;
    this.status = entry.status;
    this.retryable = entry.retryable;
    this.details = details;
  }

  /** The reference API's error body. */
  toJSON(): { status: 'error'; error: string; code: ErrorCode } & ErrorDetails {
    return { status: 'error', error: this.message, code: this.code, ...(this.details ?? {}) };
  }
}

export function isFaceVerifyError(err: unknown): err is FaceVerifyError {
  return err instanceof FaceVerifyError;
}
