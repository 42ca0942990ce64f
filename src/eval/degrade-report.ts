/**
 * Writes a robustness run to a folder: `report.json` (the rows, the sampled pairs, every pair's
 * outcome with both photos' analyses — enough to compute a quality filter's error-versus-reject curve
 * later), `report.md` (the table and the sweeps) and one SVG per sweep (accuracy and TAR against the
 * sweep's parameter, with the undegraded row as a reference line).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SWEEPS, type SweepName } from './degrade-rows.js';
import { errorRejectCurve, refusedShare, type RejectCurve } from './reject-curve.js';
import type { DegradeReport, DegradeRun, RowResult } from './run-degrade.js';
import { COLORS, niceTicks, SvgChart } from './svg-chart.js';

const pct = (v: number, digits = 1): string => `${(v * 100).toFixed(digits)} %`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function errorsText(r: RowResult): string {
  const codes = Object.entries(r.errorsByCode).map(([code, n]) => `${n} × ${code}`);
  return codes.length > 0 ? codes.join(', ') : '';
}

function rowCells(r: RowResult): string[] {
  if (r.skipped) return [r.label, 'skipped', '', '', '', r.skipped];
  return [
    r.label,
    `**${pct(r.accuracy)}**`,
    pct(r.accuracyErrorsWrong),
    pct(r.tar),
    pct(r.far, 2),
    errorsText(r) + (r.notBuilt > 0 ? ` (${r.notBuilt} pairs not built: no landmarks)` : ''),
  ];
}

const HEADER = [
  'second photo',
  'accuracy (error = no match)',
  'accuracy (error = wrong)',
  'TAR',
  'FAR',
  'errors (pairs)',
] as const;

/** The rows of one sweep, ordered by parameter. */
export function sweepRows(report: DegradeReport, name: SweepName): RowResult[] {
  return report.rows
    .filter((r) => r.sweep?.name === name && !r.skipped)
    .sort((a, b) => (a.sweep?.param ?? 0) - (b.sweep?.param ?? 0));
}

/**
 * Accuracy and TAR of a sweep against its parameter.
 *
 * @example
 * await writeFile('sweep-jpeg.svg', sweepSvg(report, 'jpeg'));
 */
export function sweepSvg(report: DegradeReport, name: SweepName): string {
  const rows = sweepRows(report, name);
  const spec = SWEEPS[name];
  const xs = rows.map((r) => r.sweep?.param ?? 0);
  const base = report.rows.find((r) => r.id === 'none' && !r.skipped);
  const values = rows.flatMap((r) => [r.accuracy, r.tar]);
  if (base) values.push(base.accuracy);
  const yMin = Math.max(0, Math.floor((Math.min(...values) - 0.02) * 10) / 10);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const pad = (xMax - xMin) * 0.05 || 1;
  const chart = new SvgChart({
    title: `${spec.title}: ${report.model}`,
    subtitle: `${report.pairsPerRow} LFW pairs per point, second photo degraded · threshold ${report.threshold} (shipped) · face policy ${report.facePolicy}`,
    x: { min: xMin - pad, max: xMax + pad, label: spec.axis, ticks: xs },
    y: {
      min: yMin,
      max: 1,
      label: 'Rate',
      ticks: niceTicks(yMin, 1, 5),
      format: (v) => `${Math.round(v * 100)} %`,
    },
  });
  if (base)
    chart.polyline(
      [
        [xMin - pad, base.accuracy],
        [xMax + pad, base.accuracy],
      ],
      { stroke: COLORS.grey, dash: '6 4', strokeWidth: 1.5 },
    );
  const acc = rows.map((r): [number, number] => [r.sweep?.param ?? 0, r.accuracy]);
  const tar = rows.map((r): [number, number] => [r.sweep?.param ?? 0, r.tar]);
  chart.polyline(acc, { stroke: COLORS.blue, strokeWidth: 2.5 });
  chart.polyline(tar, { stroke: COLORS.vermillion, strokeWidth: 2, dash: '3 3' });
  for (const [x, y] of acc) chart.circle(x, y, 4.5, { fill: COLORS.blue, stroke: '#ffffff', strokeWidth: 1 });
  for (const [x, y] of tar)
    chart.circle(x, y, 3.5, { fill: COLORS.vermillion, stroke: '#ffffff', strokeWidth: 1 });
  chart.legend([
    { label: 'accuracy (an error is "not a match")', color: COLORS.blue, kind: 'line' },
    { label: 'TAR (same person accepted)', color: COLORS.vermillion, kind: 'marker' },
    ...(base
      ? [{ label: `undegraded: ${pct(base.accuracy)}`, color: COLORS.grey, kind: 'dashed' as const }]
      : []),
  ]);
  return chart.toString('bottom-right');
}

/**
 * The error-versus-reject curve as a plot: error rate of the pairs kept, and the share of wrong answers
 * removed, against the share of degraded photos refused by `quality.score`.
 *
 * @example
 * await writeFile('reject-curve.svg', rejectSvg(run.report, curve));
 */
export function rejectSvg(report: DegradeReport, curve: RejectCurve): string {
  const maxErr = Math.max(...curve.points.map((p) => p.errorRate), 0.01);
  const chart = new SvgChart({
    title: `Error versus reject: ${report.model}`,
    subtitle: `${curve.pairs} scored pairs of every row pooled (${curve.wrong} wrong), second photo refused by quality.score`,
    x: {
      min: 0,
      max: 0.5,
      label: 'Share of photos refused (lowest quality.score first)',
      ticks: niceTicks(0, 0.5, 5),
      format: (v) => `${Math.round(v * 100)} %`,
    },
    y: {
      min: 0,
      max: 1,
      label: 'Rate',
      ticks: niceTicks(0, 1, 5),
      format: (v) => `${Math.round(v * 100)} %`,
    },
  });
  const removed = curve.points.map((p): [number, number] => [p.rejected, p.wrongRemoved]);
  const scaled = curve.points.map((p): [number, number] => [p.rejected, p.errorRate / maxErr]);
  chart.polyline(removed, { stroke: COLORS.blue, strokeWidth: 2.5 });
  chart.polyline(scaled, { stroke: COLORS.vermillion, strokeWidth: 2, dash: '3 3' });
  for (const [x, y] of removed)
    chart.circle(x, y, 4, { fill: COLORS.blue, stroke: '#ffffff', strokeWidth: 1 });
  for (const [x, y] of scaled)
    chart.circle(x, y, 3.5, { fill: COLORS.vermillion, stroke: '#ffffff', strokeWidth: 1 });
  chart.legend([
    { label: 'wrong answers removed', color: COLORS.blue, kind: 'line' },
    { label: `error rate of the rest (1 = ${pct(maxErr, 2)})`, color: COLORS.vermillion, kind: 'marker' },
  ]);
  return chart.toString('bottom-right');
}

function rejectMarkdown(run: DegradeRun, curve: RejectCurve): string[] {
  const medium = refusedShare(Object.values(run.images), 'medium');
  const rows = [
    ...curve.points.map((p) => [`worst ${pct(p.rejected)}`, pct(p.errorRate, 2), pct(p.wrongRemoved)]),
    ...curve.levels.map((l) => [
      `QUALITY_FILTER=${l.filter} (${pct(l.rejected)} refused)`,
      pct(l.errorRate, 2),
      pct(l.wrongRemoved),
    ]),
  ];
  return [
    '## Quality filter: error versus reject',
    '',
    `Every row's scored pairs pooled (${curve.pairs}, of which ${curve.wrong} wrong), ranked by the degraded photo's \`quality.score\`, the lowest refused first. On the undegraded photos (plain LFW), \`QUALITY_FILTER=medium\` refuses ${medium.refused} of ${medium.of} (${pct(medium.of > 0 ? medium.refused / medium.of : 0, 2)}).`,
    '',
    table(['refused', 'error rate of the rest', 'wrong answers removed'], rows),
    '',
    '![Error versus reject](reject-curve.svg)',
    '',
  ];
}

/**
 * The human-readable report.
 *
 * @example
 * await writeFile('report.md', degradeMarkdown(run.report));
 */
export function degradeMarkdown(r: DegradeReport, run?: DegradeRun): string {
  const lines = [
    `# Robustness: ${r.model}`,
    '',
    `Run ${r.createdAt} on ${r.environment.cpuModel} (${r.environment.cpus} cores), Node ${r.environment.node}; ${r.totalSeconds.toFixed(0)} s.`,
    `${r.pairsPerRow} LFW View 2 pairs per row (seed ${r.seed}; half same person, half different), the second photo degraded; face policy \`${r.facePolicy}\`; cosine threshold ${r.threshold} (the shipped one: nothing is fitted here).`,
    'An error (NO_FACE, FACE_TOO_SMALL, …) is not a match: for a same-person pair a false rejection, for a different-person pair a correct one. "error = wrong" counts every error as a wrong answer.',
    '',
    '## The photos people send',
    '',
    table(HEADER, r.rows.filter((x) => x.table).map(rowCells)),
    '',
    '## Sweeps',
    '',
  ];
  for (const name of Object.keys(SWEEPS) as SweepName[]) {
    const rows = sweepRows(r, name);
    if (rows.length === 0) continue;
    lines.push(
      `### ${SWEEPS[name].title}`,
      '',
      table(HEADER, rows.map(rowCells)),
      '',
      `![${SWEEPS[name].title}](sweep-${name}.svg)`,
      '',
    );
  }
  const curve = run ? errorRejectCurve(run.records) : null;
  if (run && curve) lines.push(...rejectMarkdown(run, curve));
  return `${lines.join('\n')}\n`;
}

/** A short summary for the terminal. */
export function degradeSummary(r: DegradeReport): string {
  const width = Math.max(...r.rows.map((x) => x.label.length));
  const lines = [
    `${r.model}, threshold ${r.threshold}, ${r.pairsPerRow} pairs per row (accuracy with errors as "not a match"; TAR; FAR; errors)`,
  ];
  for (const x of r.rows) {
    lines.push(
      x.skipped
        ? `${x.label.padEnd(width)}  skipped: ${x.skipped}`
        : `${x.label.padEnd(width)}  ${pct(x.accuracy).padStart(7)}  TAR ${pct(x.tar).padStart(7)}  FAR ${pct(x.far, 2).padStart(7)}  ${errorsText(x)}`,
    );
  }
  return lines.join('\n');
}

/** Writes report.json, report.md and the sweep plots; returns the files written. */
export async function writeDegradeReport(run: DegradeRun, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string): Promise<void> => {
    const path = join(dir, name);
    await writeFile(path, text);
    files.push(path);
  };
  const json = {
    ...run.report,
    pairs: run.pairs.map((p, i) => ({ pair: i, same: p.same, a: p.a, b: p.b, line: p.line })),
    images: run.images,
    records: run.records,
  };
  await write(
    'report.json',
    `${JSON.stringify(json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`,
  );
  await write('report.md', degradeMarkdown(run.report, run));
  const curve = errorRejectCurve(run.records);
  if (curve) await write('reject-curve.svg', rejectSvg(run.report, curve));
  for (const name of Object.keys(SWEEPS) as SweepName[]) {
    if (sweepRows(run.report, name).length >= 2) await write(`sweep-${name}.svg`, sweepSvg(run.report, name));
  }
  return files;
}
