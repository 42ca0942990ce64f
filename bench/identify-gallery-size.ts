/**
 * How the open-set figures of LFW identification depend on the gallery's size (not a test). Reads the
 * analyses that `faceverify eval --identify --cache FILE` kept (run that first, same MODEL), enrols
 * random subsets of N of the enrolled people (seeded, `--repeats` draws per size) in a SearchIndex —
 * the gallery's search — and answers, per size: the share of non-mated probes with someone at or above
 * the model's shipped threshold (FPIR), the threshold that gives 1 % FPIR, and the DIR there (mated
 * probes of the people drawn).
 *
 *   MODEL=accurate npx tsx bench/identify-gallery-size.ts --cache FILE [--images DIR] [--repeats 10]
 *
 * Writes bench/results/identify-gallery-size-<model>.json.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { loadConfig } from '../src/config/config.js';
import { AnalysisFileCache } from '../src/eval/analysis-cache.js';
import { thresholdForFpir } from '../src/eval/identification-metrics.js';
import { listPeople, planIdentification } from '../src/eval/run-identify.js';
import { seededSample } from '../src/eval/seeded-random.js';
import { SearchIndex } from '../src/gallery/search-index.js';
import { analysisIdentity } from '../src/pipeline/analysis-identity.js';
import { FaceAnalyzer } from '../src/pipeline/face-analyzer.js';
import { numberArg } from './args.js';
import { FACES_DIR } from './faces-dir.js';

const stringArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const SIZES = [10, 30, 100, 300, 1000];

const cacheFile = stringArg('cache');
if (!cacheFile) throw new Error('--cache FILE (from faceverify eval --identify --cache FILE) is required');
const images = stringArg('images') ?? `${FACES_DIR}/lfw/images`;
const repeats = numberArg('repeats', 10);
const config = loadConfig(process.env);
const analyzer = await FaceAnalyzer.create({ model: config.model });
const identity = analysisIdentity(analyzer, 'center');
const threshold = analyzer.model.threshold;
await analyzer.close();
const cache = await AnalysisFileCache.open(cacheFile);

async function embedding(path: string): Promise<Float32Array | null> {
  const kept = cache.get(cache.key(await readFile(path), identity));
  if (!kept) throw new Error(`${path} is not in the cache for ${identity}: run eval --identify first`);
  return 'analysis' in kept ? kept.analysis.embedding : null;
}

const plan = planIdentification(await listPeople(images));
const enrolled = new Map<string, Float32Array>();
for (const e of plan.enrol) {
  const v = await embedding(e.path);
  if (v) enrolled.set(e.subject, v);
}
// A probe without a face stays in (a miss), as in the eval's report.
const mated: { subject: string; v: Float32Array | null }[] = [];
for (const m of plan.mated) mated.push({ subject: m.subject, v: await embedding(m.path) });
const nonMated: Float32Array[] = [];
for (const n of plan.nonMated) {
  const v = await embedding(n.path);
  if (v) nonMated.push(v);
}
const subjects = [...enrolled.keys()];
const dim = analyzer.model.embeddingSize;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const rows = [];
for (const size of [...SIZES.filter((s) => s < subjects.length), subjects.length]) {
  const draws = size === subjects.length ? 1 : repeats;
  const fpirAt: number[] = [];
  const t1: number[] = [];
  const dir1: number[] = [];
  const rank1: number[] = [];
  for (let r = 0; r < draws; r++) {
    const drawn = size === subjects.length ? subjects : seededSample(subjects, size, 1000 * size + r);
    const index = new SearchIndex(dim, size);
    for (const s of drawn) index.add(s, s, enrolled.get(s) as Float32Array);
    const best = nonMated.map((v) => index.search(v, { limit: 1, threshold: -1 })[0]?.score ?? -1);
    // Non-mated probes without a face identify nobody but count in the denominator, as in the eval.
    fpirAt.push(best.filter((s) => s >= threshold).length / plan.nonMated.length);
    const t = thresholdForFpir(best, plan.nonMated.length, 0.01);
    t1.push(t);
    const inGallery = new Set(drawn);
    const probes = mated.filter((m) => inGallery.has(m.subject));
    const tops = probes.map((m) => ({
      m,
      top: m.v ? index.search(m.v, { limit: 1, threshold: -1 })[0] : undefined,
    }));
    rank1.push(tops.filter(({ m, top }) => top?.subject === m.subject).length / probes.length);
    dir1.push(
      tops.filter(({ m, top }) => top?.subject === m.subject && top.score >= t).length / probes.length,
    );
  }
  const row = {
    size,
    draws,
    fpirAtShippedThreshold: median(fpirAt),
    thresholdFor1PctFpir: median(t1),
    dirAt1PctFpir: median(dir1),
    rank1: median(rank1),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const out = {
  createdAt: new Date().toISOString(),
  model: analyzer.model.id,
  shippedThreshold: threshold,
  nonMatedProbes: plan.nonMated.length,
  loadAverage: loadavg(),
  rows,
};
await writeFile(
  `bench/results/identify-gallery-size-${analyzer.model.name}.json`,
  `${JSON.stringify(out, null, 2)}\n`,
);
