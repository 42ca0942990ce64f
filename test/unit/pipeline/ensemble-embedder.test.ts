/**
 * Score fusion as one embedding: the fused vectors have unit length and their cosine is exactly the
 * weighted sum of the members' cosines, so threshold, calibration and caches work unchanged.
 */
import { expect, it } from 'vitest';
import { cosineSimilarity, l2Normalize } from '../../../src/core/similarity.js';
import { ACCURATE } from '../../../src/models/builtin.js';
import type { Embedder, FaceToEmbed } from '../../../src/pipeline/embedder.js';
import { EnsembleEmbedder } from '../../../src/pipeline/ensemble-embedder.js';
import { prng } from '../../support/prng.js';

/** A member that returns fixed unit vectors (the fusion arithmetic is what is tested here). */
function member(size: number, vectors: Float32Array[]): Embedder {
  return {
    manifest: { embeddingSize: size },
    embed: (faces: readonly FaceToEmbed[]) =>
      Promise.resolve(faces.map((_, i) => vectors[i] as Float32Array)),
    embedWithNorms: (faces: readonly FaceToEmbed[]) =>
      Promise.resolve(faces.map((_, i) => ({ embedding: vectors[i] as Float32Array, norm: 1 }))),
    release: () => Promise.resolve(),
  } as unknown as Embedder;
}

it('fused cosine = Σ weightᵢ · cosᵢ, and fused vectors have unit length', async () => {
  const rand = prng(7);
  const unit = (n: number) => l2Normalize(Float32Array.from({ length: n }, () => rand() - 0.5));
  const [a1, b1, a2, b2] = [unit(192), unit(192), unit(128), unit(128)];
  const ensemble = new EnsembleEmbedder(ACCURATE, [
    { embedder: member(192, [a1, b1]), weight: 0.1417 },
    { embedder: member(128, [a2, b2]), weight: 0.8583 },
  ]);
  const faces = [{}, {}] as unknown as FaceToEmbed[];
  const [fa, fb] = await ensemble.embed(faces);
  expect(fa?.length).toBe(320);
  expect(Math.hypot(...(fa as Float32Array))).toBeCloseTo(1, 6);
  const expected = 0.1417 * cosineSimilarity(a1, b1) + 0.8583 * cosineSimilarity(a2, b2);
  expect(cosineSimilarity(fa as Float32Array, fb as Float32Array)).toBeCloseTo(expected, 6);
  expect(ensemble.manifest).toMatchObject({
    name: 'accurate',
    embeddingSize: 320,
    threshold: ACCURATE.threshold,
  });
});
