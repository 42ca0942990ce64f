/**
 * faceverify: are these two photos the same person?
 *
 * @example
 * import { createVerifier } from 'faceverify';
 * const verifier = await createVerifier();
 * const result = await verifier.verify(bytesA, bytesB);
 */
export { createVerifier, Verifier, DEFAULT_VERIFIER_OPTIONS } from './pipeline/verifier.js';
export type {
  VerifierOptions,
  VerifyResult,
  ImageAnalysis,
  FaceReport,
  PerCallOptions,
} from './pipeline/verifier.js';
export type { FacePolicy } from './pipeline/select-face.js';
export { FaceVerifyError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
export { loadConfig, type Config } from './config/config.js';
export { verifierOptions } from './config/verifier-options.js';
export { ModelRegistry } from './models/registry.js';
export type { ModelManifest, EmbedderManifest, DetectorManifest } from './models/manifest.js';
export { fetchImage } from './fetch/fetch-image.js';
export { createImageFetcher } from './fetch/image-fetcher.js';
export { parseAllowlist } from './fetch/address-policy.js';
