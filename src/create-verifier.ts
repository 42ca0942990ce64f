/**
 * The library's composition root: a {@link Verifier} over an analyzer in the calling thread or on a
 * pool of inference threads, chosen here (the pipeline knows nothing of threads).
 */
import {
  FaceAnalyzer,
  resolveAnalyzerOptions,
  type Analyzer,
  type AnalyzerOptions,
} from './pipeline/face-analyzer.js';
import { scoringSettings, Verifier, type VerifierOptions } from './pipeline/verifier.js';
import { AnalyzerPool } from './runtime/analyzer-pool.js';

/**
 * The analyzer for a number of inference threads: in the calling thread for 0, else a pool.
 *
 * @example
 * const analyzer = await createAnalyzer({ model: 'mobilefacenet' }, 2);
 */
export function createAnalyzer(options: Partial<AnalyzerOptions>, threads: number): Promise<Analyzer> {
  return threads > 0 ? AnalyzerPool.create({ ...options, threads }) : FaceAnalyzer.create(options);
}

/**
 * Creates a verifier with the built-in models (converted and cached on first use): in the calling
 * thread, or with `threads: n` on n inference threads (faster on several cores; see docs/performance.md).
 *
 * @example
 * import { createVerifier } from 'faceverify';
 * const verifier = await createVerifier({ threads: 2 });
 * const result = await verifier.verify(bytesA, bytesB);
 * await verifier.close();
 */
export async function createVerifier(options: Partial<VerifierOptions> = {}): Promise<Verifier> {
  const { threads = 0, ...rest } = options;
  const analyzerOptions = await resolveAnalyzerOptions(rest);
  const analyzer = await createAnalyzer(analyzerOptions, threads);
  return new Verifier(analyzer, scoringSettings({ ...options, registry: analyzerOptions.registry }));
}
