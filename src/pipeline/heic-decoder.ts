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
  private nextId = 1;

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

  /** Ends the thread (the next decode starts a new one). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const entry = threadEntry();
    const worker = new Worker(entry.entry, { eval: entry.eval });
    worker.unref();
    worker.on('message', (message: HeicAnswer | { ready: true }) => {
      if ('id' in message) this.answered(worker, message);
      else if (worker === this.worker) {
        this.ready = true;
        this.pump();
      }
    });
    const lost = (reason: unknown) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.ready) {
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
