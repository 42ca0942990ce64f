/**
 * Galleries with `MODEL=accurate` (MobileFaceNet + dlib, src/pipeline/ensemble-embedder.ts): search and
 * verify-against-a-subject must score a photo exactly as /verify scores the same two photos — the
 * fused score Σ wᵢ·cosᵢ of the members, at the ensemble's threshold — not the plain cosine of one
 * member. Real LFW photos, the embedded store in a temporary folder. If this fails, a gallery of the
 * `accurate` model answers other matches than /verify would for the same photos.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cosineSimilarity } from '../../../src/core/similarity.js';
import { createGalleryStore } from '../../../src/gallery/create-gallery-store.js';
import { searchGallery, verifySubject } from '../../../src/gallery/gallery-scoring.js';
import type { GalleryStore } from '../../../src/gallery/gallery-store.js';
import { ACCURATE } from '../../../src/models/builtin.js';
import { ModelRegistry } from '../../../src/models/registry.js';
import type { FaceAnalysis } from '../../../src/pipeline/face-analysis.js';
import { describeWithFaces, facePath } from '../../support/faces.js';
import { useVerifier } from '../../support/verifier.js';

const lfw = (name: string, n: number): Buffer =>
  readFileSync(facePath(`lfw/images/${name}/${name}_${String(n).padStart(4, '0')}.jpg`));

const verifier = useVerifier({ model: 'accurate' });
let dataDir: string;
let store: GalleryStore;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fv-gallery-accurate-'));
  store = createGalleryStore({ dataDir });
  await store.open();
});

afterAll(async () => {
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The fused score from the members' parts of two fused embeddings (unit parts scaled by √w). */
function fusedFromMembers(a: Float32Array, b: Float32Array): number {
  let at = 0;
  let sum = 0;
  for (const { model, weight } of ACCURATE.members) {
    const size = new ModelRegistry().embedder(model).embeddingSize;
    sum += weight * cosineSimilarity(a.subarray(at, at + size), b.subarray(at, at + size));
    at += size;
  }
  return sum;
}

describeWithFaces('a gallery of the accurate model', () => {
  it('searches and verifies with the fused score and threshold /verify uses', async () => {
    const v = verifier();
    expect(v.model.name).toBe('accurate');
    expect(v.model.embeddingSize).toBe(320);
    const analyse = (bytes: Buffer): Promise<FaceAnalysis> => v.analyze(bytes, { facePolicy: 'center' });
    const bush = [lfw('George_W_Bush', 7), lfw('George_W_Bush', 16)] as const;
    const powell = [lfw('Colin_Powell', 40), lfw('Colin_Powell', 49)] as const;
    for (const [subject, bytes] of [
      ['bush', bush[0]],
      ['powell', powell[0]],
    ] as const) {
      const a = await analyse(bytes);
      await store.enrol({
        gallery: 'g',
        subject,
        modelId: a.modelId,
        embedding: a.embedding,
        face: a.face,
        actor: 't',
      });
    }

    for (const [probe, own, other] of [
      [bush[1], bush[0], powell[0]],
      [powell[1], powell[0], bush[0]],
    ] as const) {
      const analysis = await analyse(probe);
      const found = await searchGallery(v, store, {
        gallery: 'g',
        analysis,
        limit: 5,
        threshold: -1,
        actor: 't',
      });
      expect(found.matches).toHaveLength(2);
      for (const [match, enrolled] of [
        [found.matches[0], own],
        [found.matches[1], other],
      ] as const) {
        const r = await v.verify(probe, enrolled, { facePolicy: 'center' });
        // Same number as /verify (rounded to 6 places both; float32 vs float64 sums differ by < 1e-6).
        expect(Math.abs((match?.cosine_similarity ?? NaN) - r.metrics.cosine_similarity)).toBeLessThan(2e-6);
        expect(match?.confidence).toBeCloseTo(r.confidence, 3);
        const fused = fusedFromMembers(analysis.embedding, (await analyse(enrolled)).embedding);
        expect(match?.cosine_similarity).toBeCloseTo(fused, 5);
      }
      // At the default threshold, search answers the person /verify matches, with accurate's threshold.
      const answered = await searchGallery(v, store, { gallery: 'g', analysis, limit: 1, actor: 't' });
      expect(answered.threshold).toBe(ACCURATE.threshold);
      const sameVerify = await v.verify(probe, own, { facePolicy: 'center' });
      expect(answered.matches.length === 1).toBe(sameVerify.is_match);
      const subject = own === bush[0] ? 'bush' : 'powell';
      const bySubject = await verifySubject(v, store, { gallery: 'g', subject, analysis, actor: 't' });
      expect(bySubject.is_match).toBe(sameVerify.is_match);
      expect(bySubject.metrics).toEqual(sameVerify.metrics);
      expect(bySubject.threshold.cosine_similarity).toBe(ACCURATE.threshold);
    }
  });
});
