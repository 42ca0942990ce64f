/**
 * The only module that talks to ONNX Runtime. Everything else sees plain tensors
 * (`{ data: Float32Array, dims: number[] }`).
 *
 * Threads: onnxruntime-node 1.30's `run()` is synchronous — its promise wraps a blocking native call
 * made from a `setImmediate` on the calling thread — so runs in one thread never overlap, and the
 * thread's event loop waits while a model runs. Parallelism comes from inference threads, each with
 * its own sessions (src/runtime/analyzer-pool.ts). On a 2-core machine one intra-op thread per session
 * measured best (docs/performance.md). Spinning is off so idle pool threads do not burn a core that
 * another request could use.
 */
import './disable-telemetry.js';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, constants, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FaceVerifyError } from '../errors.js';

export interface PlainTensor {
  data: Float32Array;
  dims: readonly number[];
}

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Intra-op threads per session (default 1). */
  intraOpThreads: number;
  /** Execution provider; CUDA falls back to CPU with a warning when it is not available. */
  device: Device;
  /** Called with a human-readable warning (e.g. the CUDA fallback). */
  onWarning?: (message: string) => void;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = { intraOpThreads: 1, device: 'cpu' };

export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly device: Device;
  run(feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>>;
  release(): Promise<void>;
}

function ortOptions(options: SessionOptions, device: Device): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // No memory patterns: ORT plans and keeps one per input shape, and P-Net sees a new shape at every
    // pyramid level of every image size. Off costs no speed on mixed-size photos and saves memory per
    // thread and page faults at a cold start (docs/performance.md).
    enableMemPattern: false,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

let signature: string | undefined;

/**
 * What an optimised graph written by ONNX Runtime depends on: its version and this CPU. At the `all`
 * level the graph holds hardware-specific layouts (convolutions blocked for AVX-512 or AVX2), so a
 * file written on one machine must never be loaded on another; the signature goes into its name.
 */
export function optimizedGraphSignature(): string {
  if (signature !== undefined) return signature;
  let cpu = `${arch()} ${cpus()[0]?.model ?? 'unknown'}`;
  try {
    // The first processor's identity and instruction-set flags (Linux: x86 and Arm field names).
    const first = readFileSync('/proc/cpuinfo', 'utf8').split('\n\n')[0] ?? '';
    const fields = first
      .split('\n')
      .filter((l) =>
        /^(vendor_id|cpu family|model|model name|flags|Features|CPU implementer|CPU architecture|CPU variant|CPU part)\s*:/.test(
          l,
        ),
      );
    if (fields.length > 0) cpu = `${arch()}\n${fields.join('\n')}`;
  } catch {
    // Not Linux: the model name and architecture identify the CPU well enough.
  }
  const cpuHash = createHash('sha256').update(cpu).digest('hex').slice(0, 12);
  signature = `ort${ort.env.versions.common ?? 'unknown'}-${cpuHash}`;
  return signature;
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The session from a graph ONNX Runtime optimised earlier on this machine (loaded without optimising
 * again), or undefined when there is none or it does not load.
 */
async function loadOptimized(
  path: string,
  options: SessionOptions,
): Promise<ort.InferenceSession | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    return undefined;
  }
  try {
    return await ort.InferenceSession.create(bytes, {
      ...ortOptions(options, 'cpu'),
      graphOptimizationLevel: 'disabled',
    });
  } catch {
    return undefined; // unreadable or truncated: optimise again and replace it
  }
}

/**
 * Deletes what earlier saves of this model left beside `cached`: graphs of another ONNX Runtime version
 * or CPU, and temporary files over ten minutes old (a process that died while saving).
 */
async function removeStale(cached: string): Promise<void> {
  const dir = dirname(cached);
  const prefix = `${basename(cached).replace(/\.ort[^/]*$/, '')}.ort`;
  const cutoff = Date.now() - 10 * 60_000;
  for (const f of await readdir(dir).catch((): string[] => [])) {
    const path = join(dir, f);
    if (!f.startsWith(prefix) || path === cached) continue;
    const old = f.endsWith('.tmp')
      ? ((await stat(path).catch(() => undefined))?.mtimeMs ?? Infinity) < cutoff
      : false;
    if (old || f.endsWith('.onnx')) await rm(path, { force: true });
  }
}

/**
 * Creates the session on the CPU, saving ONNX Runtime's optimised graph to `cached` (written to a
 * temporary file and renamed into place, so concurrent starts cannot leave half a file) when its
 * folder is writable.
 */
async function createAndSave(
  model: Uint8Array,
  options: SessionOptions,
  cached: string | undefined,
): Promise<ort.InferenceSession> {
  const opts = ortOptions(options, 'cpu');
  if (cached === undefined || !(await writable(dirname(cached)))) {
    return ort.InferenceSession.create(model, opts);
  }
  const tmp = `${cached}.${randomUUID()}.tmp`;
  try {
    // Severity 3 (errors only): ORT warns that such a file is hardware-specific; its name handles that.
    const session = await ort.InferenceSession.create(model, {
      ...opts,
      optimizedModelFilePath: tmp,
      logSeverityLevel: 3,
    });
    await rename(tmp, cached).then(
      () => removeStale(cached),
      () => rm(tmp, { force: true }),
    );
    return session;
  } catch {
    // Saving failed (a full disk, say) or the model does not load: try once without saving, which
    // reports the model's own error if there is one.
    await rm(tmp, { force: true });
    return ort.InferenceSession.create(model, opts);
  }
}

/**
 * Creates an inference session from ONNX bytes (or a function that reads them, called only when the
 * optimised graph below is not there to load).
 *
 * With `cacheBase` (a path without extension, from prepareModel), the graph ONNX Runtime optimises on
 * the CPU is kept at `<cacheBase>.<optimizedGraphSignature()>.onnx`, and later sessions load it
 * without optimising again: bitwise the same outputs and a faster start (docs/performance.md, cold
 * start).
 *
 * @example
 * const session = await createSession(onnxBytes, DEFAULT_SESSION_OPTIONS);
 * const { prob } = await session.run({ input: { data, dims: [1, 3, 24, 24] } });
 */
export async function createSession(
  onnx: Uint8Array | (() => Promise<Uint8Array>),
  options: SessionOptions = DEFAULT_SESSION_OPTIONS,
  cacheBase: string | null = null,
): Promise<InferenceSession> {
  let device = options.device;
  const cached =
    device === 'cpu' && cacheBase !== null ? `${cacheBase}.${optimizedGraphSignature()}.onnx` : undefined;
  let session = cached === undefined ? undefined : await loadOptimized(cached, options);
  if (session === undefined) {
    const model = typeof onnx === 'function' ? await onnx() : onnx;
    try {
      session =
        device === 'cpu'
          ? await createAndSave(model, options, cached)
          : await ort.InferenceSession.create(model, ortOptions(options, device));
    } catch (err) {
      if (device !== 'cuda') {
        throw new FaceVerifyError('MODEL_INVALID', 'ONNX Runtime could not load the model', undefined, {
          cause: err,
        });
      }
      options.onWarning?.(
        `CUDA execution provider unavailable (${err instanceof Error ? err.message : String(err)}); using CPU`,
      );
      device = 'cpu';
      session = await ort.InferenceSession.create(model, ortOptions(options, device));
    }
  }
  const live = session;
  return {
    inputNames: live.inputNames,
    outputNames: live.outputNames,
    device,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor('float32', t.data, t.dims);
      }
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await live.run(ortFeeds);
      } catch (err) {
        throw new FaceVerifyError('INFERENCE_FAILED', 'Model inference failed', undefined, { cause: err });
      }
      const result: Record<string, PlainTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = { data: t.data as Float32Array, dims: t.dims };
      }
      return result;
    },
    release: () => live.release(),
  };
}
