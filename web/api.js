/**
 * The page's client of the public HTTP API (docs/api.md), and nothing else: POST /verify/sync (then
 * GET /status/{id} while the task is still running), POST /verify/batch, GET /metrics, and the gallery
 * routes (/galleries/…). Same origin only (the service's CSP allows nothing else).
 */

const FINAL = new Set(['SUCCESS', 'FAILURE']);
const POLL_MS = 500;

/** A request the service refused: `{ status: 'error', error, code, request_id, ...details }`. */
export class ApiError extends Error {
  /**
   * @param {number} httpStatus
   * @param {{ error?: string, code?: string, request_id?: string } & Record<string, unknown>} body
   */
  constructor(httpStatus, body) {
    super(body.error || `The service answered ${httpStatus}`);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.code = body.code || String(httpStatus);
    this.body = body;
  }
}

/**
 * Which image (1 or 2) an error message is about: task errors start with "Image 2: …", request
 * errors say "Image 2 is …".
 *
 * @param {string | undefined} message
 * @returns {1 | 2 | undefined}
 */
export function imageOfMessage(message) {
  const m = /^Image ([12])\b/.exec(message ?? '');
  return m ? /** @type {1 | 2} */ (Number(m[1])) : undefined;
}

/**
 * Whether a URL is on this service's origin (the only one the page may load images from).
 *
 * @param {string} url
 */
export function sameOrigin(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {() => string} apiKey the key to send as X-API-Key ('' for none)
 */
export function createApi(apiKey) {
  const headers = (extra = {}) => {
    const key = apiKey();
    return { accept: 'application/json', ...(key ? { 'x-api-key': key } : {}), ...extra };
  };

  async function request(method, path, body, extraHeaders) {
    let response;
    try {
      response = await fetch(path, { method, headers: headers(extraHeaders), body });
    } catch {
      throw new ApiError(0, { error: 'The service cannot be reached', code: 'NETWORK' });
    }
    let json;
    try {
      json = await response.json();
    } catch {
      json = undefined;
    }
    if (!response.ok) throw new ApiError(response.status, json ?? {});
    if (json === undefined) throw new ApiError(response.status, { error: 'The answer is not JSON' });
    return json;
  }

  /** Polls a task until it has finished. */
  async function settle(task) {
    let current = task;
    while (!FINAL.has(current.status)) {
      await sleep(POLL_MS);
      current = await request('GET', `/status/${encodeURIComponent(current.task_id)}`);
    }
    return current;
  }

  return {
    /**
     * Verifies two images (multipart: files `image1`/`image2` or fields `image1_url`/`image2_url`)
     * and resolves with the finished task.
     *
     * @param {FormData} form
     */
    async verify(form) {
      return settle(await request('POST', '/verify/sync', form));
    },

    /**
     * Verifies pairs of URLs in one task and resolves with the finished task.
     *
     * @param {[string, string][]} pairs
     */
    async batch(pairs) {
      const created = await request('POST', '/verify/batch', JSON.stringify({ image_pairs: pairs }), {
        'content-type': 'application/json',
      });
      return settle(created);
    },

    /** The service's JSON metrics. */
    async metrics() {
      return request('GET', '/metrics');
    },

    galleries: galleryApi(request),
  };
}

const seg = encodeURIComponent;

/**
 * The gallery routes (docs/identities.md). Photos go as multipart forms: file `image` or field
 * `image_url`.
 *
 * @param {(method: string, path: string, body?: BodyInit, headers?: Record<string, string>) => Promise<any>} request
 */
function galleryApi(request) {
  return {
    list: () => request('GET', '/galleries'),
    /** One page of subjects, in name order; `after` is the previous page's `next`. */
    subjects: (gallery, after) =>
      request('GET', `/galleries/${seg(gallery)}/subjects?limit=100${after ? `&after=${seg(after)}` : ''}`),
    subject: (gallery, subject) => request('GET', `/galleries/${seg(gallery)}/subjects/${seg(subject)}`),
    /** @param {FormData} form */
    enrol: (gallery, subject, form) =>
      request('POST', `/galleries/${seg(gallery)}/subjects/${seg(subject)}/faces`, form),
    /** @param {FormData} form */
    verify: (gallery, subject, form) =>
      request('POST', `/galleries/${seg(gallery)}/subjects/${seg(subject)}/verify`, form),
    /** @param {FormData} form */
    search: (gallery, form) => request('POST', `/galleries/${seg(gallery)}/search`, form),
    deleteGallery: (gallery) => request('DELETE', `/galleries/${seg(gallery)}`),
    deleteSubject: (gallery, subject) =>
      request('DELETE', `/galleries/${seg(gallery)}/subjects/${seg(subject)}`),
    deleteFace: (gallery, subject, faceId) =>
      request('DELETE', `/galleries/${seg(gallery)}/subjects/${seg(subject)}/faces/${seg(faceId)}`),
  };
}
