/**
 * The task handlers: plain functions of (payload, context) over injected dependencies, so tests call
 * them without a queue and both queue backends run the same code.
 *
 * A verification loads both images (download or upload), hashes them, and answers from the result cache
 * when the same pair was verified with the same settings; otherwise each image's embedding comes from
 * the embedding cache or the pipeline. A batch loads and embeds each distinct image once, however many
 * pairs it appears in, and reports a result or an error per pair, in order.
 */
import { performance } from 'node:perf_hooks';
import type { Cache } from '../../cache/cache.js';
import { embeddingKey, isCanonicalPairOrder, resultKey, sha256Hex } from '../../cache/cache-keys.js';
import type { EmbeddingEntry } from '../../cache/codecs.js';
import { FaceVerifyError, isFaceVerifyError } from '../../errors.js';
import type { FacePolicy } from '../../pipeline/select-face.js';
import type { FaceReport, FaceVerifier, VerifyResult } from '../../pipeline/verifier.js';
import type { BatchTaskData, ImageRef, TaskContext, TaskPayload, VerifyTaskData } from '../task-queue.js';
import { uploadedBytes } from '../task-queue.js';

export interface HandlerDeps {
  verifier: FaceVerifier;
  embeddings: Cache<EmbeddingEntry>;
  results: Cache<VerifyResult>;
  /** Downloads an image URL (SSRF-safe, size-limited). */
  fetchImage: (url: string, signal: AbortSignal) => Promise<Uint8Array>;
  maxImageBytes: number;
  /** If set, a match also needs this calibrated confidence. */
  minConfidence?: number;
  /** Retries the queue allows, so a batch knows whether a transient failure will be retried. */
  maxRetries: number;
  /** Called with the time of each pipeline stage (for metrics). */
  onStage?: (stage: 'download' | 'analyze' | 'cache_hit', ms: number) => void;
}

export interface PairOutcome {
  pair_index: number;
  status: 'SUCCESS' | 'FAILURE';
  result?: VerifyResult;
  error?: { code: string; error: string };
}

export interface BatchResult {
  results: PairOutcome[];
  summary: { total: number; succeeded: number; failed: number; matches: number };
  processing_time: number;
}

interface LoadedImage {
  sha: string;
  bytes: Uint8Array;
}

function describeRef(ref: ImageRef): string {
  return 'url' in ref ? ref.url : `upload:${sha256Hex(uploadedBytes(ref)).slice(0, 16)}`;
}

export class VerifyHandlers {
  constructor(private readonly deps: HandlerDeps) {}

  /** The queue's handler: dispatches on the task's name. */
  readonly handle = async (task: TaskPayload, ctx: TaskContext): Promise<unknown> => {
    switch (task.name) {
      case 'verify':
        return this.verify(task.data, ctx);
      case 'verify-batch':
        return this.batch(task.data, ctx);
    }
  };

  async verify(data: VerifyTaskData, ctx: TaskContext): Promise<VerifyResult> {
    const start = performance.now();
    const [a, b] = await settleBoth(
      this.load(data.image1, ctx.signal, 1),
      this.load(data.image2, ctx.signal, 2),
    );
    const result = await this.compare(a, b, data, new Map(), [1, 2]);
    return { ...result, processing_time: round((performance.now() - start) / 1000) };
  }

  async batch(data: BatchTaskData, ctx: TaskContext): Promise<BatchResult> {
    const start = performance.now();
    const loads = new Map<string, Promise<LoadedImage>>();
    const analyses = new Map<string, Promise<EmbeddingEntry>>();
    const load = (ref: ImageRef, index: number): Promise<LoadedImage> => {
      const key = describeRef(ref);
      let p = loads.get(key);
      if (!p) {
        p = this.load(ref, ctx.signal, index);
        p.catch(() => undefined); // observed per pair below
        loads.set(key, p);
      }
      return p;
    };
    const outcomes = await Promise.all(
      data.pairs.map(async ([r1, r2], i): Promise<PairOutcome> => {
        try {
          const [a, b] = await Promise.all([load(r1, 1), load(r2, 2)]);
          const result = await this.compare(a, b, data, analyses, [1, 2]);
          return { pair_index: i, status: 'SUCCESS', result };
        } catch (err) {
          if (!isFaceVerifyError(err)) throw err;
          return { pair_index: i, status: 'FAILURE', error: { code: err.code, error: err.message } };
        }
      }),
    );
    // A transient failure (a download) retries the whole batch while retries remain; embeddings
    // already computed come from the cache the second time.
    if (ctx.attempt <= this.deps.maxRetries) {
      const transient = outcomes.find((o) => o.error && isRetryableCode(o.error.code));
      if (transient?.error) {
        throw new FaceVerifyError(transient.error.code as 'DOWNLOAD_FAILED', transient.error.error);
      }
    }
    const succeeded = outcomes.filter((o) => o.status === 'SUCCESS');
    return {
      results: outcomes,
      summary: {
        total: outcomes.length,
        succeeded: succeeded.length,
        failed: outcomes.length - succeeded.length,
        matches: succeeded.filter((o) => o.result?.is_match).length,
      },
      processing_time: round((performance.now() - start) / 1000),
    };
  }

  private async load(ref: ImageRef, signal: AbortSignal, index: number): Promise<LoadedImage> {
    const t = performance.now();
    let bytes: Uint8Array;
    try {
      if ('url' in ref) {
        bytes = await this.deps.fetchImage(ref.url, signal);
      } else {
        bytes = uploadedBytes(ref);
        if (bytes.byteLength > this.deps.maxImageBytes) {
          throw new FaceVerifyError(
            'IMAGE_TOO_LARGE',
            `The image is larger than ${this.deps.maxImageBytes} bytes`,
          );
        }
      }
    } catch (err) {
      throw labelled(err, index);
    }
    this.deps.onStage?.('download', performance.now() - t);
    return { sha: sha256Hex(bytes), bytes };
  }

  private detectionSettings(policy: FacePolicy) {
    const { detect, decode } = this.deps.verifier.options;
    return {
      minFaceSize: detect.minFaceSize,
      thresholds: detect.thresholds,
      facePolicy: policy,
      maxDimension: decode.maxDimension,
    };
  }

  private async analyze(
    img: LoadedImage,
    policy: FacePolicy,
    index: number,
    memo: Map<string, Promise<EmbeddingEntry>>,
  ): Promise<EmbeddingEntry> {
    const { verifier, embeddings } = this.deps;
    const key = embeddingKey({
      imageSha256: img.sha,
      model: verifier.modelName,
      detection: this.detectionSettings(policy),
    });
    let pending = memo.get(key);
    if (!pending) {
      pending = (async () => {
        const cached = await embeddings.get(key);
        if (cached) {
          this.deps.onStage?.('cache_hit', 0);
          return cached;
        }
        const t = performance.now();
        const a = await verifier.analyze(img.bytes, { facePolicy: policy });
        this.deps.onStage?.('analyze', performance.now() - t);
        const entry: EmbeddingEntry = {
          embedding: a.embedding,
          face: a.face,
          width: a.width,
          height: a.height,
          faceCount: a.faceCount,
        };
        await embeddings.set(key, entry);
        return entry;
      })();
      memo.set(key, pending);
    }
    try {
      return await pending;
    } catch (err) {
      throw labelled(err, index);
    }
  }

  private async compare(
    a: LoadedImage,
    b: LoadedImage,
    opts: { facePolicy?: FacePolicy; threshold?: number },
    memo: Map<string, Promise<EmbeddingEntry>>,
    [ia, ib]: [number, number],
  ): Promise<VerifyResult> {
    const { verifier, results } = this.deps;
    const policy = opts.facePolicy ?? verifier.options.facePolicy;
    const threshold = verifier.threshold(opts.threshold);
    const key = resultKey({
      sha1: a.sha,
      sha2: b.sha,
      model: verifier.modelName,
      threshold,
      facePolicy: policy,
      detection: this.detectionSettings(policy),
    });
    const canonical = isCanonicalPairOrder(a.sha, b.sha);
    const cached = await results.get(key);
    if (cached) {
      return { ...orient(cached, canonical), cached: true };
    }
    const t = performance.now();
    const [ea, eb] = await Promise.all([
      this.analyze(a, policy, ia, memo),
      this.analyze(b, policy, ib, memo),
    ]);
    const cmp = verifier.compare(ea.embedding, eb.embedding, threshold);
    const minConfidence = this.deps.minConfidence;
    const result: VerifyResult = {
      ...cmp,
      is_match: cmp.is_match && (minConfidence === undefined || cmp.confidence >= minConfidence),
      model: verifier.modelName,
      processing_time: round((performance.now() - t) / 1000),
      faces: [ea.face as FaceReport, eb.face as FaceReport],
    };
    await results.set(key, orient(result, canonical));
    return result;
  }
}

/**
 * Both loads, or the most useful error: a permanent one (bad upload, URL not allowed) before a
 * transient one, so a task is not retried when it could never succeed.
 */
async function settleBoth<T>(a: Promise<T>, b: Promise<T>): Promise<[T, T]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  const reasons = [ra, rb].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  throw reasons.find((e) => !(isFaceVerifyError(e) && e.retryable)) ?? reasons[0];
}

/** Faces are stored in the canonical pair order; turn them round for the other order. */
function orient(r: VerifyResult, canonical: boolean): VerifyResult {
  return canonical ? r : { ...r, faces: [r.faces[1], r.faces[0]] };
}

function isRetryableCode(code: string): boolean {
  return code === 'DOWNLOAD_FAILED' || code === 'DOWNLOAD_TIMEOUT';
}

function labelled(err: unknown, index: number): unknown {
  if (!isFaceVerifyError(err) || err.message.startsWith('Image ')) return err;
  return new FaceVerifyError(err.code, `Image ${index}: ${err.message}`, {
    ...(err.details ?? {}),
    image: index,
  });
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
