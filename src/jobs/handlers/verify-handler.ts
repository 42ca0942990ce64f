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
import { PRECISION, roundTo } from '../../core/scoring.js';
import { ERROR_CATALOGUE, FaceVerifyError, isFaceVerifyError } from '../../errors.js';
import type { FaceAnalysis, FacePolicy } from '../../pipeline/face-analysis.js';
import { analysisIdentity } from '../../pipeline/analysis-identity.js';
import { settlePair, type Verifier, type VerifyResult } from '../../pipeline/verifier.js';
import type { BatchResult, PairOutcome } from './batch-result.js';
import type { BatchTaskData, ImageRef, TaskContext, TaskPayload, VerifyTaskData } from '../task-queue.js';
import { uploadedBytes } from '../task-queue.js';

export interface HandlerDeps {
  /** The same verifier the library and the CLI use (its scoring includes MIN_CONFIDENCE_THRESHOLD). */
  verifier: Verifier;
  embeddings: Cache<FaceAnalysis>;
  results: Cache<VerifyResult>;
  /** Downloads an image URL (SSRF-safe, size-limited). */
  fetchImage: (url: string, signal: AbortSignal) => Promise<Uint8Array>;
  maxImageBytes: number;
  /** Retries the queue allows, so a batch knows whether a transient failure will be retried. */
  maxRetries: number;
  /** Called with the time of each pipeline stage (for metrics). */
  onStage?: (stage: 'download' | 'analyze' | 'cache_hit', ms: number) => void;
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
    const [a, b] = await settlePair(this.load(data.image1, ctx.signal), this.load(data.image2, ctx.signal));
    const result = await this.compare(a, b, data, new Map());
    return { ...result, processing_time: seconds(start) };
  }

  async batch(data: BatchTaskData, ctx: TaskContext): Promise<BatchResult> {
    const start = performance.now();
    const loads = new Map<string, Promise<LoadedImage>>();
    const analyses = new Map<string, Promise<FaceAnalysis>>();
    const load = (ref: ImageRef): Promise<LoadedImage> => {
      const key = describeRef(ref);
      let p = loads.get(key);
      if (!p) {
        p = this.load(ref, ctx.signal);
        p.catch(() => undefined); // observed per pair below
        loads.set(key, p);
      }
      return p;
    };
    const outcomes = await Promise.all(
      data.pairs.map(async ([r1, r2], i): Promise<PairOutcome> => {
        try {
          const [a, b] = await settlePair(load(r1), load(r2));
          const result = await this.compare(a, b, data, analyses);
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
      const transient = outcomes.find((o) => o.error && ERROR_CATALOGUE[o.error.code].retryable);
      if (transient?.error) throw new FaceVerifyError(transient.error.code, transient.error.error);
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
      processing_time: seconds(start),
    };
  }

  private async load(ref: ImageRef, signal: AbortSignal): Promise<LoadedImage> {
    const t = performance.now();
    let bytes: Uint8Array;
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
    this.deps.onStage?.('download', performance.now() - t);
    return { sha: sha256Hex(bytes), bytes };
  }

  /** One image's analysis: from this task's memo, the embedding cache, or the pipeline. */
  private analyze(
    img: LoadedImage,
    policy: FacePolicy,
    memo: Map<string, Promise<FaceAnalysis>>,
  ): Promise<FaceAnalysis> {
    const { verifier, embeddings } = this.deps;
    const key = embeddingKey({ imageSha256: img.sha, analysis: analysisIdentity(verifier.analyzer, policy) });
    let pending = memo.get(key);
    if (!pending) {
      pending = (async () => {
        const cached = await embeddings.get(key);
        if (cached) {
          this.deps.onStage?.('cache_hit', 0);
          return cached;
        }
        const t = performance.now();
        const analysis = await verifier.analyze(img.bytes, { facePolicy: policy });
        this.deps.onStage?.('analyze', performance.now() - t);
        await embeddings.set(key, analysis);
        return analysis;
      })();
      memo.set(key, pending);
    }
    return pending;
  }

  private async compare(
    a: LoadedImage,
    b: LoadedImage,
    opts: { facePolicy?: FacePolicy; threshold?: number },
    memo: Map<string, Promise<FaceAnalysis>>,
  ): Promise<VerifyResult> {
    const { verifier, results } = this.deps;
    const policy = opts.facePolicy ?? verifier.analyzer.settings.facePolicy;
    const threshold = verifier.threshold(opts.threshold);
    const key = resultKey({
      sha1: a.sha,
      sha2: b.sha,
      analysis: analysisIdentity(verifier.analyzer, policy),
      scoring: { threshold, minConfidence: verifier.scoring.settings.minConfidence },
    });
    const canonical = isCanonicalPairOrder(a.sha, b.sha);
    const cached = await results.get(key);
    if (cached) {
      return { ...orient(cached, canonical), cached: true };
    }
    const t = performance.now();
    const answer = await verifier.verifyAnalyses(
      this.analyze(a, policy, memo),
      this.analyze(b, policy, memo),
      opts.threshold,
    );
    const result: VerifyResult = { ...answer, processing_time: seconds(t) };
    await results.set(key, orient(result, canonical));
    return result;
  }
}

/** Faces are stored in the canonical pair order; turn them round for the other order. */
function orient(r: VerifyResult, canonical: boolean): VerifyResult {
  return canonical ? r : { ...r, faces: [r.faces[1], r.faces[0]] };
}

/** Seconds since a `performance.now()` reading, rounded as answers are. */
function seconds(since: number): number {
  return roundTo((performance.now() - since) / 1000, PRECISION.seconds);
}
