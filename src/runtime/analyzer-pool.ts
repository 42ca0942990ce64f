/**
 * A pool of face analyzers on inference threads (`worker_threads`): a plain executor of `analyze`
 * behind the {@link Analyzer} interface, knowing nothing of verification.
 *
 * Why: onnxruntime-node's `run()` blocks the thread that calls it (its promise wraps a synchronous
 * native call; see docs/performance.md), so one thread runs one model at a time and an HTTP server in
 * that thread waits meanwhile. Each thread here builds its own `FaceAnalyzer` — its own ONNX Runtime
 * sessions, one intra-op thread each — and analyses whole images (decode, detect, align, embed), so
 * only the image bytes go in and a small result comes back.
 *
 * Scheduling: an image goes to the thread with models loaded and the fewest images in flight. A thread
 * that dies (an uncaught error, its heap limit) fails the images it held with retryable UNAVAILABLE
 * and is replaced; the pool never hangs a caller. (A native crash takes the whole process down.) Idle
 * threads do not keep the process alive, so a script that forgets `close()` still exits.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FaceVerifyError } from '../errors.js';
import {
  analysisSettings,
  resolveAnalyzerOptions,
  type Analysis,
  type AnalysisSettings,
  type Analyzer,
  type AnalyzerModel,
  type AnalyzerOptions,
  type AnalyzeOptions,
} from '../pipeline/face-analyzer.js';
import {
  deserializeError,
  ownsBuffer,
  type FromThread,
  type ThreadData,
  type ToThread,
} from './thread-messages.js';

interface Pending {
  resolve(analysis: Analysis): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** Set once the models are loaded. */
  started: boolean;
  exited: boolean;
  /** Called when the last image in flight is answered or failed (close() waits for it). */
  onIdle?: () => void;
}

/**
 * How to start a thread: the compiled .js next to this file, or — when running from the TypeScript
 * source (vitest, tsx) — a bootstrap that registers tsx's loader in the thread first (`--import` in a
 * worker's execArgv is not honoured by Node 20).
 */
function threadEntry(): { entry: URL | string; eval: boolean } {
  const js = new URL('./analyzer-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL('./analyzer-thread.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); });`;
  return { entry: bootstrap, eval: true };
}

export interface AnalyzerPoolOptions extends AnalyzerOptions {
  /** Threads to keep running (at least 1). */
  threads: number;
}

export class AnalyzerPool implements Analyzer {
  readonly settings: AnalysisSettings;
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closing = false;
  private closed: Promise<void> | undefined;
  /** Consecutive replacements that failed to start (backs off the next attempt). */
  private failedStarts = 0;

  private constructor(
    readonly options: AnalyzerOptions,
    private readonly data: ThreadData,
    readonly model: AnalyzerModel,
    /** Threads the pool keeps running. */
    private readonly count: number,
  ) {
    this.settings = analysisSettings(options);
  }

  /**
   * Starts `options.threads` threads and waits until each has loaded its models.
   *
   * @example
   * const pool = await AnalyzerPool.create({ threads: 2 });
   */
  static async create(options: Partial<AnalyzerPoolOptions> = {}): Promise<AnalyzerPool> {
    const { threads = 1, ...analyzerOptions } = options;
    const opts = await resolveAnalyzerOptions(analyzerOptions);
    const { registry, session, modelCacheDir } = opts;
    const { onWarning, ...sessionData } = session;
    const data: ThreadData = {
      options: { ...analysisSettings(opts), modelCacheDir, session: sessionData },
      manifests: registry.list(),
    };
    const count = Math.max(1, Math.floor(threads));
    // The first thread converts models on first use; the others then find them in the cache.
    const first = startThread(data, onWarning);
    let model: AnalyzerModel;
    try {
      model = await first.model;
    } catch (err) {
      await first.thread.worker.terminate();
      throw err;
    }
    const pool = new AnalyzerPool(opts, data, model, count);
    pool.adopt(first.thread, false);
    try {
      for (let i = 1; i < count; i++) pool.adopt(startThread(data, onWarning).thread, false);
      await Promise.all(pool.threads.map((t) => t.ready));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Number of live threads. */
  get size(): number {
    return this.threads.length;
  }

  status(): { ready: boolean; detail: string } {
    if (this.closing) return { ready: false, detail: 'closed' };
    const busy = this.inFlight().reduce((a, b) => a + b, 0);
    const started = this.threads.filter((t) => t.started).length;
    return {
      ready: started > 0,
      detail: `loaded in ${started} of ${this.count} inference threads, ${busy} image(s) in flight`,
    };
  }

  /** Images being analysed or waiting, per thread. */
  inFlight(): number[] {
    return this.threads.map((t) => t.pending.size);
  }

  analyze(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Analysis> {
    if (this.closing)
      return Promise.reject(new FaceVerifyError('UNAVAILABLE', 'The analyzer pool is closed'));
    const thread = this.pick();
    if (!thread) {
      return Promise.reject(new FaceVerifyError('UNAVAILABLE', 'No inference thread is running'));
    }
    const id = this.nextId++;
    return new Promise<Analysis>((resolve, reject) => {
      // Counted at once, so that the next call already sees this thread as busier.
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(id, { resolve, reject });
      thread.ready.then(
        () => {
          // Not there any more: the thread died and its images were failed.
          if (!thread.pending.has(id)) return;
          // A view into a larger buffer (a slice of a multipart body) would be cloned whole.
          const message: ToThread = {
            type: 'analyze',
            id,
            bytes: ownsBuffer(bytes) ? bytes : bytes.slice(),
            options,
          };
          thread.worker.postMessage(message);
        },
        (err: unknown) => {
          // Only a replacement can fail here (create() waits for its own threads): retryable.
          thread.pending.delete(id);
          reject(
            new FaceVerifyError('UNAVAILABLE', 'No inference thread could start; retry later', undefined, {
              cause: err,
            }),
          );
        },
      );
    });
  }

  /** Stops the threads after the images they hold are done (every call waits for the same stop). */
  close(): Promise<void> {
    this.closed ??= this.stop();
    return this.closed;
  }

  private async stop(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.threads.map(async (t) => {
        await Promise.allSettled([t.ready]);
        // Images in flight finish first, but a stop never waits forever for an image that never
        // answers: after the grace the thread is asked to close, then ended.
        if (t.pending.size > 0) await within(new Promise<void>((r) => (t.onIdle = r)), CLOSE_GRACE_MS);
        if (t.exited) return;
        const exited = new Promise((r) => t.worker.once('exit', r));
        t.worker.ref(); // an idle thread is unref'd: without this the process could exit first
        t.worker.postMessage({ type: 'close' } satisfies ToThread);
        if (!(await within(exited, CLOSE_GRACE_MS))) await t.worker.terminate();
      }),
    );
  }

  /** The thread with the fewest images in flight, preferring those with their models loaded. */
  private pick(): Thread | undefined {
    let best: Thread | undefined;
    const better = (t: Thread, b: Thread) =>
      t.started !== b.started ? t.started : t.pending.size < b.pending.size;
    for (const t of this.threads) if (!best || better(t, best)) best = t;
    return best;
  }

  /**
   * Takes a thread into the pool. A thread that dies is replaced (the replacement loads the models
   * already converted and cached); a replacement that fails to start is retried with a growing delay
   * (1 s, 2 s, … up to 60 s) while the pool is open. The threads `create` starts are not replaced if
   * they fail: `create` fails instead.
   */
  private adopt(thread: Thread, replacement = true): void {
    this.threads.push(thread);
    const warn = (message: string) => this.options.session.onWarning?.(message);
    thread.worker.on('error', (err) => {
      warn(`An inference thread failed${thread.started ? '' : ' while starting'}: ${err.message}`);
    });
    void thread.ready.then(
      () => {
        this.failedStarts = 0;
      },
      () => undefined,
    );
    thread.worker.on('exit', (code) => {
      thread.exited = true;
      for (const p of thread.pending.values()) p.reject(threadLost());
      const lost = thread.pending.size;
      thread.pending.clear();
      thread.onIdle?.();
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      if (this.closing) return;
      if (thread.started) {
        warn(`An inference thread exited (code ${code}) with ${lost} image(s) in flight; starting another`);
        this.replace(0);
      } else if (replacement) {
        const delay = this.nextBackoff();
        warn(
          `A replacement inference thread failed to start (code ${code}); trying again in ${delay / 1000} s`,
        );
        this.replace(delay);
      }
    });
    thread.worker.on('message', (message: FromThread) => {
      if (message.type !== 'result' && message.type !== 'error') return;
      const p = thread.pending.get(message.id);
      if (!p) return;
      thread.pending.delete(message.id);
      if (thread.pending.size === 0) {
        thread.worker.unref();
        thread.onIdle?.();
      }
      if (message.type === 'result') p.resolve(message.analysis);
      else p.reject(deserializeError(message.error));
    });
  }

  /** The wait before the next attempt to start a thread: 1 s, 2 s, 4 s … up to 60 s. */
  private nextBackoff(): number {
    return Math.min(60_000, 1000 * 2 ** this.failedStarts++);
  }

  /** Starts a thread in place of one that died, after `delayMs`; failing to spawn one counts as failing to start. */
  private replace(delayMs: number): void {
    const start = () => {
      if (this.closing) return;
      try {
        this.adopt(startThread(this.data, this.options.session.onWarning).thread);
      } catch (err) {
        const delay = this.nextBackoff();
        this.options.session.onWarning?.(
          `Could not start an inference thread (${err instanceof Error ? err.message : String(err)}); trying again in ${delay / 1000} s`,
        );
        this.replace(delay);
      }
    };
    if (delayMs === 0) start();
    else setTimeout(start, delayMs).unref();
  }
}

/**
 * V8's young generation per thread. A thread's garbage is mostly short-lived tensors; a smaller
 * nursery is collected more often and keeps peak RSS lower at the same throughput (bench/memory.ts,
 * docs/performance.md).
 */
const THREAD_YOUNG_GENERATION_MB = 8;

/** How long close() waits for images in flight, and then for a thread to exit. */
const CLOSE_GRACE_MS = 30_000;

/** Whether a promise settled within `ms` (it is not cancelled otherwise). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retryable: the image itself was fine, the thread holding it died (a queue retries the task). */
function threadLost(): FaceVerifyError {
  return new FaceVerifyError('UNAVAILABLE', 'An inference thread stopped unexpectedly; retry the request');
}

/** Starts one thread; `model` settles when it has loaded its models (or failed to). */
function startThread(
  data: ThreadData,
  onWarning: ((message: string) => void) | undefined,
): { thread: Thread; model: Promise<AnalyzerModel> } {
  const start = threadEntry();
  const worker = new Worker(start.entry, {
    workerData: data,
    eval: start.eval,
    resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
  });
  const thread: Thread = {
    worker,
    ready: Promise.resolve(),
    pending: new Map(),
    started: false,
    exited: false,
  };
  const model = new Promise<AnalyzerModel>((resolve, reject) => {
    const onExit = (code: number) =>
      reject(
        new FaceVerifyError('INTERNAL_ERROR', `An inference thread exited (code ${code}) while starting`),
      );
    worker.on('error', (err) => reject(err));
    worker.once('exit', onExit);
    worker.on('message', (message: FromThread) => {
      if (message.type === 'warning') onWarning?.(message.message);
      else if (message.type === 'failed') reject(deserializeError(message.error));
      else if (message.type === 'ready') {
        worker.off('exit', onExit);
        thread.started = true;
        // Images may already wait for this thread: keep the process alive for them.
        if (thread.pending.size === 0) worker.unref();
        resolve(message.model);
      }
    });
  });
  // An 'error' event after start (an uncaught exception in the thread) is followed by 'exit'.
  model.catch(() => undefined);
  thread.ready = model.then(() => undefined);
  thread.ready.catch(() => undefined); // callers see the failure through `ready` or `model`
  return { thread, model };
}
