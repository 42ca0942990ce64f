/**
 * Verify-against-a-subject and search answers, scored by the verifier's Scoring exactly as /verify is
 * scored (threshold choice, MIN_CONFIDENCE_THRESHOLD, calibrated confidence). Shared by the HTTP routes
 * and the CLI so both answer the same.
 */
import { FaceVerifyError } from '../errors.js';
import type { Comparison, SearchThreshold } from '../core/scoring.js';
import { PRECISION, roundTo } from '../core/scoring.js';
import type { FaceAnalysis } from '../pipeline/face-analysis.js';
import type { Verifier } from '../pipeline/verifier.js';
import type { Actor, GalleryStore } from './gallery-store.js';

export interface SubjectComparison extends Comparison {
  subject: string;
  matched_face_id: string;
}

export interface ScoredMatch {
  subject: string;
  face_id: string;
  cosine_similarity: number;
  confidence: number;
}

/**
 * The photo against each of the subject's faces; the closest face decides.
 *
 * @example
 * const r = await verifySubject(verifier, store, { gallery: 'staff', subject: 'ana', analysis, actor: 'cli' });
 * r.is_match; r.matched_face_id;
 */
export async function verifySubject(
  verifier: Verifier,
  store: GalleryStore,
  input: { gallery: string; subject: string; analysis: FaceAnalysis; threshold?: number; actor: Actor },
): Promise<SubjectComparison> {
  const { gallery, subject, analysis } = input;
  const templates = await store.subjectTemplates(gallery, subject, input.actor);
  const foreign = templates.find((t) => t.model !== analysis.modelId);
  if (foreign) {
    throw new FaceVerifyError(
      'MODEL_MISMATCH',
      `Subject "${subject}" was enrolled with ${foreign.model}, the photo analysed with ${analysis.modelId}`,
      { gallery, gallery_model: foreign.model, model: analysis.modelId },
    );
  }
  let best: { comparison: Comparison; faceId: string } | undefined;
  for (const t of templates) {
    const comparison = verifier.scoring.compare(analysis.embedding, t.embedding, input.threshold);
    if (!best || comparison.metrics.cosine_similarity > best.comparison.metrics.cosine_similarity) {
      best = { comparison, faceId: t.face_id };
    }
  }
  if (!best) throw new FaceVerifyError('SUBJECT_NOT_FOUND', `Subject "${subject}" has no faces`);
  return { ...best.comparison, subject, matched_face_id: best.faceId };
}

/**
 * The closest subjects at or above the threshold, best first, one per subject; `matches: []` means an
 * unknown person. The threshold is the one given, else the verification threshold raised for the
 * gallery's size so that an unknown person is matched to someone with probability at most `fpir`
 * (SEARCH_FPIR; see src/core/open-set.ts).
 */
export async function searchGallery(
  verifier: Verifier,
  store: GalleryStore,
  input: {
    gallery: string;
    analysis: FaceAnalysis;
    limit?: number;
    threshold?: number;
    fpir?: number;
    actor: Actor;
  },
): Promise<{ matches: ScoredMatch[]; threshold: number; choice: SearchThreshold }> {
  const subjects = input.threshold === undefined ? await store.subjectCount(input.gallery) : 0;
  const choice = verifier.scoring.searchThreshold(subjects, input.fpir ?? 0, input.threshold);
  const threshold = choice.threshold;
  const found = await store.search({
    gallery: input.gallery,
    modelId: input.analysis.modelId,
    embedding: input.analysis.embedding,
    limit: input.limit ?? 5,
    threshold,
    actor: input.actor,
  });
  // decide() also applies MIN_CONFIDENCE_THRESHOLD, as /verify does.
  const matches = found
    .filter((m) => verifier.scoring.decide(m.cosine_similarity, threshold))
    .map((m) => ({
      subject: m.subject,
      face_id: m.face_id,
      cosine_similarity: roundTo(m.cosine_similarity, PRECISION.metric),
      confidence: roundTo(verifier.scoring.confidence(m.cosine_similarity), PRECISION.confidence),
    }));
  return { matches, threshold, choice };
}
