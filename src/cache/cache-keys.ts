/**
 * Cache keys for the embedding and result caches. A key is the sha256 hex digest of a canonical string
 * built from content hashes and settings, so it never contains image bytes, URLs or anything else a
 * caller sent: a leaked key list reveals only that some image was processed, not which.
 *
 * The canonical string is a JSON array in a fixed order (JSON gives one spelling per number and string)
 * and starts with a tag and a version: bump the version when what a cached value means changes, and old
 * entries simply stop being found.
 */
import { createHash } from 'node:crypto';

export interface EmbeddingKeyInput {
  /** sha256 hex of the image file's bytes. */
  imageSha256: string;
  /**
   * Everything else that makes two analyses of the same bytes equal: the model's id (with its weights'
   * hash), the settings and the analysis schema (`analysisIdentity()` in src/pipeline/analysis-identity.ts).
   */
  analysis: string;
}

export interface ResultKeyInput {
  /** sha256 hex of the first image's bytes. */
  sha1: string;
  /** sha256 hex of the second image's bytes. */
  sha2: string;
  /** As {@link EmbeddingKeyInput.analysis}. */
  analysis: string;
  /** What decides `is_match` besides the embeddings: the threshold in force and any minimum confidence. */
  scoring: { threshold: number; minConfidence?: number | undefined };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * sha256 of some bytes as lowercase hex.
 *
 * @example
 * sha256Hex(Buffer.from('abc')); // 'ba7816bf…15ad'
 */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Refuses anything but a content hash, so raw input can't end up in a key's canonical string. */
function contentHash(label: string, value: string): string {
  const lower = value.toLowerCase();
  if (!SHA256_HEX.test(lower)) throw new TypeError(`${label} must be a sha256 hex digest`);
  return lower;
}

/**
 * The embedding cache's key for one image under one model and its settings.
 *
 * @example
 * embeddingKey({ imageSha256: sha256Hex(bytes), analysis: analysisIdentity(analyzer, 'strict') });
 */
export function embeddingKey(input: EmbeddingKeyInput): string {
  const canonical = ['embedding/v2', contentHash('imageSha256', input.imageSha256), input.analysis];
  return sha256Hex(JSON.stringify(canonical));
}

/**
 * Whether (sha1, sha2) is already in the order `resultKey` uses. The key is the same for both orders,
 * but a cached result lists per-image fields (`faces`) in that canonical order: store results in it and
 * swap those fields back on a hit when this is false.
 */
export function isCanonicalPairOrder(sha1: string, sha2: string): boolean {
  return contentHash('sha1', sha1) <= contentHash('sha2', sha2);
}

/**
 * The result cache's key for a pair of images; the same for (a, b) and (b, a).
 *
 * @example
 * resultKey({ sha1, sha2, analysis: analysisIdentity(analyzer, 'strict'), scoring: { threshold: 0.42 } });
 */
export function resultKey(input: ResultKeyInput): string {
  const a = contentHash('sha1', input.sha1);
  const b = contentHash('sha2', input.sha2);
  const { threshold, minConfidence } = input.scoring;
  const canonical = [
    'result/v2',
    a <= b ? a : b,
    a <= b ? b : a,
    input.analysis,
    threshold,
    minConfidence ?? null,
  ];
  return sha256Hex(JSON.stringify(canonical));
}
