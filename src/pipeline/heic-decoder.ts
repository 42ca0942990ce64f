/**
 * HEIC/HEIF decoding (the iPhone camera's default format), which sharp's prebuilt libvips cannot do (it
 * has no HEVC decoder). libheif with libde265, compiled to WebAssembly (npm `libheif-js`), runs in a
 * thread of its own (heic-thread.ts) because a wasm call is synchronous and cannot be interrupted from
 * the thread that made it:
 *
 * - Time: every decode has the same time limit as sharp's; past it the thread is terminated (which
 *   stops the wasm code wherever it is) and the next HEIC starts a fresh one.
 * - Size: the primary image's size (after irot/imir) is read from the header boxes and checked against
 *   `maxInputPixels` before any pixel is decoded.
 * - Memory: a wasm heap only grows, so after a decode that left it above {@link HEAP_RECYCLE_BYTES} the
 *   thread is ended and its memory returned.
 * - Faults: a file libheif refuses is INVALID_IMAGE; a thread that throws or dies mid-decode answers
 *   INVALID_IMAGE for that file and is replaced.
 *
 * Orientation: libheif applies the HEIF transformation properties (irot, imir, clap), which the HEIF
 * standard makes authoritative. An EXIF Orientation tag inside a HEIC is not applied again: iPhones
 * write both, and applying both would turn the photo twice.
 *
 * One decode at a time per process (or per inference thread); the thread starts on the first HEIC
 * (about 0.6 s to load the module) and stays for the next ones. Figures in docs/performance.md.
 * - Loading: a file's time limit starts once the module has loaded (a busy machine is not the file's
 *   fault), but loading itself has a deadline ({@link LOAD_TIMEOUT_MS}): a thread that never says it
 *   is ready is ended and what waits for it answers UNAVAILABLE (retryable), so no image waits forever.
 *
 * Output layout: interleaved RGB, HWC, Uint8.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FaceVerifyError } from '../errors.js';
import type { HeicAnswer, HeicRequest } from './heic-thread.js';

/** A thread whose wasm heap grew past this (a decode of about 40 MP) is ended once idle. */
export const HEAP_RECYCLE_BYTES = 256 * 1024 * 1024;

/** How long a new thread may take to load libheif (0.6 s on an idle machine) before it is given up. */
export const LOAD_TIMEOUT_MS = 60_000;

/** Where the thread's code comes from, and its loading deadline (tests replace both). */
export interface HeicDecoderOptions {
  loadTimeoutMs?: number;
  entry?: () => { entry: URL | string; eval: boolean };
}

export interface HeicPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What a caller asks of one decode. */
export interface HeicDecodeLimits {
  maxInputPixels: number;
  timeoutSeconds: number;
}

/** The header declared more pixels than allowed; nothing was decoded. */
export class HeicTooLarge extends Error {
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    super(`HEIC declares ${width}×${height} pixels`);
  }
}

interface Job {
  request: HeicRequest;
  timeoutMs: number;
  resolve: (pixels: HeicPixels) => void;
  reject: (err: unknown) => void;
}

/** The compiled .js next to this file, or (vitest, tsx) a bootstrap that loads the TypeScript source. */
function threadEntry(): { entry: URL | string; eval: boolean } {
  const js = new URL('./heic-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL('./heic-thread.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(ts)}); });`;
  return { entry: bootstrap, eval: true };
}

function invalid(message: string, cause?: unknown): FaceVerifyError {
  return new FaceVerifyError('INVALID_IMAGE', message, undefined, { cause });
}

/** Runs HEIC decodes one after another on a thread it starts, watches and replaces. */
export class HeicDecoder {
  private worker: Worker | undefined;
  /** Whether the current thread has loaded the module (the time limit counts decoding, not loading). */
  private ready = false;
  private readonly queue: Job[] = [];
  private current: { job: Job; timer: NodeJS.Timeout } | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly loadTimeoutMs: number;
  private readonly entry: () => { entry: URL | string; eval: boolean };

  constructor(options: HeicDecoderOptions = {}) {
    this.loadTimeoutMs = options.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
    this.entry = options.entry ?? threadEntry;
  }

  /**
   * Decodes the primary image of a HEIC/HEIF file.
   *
   * @example
   * const { data, width, height } = await heicDecoder().decode(bytes, { maxInputPixels: 1e8, timeoutSeconds: 10 });
   */
  decode(bytes: Uint8Array, limits: HeicDecodeLimits): Promise<HeicPixels> {
    return new Promise<HeicPixels>((resolve, reject) => {
      // A copy: the caller keeps its buffer, and the thread gets one it may read while we go on.
      const request: HeicRequest = {
        id: this.nextId++,
        bytes: new Uint8Array(bytes),
        maxInputPixels: limits.maxInputPixels,
      };
      this.queue.push({ request, timeoutMs: limits.timeoutSeconds * 1000, resolve, reject });
      this.pump();
    });
  }

  /** Ends the thread; a decode running or waiting answers UNAVAILABLE (the next decode starts a new one). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    clearTimeout(this.loadTimer);
    const closing = new FaceVerifyError('UNAVAILABLE', 'The HEIC decoder was closed');
    const running = this.current;
    this.current = undefined;
    if (running) {
      clearTimeout(running.timer);
      running.job.reject(closing);
    }
    for (const job of this.queue.splice(0)) job.reject(closing);
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const entry = this.entry();
    const worker = new Worker(entry.entry, { eval: entry.eval });
    worker.unref();
    worker.on('message', (message: HeicAnswer | { ready: true }) => {
      if ('id' in message) this.answered(worker, message);
      else if (worker === this.worker) {
        clearTimeout(this.loadTimer);
        this.ready = true;
        this.pump();
      }
    });
    this.loadTimer = setTimeout(() => {
      if (this.worker !== worker || this.ready) return;
      this.worker = undefined;
      const failure = new FaceVerifyError('UNAVAILABLE', 'The HEIC decoder did not start in time');
      for (const job of this.queue.splice(0)) job.reject(failure);
      void worker.terminate();
    }, this.loadTimeoutMs);
    this.loadTimer.unref();
    const lost = (reason: unknown) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.ready) {
        clearTimeout(this.loadTimer);
        // The module itself would not load: fail what waits instead of starting threads in a loop.
        const failure = new FaceVerifyError('INTERNAL_ERROR', 'The HEIC decoder could not start', undefined, {
          cause: reason,
        });
        for (const job of this.queue.splice(0)) job.reject(failure);
        return;
      }
      const running = this.current;
      if (running) {
        clearTimeout(running.timer);
        this.current = undefined;
        running.job.reject(invalid('The HEIC file could not be decoded', reason));
      }
      this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`decoder thread exited with code ${code}`)));
    return worker;
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    if (!this.worker) {
      this.ready = false;
      this.worker = this.start();
    }
    // Loading the module (about 0.6 s, far more on a busy machine) is not the file's fault.
    if (!this.ready) return;
    const job = this.queue.shift();
    if (!job) return;
    const worker = this.worker;
    const timer = setTimeout(() => {
      if (this.current?.job !== job) return;
      this.current = undefined;
      this.worker = undefined;
      job.reject(new FaceVerifyError('IMAGE_TOO_LARGE', 'Decoding the image took too long'));
      void worker.terminate().finally(() => this.pump());
    }, job.timeoutMs);
    this.current = { job, timer };
    worker.postMessage(job.request, [job.request.bytes.buffer as ArrayBuffer]);
  }

  private answered(worker: Worker, answer: HeicAnswer): void {
    const running = this.current;
    if (worker !== this.worker || running?.job.request.id !== answer.id) return;
    clearTimeout(running.timer);
    this.current = undefined;
    const { job } = running;
    if (answer.kind === 'pixels') {
      job.resolve({ data: answer.data, width: answer.width, height: answer.height });
    } else if (answer.kind === 'size') {
      job.reject(new HeicTooLarge(answer.width, answer.height));
    } else {
      job.reject(invalid(`The HEIC file could not be decoded: ${answer.message}`));
    }
    if (answer.heapBytes > HEAP_RECYCLE_BYTES) {
      this.worker = undefined;
      void worker.terminate().finally(() => this.pump());
    } else this.pump();
  }
}

let shared: HeicDecoder | undefined;

/** The process's (or inference thread's) HEIC decoder, created on first use. */
export function heicDecoder(): HeicDecoder {
  shared ??= new HeicDecoder();
  return shared;
}
