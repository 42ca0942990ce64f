/** The records bench/quality-measure.ts writes and bench/quality-fit.ts reads. */
import { join } from 'node:path';
import type { FaceMeasures } from './measure-face.js';

export interface PairRecord {
  fold: number;
  same: boolean;
  /** 'plain', a degradation's name, or 'mask'. */
  kind: string;
  a: string;
  b: string;
  cos?: number;
  /** Error code when a face could not be used (NO_FACE, FACE_TOO_SMALL, …). */
  error?: string;
  qa?: FaceMeasures;
  qb?: FaceMeasures;
}

/** Where one fold's records go (bench/results/tmp is not committed). */
export function recordsFile(fold: number): string {
  return join(import.meta.dirname, '..', 'results', 'tmp', `quality-records-fold${fold}.json`);
}
