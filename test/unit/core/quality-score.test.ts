/**
 * The overall quality score: a probability that falls with the embedding norm, credits darkness back,
 * orders the levels, and exists only for the models whose norm it was fitted on. A failure means the
 * fitted model no longer means what docs/quality.md says.
 * Time budget: microseconds.
 */
import { describe, expect, it } from 'vitest';
import {
  MOBILEFACENET_SCORE as M,
  recognitionScore,
  scoreLevel,
  scoreModelFor,
} from '../../../src/core/quality-score.js';

describe('recognitionScore', () => {
  it('rates a plain LFW face (norm ~70, brightness ~130) high and a weak response (norm 35) low', () => {
    expect(scoreLevel(recognitionScore({ brightness: 130, embedding_norm: 70 }, M), M)).toBe('high');
    expect(scoreLevel(recognitionScore({ brightness: 130, embedding_norm: 35 }, M), M)).toBe('low');
  });

  it('is the logistic of the fitted terms', () => {
    const logit = M.bias + M.darkness * ((80 - 40) / 40) + (M.norm * 50) / 10;
    expect(recognitionScore({ brightness: 40, embedding_norm: 50 }, M)).toBeCloseTo(
      1 / (1 + Math.exp(logit)),
      12,
    );
  });

  it('credits a dark face back for the norm it loses to darkness alone', () => {
    const lit = recognitionScore({ brightness: 130, embedding_norm: 55 }, M);
    expect(recognitionScore({ brightness: 30, embedding_norm: 55 }, M)).toBeGreaterThan(lit);
    // Brightness above 80 does not count.
    expect(recognitionScore({ brightness: 200, embedding_norm: 55 }, M)).toBe(lit);
  });

  it('exists only where the norm is MobileFaceNet’s', () => {
    expect(scoreModelFor('mobilefacenet')).toBe(M);
    expect(scoreModelFor('accurate')).toBe(M);
    expect(scoreModelFor('facenet-vggface2')).toBeUndefined();
  });
});

describe('scoreLevel', () => {
  it('orders the levels by score, the worst cut below low below medium', () => {
    expect(scoreLevel(M.low - 1e-6, M)).toBe('low');
    expect(scoreLevel(M.low, M)).toBe('medium');
    expect(scoreLevel(M.medium, M)).toBe('high');
    expect(M.worst).toBeLessThan(M.low);
    expect(M.low).toBeLessThan(M.medium);
  });
});
