/**
 * `faceverify eval --identify` as a user runs it (a child process of bin/faceverify.js) on a small LFW
 * folder: the first 8 people with 2–4 photos and the first 4 with one photo, linked (not copied) into
 * a temporary folder. Every figure is checked against a reference computed here without the gallery:
 * the same photos analysed in this thread, each probe compared with every enrolled face by
 * cosineSimilarity. If this fails, the CLI's ranks, its threshold decisions or its open-set counts
 * are not what a brute-force 1:N comparison gives.
 *
 * The second run uses the analyses the first one kept (--cache) and a threshold placed between two
 * non-mated probes' best scores, so exactly the ones above it must count as false positives.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cosineSimilarity } from '../../src/core/similarity.js';
import type { IdentifyReport } from '../../src/eval/run-identify.js';
import { describeWithFaces, facePath, HAVE_FACES } from '../support/faces.js';
import { useVerifier } from '../support/verifier.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/faceverify.js', import.meta.url).pathname;

let dir: string;
const people: { name: string; photos: string[] }[] = [];

beforeAll(() => {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm ci does it)');
  }
  dir = mkdtempSync(join(tmpdir(), 'fv-identify-'));
  mkdirSync(join(dir, 'images'));
  if (!HAVE_FACES) return;
  const root = facePath('lfw/images');
  let several = 0;
  let single = 0;
  for (const name of readdirSync(root).sort()) {
    const photos = readdirSync(join(root, name)).sort();
    const take = photos.length === 1 ? single < 4 : photos.length <= 4 && several < 8;
    if (!take) continue;
    if (photos.length === 1) single++;
    else several++;
    symlinkSync(join(root, name), join(dir, 'images', name), 'dir');
    people.push({ name, photos: photos.map((f) => join(root, name, f)) });
    if (several === 8 && single === 4) break;
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const verifier = useVerifier();

async function identify(...extra: string[]): Promise<IdentifyReport> {
  const { stdout } = await run(
    process.execPath,
    [BIN, 'eval', '--identify', '--images', join(dir, 'images'), '--json', ...extra],
    { timeout: 240_000, env: { ...process.env, INFERENCE_THREADS: '0', MODEL: 'mobilefacenet' } },
  );
  return JSON.parse(stdout) as IdentifyReport;
}

/** Best score of each enrolled subject for an embedding, best first (the brute-force reference). */
function ranked(
  probe: Float32Array,
  gallery: Map<string, Float32Array>,
): { subject: string; score: number }[] {
  return [...gallery]
    .map(([subject, e]) => ({ subject, score: cosineSimilarity(probe, e) }))
    .sort((a, b) => b.score - a.score);
}

describeWithFaces('faceverify eval --identify', () => {
  // Two CLI runs and 25 analyses here: ~10 s at load 12, so more than the default guard under load 20.
  it(
    'computes ranks, threshold decisions and the open-set figures as brute force does',
    { timeout: 300_000 },
    async () => {
      const cache = join(dir, 'analyses.jsonl');
      const first = await identify('--cache', cache, '--out', join(dir, 'report'));

      // The reference: the same photos, the same analysis (face policy center), no gallery.
      const v = verifier();
      const analyse = async (path: string): Promise<Float32Array | null> => {
        try {
          return (await v.analyze(readFileSync(path), { facePolicy: 'center' })).embedding;
        } catch {
          return null;
        }
      };
      const gallery = new Map<string, Float32Array>();
      const mated: { subject: string; embedding: Float32Array | null }[] = [];
      const nonMated: (Float32Array | null)[] = [];
      for (const p of people) {
        const [enrol, ...rest] = p.photos as [string, ...string[]];
        if (rest.length === 0) {
          nonMated.push(await analyse(enrol));
          continue;
        }
        const e = await analyse(enrol);
        if (e) gallery.set(p.name, e);
        for (const path of rest) mated.push({ subject: p.name, embedding: await analyse(path) });
      }
      const threshold = first.threshold.cosine_similarity;
      // The default search threshold is raised for the gallery's size (SEARCH_FPIR 1 %), above the
      // verification threshold, and says for how many subjects.
      expect(first.threshold.source).toBe('open-set');
      expect(first.threshold.openSet).toEqual({ fpir: 0.01, subjects: gallery.size });
      expect(threshold).toBeGreaterThan(v.scoring.threshold());
      let rank1 = 0;
      let rank5 = 0;
      let atThreshold = 0;
      for (const m of mated) {
        if (!m.embedding) continue;
        const r = ranked(m.embedding, gallery);
        const own = r.findIndex((c) => c.subject === m.subject);
        if (own === 0) rank1++;
        if (own >= 0 && own < 5) rank5++;
        if (own === 0 && (r[0]?.score ?? -2) >= threshold) atThreshold++;
      }
      const best = nonMated.flatMap((e) => (e ? [ranked(e, gallery)[0]?.score ?? -2] : []));

      expect(first.counts).toMatchObject({
        people: 12,
        peopleEnrolled: gallery.size,
        singlePhotoPeople: 4,
        matedProbes: mated.length,
        nonMatedProbes: 4,
        images: people.reduce((n, p) => n + p.photos.length, 0),
      });
      expect(first.metrics.mated.hits).toEqual({ rank1, rank5, rank1AtThreshold: atThreshold });
      // Real LFW photos of 8 people: most probes find their person (a broken search would not).
      expect(rank1).toBeGreaterThan(mated.length / 2);
      expect(first.metrics.nonMated.falsePositivesAtThreshold).toBe(
        best.filter((s) => s >= threshold).length,
      );

      // probes.csv: each mated probe's first answer is the brute-force one, to the answer's rounding.
      const rows = readFileSync(join(dir, 'report', 'probes.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      expect(rows).toHaveLength(mated.length + 4);
      mated.forEach((m, i) => {
        const [, subject, , , topSubject, topScore] = (rows[i] as string).split(',');
        expect(subject).toBe(m.subject);
        if (!m.embedding) return;
        const top = ranked(m.embedding, gallery)[0];
        expect(topSubject).toBe(top?.subject);
        expect(Number(topScore)).toBeCloseTo(top?.score ?? NaN, 5);
      });

      // Second run: from the cache, at a threshold between the 2nd and 3rd best non-mated scores.
      const sorted = [...best].sort((a, b) => b - a);
      expect(sorted.length).toBeGreaterThanOrEqual(3);
      const between = ((sorted[1] as number) + (sorted[2] as number)) / 2;
      const second = await identify('--cache', cache, '--threshold', String(between));
      expect(second.counts.analysesFromCache).toBe(second.counts.images);
      expect(second.threshold).toMatchObject({ cosine_similarity: between, source: 'configured' });
      expect(second.metrics.nonMated.falsePositivesAtThreshold).toBe(
        sorted.filter((s) => s >= between).length,
      );
      expect(second.metrics.mated.rank1).toBe(first.metrics.mated.rank1);
      expect(second.metrics.mated.rank5).toBe(first.metrics.mated.rank5);
    },
  );
});
