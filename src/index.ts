/**
 * faceverify: are these two photos the same person?
 *
 * @example
 * import { createVerifier } from 'faceverify';
 * const verifier = await createVerifier();
 * const result = await verifier.verify(bytesA, bytesB);
 */
export { createVerifier, createAnalyzer } from './create-verifier.js';
export { Verifier, DEFAULT_VERIFIER_OPTIONS } from './pipeline/verifier.js';
export type { VerifierOptions, VerifyResult, PerCallOptions } from './pipeline/verifier.js';
export { FaceAnalyzer } from './pipeline/face-analyzer.js';
export type { Analyzer, AnalyzerModel, AnalyzerOptions, AnalyzeOptions } from './pipeline/face-analyzer.js';
export type { FaceAnalysis, FaceReport, FacePolicy } from './pipeline/face-analysis.js';
export { encodeFaceAnalysis, decodeFaceAnalysis } from './pipeline/face-analysis-codec.js';
export { Scoring, type Comparison, type ScoringSettings } from './core/scoring.js';
export { FaceVerifyError, ERROR_CATALOGUE, type ErrorCode } from './errors.js';
export { loadConfig, type Config } from './config/config.js';
export { verifierOptions } from './config/verifier-options.js';
export { ModelRegistry } from './models/registry.js';
export type { ModelManifest, EmbedderManifest, DetectorManifest } from './models/manifest.js';
export { fetchImage } from './fetch/fetch-image.js';
export { createImageFetcher } from './fetch/image-fetcher.js';
export { parseAllowlist } from './fetch/address-policy.js';
