/**
 * Maps the validated configuration onto the verifier's options (the pipeline never reads env): the one
 * mapping the service and the CLI share, thresholds and MIN_CONFIDENCE_THRESHOLD included.
 */
import { readFileSync } from 'node:fs';
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
    orientationSearch: config.orientationSearch === 'on',
    lowLightRetry: config.lowLightRetry === 'on',
    faceExposure: config.faceExposureNormalise === 'on',
    faceDeblur: config.faceDeblur === 'on',
    qualityFilter: config.qualityFilter,
    threads: inferenceThreads(config),
    ...(config.cosineThreshold !== undefined ? { threshold: config.cosineThreshold } : {}),
    ...(config.euclideanThreshold !== undefined ? { euclideanThreshold: config.euclideanThreshold } : {}),
    ...(config.minConfidence !== undefined ? { minConfidence: config.minConfidence } : {}),
    ...(config.matchFar !== undefined ? { matchFar: config.matchFar } : {}),
    ...(config.cosineThreshold !== undefined || config.euclideanThreshold !== undefined
      ? { thresholdModel: config.thresholdModel }
      : {}),
  };
}

/**
 * The CPUs a cgroup v2 CPU quota allows (`/sys/fs/cgroup/cpu.max`: "<quota> <period>" or "max …"),
 * rounded up; undefined without a quota. Containers (Docker `--cpus`, Kubernetes CPU limits) set one,
 * and Node's `availableParallelism()` does not see it.
 *
 * @example
 * cpuQuota('200000 100000'); // 2
 */
export function cpuQuota(cpuMax: string): number | undefined {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period ?? 100000);
  if (quota === 'max' || !Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return undefined;
  return Math.max(1, Math.ceil(q / p));
}

function readCpuQuota(): number | undefined {
  try {
    return cpuQuota(readFileSync('/sys/fs/cgroup/cpu.max', 'utf8'));
  } catch {
    return undefined; // not Linux, or cgroup v1: no quota we can read
  }
}

/**
 * INFERENCE_THREADS as a number: `auto` is one thread per CPU the process may use — the cores it sees,
 * capped by a container's CPU quota (each thread holds its own copy of the models, so a worker limited
 * to 2 CPUs on a 32-core node must not start 32).
 */
export function inferenceThreads(config: Pick<Config, 'inferenceThreads'>): number {
  if (config.inferenceThreads !== 'auto') return config.inferenceThreads;
  return Math.min(availableParallelism(), readCpuQuota() ?? Infinity);
}
