// Time budget: string parsing of a few lines (< 5 ms).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { lfwImagePath, parseLfwPairs } from '../../../src/eval/lfw-pairs.js';

// Two folds of two matched + two mismatched pairs, tab-separated like the official pairs.txt.
const VIEW2 = [
  '2\t2',
  'Abel_Pacheco\t1\t4',
  'Akhmed_Zakayev\t1\t3',
  'AJ_Cook\t1\tMarsha_Thomason\t1',
  'Aaron_Sorkin\t2\tFrank_Keating\t12',
  'Ann_Veneman\t10\t11',
  'Anna_Kournikova\t2\t12',
  'Abdullah\t1\tCharlie_Coles\t1',
  'Zhu_Rongji\t3\tJohn_Rowland\t2',
  '',
].join('\n');

function expectInvalid(text: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    parseLfwPairs(text, 'img');
  } catch (err) {
    caught = err;
  }
  expect(caught, 'malformed input must be refused, not parsed into shifted folds').toBeInstanceOf(
    FaceVerifyError,
  );
  expect((caught as FaceVerifyError).code).toBe('INVALID_INPUT');
  expect((caught as FaceVerifyError).message).toMatch(pattern);
}

describe('lfwImagePath', () => {
  it('zero-pads the image number to four digits (the file names are Name_%04d.jpg)', () => {
    expect(lfwImagePath('lfw', 'Abel_Pacheco', 4)).toBe(join('lfw', 'Abel_Pacheco', 'Abel_Pacheco_0004.jpg'));
    expect(lfwImagePath('lfw', 'George_W_Bush', 123)).toBe(
      join('lfw', 'George_W_Bush', 'George_W_Bush_0123.jpg'),
    );
  });
});

describe('parseLfwPairs', () => {
  it('reads View 2: folds in order, matched lines then mismatched lines in each fold', () => {
    const list = parseLfwPairs(VIEW2, 'img');
    expect(list.folds).toBe(2);
    expect(list.pairsPerClass).toBe(2);
    expect(list.pairs.map((p) => [p.fold, p.same])).toEqual([
      [0, true],
      [0, true],
      [0, false],
      [0, false],
      [1, true],
      [1, true],
      [1, false],
      [1, false],
    ]);
    expect(list.pairs[0]).toEqual({
      fold: 0,
      same: true,
      a: join('img', 'Abel_Pacheco', 'Abel_Pacheco_0001.jpg'),
      b: join('img', 'Abel_Pacheco', 'Abel_Pacheco_0004.jpg'),
      line: 2,
    });
    // A mismatched line names two people; image numbers go with the name before them.
    expect(list.pairs[3]).toMatchObject({
      a: join('img', 'Aaron_Sorkin', 'Aaron_Sorkin_0002.jpg'),
      b: join('img', 'Frank_Keating', 'Frank_Keating_0012.jpg'),
      line: 5,
    });
  });

  it('reads a View 1 file (header is one count) as a single fold', () => {
    const list = parseLfwPairs('1\nA_B\t1\t2\nA_B\t1\tC_D\t3\n', 'img');
    expect(list.folds).toBe(1);
    expect(list.pairs.map((p) => [p.fold, p.same])).toEqual([
      [0, true],
      [0, false],
    ]);
  });

  it('accepts spaces instead of tabs and CRLF line ends (copies of the file vary)', () => {
    const list = parseLfwPairs(VIEW2.replace(/\t/g, ' ').replace(/\n/g, '\r\n'), 'img');
    expect(list.pairs).toHaveLength(8);
    expect(list.pairs[2]!.b).toBe(join('img', 'Marsha_Thomason', 'Marsha_Thomason_0001.jpg'));
  });

  it('refuses a file with fewer or more lines than the header promises', () => {
    expectInvalid(VIEW2.split('\n').slice(0, 8).join('\n'), /promises .* 8 lines, found 7/);
    expectInvalid(`${VIEW2}X\t1\t2\n`, /found 9/);
  });

  it('refuses a mismatched line where a matched one belongs (a shifted fold)', () => {
    const lines = VIEW2.split('\n');
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    expectInvalid(lines.join('\n'), /line 3: fold 1 expects a matched pair/);
  });

  it('refuses non-numeric or zero image numbers and a bad header', () => {
    expectInvalid(VIEW2.replace('Abel_Pacheco\t1\t4', 'Abel_Pacheco\t1\tfour'), /line 2: the image number/);
    expectInvalid(VIEW2.replace('Abel_Pacheco\t1\t4', 'Abel_Pacheco\t0\t4'), /positive integer/);
    expectInvalid(`10\t300\t7\n${VIEW2}`, /line 1: expected a header/);
    expectInvalid('', /line 1/);
  });
});
