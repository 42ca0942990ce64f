/** Maps the validated configuration onto the pipeline's options (the pipeline never reads env). */
import { availableParallelism } from 'node:os';
import type { VerifierOptions } from '../pipeline/verifier.js';
import { DEFAULT_VERIFIER_OPTIONS } from '../pipeline/verifier.js';
import type { Config } from './config.js';

export function verifierOptions(config: Config): Partial<VerifierOptions> {
  const d = DEFAULT_VERIFIER_OPTIONS;
  return {
    model: config.model,
    ...(config.modelCacheDir ? { modelCacheDir: config.modelCacheDir } : {}),
    session: { ...d.session, device: config.device, intraOpThreads: config.intraOpThreads },
    decode: { ...d.decode, maxDimension: config.maxImageDimension, maxInputPixels: config.maxInputPixels },
    detect: { ...d.detect, minFaceSize: config.minFaceSize, thresholds: config.detectionThresholds },
    facePolicy: config.facePolicy,
    threads: inferenceThreads(config),
    ...(config.cosineThreshold !== undefined ? { threshold: config.cosineThreshold } : {}),
  };
}

/** INFERENCE_THREADS as a number: `auto` is one thread per CPU core. */
export function inferenceThreads(config: Pick<Config, 'inferenceThreads'>): number {
  return config.inferenceThreads === 'auto' ? availableParallelism() : config.inferenceThreads;
}
