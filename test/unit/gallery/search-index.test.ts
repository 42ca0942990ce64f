// SearchIndex against a brute-force reference on seeded random vectors: the same subjects, faces and
// scores (to float32 rounding), through adds, swap-removes and growth.
import { describe, expect, it } from 'vitest';
import { SearchIndex } from '../../../src/gallery/search-index.js';
import type { SearchHit } from '../../../src/gallery/search-index.js';
import { prng } from '../../support/prng.js';

function unit(random: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let j = 0; j < dim; j++) s += (v[j] = random() - 0.5) ** 2;
  for (let j = 0; j < dim; j++) v[j] = (v[j] as number) / Math.sqrt(s);
  return v;
}

interface Face {
  id: string;
  subject: string;
  v: Float32Array;
}

/** The definition: every face scored in float64, best face per subject, sorted, cut. */
function bruteForce(faces: Face[], probe: Float32Array, limit: number, threshold: number): SearchHit[] {
  const best = new Map<string, SearchHit>();
  for (const f of faces) {
    let score = 0;
    for (let j = 0; j < probe.length; j++) score += (f.v[j] as number) * (probe[j] as number);
    const held = best.get(f.subject);
    if (score >= threshold && (!held || score > held.score))
      best.set(f.subject, { subject: f.subject, faceId: f.id, score });
  }
  return [...best.values()].sort((a, b) => b.score - a.score).slice(0, limit);
}

function expectSame(actual: SearchHit[], expected: SearchHit[]): void {
  expect(actual.map((h) => [h.subject, h.faceId])).toEqual(expected.map((h) => [h.subject, h.faceId]));
  actual.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]?.score ?? NaN, 5));
}

describe('SearchIndex', () => {
  it.each([192, 128, 5])('matches brute force at dimension %i through adds, removes and growth', (dim) => {
    // Wrong if it fails: the unrolled loop skips components (dimensions not divisible by 4), a
    // swap-remove leaves a stale row, or growth loses rows.
    const random = prng(dim);
    const index = new SearchIndex(dim, 4);
    let faces: Face[] = [];
    for (let i = 0; i < 600; i++) {
      const subject = `s${Math.floor(random() * 150)}`;
      const face = { id: `f${i}`, subject, v: unit(random, dim) };
      faces.push(face);
      index.add(face.id, face.subject, face.v);
    }
    // Remove every third face and two whole subjects.
    for (const f of faces.filter((_, i) => i % 3 === 0)) expect(index.remove(f.id)).toBe(true);
    const removedSubjects = ['s7', 's42'];
    const subjectFaces = faces.filter((f, i) => i % 3 !== 0 && removedSubjects.includes(f.subject)).length;
    expect(removedSubjects.reduce((n, s) => n + index.removeSubject(s), 0)).toBe(subjectFaces);
    faces = faces.filter((f, i) => i % 3 !== 0 && !removedSubjects.includes(f.subject));
    expect(index.size).toBe(faces.length);
    // Both parities of the size: the scan takes rows two at a time and the last one alone.
    for (let q = 0; q < 20; q++) {
      if (q === 10) {
        const dropped = faces.pop() as Face;
        expect(index.remove(dropped.id)).toBe(true);
      }
      // Half the probes are near an enrolled face, so thresholds keep some matches.
      const target = faces[Math.floor(random() * faces.length)] as Face;
      const probe =
        q % 2 ? unit(random, dim) : target.v.map((x, j) => x + 0.02 * ((random() - 0.5) * (j % 3)));
      for (const [limit, threshold] of [
        [5, -1],
        [3, 0.2],
        [50, 0.05],
        [0, -1],
      ] as const) {
        expectSame(index.search(probe, { limit, threshold }), bruteForce(faces, probe, limit, threshold));
      }
    }
  });

  it('counts subjects, not faces, through adds, repeated adds and removals (the open-set threshold uses it)', () => {
    const random = prng(7);
    const index = new SearchIndex(8);
    index.add('a1', 'ana', unit(random, 8));
    index.add('a2', 'ana', unit(random, 8));
    index.add('a2', 'ana', unit(random, 8));
    index.add('b1', 'ben', unit(random, 8));
    index.add('c1', 'cy', unit(random, 8));
    expect([index.size, index.subjectCount]).toEqual([4, 3]);
    index.remove('a1');
    expect(index.subjectCount).toBe(3);
    index.remove('a2');
    expect(index.subjectCount).toBe(2);
    index.removeSubject('cy');
    expect([index.size, index.subjectCount]).toEqual([1, 1]);
    expect(index.remove('nobody')).toBe(false);
    expect(index.subjectCount).toBe(1);
  });

  it('normalises what it is given, ignores a repeated add, and honours exclude', () => {
    // Wrong if it fails: an unnormalised embedding would score above 1, a replayed enrol notification
    // would index a face twice, or a face known deleted would still be returned.
    const index = new SearchIndex(3);
    index.add('a', 'alice', new Float32Array([3, 0, 4]));
    index.add('a', 'alice', new Float32Array([0, 1, 0]));
    index.add('b', 'bob', new Float32Array([0, 0, 1]));
    expect(index.size).toBe(2);
    const probe = new Float32Array([0.6, 0, 0.8]);
    expect(index.search(probe, { limit: 5, threshold: 0.7 })).toEqual([
      { subject: 'alice', faceId: 'a', score: expect.closeTo(1, 6) as number },
      { subject: 'bob', faceId: 'b', score: expect.closeTo(0.8, 6) as number },
    ]);
    expect(
      index.search(probe, { limit: 5, threshold: 0.7, exclude: new Set(['a']) }).map((h) => h.faceId),
    ).toEqual(['b']);
    expect(index.remove('zzz')).toBe(false);
    expect(() => index.search(new Float32Array(4), { limit: 1, threshold: 0 })).toThrow(RangeError);
    expect(() => index.add('c', 'c', new Float32Array(2))).toThrow(RangeError);
  });
});
