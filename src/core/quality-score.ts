/**
 * The overall face-quality score: how likely a comparison with this face is answered right at the
 * model's shipped threshold. A logistic model fitted on the robustness benchmark's per-pair records
 * (degraded LFW, src/eval/run-degrade.ts: 44 kinds of photo, seed 1) and checked on held-out pairs
 * (docs/quality.md, "The overall score").
 *
 * Why not the measures' bounds (src/core/face-quality.ts): they say what is unusual about a photo
 * (dark, small, turned away), not what it costs. A dark face is unusual but mostly answered right; a
 * masked, heavily compressed or noisy one looks ordinary to them and is often answered wrong: ranked
 * by the bounds, refusing the worst 10 % of degraded photos removed 5 % of the wrong answers. The
 * embedding model's raw output norm is its own confidence (MagFace, Meng et al. 2021: a recognition
 * network's feature norm falls with how recognisable the face is) and removes 58 % on held-out pairs.
 * Of the other measures only darkness added anything: a dark face has a lower norm without being
 * answered wrong more often, so darkness is credited back. Sharpness, contrast, face size, pose and the
 * chroma shift were tried and added nothing on held-out pairs.
 *
 * The norm is on MobileFaceNet's scale (about 70 on plain LFW), so the score exists only for models
 * whose norm is MobileFaceNet's (`mobilefacenet`, and `accurate` through its first member); for other
 * models the level comes from the measures' bounds and there is no score.
 */
import type { QualityLevel } from './face-quality.js';

/** What the score reads. */
export interface ScoreInputs {
  /** Mean luma of the face region, 0–255 (`quality.brightness`). */
  brightness: number;
  /** The embedder's raw output norm (`quality.embedding_norm`). */
  embedding_norm: number;
}

export interface QualityScoreModel {
  /** logit P(wrong) = bias + darkness · max(0, 80 − brightness) / 40 + norm · embedding_norm / 10. */
  bias: number;
  darkness: number;
  norm: number;
  /** Below this score a face is `low` (what QUALITY_FILTER=medium refuses). */
  low: number;
  /** Below this score a face is at most `medium` (QUALITY_FILTER=high refuses it). */
  medium: number;
  /** Below this score QUALITY_FILTER=low refuses a face (only the worst). */
  worst: number;
  fittedOn: string;
}

/**
 * Fitted on the even-numbered pairs of `faceverify eval --degrade --seed 1 --pairs-per-row 300` (all 44
 * rows, 6100 scored pairs, 170 wrong) with MobileFaceNet at 0.3989; cuts from the undegraded photos of
 * the same run (593 plain LFW photos): `low` catches 4 of them (0.7 %), `medium` 27 (4.6 %), `worst` none.
 */
export const MOBILEFACENET_SCORE: QualityScoreModel = {
  bias: 5.3301,
  darkness: -1.754,
  norm: -1.516,
  low: 0.85,
  medium: 0.96,
  worst: 0.6,
  fittedOn: 'eval --degrade seed 1, 300 pairs per row, even pairs; mobilefacenet at 0.3989',
};

/**
 * The score: the estimated probability that a comparison with this face is answered right, 0–1.
 *
 * @example
 * recognitionScore({ brightness: 130, embedding_norm: 70 }, MOBILEFACENET_SCORE); // ≈ 0.996
 */
export function recognitionScore(m: ScoreInputs, model: QualityScoreModel): number {
  const darkness = Math.max(0, 80 - m.brightness) / 40;
  const logit = model.bias + model.darkness * darkness + (model.norm * m.embedding_norm) / 10;
  return 1 / (1 + Math.exp(logit));
}

/**
 * The level for a score.
 *
 * @example
 * scoreLevel(0.5, MOBILEFACENET_SCORE); // 'low'
 */
export function scoreLevel(score: number, model: QualityScoreModel): QualityLevel {
  return score < model.low ? 'low' : score < model.medium ? 'medium' : 'high';
}

/**
 * The score model for an embedding model, if its norm is on a fitted scale.
 *
 * @example
 * scoreModelFor('accurate') === MOBILEFACENET_SCORE; // true
 * scoreModelFor('facenet-vggface2'); // undefined: the level comes from the bounds
 */
export function scoreModelFor(model: string): QualityScoreModel | undefined {
  return model === 'mobilefacenet' || model === 'accurate' ? MOBILEFACENET_SCORE : undefined;
}
