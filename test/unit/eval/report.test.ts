// Time budget: metrics of 1000 synthetic scores plus three small SVGs, each parsed once by librsvg
// through sharp (~10 ms each).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { evaluateScores, type ScoredPair } from '../../../src/eval/metrics.js';
import { histogramSvg, reliabilitySvg, rocSvg } from '../../../src/eval/report.js';
import { escapeXml, formatPowerOfTen, logTicks, niceTicks, SvgChart } from '../../../src/eval/svg-chart.js';
import { prng } from '../../support/prng.js';

/** Cosine-like scores: same pairs around 0.65, different around 0.05, with a little overlap. */
function syntheticPairs(n: number): ScoredPair[] {
  const rand = prng(11);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: n }, (_, i) => {
    const same = i % 2 === 0;
    const score = i === 4 ? null : same ? 0.65 + 0.13 * gauss() : 0.05 + 0.11 * gauss();
    return { score, same, fold: i % 10 };
  });
}

const PAIRS = syntheticPairs(1000);
const METRICS = evaluateScores(PAIRS);
const NAME = 'model <a&b>'; // characters that must be escaped

/** Parses the SVG with librsvg (libxml2): rejects anything that is not well-formed XML. */
async function parseSvg(svg: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(Buffer.from(svg)).metadata();
  expect(meta.format).toBe('svg');
  return { width: meta.width, height: meta.height };
}

function count(svg: string, re: RegExp): number {
  return svg.match(re)?.length ?? 0;
}

function expectCleanDocument(svg: string): void {
  expect(
    svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'),
  ).toBe(true);
  expect(svg, 'a NaN or Infinity coordinate makes the plot silently empty').not.toMatch(/NaN|Infinity/);
  expect(svg).toContain('model &lt;a&amp;b&gt;');
  expect(count(svg, /<text class="axis-label"/g), 'both axes need a label').toBe(2);
  expect(svg).toContain('<g class="legend">');
}

describe('rocSvg', () => {
  const svg = rocSvg(METRICS.roc, METRICS.tarAtFar, NAME, METRICS.auc);

  it('is well-formed SVG of the declared size', async () => {
    expect(await parseSvg(svg)).toEqual({ width: 720, height: 480 });
    expectCleanDocument(svg);
  });

  it('has a log FAR axis from 10⁻⁴ to 1, the curve, and one marker per TAR@FAR point', () => {
    for (const label of ['10⁻⁴', '10⁻³', '10⁻²', '10⁻¹', '>1<']) expect(svg).toContain(label);
    expect(svg).toContain('False accept rate (FAR), log scale');
    expect(count(svg, /<polyline /g)).toBe(1);
    const attainable = METRICS.tarAtFar.filter((t) => t.attainable).length;
    expect(attainable).toBe(2);
    expect(count(svg, /<circle /g), 'a marker per TAR@FAR plus one legend swatch').toBe(attainable + 1);
    expect(svg).toContain(`TAR ${(METRICS.tarAtFar[0]!.tar * 100).toFixed(2)} % @ FAR 10⁻³`);
  });
});

describe('histogramSvg', () => {
  const svg = histogramSvg(PAIRS, 0.35, NAME, {
    thresholdLabel: 'threshold (mean of the 10 fold thresholds)',
  });

  it('is well-formed SVG', async () => {
    await parseSvg(svg);
    expectCleanDocument(svg);
  });

  it('draws two filled histograms, the threshold line and says how many failed pairs are missing', () => {
    expect(count(svg, /<polygon /g)).toBe(2);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('threshold 0.350');
    expect(svg).toContain('1 failed pair(s) not shown');
    expect(svg).toContain('same person (499 pairs)');
    expect(svg).toContain('different people (500 pairs)');
  });
});

describe('reliabilitySvg', () => {
  const svg = reliabilitySvg(METRICS.calibration, NAME);

  it('is well-formed SVG', async () => {
    await parseSvg(svg);
    expectCleanDocument(svg);
  });

  it('draws the diagonal, a bar and a marker per non-empty bin, and the ECE in the subtitle', () => {
    const filled = METRICS.calibration.bins.filter((b) => b.count > 0).length;
    expect(count(svg, /<rect [^>]*opacity="0.18"/g)).toBe(filled);
    expect(count(svg, /<circle /g)).toBe(filled + 1); // + legend swatch
    expect(count(svg, /<polyline /g)).toBe(2); // diagonal and the calibration line
    expect(svg).toContain('10-fold cross-validated');
    expect(svg).toMatch(/ECE \d+\.\d\d %/);
  });
});

describe('SvgChart helpers', () => {
  it('escapeXml escapes the five XML special characters', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });

  it('niceTicks gives round steps covering the range without floating-point noise', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-0.3, 1, 8)).toEqual([-0.2, 0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.85, 1, 5)).toEqual([0.85, 0.9, 0.95, 1]);
  });

  it('logTicks and formatPowerOfTen label decades', () => {
    const { major, minor } = logTicks(-2, 0);
    expect(major).toEqual([0.01, 0.1, 1]);
    expect(minor).toHaveLength(16);
    expect(formatPowerOfTen(1e-3)).toBe('10⁻³');
    expect(formatPowerOfTen(1)).toBe('1');
  });

  it('maps a log axis so that each decade gets the same width', () => {
    const c = new SvgChart({
      title: 't',
      x: { min: 1e-4, max: 1, log: true, label: 'x', ticks: [] },
      y: { min: 0, max: 1, label: 'y', ticks: [] },
    });
    const decade = c.x(1e-3) - c.x(1e-4);
    expect(c.x(1e-2) - c.x(1e-3)).toBeCloseTo(decade, 9);
    expect(c.x(1) - c.x(1e-4)).toBeCloseTo(4 * decade, 9);
    expect(c.y(1)).toBeLessThan(c.y(0)); // SVG y grows downwards
  });

  it('refuses an empty or non-positive log range instead of drawing NaN', () => {
    const y = { min: 0, max: 1, label: 'y', ticks: [] };
    expect(
      () => new SvgChart({ title: 't', x: { min: 0, max: 1, log: true, label: 'x', ticks: [] }, y }),
    ).toThrow(/log scale/);
    expect(() => new SvgChart({ title: 't', x: { min: 1, max: 1, label: 'x', ticks: [] }, y })).toThrow(
      /max/,
    );
  });
});
