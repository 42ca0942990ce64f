/**
 * Writes an evaluation run to a folder: `report.json` (everything, machine-readable; the ROC thinned to
 * its corner points; ±∞ and NaN become null), `report.md` (the tables a person reads),
 * `scores.csv` (every pair's score, for score-fusion experiments), and three hand-written SVG plots:
 * `roc.svg` (TPR against log FAR, with the TAR@FAR points), `histogram.svg` (score distributions of
 * same and different pairs with the chosen threshold) and `reliability.svg` (the cross-validated Platt
 * calibration against the diagonal).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { cosineToEuclidean } from '../core/similarity.js';
import { tarAtFar, thinRoc, type CalibrationReport, type RocPoint, type TarAtFar } from './metrics.js';
import type { EvalReport, EvalRun, PairScore } from './run-eval.js';
import { COLORS, formatPowerOfTen, logTicks, niceTicks, SvgChart, type LegendItem } from './svg-chart.js';

const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)} %`;
const fix = (v: number, digits = 4): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

function farLabel(far: number): string {
  const e = Math.log10(far);
  return Number.isInteger(e) ? formatPowerOfTen(far) : String(far);
}

/** Drops pair scores and thins the ROC so the JSON stays small; non-finite numbers become null. */
export function reportJson(report: EvalReport): string {
  const slim = { ...report, metrics: { ...report.metrics, roc: thinRoc(report.metrics.roc) } };
  return `${JSON.stringify(slim, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`;
}

/**
 * The ROC curve on a log-FAR axis from 10⁻⁴ to 1, with the TAR@FAR operating points marked.
 *
 * @example
 * await writeFile('roc.svg', rocSvg(report.metrics.roc, report.metrics.tarAtFar, 'mobilefacenet'));
 */
export function rocSvg(
  roc: readonly RocPoint[],
  marks: readonly TarAtFar[],
  name: string,
  auc?: number,
): string {
  const farMin = 1e-4;
  const leftTpr = tarAtFar(roc, farMin).tar;
  // Zoom the TPR axis onto the part of the curve that is visible, in steps of 0.05.
  const yMin = Math.max(0, Math.floor((Math.min(leftTpr, ...marks.map((m) => m.tar)) - 0.02) * 20) / 20);
  const { major, minor } = logTicks(-4, 0);
  const yTicks = niceTicks(yMin, 1, 5);
  const chart = new SvgChart({
    title: `ROC: ${name}`,
    subtitle: auc !== undefined ? `AUC ${auc.toFixed(5)} · accept when score ≥ threshold` : undefined,
    x: {
      min: farMin,
      max: 1,
      log: true,
      label: 'False accept rate (FAR), log scale',
      ticks: major,
      minorTicks: minor,
      format: formatPowerOfTen,
    },
    y: { min: yMin, max: 1, label: 'True accept rate (TAR)', ticks: yTicks, format: (v) => v.toFixed(2) },
  });
  // Points left of the axis (FAR < 10⁻⁴, usually FAR = 0) collapse onto its edge: keep the highest.
  const thin = thinRoc(roc);
  const firstVisible = Math.max(0, thin.findIndex((p) => p.far > farMin) - 1);
  const points = thin.slice(firstVisible).map((p): [number, number] => [Math.max(p.far, farMin), p.tpr]);
  chart.polyline(points, { stroke: COLORS.blue, strokeWidth: 2.5 });
  const items: LegendItem[] = [
    { label: name + (auc !== undefined ? ` (AUC ${auc.toFixed(4)})` : ''), color: COLORS.blue, kind: 'line' },
  ];
  marks.forEach((m, i) => {
    chart.vline(m.targetFar, { stroke: COLORS.grey, dash: '4 4' });
    if (!m.attainable) return;
    chart.circle(m.targetFar, m.tar, 5.5, { fill: COLORS.vermillion, stroke: '#ffffff', strokeWidth: 1.5 });
    // Staggered below the point so labels of nearby marks do not overlap.
    chart.label(m.targetFar, m.tar, `TAR ${pct(m.tar)} @ FAR ${farLabel(m.targetFar)}`, {
      dx: 8,
      dy: 18 + 16 * i,
      size: 12,
    });
  });
  if (marks.some((m) => m.attainable))
    items.push({
      label: 'TAR at FAR (threshold met on these pairs)',
      color: COLORS.vermillion,
      kind: 'marker',
    });
  chart.legend(items);
  return chart.toString('bottom-right');
}

/**
 * Histograms of the scores of same-person and different-person pairs, with the threshold line.
 *
 * @example
 * await writeFile('histogram.svg', histogramSvg(pairs, 0.31, 'mobilefacenet'));
 */
export function histogramSvg(
  pairs: readonly Pick<PairScore, 'score' | 'same'>[],
  threshold: number,
  name: string,
  options: { thresholdLabel?: string; binWidth?: number } = {},
): string {
  const binWidth = options.binWidth ?? 0.02;
  const scored = pairs.filter((p): p is { score: number; same: boolean } => p.score !== null);
  const failed = pairs.length - scored.length;
  const scores = scored.map((p) => p.score);
  const lo = Math.floor(Math.min(threshold, ...scores) * 10) / 10;
  const hi = Math.ceil(Math.max(threshold, ...scores) * 10) / 10;
  const nBins = Math.max(1, Math.round((hi - lo) / binWidth));
  const same = new Array<number>(nBins).fill(0);
  const diff = new Array<number>(nBins).fill(0);
  for (const p of scored) {
    const k = Math.min(nBins - 1, Math.max(0, Math.floor((p.score - lo) / binWidth)));
    if (p.same) same[k]!++;
    else diff[k]!++;
  }
  const yMax = Math.max(1, ...same, ...diff) * 1.08;
  const chart = new SvgChart({
    title: `Score distributions: ${name}`,
    subtitle:
      `cosine similarity, bins of ${binWidth}` +
      (failed > 0 ? ` · ${failed} failed pair(s) not shown (counted as errors)` : ''),
    x: { min: lo, max: hi, label: 'Cosine similarity of the pair', ticks: niceTicks(lo, hi, 8) },
    y: { min: 0, max: yMax, label: 'Pairs per bin', ticks: niceTicks(0, yMax, 5) },
  });
  const outline = (counts: number[]): [number, number][] => {
    const pts: [number, number][] = [[lo, 0]];
    counts.forEach((c, k) => {
      pts.push([lo + k * binWidth, c], [lo + (k + 1) * binWidth, c]);
    });
    pts.push([lo + nBins * binWidth, 0]);
    return pts;
  };
  const nSame = scored.filter((p) => p.same).length;
  chart.polygon(outline(diff), { fill: COLORS.orange, stroke: COLORS.orange, opacity: 0.45, strokeWidth: 1 });
  chart.polygon(outline(same), { fill: COLORS.blue, stroke: COLORS.blue, opacity: 0.45, strokeWidth: 1 });
  chart.vline(threshold, { stroke: COLORS.ink, strokeWidth: 2, dash: '6 4' });
  chart.label(threshold, yMax, `threshold ${threshold.toFixed(3)}`, { dx: 6, dy: 16 });
  chart.legend([
    { label: `same person (${nSame} pairs)`, color: COLORS.blue, kind: 'area' },
    { label: `different people (${scored.length - nSame} pairs)`, color: COLORS.orange, kind: 'area' },
    { label: options.thresholdLabel ?? 'threshold', color: COLORS.ink, kind: 'dashed' },
  ]);
  return chart.toString('top-left');
}

/**
 * Reliability diagram: per bin of predicted probability, the observed rate of same-person pairs.
 *
 * @example
 * await writeFile('reliability.svg', reliabilitySvg(report.metrics.calibration, 'mobilefacenet'));
 */
export function reliabilitySvg(cal: CalibrationReport, name: string): string {
  const chart = new SvgChart({
    title: `Reliability of the confidence: ${name}`,
    subtitle: `Platt scaling, ${cal.crossValidated ? `${cal.folds.length}-fold cross-validated` : 'fitted and checked on the same pairs'} · ECE ${pct(cal.ece)} · Brier ${cal.brier.toFixed(4)} · n = ${cal.n}`,
    x: {
      min: 0,
      max: 1,
      label: 'Predicted probability of "same person" (confidence)',
      ticks: niceTicks(0, 1, 5),
      format: (v) => v.toFixed(1),
    },
    y: {
      min: 0,
      max: 1,
      label: 'Observed fraction of same-person pairs',
      ticks: niceTicks(0, 1, 5),
      format: (v) => v.toFixed(1),
    },
  });
  chart.polyline(
    [
      [0, 0],
      [1, 1],
    ],
    { stroke: COLORS.grey, dash: '6 4', strokeWidth: 1.5 },
  );
  const filled = cal.bins.filter((b) => b.count > 0);
  for (const b of filled) {
    chart.rect(b.lo, 0, b.hi, b.observedRate, {
      fill: COLORS.blue,
      opacity: 0.18,
      stroke: COLORS.blue,
      strokeWidth: 0.5,
    });
  }
  chart.polyline(
    filled.map((b): [number, number] => [b.meanPredicted, b.observedRate]),
    { stroke: COLORS.vermillion, strokeWidth: 2 },
  );
  for (const b of filled) {
    chart.circle(b.meanPredicted, b.observedRate, 4.5, {
      fill: COLORS.vermillion,
      stroke: '#ffffff',
      strokeWidth: 1,
    });
    // Bin sizes in one row along the top edge of the plot.
    chart.label((b.lo + b.hi) / 2, 1, `n=${b.count}`, {
      anchor: 'middle',
      dy: -7,
      size: 10,
      color: COLORS.grey,
    });
  }
  chart.legend([
    { label: 'perfect calibration', color: COLORS.grey, kind: 'dashed' },
    { label: 'mean confidence vs observed rate per bin', color: COLORS.vermillion, kind: 'marker' },
    { label: 'observed rate (bar per bin)', color: COLORS.blue, kind: 'area' },
  ]);
  return chart.toString('top-left');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * The human-readable report.
 *
 * @example
 * await writeFile('report.md', reportMarkdown(report));
 */
export function reportMarkdown(r: EvalReport): string {
  const m = r.metrics;
  const acc = m.accuracy;
  const threshold = r.recommendedThreshold;
  const codes = Object.entries(r.counts.failuresByCode).map(([c, n]) => `${c} ${n}`);
  const lines: string[] = [
    `# LFW evaluation: ${r.model.name}`,
    '',
    `Run ${r.createdAt} on ${r.environment.cpuModel} (${r.environment.cpus} cores), Node ${r.environment.node}, ${r.environment.platform}.`,
    '',
    table(
      ['setting', 'value'],
      [
        [
          'pairs file',
          `\`${r.pairsFile}\` (${r.counts.pairs} pairs in ${r.counts.folds} fold(s): ${r.counts.samePairs} same, ${r.counts.differentPairs} different)`,
        ],
        ['images', `\`${r.imagesDir}\` (${r.counts.images} distinct images, each embedded once)`],
        [
          'model',
          `${r.model.name}, ${r.model.embeddingSize}-d${r.model.flip ? ', flip-averaged' : ''}, ${r.model.sha256 ? `source sha256 \`${r.model.sha256.slice(0, 16)}…\`` : 'an ensemble of models'}`,
        ],
        [
          'face policy',
          `\`${r.facePolicy}\`${r.facePolicy === 'center' ? ' (largest and most central face: area − 2·dist² from the image centre, as InsightFace on LFW; the API default stays `strict`)' : ''}`,
        ],
        [
          'detection',
          `MTCNN, min face ${r.detection.minFaceSize} px, thresholds ${r.detection.thresholds.join(' / ')}, scale factor ${r.detection.scaleFactor}`,
        ],
        [
          'fallback',
          r.detection.fallbackMinFaceSize === null
            ? 'none'
            : `retry with min face ${r.detection.fallbackMinFaceSize} px on NO_FACE / FACE_TOO_SMALL`,
        ],
      ],
    ),
    '',
    '## Results',
    '',
    table(
      ['metric', 'value'],
      [
        [
          `${acc ? acc.folds.length : 0}-fold accuracy`,
          acc
            ? `**${pct(acc.mean)} ± ${pct(acc.std)}** (population std; standard error ${pct(acc.standardError)})`
            : 'n/a (single fold)',
        ],
        ...(m.accuracyDetectedOnly
          ? [
              [
                'accuracy without the failed pairs',
                `${pct(m.accuracyDetectedOnly.mean)} ± ${pct(m.accuracyDetectedOnly.std)} (for comparison only)`,
              ],
            ]
          : []),
        ['ROC AUC', fix(m.auc, 5)],
        ['EER', `${pct(m.eer.eer)} at cosine ${fix(m.eer.threshold)}`],
        ...m.tarAtFar.map((t) => [
          `TAR @ FAR ${t.targetFar}`,
          t.attainable
            ? `${pct(t.tar)} (threshold ${fix(t.threshold)}, achieved FAR ${pct(t.far, 3)})`
            : `not attainable (failed different pairs alone exceed FAR ${t.targetFar})`,
        ]),
        [
          'best threshold (mean of fold thresholds)',
          `cosine ${fix(threshold)} (euclidean ${fix(cosineToEuclidean(threshold))} for unit vectors)`,
        ],
        [
          'accuracy at the manifest threshold',
          `${pct(r.accuracyAtManifestThreshold)} at cosine ${r.model.manifestThreshold} (all pairs, not cross-validated)`,
        ],
        [
          'Platt calibration',
          `p = 1 / (1 + exp(−(a·cos + b))), a = ${fix(r.calibration.a)}, b = ${fix(r.calibration.b)} (${m.platt.iterations} Newton steps${m.platt.converged ? '' : ', NOT converged'})`,
        ],
        [
          'calibration quality',
          `ECE ${pct(m.calibration.ece)}, Brier ${fix(m.calibration.brier, 5)}, log loss ${fix(m.calibration.logLoss, 4)} (${m.calibration.crossValidated ? 'cross-validated' : 'in-sample'})`,
        ],
      ],
    ),
    '',
    '![ROC](roc.svg)',
    '',
    '![Score histograms](histogram.svg)',
    '',
  ];
  if (acc) {
    lines.push(
      '## Per fold',
      '',
      table(
        ['fold', 'threshold (chosen on the other folds)', 'accuracy', 'pairs'],
        acc.folds.map((f) => [String(f.fold + 1), fix(f.threshold), pct(f.accuracy), String(f.pairs)]),
      ),
      '',
    );
  }
  lines.push(
    '## Reliability of the confidence',
    '',
    table(
      ['predicted', 'pairs', 'mean predicted', 'observed same'],
      m.calibration.bins.map((b) => [
        `${b.lo.toFixed(1)}–${b.hi.toFixed(1)}`,
        String(b.count),
        b.count > 0 ? pct(b.meanPredicted, 1) : '–',
        b.count > 0 ? pct(b.observedRate, 1) : '–',
      ]),
    ),
    '',
    '![Reliability diagram](reliability.svg)',
    '',
    '## Detection',
    '',
    table(
      ['count', 'value'],
      [
        [
          'images with a failure',
          `${r.counts.failedImages}${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`,
        ],
        ['pairs affected (counted as wrong)', String(r.counts.failedPairs)],
        [
          'fallback tried / found a face',
          r.detection.fallbackMinFaceSize === null
            ? 'n/a'
            : `${r.counts.fallbackTried} / ${r.counts.fallbackRescued}`,
        ],
        ['images with several faces (policy chose one)', String(r.counts.imagesWithSeveralFaces)],
      ],
    ),
    '',
    '## Time',
    '',
    table(
      ['measure', 'value'],
      [
        ['total', `${r.timings.totalSeconds.toFixed(1)} s`],
        [
          'per image (wall clock / images, concurrency ' + String(r.timings.concurrency) + ')',
          `${r.timings.msPerImage.toFixed(1)} ms`,
        ],
        ['per image latency (read → embedding)', `${r.timings.meanImageLatencyMs.toFixed(1)} ms`],
        [
          'stages (mean)',
          `decode ${r.timings.stageMeansMs.decode.toFixed(1)} ms, detect ${r.timings.stageMeansMs.detect.toFixed(1)} ms, embed ${r.timings.stageMeansMs.embed.toFixed(1)} ms`,
        ],
      ],
    ),
    '',
  );
  if (r.failures.length > 0) {
    const shown = r.failures.slice(0, 50);
    lines.push(
      '## Failed images',
      '',
      table(
        ['image', 'code', 'message'],
        shown.map((f) => [
          `\`${relative(r.imagesDir, f.path)}\``,
          f.code,
          f.message + (f.fallbackTried ? ' (after fallback)' : ''),
        ]),
      ),
      r.failures.length > shown.length
        ? `\n… and ${r.failures.length - shown.length} more (see report.json).`
        : '',
      '',
    );
  }
  lines.push(
    '## Conventions',
    '',
    '- A pair is accepted as the same person when cosine ≥ threshold.',
    '- A pair with a detection failure counts as wrong at every threshold: a failed same-person pair scores −∞ (false reject), a failed different-person pair +∞ (false accept). Accuracy, ROC, AUC, EER and TAR@FAR all include them; Platt scaling and the reliability table use only pairs with a score, since the service answers a failed image with an error, not a confidence.',
    '- k-fold accuracy: per fold, the threshold maximising accuracy on the other folds (midpoints of sorted scores; ties → median candidate), measured on the held-out fold. ± is the population standard deviation (ddof = 0, like numpy, facenet and InsightFace).',
    '- TAR@FAR: highest TPR at an attainable threshold with FAR ≤ the target on these pairs (no interpolation).',
    '- EER: linear interpolation between the two ROC points around FAR = FRR.',
    "- The reliability table is cross-validated: each fold's confidences come from a Platt fit on the other folds. The shipped a, b are fitted on all scored pairs.",
    '',
  );
  return lines.join('\n');
}

/** Every pair's score as CSV (paths relative to the images folder; empty score = failed). */
export function scoresCsv(pairs: readonly PairScore[], imagesDir: string): string {
  const rows = pairs.map((p) =>
    [
      p.fold + 1,
      p.same ? 1 : 0,
      p.score === null ? '' : p.score.toFixed(6),
      relative(imagesDir, p.a),
      relative(imagesDir, p.b),
      p.errors.join(' '),
    ].join(','),
  );
  return `fold,same,score,a,b,errors\n${rows.join('\n')}\n`;
}

/** A few lines for a terminal. */
export function reportSummary(r: EvalReport): string {
  const m = r.metrics;
  const acc = m.accuracy;
  return [
    `${r.model.name} on ${r.counts.pairs} pairs (${r.counts.images} images, face policy ${r.facePolicy})`,
    acc
      ? `  ${acc.folds.length}-fold accuracy  ${pct(acc.mean)} ± ${pct(acc.std)}`
      : '  accuracy        n/a (single fold)',
    `  AUC              ${fix(m.auc, 5)}`,
    `  EER              ${pct(m.eer.eer)}`,
    ...m.tarAtFar.map(
      (t) => `  TAR @ FAR ${String(t.targetFar).padEnd(6)} ${t.attainable ? pct(t.tar) : 'not attainable'}`,
    ),
    `  threshold        ${fix(r.recommendedThreshold)} (cosine)`,
    `  Platt            a = ${fix(r.calibration.a)}, b = ${fix(r.calibration.b)}; ECE ${pct(m.calibration.ece)}`,
    `  failures         ${r.counts.failedImages} image(s), ${r.counts.failedPairs} pair(s)` +
      (r.detection.fallbackMinFaceSize === null
        ? ''
        : `; fallback rescued ${r.counts.fallbackRescued} of ${r.counts.fallbackTried}`),
    `  time             ${r.timings.totalSeconds.toFixed(1)} s, ${r.timings.msPerImage.toFixed(1)} ms per image`,
  ].join('\n');
}

/**
 * Writes report.json, report.md, scores.csv, roc.svg, histogram.svg and reliability.svg.
 *
 * @example
 * const files = await writeEvalReport(await runEval(options), 'report/');
 */
export async function writeEvalReport(run: EvalRun, outDir: string): Promise<string[]> {
  const { report, pairs } = run;
  await mkdir(outDir, { recursive: true });
  const name = report.model.name;
  const files: [string, string][] = [
    ['report.json', reportJson(report)],
    ['report.md', reportMarkdown(report)],
    ['scores.csv', scoresCsv(pairs, report.imagesDir)],
    ['roc.svg', rocSvg(report.metrics.roc, report.metrics.tarAtFar, name, report.metrics.auc)],
    [
      'histogram.svg',
      histogramSvg(pairs, report.recommendedThreshold, name, {
        thresholdLabel: report.metrics.accuracy
          ? `threshold (mean of the ${report.metrics.accuracy.folds.length} fold thresholds)`
          : 'threshold (best on all pairs)',
      }),
    ],
    ['reliability.svg', reliabilitySvg(report.metrics.calibration, name)],
  ];
  const written: string[] = [];
  for (const [file, content] of files) {
    const path = join(outDir, file);
    await writeFile(path, content);
    written.push(path);
  }
  return written;
}
