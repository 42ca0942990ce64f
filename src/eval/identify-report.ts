/**
 * Writes an identification run to a folder: `identify.json` (the report), `identify.md` (the tables a
 * person reads) and `probes.csv` (every probe with its first answers, for looking at the failures).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { IdentifyReport, IdentifyRun } from './run-identify.js';

const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)} %`;

function codes(byCode: Partial<Record<string, number>>): string {
  const list = Object.entries(byCode).map(([code, n]) => `${code} ${n}`);
  return list.length > 0 ? list.join(', ') : 'none';
}

/** The report as JSON; non-finite numbers become null. */
export function identifyJson(report: IdentifyReport): string {
  return `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** The few lines `faceverify eval --identify` prints. */
export function identifySummary(r: IdentifyReport): string {
  const m = r.metrics;
  const at1 = m.openSet.find((p) => p.targetFpir === 0.01);
  return [
    `model ${r.model.name}, face policy ${r.facePolicy}, threshold ${r.threshold.cosine_similarity} (${r.threshold.source})`,
    `gallery: ${r.counts.peopleEnrolled} people enrolled (${r.counts.enrolFailed} could not be); probes: ${r.counts.matedProbes} mated, ${r.counts.nonMatedProbes} non-mated; failed images: ${r.counts.failedImages} (${codes(r.counts.failuresByCode)})`,
    `closed set: rank-1 ${pct(m.mated.rank1)}, rank-5 ${pct(m.mated.rank5)}, rank-1 at the threshold ${pct(m.mated.rank1AtThreshold)}`,
    `open set: at the threshold DIR ${pct(m.dirAtThreshold)}, FPIR ${pct(m.nonMated.fpirAtThreshold)}` +
      (at1 ? `; DIR at 1 % FPIR ${pct(at1.dir)} (threshold ${at1.threshold.toFixed(4)})` : ''),
  ].join('\n');
}

export function identifyMarkdown(r: IdentifyReport): string {
  const m = r.metrics;
  const c = r.counts;
  const lines = [
    `# LFW identification: ${r.model.name}`,
    '',
    `${r.createdAt}, \`${r.imagesDir}\`, model \`${r.model.id}\`, face policy \`${r.facePolicy}\`, threshold ${r.threshold.cosine_similarity} (${r.threshold.source})` +
      (r.threshold.minConfidence !== null ? `, minimum confidence ${r.threshold.minConfidence}` : '') +
      `, MIN_FACE_SIZE ${r.detection.minFaceSize}` +
      (r.detection.fallbackMinFaceSize !== null ? ` (fallback ${r.detection.fallbackMinFaceSize})` : '') +
      `. Load average ${r.environment.loadAverage.join(', ')} on ${r.environment.cpus} CPUs.`,
    '',
    '| | count |',
    '| --- | --- |',
    `| people in the folder | ${c.people} |`,
    `| enrolled (first photo of each person with ≥ 2) | ${c.peopleEnrolled} (${c.enrolFailed} could not be) |`,
    `| mated probes (their other photos) | ${c.matedProbes} |`,
    `| non-mated probes (people with one photo) | ${c.nonMatedProbes} |`,
    `| images that failed | ${c.failedImages}: ${codes(c.failuresByCode)} |`,
    `| images with several faces (policy chose one) | ${c.imagesWithSeveralFaces} |`,
    '',
    '## Closed set (mated probes)',
    '',
    '| rank-1 | rank-5 | rank-1 at the threshold |',
    '| --- | --- | --- |',
    `| ${pct(m.mated.rank1)} (${m.mated.hits.rank1}) | ${pct(m.mated.rank5)} (${m.mated.hits.rank5}) | ${pct(m.mated.rank1AtThreshold)} (${m.mated.hits.rank1AtThreshold}) |`,
    '',
    `Misses at the threshold: ${m.mated.misses.probe_error} probe errors (${codes(m.mated.errorsByCode)}), ` +
      `${m.mated.misses.not_enrolled} of a person not enrolled, ${m.mated.misses.wrong_person} with another person first, ` +
      `${m.mated.misses.below_threshold} right person below the threshold; ${m.mated.wrongAccepted} mated probes were answered with another person.`,
    '',
    '## Open set (non-mated probes)',
    '',
    `At the threshold: DIR ${pct(m.dirAtThreshold)}, FPIR ${pct(m.nonMated.fpirAtThreshold)} (${m.nonMated.falsePositivesAtThreshold} of ${m.nonMated.probes}; errors: ${codes(m.nonMated.errorsByCode)}).`,
    '',
    '| target FPIR | threshold | FPIR | DIR |',
    '| --- | --- | --- | --- |',
    ...m.openSet.map(
      (p) =>
        `| ${pct(p.targetFpir, 1)} | ${p.threshold.toFixed(4)} | ${pct(p.fpir)} (${p.falsePositives}) | ${pct(p.dir)} |`,
    ),
    '',
    `Analysis ${r.timings.analyseSeconds.toFixed(0)} s (${c.analysesFromCache} of ${c.images} from the cache), gallery and searches ${r.timings.searchSeconds.toFixed(1)} s.`,
    '',
  ];
  return lines.join('\n');
}

const csvField = (v: string | number | null): string =>
  v === null ? '' : typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;

/** One row per probe: role, subject, photo, error, first answer and score, own rank, accepted answer. */
export function probesCsv(run: IdentifyRun, imagesDir: string): string {
  const rows = ['role,subject,image,error,top_subject,top_score,own_rank,own_score,accepted'];
  for (const p of run.mated) {
    const own = p.candidates.findIndex((c) => c.subject === p.subject);
    const top = p.candidates[0];
    rows.push(
      ['mated', p.subject, relative(imagesDir, p.path), p.error, top?.subject ?? null, top?.score ?? null]
        .concat([own >= 0 ? own + 1 : null, own >= 0 ? (p.candidates[own]?.score ?? null) : null, p.accepted])
        .map(csvField)
        .join(','),
    );
  }
  for (const p of run.nonMated) {
    rows.push(
      [
        'non-mated',
        p.subject,
        relative(imagesDir, p.path),
        p.error,
        p.best?.subject ?? null,
        p.best?.score ?? null,
      ]
        .concat([null, null, p.accepted])
        .map(csvField)
        .join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** Writes identify.json, identify.md and probes.csv; answers their paths. */
export async function writeIdentifyReport(run: IdentifyRun, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const files: [string, string][] = [
    ['identify.json', identifyJson(run.report)],
    ['identify.md', identifyMarkdown(run.report)],
    ['probes.csv', probesCsv(run, run.report.imagesDir)],
  ];
  for (const [name, text] of files) await writeFile(join(outDir, name), text);
  return files.map(([name]) => join(outDir, name));
}
