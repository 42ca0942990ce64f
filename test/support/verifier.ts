/** One verifier per test file (models load once; conversion is cached on disk across files). */
import { afterAll, beforeAll } from 'vitest';
import { Verifier, type VerifierOptions } from '../../src/pipeline/verifier.js';

export function useVerifier(options: Partial<VerifierOptions> = {}): () => Verifier {
  let verifier: Verifier | undefined;
  beforeAll(async () => {
    verifier = await Verifier.create(options);
  });
  afterAll(async () => {
    await verifier?.close();
  });
  return () => {
    if (!verifier) throw new Error('verifier not ready');
    return verifier;
  };
}
