/**
 * The LFW pair lists (Huang et al. 2007, "Labeled Faces in the Wild", UMass TR 07-49, section 4).
 *
 * View 2, `pairs.txt`: a header `F N` (10 folds, 300 pairs per class per fold), then for each fold N
 * matched lines `name n1 n2` followed by N mismatched lines `name1 n1 name2 n2`.
 * View 1, `pairsDevTrain.txt` / `pairsDevTest.txt`: a header with one count `N`, then N matched and N
 * mismatched lines; it is read as a single fold.
 *
 * Fields are separated by tabs in the official files; any run of whitespace is accepted. Image numbers
 * are unpadded in the list and zero-padded to four digits in file names: `DIR/Name/Name_0001.jpg`.
 * Anything else (a wrong count, a matched line where a mismatched one belongs, a non-numeric image
 * number) is refused with `INVALID_INPUT` naming the line, because a silently shifted fold would
 * invalidate the cross-validation.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceVerifyError } from '../errors.js';

/** One pair of the list, with the image paths resolved against the images folder. */
export interface LfwPair {
  /** 0-based fold index (always 0 for View 1 files). */
  fold: number;
  /** True for a matched (same person) pair. */
  same: boolean;
  a: string;
  b: string;
  /** 1-based line number in the file, for error messages and reports. */
  line: number;
}

export interface LfwPairList {
  folds: number;
  /** Pairs per class per fold (300 in View 2). */
  pairsPerClass: number;
  pairs: LfwPair[];
}

/**
 * The path of image `n` of a person: `DIR/Name/Name_%04d.jpg`.
 *
 * @example
 * lfwImagePath('lfw/images', 'Abel_Pacheco', 4); // 'lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg'
 */
export function lfwImagePath(imagesDir: string, name: string, n: number): string {
  return join(imagesDir, name, `${name}_${String(n).padStart(4, '0')}.jpg`);
}

function malformed(line: number, message: string, source: string | undefined): FaceVerifyError {
  const where = source ? `${source}:${line}` : `line ${line}`;
  return new FaceVerifyError('INVALID_INPUT', `LFW pairs ${where}: ${message}`, { line, file: source });
}

function count(field: string | undefined, line: number, what: string, source: string | undefined): number {
  if (field === undefined || !/^\d+$/.test(field) || Number(field) <= 0) {
    throw malformed(line, `${what} must be a positive integer, got ${JSON.stringify(field ?? '')}`, source);
  }
  return Number(field);
}

/**
 * Parses an LFW pair list.
 *
 * @param text the file's contents
 * @param imagesDir the folder holding `Name/Name_0001.jpg`
 * @param source the file name, used in error messages only
 * @example
 * const { pairs } = parseLfwPairs('1\t1\nA\t1\t2\nA\t1\tB\t1\n', 'images');
 * pairs[1]; // { fold: 0, same: false, a: 'images/A/A_0001.jpg', b: 'images/B/B_0001.jpg', line: 3 }
 */
export function parseLfwPairs(text: string, imagesDir: string, source?: string): LfwPairList {
  const lines = text.split(/\r?\n/);
  // Trailing blank lines are common; blank lines anywhere else would shift a fold and are refused.
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const header = (lines[0] ?? '').trim().split(/\s+/);
  if (header.length > 2 || header[0] === '') {
    throw malformed(
      1,
      `expected a header "folds pairs" or "pairs", got ${JSON.stringify(lines[0] ?? '')}`,
      source,
    );
  }
  const folds = header.length === 2 ? count(header[0], 1, 'the number of folds', source) : 1;
  const pairsPerClass = count(header[header.length - 1], 1, 'the number of pairs', source);
  const expected = 1 + folds * 2 * pairsPerClass;
  if (lines.length !== expected) {
    throw malformed(
      Math.min(lines.length, expected) + 1, // the first missing or extra line
      `the header promises ${folds} fold(s) × 2 × ${pairsPerClass} pairs = ${expected - 1} lines, found ${lines.length - 1}`,
      source,
    );
  }
  const pairs: LfwPair[] = [];
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const k = i - 1;
    const fold = Math.floor(k / (2 * pairsPerClass));
    const same = k % (2 * pairsPerClass) < pairsPerClass;
    const f = lines[i]!.trim().split(/\s+/);
    if (same) {
      if (f.length !== 3) {
        throw malformed(
          lineNo,
          `fold ${fold + 1} expects a matched pair "name n1 n2" here, got ${f.length} fields`,
          source,
        );
      }
      const name = f[0]!;
      const n1 = count(f[1], lineNo, 'the image number', source);
      const n2 = count(f[2], lineNo, 'the image number', source);
      pairs.push({
        fold,
        same,
        a: lfwImagePath(imagesDir, name, n1),
        b: lfwImagePath(imagesDir, name, n2),
        line: lineNo,
      });
    } else {
      if (f.length !== 4) {
        throw malformed(
          lineNo,
          `fold ${fold + 1} expects a mismatched pair "name1 n1 name2 n2" here, got ${f.length} fields`,
          source,
        );
      }
      const n1 = count(f[1], lineNo, 'the image number', source);
      const n2 = count(f[3], lineNo, 'the image number', source);
      pairs.push({
        fold,
        same,
        a: lfwImagePath(imagesDir, f[0]!, n1),
        b: lfwImagePath(imagesDir, f[2]!, n2),
        line: lineNo,
      });
    }
  }
  return { folds, pairsPerClass, pairs };
}

/**
 * Reads and parses an LFW pair list from disk.
 *
 * @example
 * const list = await readLfwPairs('../shared/faces/lfw/pairs.txt', '../shared/faces/lfw/images');
 * list.pairs.length; // 6000
 */
export async function readLfwPairs(pairsFile: string, imagesDir: string): Promise<LfwPairList> {
  let text: string;
  try {
    text = await readFile(pairsFile, 'utf8');
  } catch (err) {
    throw new FaceVerifyError('INVALID_INPUT', `Cannot read the LFW pairs file ${pairsFile}`, undefined, {
      cause: err,
    });
  }
  return parseLfwPairs(text, imagesDir, pairsFile);
}
