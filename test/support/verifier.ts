/** One verifier per test file (models load once; conversion is cached on disk across files). */
import { afterAll, beforeAll } from 'vitest';
import { FaceAnalyzer, type AnalyzerOptions } from '../../src/pipeline/face-analyzer.js';
import { scoringSettings, Verifier, type VerifierOptions } from '../../src/pipeline/verifier.js';

/** A verifier over an analyzer in the test's thread; `analyzer` gives the latter (models, detectAll). */
export function useVerifier(
  options: Partial<VerifierOptions> = {},
): (() => Verifier) & { analyzer: () => FaceAnalyzer } {
  let verifier: Verifier | undefined;
  let analyzer: FaceAnalyzer | undefined;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create(options satisfies Partial<AnalyzerOptions>);
    verifier = new Verifier(analyzer, scoringSettings({ ...options, registry: analyzer.options.registry }));
  });
  afterAll(async () => {
    await verifier?.close();
  });
  const get = () => {
    if (!verifier) throw new Error('verifier not ready');
    return verifier;
  };
  return Object.assign(get, {
    analyzer: () => {
      if (!analyzer) throw new Error('analyzer not ready');
      return analyzer;
    },
  });
}
