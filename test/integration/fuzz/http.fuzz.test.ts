/**
 * Fuzzing the HTTP API through inject(), with the real pipeline and the in-process queue: random and
 * half-valid JSON, urlencoded and multipart bodies, content types, image URLs (all kept on 127.0.0.1:
 * a local image server with hostile answers, or a closed port), routes, methods, headers and task ids.
 *
 * For every answer: no 5xx but 503, every error in the one error format with `request_id` equal to the
 * `x-request-id` header, no stack traces or internal paths. Every accepted task ends in SUCCESS or
 * FAILURE with a typed, non-internal error code. At the end the service is still healthy and no task
 * is left unfinished. A failure here is a request a stranger can send that crashes, hangs or leaks.
 */
import fc from 'fast-check';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { createService, type Service } from '../../../src/container.js';
import { describeWithFaces } from '../../support/faces.js';
import { httpInputs, payloadOf, type FuzzRequest } from './http-inputs.js';
import { FUZZ_SEED, fuzzRuns } from './image-mutations.js';
import { startLoopbackImages, type LoopbackImages } from './loopback-images.js';

const MAX_IMAGE_MB = 0.5;
const MAX_IMAGE_BYTES = Math.round(MAX_IMAGE_MB * 1024 * 1024);
const ADMIN_KEY = 'fuzz-admin';
/**
 * Past this an accepted task is reported as hung. A hang guard, not a budget: the service's own
 * TASK_TIMEOUT_S (10 s, below) times each of the two attempts out, so a task that is merely slow on a
 * busy machine still finishes well before it.
 */
const TASK_HANG_MS = 60_000;
/** The hang guard of a property (100-250 requests, some with a task each; minutes at load 20). */
const PROPERTY_TIMEOUT_MS = 10 * 60_000;

const RUNS = {
  json: fuzzRuns(120),
  urlencoded: fuzzRuns(100),
  multipart: fuzzRuns(150),
  contentType: fuzzRuns(100),
  urls: fuzzRuns(80),
  routes: fuzzRuns(250),
  status: fuzzRuns(150),
};

/** Codes a finished task may carry: problems of the input, never an internal error. */
const TASK_CODES = new Set([
  'INVALID_INPUT',
  'INVALID_IMAGE',
  'UNSUPPORTED_FORMAT',
  'IMAGE_TOO_LARGE',
  'NO_FACE',
  'MULTIPLE_FACES',
  'FACE_TOO_SMALL',
  'URL_NOT_ALLOWED',
  'DOWNLOAD_FAILED',
  'DOWNLOAD_TIMEOUT',
]);

/** The error codes docs/api.md lists: a client may switch on any of these, and only on these. */
const DOCUMENTED_CODES = new Set([
  ...TASK_CODES,
  'UNAUTHORIZED',
  'NOT_FOUND',
  'TASK_NOT_FOUND',
  'TOO_MANY_PARTS',
  'UNSUPPORTED_MEDIA_TYPE',
  'QUEUE_FULL',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL_ERROR',
]);

interface ErrorJson {
  status: string;
  error: unknown;
  code: unknown;
  request_id: unknown;
}

interface TaskJson {
  task_id?: unknown;
  status?: unknown;
  result?: unknown;
  error?: { code?: unknown; error?: unknown };
}

const FINAL = new Set(['SUCCESS', 'FAILURE']);
const STATES = new Set(['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE']);

describeWithFaces('HTTP API under fuzzing', () => {
  let service: Service;
  let app: FastifyInstance;
  let images: LoopbackImages;
  const accepted = new Set<string>();

  beforeAll(async () => {
    images = await startLoopbackImages(MAX_IMAGE_BYTES + 128 * 1024);
    const config = loadConfig({
      DATA_DIR: process.env.DATA_DIR,
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: '0',
      ADMIN_API_KEYS: ADMIN_KEY,
      MAX_IMAGE_SIZE_MB: String(MAX_IMAGE_MB),
      BATCH_MAX_PAIRS: '4',
      MAX_RETRIES: '1',
      RETRY_DELAY_S: '0.05',
      TASK_TIMEOUT_S: '10',
      SYNC_TIMEOUT_S: '5',
      // When image downloads are SSRF-guarded, loopback is refused unless allowed: allow only the
      // loopback address, so fuzzed URLs still reach the local image server.
      URL_ALLOWLIST: '127.0.0.1',
    });
    service = await createService(config, 'both');
    app = service.app as FastifyInstance;
  });

  afterAll(async () => {
    await service?.close();
    await images?.close();
  });

  const inputs = (() => {
    let built: ReturnType<typeof httpInputs> | undefined;
    return () => (built ??= httpInputs(images, MAX_IMAGE_BYTES));
  })();

  async function send(req: FuzzRequest): Promise<LightMyRequestResponse> {
    const { payload, contentType } = payloadOf(req);
    return app.inject({
      method: req.method,
      url: req.url,
      headers: { ...(contentType !== undefined ? { 'content-type': contentType } : {}), ...req.headers },
      ...(payload !== undefined ? { payload } : {}),
    });
  }

  /** The answer is not a 5xx (503 aside), and an error is in the error format with the request id. */
  function expectWellFormed(req: FuzzRequest, res: LightMyRequestResponse): void {
    const what = `${req.method} ${req.url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
    expect(res.statusCode < 500 || res.statusCode === 503, what).toBe(true);
    const requestId = res.headers['x-request-id'];
    expect(typeof requestId === 'string' && requestId.length > 0, `x-request-id: ${what}`).toBe(true);
    expect(requestId, 'the server chooses request ids').not.toBe(req.headers['x-request-id']);
    expect(res.body, `no stack traces or internal paths: ${what}`).not.toMatch(
      /node_modules|\/work\/|file:\/\/\/|\bat [\w.<>]+ \(|\.ts:\d+:\d+/,
    );
    if (res.statusCode === 429 || res.statusCode === 503) {
      expect(res.headers['retry-after'], `Retry-After: ${what}`).toBeDefined();
    }
    if (res.statusCode < 400 || req.method === 'HEAD') return;
    expect(res.headers['content-type'], what).toMatch(/^application\/json/);
    const body = res.json<ErrorJson>();
    expect(body.status, what).toBe('error');
    expect(typeof body.error === 'string' && body.error.length > 0, what).toBe(true);
    expect(DOCUMENTED_CODES.has(String(body.code)), `undocumented code: ${what}`).toBe(true);
    expect(body.request_id, what).toBe(requestId);
  }

  function expectFinished(task: TaskJson, what: string): void {
    expect(task.status, what).toMatch(/^(SUCCESS|FAILURE)$/);
    if (task.status === 'FAILURE') {
      const { code, error } = task.error ?? {};
      expect(typeof error === 'string' && error.length > 0, `error message: ${what}`).toBe(true);
      expect(TASK_CODES.has(String(code)), `task error code ${String(code)}: ${what}`).toBe(true);
      return;
    }
    const result = task.result as Record<string, unknown> | undefined;
    expect(result, what).toBeTypeOf('object');
    if (Array.isArray(result?.results)) {
      // A batch: each pair succeeded or failed with a typed input error.
      for (const pair of result.results as TaskJson[]) {
        expect(FINAL.has(String(pair.status)), what).toBe(true);
        if (pair.status === 'FAILURE') {
          expect(
            TASK_CODES.has(String(pair.error?.code)),
            `pair error ${String(pair.error?.code)}: ${what}`,
          ).toBe(true);
        }
      }
    } else {
      expect(result?.is_match, what).toBeTypeOf('boolean');
      expect(result?.faces, what).toHaveLength(2);
    }
  }

  /** Polls /status until the task finishes (every poll is itself checked). */
  async function finish(id: string, what: string): Promise<void> {
    const deadline = Date.now() + TASK_HANG_MS;
    for (;;) {
      const req: FuzzRequest = { method: 'GET', url: `/status/${id}`, headers: {} };
      const res = await send(req);
      expectWellFormed(req, res);
      expect(res.statusCode, `status of ${id}: ${what}`).toBe(200);
      const task = res.json<TaskJson>();
      if (FINAL.has(String(task.status))) {
        expectFinished(task, what);
        accepted.delete(id);
        return;
      }
      if (Date.now() > deadline) throw new Error(`task ${id} still ${String(task.status)}: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Checks one fuzzed request end to end: its answer, and the task it created, if any. */
  async function check(req: FuzzRequest): Promise<void> {
    const res = await send(req);
    expectWellFormed(req, res);
    if (req.method !== 'POST' || res.statusCode !== 200 || !req.url.startsWith('/verify')) return;
    const what = `${req.method} ${req.url} → ${res.body.slice(0, 300)}`;
    const task = res.json<TaskJson>();
    expect(typeof task.task_id === 'string', what).toBe(true);
    expect(STATES.has(String(task.status)), what).toBe(true);
    const id = String(task.task_id);
    accepted.add(id);
    if (FINAL.has(String(task.status))) {
      expectFinished(task, what);
      accepted.delete(id);
    } else {
      await finish(id, what);
    }
  }

  const property = (arb: () => fc.Arbitrary<FuzzRequest>, numRuns: number) => () =>
    fc.assert(
      fc.asyncProperty(arb(), (req) => check(req)),
      { seed: FUZZ_SEED, numRuns },
    );

  it(
    `JSON bodies (${RUNS.json} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().jsonRequest, RUNS.json),
  );
  it(
    `urlencoded bodies (${RUNS.urlencoded} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().urlencodedRequest, RUNS.urlencoded),
  );
  it(
    `multipart bodies (${RUNS.multipart} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().multipartRequest, RUNS.multipart),
  );
  it(
    `random content types (${RUNS.contentType} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().contentTypeRequest, RUNS.contentType),
  );
  it(
    `image URLs, on loopback only (${RUNS.urls} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().urlRequest, RUNS.urls),
  );
  it(
    `routes, methods and headers (${RUNS.routes} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().routeRequest, RUNS.routes),
  );
  it(
    `task ids for /status (${RUNS.status} runs)`,
    { timeout: PROPERTY_TIMEOUT_MS },
    property(() => inputs().statusRequest, RUNS.status),
  );

  it('is still healthy afterwards, with no task left unfinished', async () => {
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', ready: true });
    expect([...accepted]).toEqual([]);
    const counts = await service.queue.counts();
    expect(counts.PENDING + counts.STARTED + counts.RETRY).toBe(0);
    // The local image server was reached, so URL fuzzing exercised real downloads.
    expect(images.requests()).toBeGreaterThan(0);
  });
});
