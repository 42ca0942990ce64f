/**
 * The identity of an analysis for cache keys, apart from src/pipeline/face-analyzer.ts so that the
 * analyzer does not load the analysis schema (TypeBox: ~370 modules, 0.1–0.3 s) when nothing is cached,
 * as in a one-shot `faceverify verify` (docs/performance.md, cold start).
 */
import type { AnalysisSettings, AnalyzerModel } from './face-analyzer.js';
import { FACE_ANALYSIS_FINGERPRINT } from './face-analysis-codec.js';
import type { FacePolicy } from './face-analysis.js';

/**
 * Everything that makes two analyses of the same bytes equal, as one canonical string: the settings
 * (with the call's face policy), the model's and detector's ids and the analysis schema's fingerprint.
 *
 * @example
 * embeddingKey({ imageSha256, analysis: analysisIdentity(analyzer, 'center') });
 */
export function analysisIdentity(
  analyzer: { model: Pick<AnalyzerModel, 'id'>; settings: AnalysisSettings },
  facePolicy?: FacePolicy,
): string {
  const settings = { ...analyzer.settings, facePolicy: facePolicy ?? analyzer.settings.facePolicy };
  return JSON.stringify([FACE_ANALYSIS_FINGERPRINT, analyzer.model.id, settings]);
}
