/**
 * Quality-fit benchmark, stage 2 of 2 (not a test): reads the records of bench/quality-measure.ts and
 * prints, as markdown, what docs/quality.md reports:
 * - the pose calibration (frontal nose ratio) and quantiles of every measure on plain LFW photos;
 * - the levels the thresholds in src/core/face-quality.ts give on plain and degraded photos;
 * - the error-versus-reject curve on one-side-degraded pairs at the model's threshold;
 * - masks: the cosine of masked pairs and how well each occlusion candidate separates masked faces.
 * The summary also goes to bench/results/quality-fit.json.
 *
 *   npx tsx bench/quality-fit.ts [--folds 2]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_QUALITY_THRESHOLDS,
  qualityLevel,
  qualityScore,
  type QualityMeasures,
} from '../src/core/face-quality.js';
import { headPose } from '../src/core/head-pose.js';
import { MOBILEFACENET } from '../src/models/builtin.js';
import { numberArg } from './args.js';
import type { FaceMeasures } from './quality/measure-face.js';
import { recordsFile, type PairRecord } from './quality/records.js';

const folds = numberArg('folds', 2);
const records: PairRecord[] = [];
for (let f = 0; f < folds; f++) {
  const file = JSON.parse(await readFile(recordsFile(f), 'utf8')) as { records: PairRecord[] };
  records.push(...file.records);
}
const THRESHOLD = MOBILEFACENET.threshold;
const summary: Record<string, unknown> = { folds, pairs: records.length, threshold: THRESHOLD };

const pct = (x: number, d = 1): string => `${(100 * x).toFixed(d)} %`;
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))] as number;
};
const median = (xs: number[]): number => quantile(xs, 0.5);

function measures(m: FaceMeasures): QualityMeasures {
  return {
    sharpness: m.sharpness,
    brightness: m.brightness,
    contrast: m.contrast,
    interocular_px: m.interocular_px,
    occlusion: m.chromaShift,
    pose: headPose(m.landmarks),
  };
}

// ---- plain LFW photos (each distinct photo once) -------------------------------------------------
const plainFaces = new Map<string, FaceMeasures>();
for (const r of records) {
  if (r.qa) plainFaces.set(r.a, r.qa);
  if (r.kind === 'plain' && r.qb) plainFaces.set(r.b, r.qb);
}
const plain = [...plainFaces.values()];
console.log(
  `# Quality fit: ${records.length} records, LFW View 2 folds 0..${folds - 1}, ${plain.length} plain photos\n`,
);
console.log(
  `Frontal nose ratio (median of (nose − eye line) / (mouth line − eye line)): ${median(plain.map((m) => m.noseDown)).toFixed(3)}`,
);
console.log(
  `Nose side ratio: median ${median(plain.map((m) => m.noseSide)).toFixed(3)}, 5–95 % ${quantile(
    plain.map((m) => m.noseSide),
    0.05,
  ).toFixed(3)} … ${quantile(
    plain.map((m) => m.noseSide),
    0.95,
  ).toFixed(3)}\n`,
);

const qs = [0.001, 0.005, 0.01, 0.02, 0.05, 0.5, 0.95, 0.99, 0.999];
const field = (name: string, get: (m: FaceMeasures) => number): string =>
  `| ${name} | ${qs.map((q) => quantile(plain.map(get), q).toFixed(2)).join(' | ')} |`;
console.log(
  `| plain LFW | ${qs.map((q) => `${q * 100} %`).join(' | ')} |\n|---|${qs.map(() => '---').join('|')}|`,
);
console.log(field('sharpness', (m) => m.sharpness));
console.log(field('laplacian variance', (m) => m.laplacianVariance));
console.log(field('brightness', (m) => m.brightness));
console.log(field('contrast', (m) => m.contrast));
console.log(field('interocular px', (m) => m.interocular_px));
console.log(field('|yaw|', (m) => Math.abs(headPose(m.landmarks).yaw)));
console.log(field('|pitch|', (m) => Math.abs(headPose(m.landmarks).pitch)));
console.log(field('|roll|', (m) => Math.abs(headPose(m.landmarks).roll)));

// ---- levels per kind --------------------------------------------------------------------------------
const levelOf = (m: FaceMeasures) => qualityLevel(measures(m));
const kinds = [...new Set(records.map((r) => r.kind))];
const wrong = (r: PairRecord): boolean => r.cos !== undefined && r.cos >= THRESHOLD !== r.same;
console.log(
  '\n| second photo | no face | wrong (of found) | low | medium | top reasons | wrong caught by `low` |\n|---|---|---|---|---|---|---|',
);
const perKind: Record<string, unknown> = {};
for (const kind of kinds) {
  const rs = records.filter((r) => r.kind === kind && !r.error?.startsWith('a:'));
  const found = rs.filter((r) => r.qb);
  const levels = found.map((r) => levelOf(r.qb as FaceMeasures));
  const reasons = new Map<string, number>();
  for (const l of levels) for (const why of l.reasons) reasons.set(why, (reasons.get(why) ?? 0) + 1);
  const top = [...reasons.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([k, n]) => `${k} ${pct(n / found.length, 0)}`);
  const bad = found.filter(wrong);
  const caught = bad.filter(
    (r) => levelOf(r.qb as FaceMeasures).level === 'low' || levelOf(r.qa as FaceMeasures).level === 'low',
  );
  const row = {
    noFace: (rs.length - found.length) / rs.length,
    wrong: bad.length / found.length,
    low: levels.filter((l) => l.level === 'low').length / found.length,
    medium: levels.filter((l) => l.level === 'medium').length / found.length,
    wrongCaught: bad.length ? caught.length / bad.length : null,
  };
  perKind[kind] = row;
  console.log(
    `| ${kind} | ${pct(row.noFace)} | ${bad.length} (${pct(row.wrong)}) | ${pct(row.low)} | ${pct(row.medium)} | ${top.join(', ')} | ${bad.length ? `${caught.length}/${bad.length}` : '–'} |`,
  );
}
summary.perKind = perKind;
const plainLevels = plain.map(levelOf);
const plainLow = plainLevels.filter((l) => l.level === 'low').length / plain.length;
const plainMedium = plainLevels.filter((l) => l.level === 'medium').length / plain.length;
console.log(
  `\nPlain LFW photos: low ${pct(plainLow, 2)} (QUALITY_FILTER=medium refuses these), medium ${pct(plainMedium, 2)}`,
);
summary.plain = { photos: plain.length, low: plainLow, medium: plainMedium };

// ---- error-versus-reject on one-side-degraded pairs ---------------------------------------------------
function curve(rs: PairRecord[], label: string): unknown {
  const found = rs.filter((r) => r.qa && r.qb);
  const score = (r: PairRecord): number =>
    Math.min(qualityScore(measures(r.qa as FaceMeasures)), qualityScore(measures(r.qb as FaceMeasures)));
  const ranked = found.map((r) => ({ s: score(r), bad: wrong(r) })).sort((a, b) => a.s - b.s);
  const total = ranked.filter((x) => x.bad).length;
  console.log(
    `\n${label}: ${found.length} pairs with both faces found, ${total} wrong at ${THRESHOLD} (${pct(total / found.length, 2)})\n`,
  );
  console.log('| rejected | error rate of the rest | wrong answers removed |\n|---|---|---|');
  const rows = [];
  for (const f of [0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]) {
    const k = Math.round(f * ranked.length);
    const removed = ranked.slice(0, k).filter((x) => x.bad).length;
    const rest = ranked.length - k;
    rows.push({ rejected: f, errorRate: (total - removed) / rest, removed: total ? removed / total : 0 });
    console.log(
      `| ${pct(f, 0)} | ${pct((total - removed) / rest, 2)} | ${total ? pct(removed / total, 0) : '–'} |`,
    );
  }
  const low = ranked.filter((x) => x.s <= 0);
  const notHigh = ranked.filter((x) => x.s < 1);
  const lowBad = low.filter((x) => x.bad).length;
  const notHighBad = notHigh.filter((x) => x.bad).length;
  console.log(
    `| level low (${pct(low.length / ranked.length)}) | ${pct((total - lowBad) / (ranked.length - low.length), 2)} | ${pct(lowBad / total, 0)} |`,
  );
  console.log(
    `| level < high (${pct(notHigh.length / ranked.length)}) | ${pct((total - notHighBad) / (ranked.length - notHigh.length), 2)} | ${pct(notHighBad / total, 0)} |`,
  );
  return {
    pairs: found.length,
    wrong: total,
    rows,
    low: { rejected: low.length / ranked.length, removed: lowBad / total },
    belowHigh: { rejected: notHigh.length / ranked.length, removed: notHighBad / total },
  };
}
summary.curveDegraded = curve(
  records.filter((r) => r.kind !== 'plain' && r.kind !== 'mask'),
  'Degraded pairs (all degradations pooled, masks apart)',
);
summary.curvePlain = curve(
  records.filter((r) => r.kind === 'plain'),
  'Plain pairs',
);

// ---- masks -------------------------------------------------------------------------------------------
const masked = records.filter((r) => r.kind === 'mask');
const maskFound = masked.filter((r) => r.cos !== undefined);
const plainPairs = records.filter((r) => r.kind === 'plain' && r.cos !== undefined);
const cosOf = (rs: PairRecord[], same: boolean) =>
  rs.filter((r) => r.same === same).map((r) => r.cos as number);
const gm = cosOf(maskFound, true);
const im = cosOf(maskFound, false);
const gp = cosOf(plainPairs, true);
const ip = cosOf(plainPairs, false);
const rate = (xs: number[], t: number) => xs.filter((x) => x >= t).length / xs.length;
console.log(`\n## Masks: ${masked.length} pairs, face found in ${maskFound.length}\n`);
console.log(
  '| pairs | genuine cos median (10–90 %) | TAR at threshold | impostor cos 99th pct | FAR at threshold |\n|---|---|---|---|---|',
);
for (const [name, g, i] of [
  ['plain', gp, ip],
  ['one side masked', gm, im],
] as const) {
  console.log(
    `| ${name} | ${median(g).toFixed(3)} (${quantile(g, 0.1).toFixed(3)}–${quantile(g, 0.9).toFixed(3)}) | ${pct(rate(g, THRESHOLD))} | ${quantile(i, 0.99).toFixed(3)} | ${pct(rate(i, THRESHOLD), 2)} |`,
  );
}
const accuracy = (g: number[], i: number[], t: number) =>
  (g.filter((x) => x >= t).length + i.filter((x) => x < t).length) / (g.length + i.length);
console.log(
  `\nMasked accuracy at ${THRESHOLD}: ${pct(accuracy(gm, im, THRESHOLD))}; with a lower threshold for occluded faces:`,
);
const maskThresholds: unknown[] = [];
for (const t of [0.35, 0.3, 0.28, 0.25, 0.22, 0.2]) {
  maskThresholds.push({ threshold: t, tar: rate(gm, t), far: rate(im, t), accuracy: accuracy(gm, im, t) });
  console.log(
    `- ${t}: TAR ${pct(rate(gm, t))}, FAR ${pct(rate(im, t), 2)}, accuracy ${pct(accuracy(gm, im, t))}`,
  );
}
summary.masks = {
  pairs: masked.length,
  found: maskFound.length,
  genuineMedian: median(gm),
  tar: rate(gm, THRESHOLD),
  far: rate(im, THRESHOLD),
  accuracy: accuracy(gm, im, THRESHOLD),
  lowerThresholds: maskThresholds,
};

/** AUC of "masked scores higher" (Mann–Whitney), with ties counted half. */
function auc(pos: number[], neg: number[]): number {
  const all = [...pos.map((v) => ({ v, p: 1 })), ...neg.map((v) => ({ v, p: 0 }))].sort((a, b) => a.v - b.v);
  let rank = 0;
  let sumPos = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]!.v === all[i]!.v) j++;
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.p) sumPos += avg;
    rank = j;
    i = j;
  }
  void rank;
  return (sumPos - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}
const maskFaces = maskFound.map((r) => r.qb as FaceMeasures);
const degradedFaces = records
  .filter((r) => r.kind !== 'plain' && r.kind !== 'mask' && r.qb)
  .map((r) => r.qb as FaceMeasures);
const signals: [string, (m: FaceMeasures) => number][] = [
  ['lower-face skin fraction (low = masked)', (m) => -m.skinLower],
  ['lower − upper skin fraction', (m) => m.skinUpper - m.skinLower],
  ['blue shift lower vs upper (Cb − Cr)', (m) => m.blueShift],
  ['chroma shift lower vs upper', (m) => m.chromaShift],
  ['texture ratio lower / upper (low = masked)', (m) => -m.textureRatio],
  ['O-Net score (low = masked)', (m) => -m.onetScore],
  ['raw embedding norm (low = masked)', (m) => -m.rawNorm],
];
console.log(
  '\n| signal | AUC masked vs plain | flags masks at 1 % false flags on plain | false flags on degraded at that cut |\n|---|---|---|---|',
);
const signalRows: unknown[] = [];
for (const [name, get] of signals) {
  const pos = maskFaces.map(get);
  const neg = plain.map(get);
  const cut = quantile(neg, 0.99);
  const tpr = pos.filter((v) => v > cut).length / pos.length;
  const ffDeg = degradedFaces.map(get).filter((v) => v > cut).length / degradedFaces.length;
  signalRows.push({ name, auc: auc(pos, neg), cut, tpr, falseFlagDegraded: ffDeg });
  console.log(
    `| ${name} | ${auc(pos, neg).toFixed(3)} | ${pct(tpr)} (cut ${cut.toFixed(3)}) | ${pct(ffDeg)} |`,
  );
}
summary.occlusionSignals = signalRows;
await writeFile(
  join(import.meta.dirname, 'results', 'quality-fit.json'),
  `${JSON.stringify({ date: new Date().toISOString(), thresholds: DEFAULT_QUALITY_THRESHOLDS, ...summary }, null, 2)}\n`,
);
