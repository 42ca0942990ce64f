/**
 * A file of per-image analyses, so that re-running an evaluation (another threshold, a fix in the
 * scoring, the report) does not analyse thousands of photos again. One JSON line per image:
 * `{ "key", "analysis" }` (the FaceAnalysis codec's bytes in base64) or `{ "key", "error": { code,
 * message } }` for a permanent `FaceVerifyError` (NO_FACE…). The key is the embedding cache's
 * (src/cache/cache-keys.ts): the image's sha256 and `analysisIdentity()` — model id with its weights'
 * hash, every analysis setting, the face policy and the schema's fingerprint — so an analysis made
 * under other settings or another model is never found, and one file can hold several models.
 *
 * Lines are appended as images finish; a run stopped half-way keeps what it had, and a torn last line
 * is ignored when the file is read again. Transient errors (a lost inference thread) are not kept.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { embeddingKey, sha256Hex } from '../cache/cache-keys.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import { decodeFaceAnalysis, encodeFaceAnalysis } from '../pipeline/face-analysis-codec.js';
import type { FaceAnalysis } from '../pipeline/face-analysis.js';

/** A kept outcome: the analysis, or the permanent error the image gave. */
export type CachedOutcome = { analysis: FaceAnalysis } | { error: { code: ErrorCode; message: string } };

interface Line {
  key: string;
  analysis?: string;
  error?: { code: ErrorCode; message: string };
}

const KNOWN_CODES = new Set<string>(Object.keys(ERROR_CATALOGUE));

/**
 * @example
 * const cache = await AnalysisFileCache.open('report/analyses.jsonl');
 * const key = cache.key(bytes, analysisIdentity(analyzer, 'center'));
 * cache.get(key) ?? (await cache.put(key, { analysis: await analyzer.analyze(bytes) }));
 */
export class AnalysisFileCache {
  private readonly entries = new Map<string, CachedOutcome>();
  /** Lookups answered from the file, and lookups that were not. */
  hits = 0;
  misses = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(readonly file: string) {}

  /** Reads the file if it exists (a torn or foreign line is skipped). */
  static async open(file: string): Promise<AnalysisFileCache> {
    const cache = new AnalysisFileCache(file);
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(file), { recursive: true });
    }
    // End a torn last line, so the next line appended starts on its own.
    if (text.length > 0 && !text.endsWith('\n')) await appendFile(file, '\n');
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // the torn last line of an interrupted run
      }
      if (line.analysis !== undefined) {
        cache.entries.set(line.key, { analysis: decodeFaceAnalysis(Buffer.from(line.analysis, 'base64')) });
      } else if (line.error && KNOWN_CODES.has(line.error.code)) {
        cache.entries.set(line.key, { error: line.error });
      }
    }
    return cache;
  }

  /** Analyses kept in the file. */
  get size(): number {
    return this.entries.size;
  }

  /** The key of an image's analysis under an analysis identity. */
  key(bytes: Uint8Array, identity: string): string {
    return embeddingKey({ imageSha256: sha256Hex(bytes), analysis: identity });
  }

  get(key: string): CachedOutcome | undefined {
    const found = this.entries.get(key);
    if (found) this.hits++;
    else this.misses++;
    return found;
  }

  /** Keeps an outcome, in memory at once and in the file in call order. */
  put(key: string, outcome: CachedOutcome): Promise<void> {
    this.entries.set(key, outcome);
    const line: Line =
      'analysis' in outcome
        ? { key, analysis: encodeFaceAnalysis(outcome.analysis).toString('base64') }
        : { key, error: outcome.error };
    this.writing = this.writing.then(() => appendFile(this.file, `${JSON.stringify(line)}\n`));
    return this.writing;
  }
}
