/**
 * The only module that talks to ONNX Runtime. Everything else sees plain tensors
 * (`{ data: Float32Array, dims: number[] }`).
 *
 * Threads: onnxruntime-node 1.30's `run()` is synchronous — its promise wraps a blocking native call
 * made from a `setImmediate` on the calling thread — so runs in one thread never overlap, and the
 * thread's event loop waits while a model runs. Parallelism comes from inference threads, each with
 * its own sessions (src/runtime/verifier-pool.ts). On a 2-core machine one intra-op thread per session
 * measured best (docs/performance.md). Spinning is off so idle pool threads do not burn a core that
 * another request could use.
 */
import './disable-telemetry.js';
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
    // pyramid level of every image size. Off measured the same speed on mixed-size photos with 45 MB
    // less RSS per thread, and ~3k fewer page faults in a cold CLI run (docs/performance.md).
    enableMemPattern: false,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * Creates an inference session from ONNX bytes.
 *
 * @example
 * const session = await createSession(onnxBytes, DEFAULT_SESSION_OPTIONS);
 * const { prob } = await session.run({ input: { data, dims: [1, 3, 24, 24] } });
 */
export async function createSession(
  model: Uint8Array,
  options: SessionOptions = DEFAULT_SESSION_OPTIONS,
): Promise<InferenceSession> {
  let device = options.device;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, ortOptions(options, device));
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
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    device,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor('float32', t.data, t.dims);
      }
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await session.run(ortFeeds);
      } catch (err) {
        throw new FaceVerifyError('INFERENCE_FAILED', 'Model inference failed', undefined, { cause: err });
      }
      const result: Record<string, PlainTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = { data: t.data as Float32Array, dims: t.dims };
      }
      return result;
    },
    release: () => session.release(),
  };
}
