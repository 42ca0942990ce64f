/**
 * Quality-fit benchmark, stage 1 of 2 (not a test): runs LFW View 2 pairs through the real pipeline
 * (default model, in this thread) with the second photo as it is, degraded (bench/quality/degrade.ts)
 * or with a drawn surgical mask (bench/quality/draw-mask.ts), and stores every face's quality measures,
 * occlusion candidates and the pair's cosine in bench/results/tmp/quality-records.json. Stage 2,
 * bench/quality-fit.ts, reads that file (fast, so thresholds can be tried again without the models).
 *
 *   npx tsx bench/quality-measure.ts [--fold 0] [--limit N]     # one fold (600 pairs) takes ~9 min on one core;
 *   run folds 0 and 1 side by side, one process each, before the fit
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cosineSimilarity } from '../src/core/similarity.js';
import { readLfwPairs } from '../src/eval/lfw-pairs.js';
import { FaceAnalyzer } from '../src/pipeline/face-analyzer.js';
import { numberArg } from './args.js';
import { FACES_DIR } from './faces-dir.js';
import { DEGRADATIONS } from './quality/degrade.js';
import { drawMask } from './quality/draw-mask.js';
import { measureFace, type Outcome } from './quality/measure-face.js';
import { recordsFile, type PairRecord } from './quality/records.js';

async function main(): Promise<void> {
  const fold = numberArg('fold', 0);
  const limit = numberArg('limit', Infinity);
  const list = await readLfwPairs(join(FACES_DIR, 'lfw', 'pairs.txt'), join(FACES_DIR, 'lfw', 'images'));
  const pairs = list.pairs.filter((p) => p.fold === fold).slice(0, limit);
  const verifier = await FaceAnalyzer.create();
  const plain = new Map<string, Outcome>();
  const analyse = async (path: string): Promise<Outcome> => {
    let o = plain.get(path);
    if (!o) {
      o = await measureFace(verifier, await readFile(path));
      plain.set(path, o);
    }
    return o;
  };
  const records: PairRecord[] = [];
  const rel = (p: string): string => p.slice(FACES_DIR.length + 1);
  const t0 = performance.now();
  for (const [i, p] of pairs.entries()) {
    const [oa, ob] = [await analyse(p.a), await analyse(p.b)];
    const bBytes = await readFile(p.b);
    const variants: [string, () => Promise<Outcome>][] = [['plain', async () => ob]];
    for (const d of DEGRADATIONS) {
      variants.push([d.name, async () => measureFace(verifier, await d.apply(bBytes, 1000 + i))]);
    }
    if (ob.ok) {
      variants.push(['mask', async () => measureFace(verifier, await drawMask(bBytes, ob.m.landmarks))]);
    }
    for (const [kind, run] of variants) {
      const o = await run();
      const base = { fold: p.fold, same: p.same, kind, a: rel(p.a), b: rel(p.b) };
      if (!oa.ok) records.push({ ...base, error: `a:${oa.code}` });
      else if (!o.ok) records.push({ ...base, error: o.code, qa: oa.m });
      else records.push({ ...base, cos: cosineSimilarity(oa.embedding, o.embedding), qa: oa.m, qb: o.m });
    }
    if ((i + 1) % 50 === 0) {
      const s = (performance.now() - t0) / 1000;
      console.error(`${i + 1}/${pairs.length} pairs, ${s.toFixed(0)} s`);
    }
  }
  await verifier.close();
  await mkdir(dirname(recordsFile(fold)), { recursive: true });
  await writeFile(recordsFile(fold), JSON.stringify({ fold, date: new Date().toISOString(), records }));
  console.error(`wrote ${records.length} records to ${recordsFile(fold)}`);
}

await main();
