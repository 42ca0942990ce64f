/**
 * A small SVG chart writer for the evaluation plots: one plot area with linear or log₁₀ axes, grid,
 * tick labels, axis titles, a title, a legend, and data clipped to the plot area. Written by hand so
 * the report needs no plotting dependency; the output is plain SVG 1.1 that browsers and GitHub render.
 *
 * Coordinates: data values go through `x()` / `y()` to SVG user units (origin top-left, y down).
 * Every text is XML-escaped; numbers are written with at most two decimals.
 */

export interface AxisSpec {
  min: number;
  max: number;
  /** log₁₀ scale (min and max must be > 0). */
  log?: boolean;
  label: string;
  ticks: readonly number[];
  /** Faint grid lines without labels (e.g. 2…9 × each decade on a log axis). */
  minorTicks?: readonly number[];
  format?: (v: number) => string;
}

export interface ChartSpec {
  width?: number;
  height?: number;
  title: string;
  subtitle?: string;
  x: AxisSpec;
  y: AxisSpec;
}

export interface LegendItem {
  label: string;
  color: string;
  /** How the swatch is drawn. */
  kind: 'line' | 'dashed' | 'area' | 'marker';
}

export interface Style {
  stroke?: string;
  fill?: string;
  strokeWidth?: number;
  dash?: string;
  opacity?: number;
}

/** Colour-blind-safe pair and accents (Okabe–Ito). */
export const COLORS = {
  blue: '#0072B2',
  orange: '#E69F00',
  vermillion: '#D55E00',
  green: '#009E73',
  grey: '#777777',
  ink: '#222222',
} as const;

/**
 * Escapes text for XML content and attribute values.
 *
 * @example
 * escapeXml('a < b & "c"'); // 'a &lt; b &amp; &quot;c&quot;'
 */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function styleAttrs(s: Style): string {
  const parts = [
    `fill="${escapeXml(s.fill ?? 'none')}"`,
    `stroke="${escapeXml(s.stroke ?? 'none')}"`,
    s.strokeWidth !== undefined ? `stroke-width="${num(s.strokeWidth)}"` : '',
    s.dash ? `stroke-dasharray="${escapeXml(s.dash)}"` : '',
    s.opacity !== undefined ? `opacity="${num(s.opacity)}"` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

/**
 * "Nice" tick values covering [min, max] (steps of 1, 2 or 5 × 10ⁿ).
 *
 * @example
 * niceTicks(0, 1, 5); // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.round(v / step) * step);
  }
  // Undo floating-point noise such as 0.30000000000000004.
  return ticks.map((t) => Number(t.toPrecision(12)));
}

/** Powers of ten from 10^lo to 10^hi, and the 2…9 multiples between them. */
export function logTicks(lo: number, hi: number): { major: number[]; minor: number[] } {
  const major: number[] = [];
  const minor: number[] = [];
  for (let e = lo; e <= hi; e++) {
    major.push(10 ** e);
    if (e < hi) for (let m = 2; m <= 9; m++) minor.push(m * 10 ** e);
  }
  return { major, minor };
}

/** Writes "10⁻³"-style labels for powers of ten. */
export function formatPowerOfTen(v: number): string {
  const e = Math.round(Math.log10(v));
  if (e === 0) return '1';
  const sup: Record<string, string> = {
    '-': '⁻',
    '0': '⁰',
    '1': '¹',
    '2': '²',
    '3': '³',
    '4': '⁴',
    '5': '⁵',
    '6': '⁶',
    '7': '⁷',
    '8': '⁸',
    '9': '⁹',
  };
  return `10${[...String(e)].map((c) => sup[c] ?? c).join('')}`;
}

/**
 * One chart. Add data with the drawing methods, then call `toString()`.
 *
 * @example
 * const c = new SvgChart({ title: 'ROC', x: { min: 0, max: 1, label: 'FAR', ticks: [0, 1] }, y: { … } });
 * c.polyline([[0, 0], [1, 1]], { stroke: COLORS.blue });
 * writeFileSync('roc.svg', c.toString());
 */
export class SvgChart {
  readonly width: number;
  readonly height: number;
  private readonly left = 72;
  private readonly right = 24;
  private readonly top: number;
  private readonly bottom = 58;
  private readonly data: string[] = [];
  private readonly overlay: string[] = [];
  private readonly legendItems: LegendItem[] = [];
  /** Each chart is its own document, so a fixed id cannot collide. */
  private readonly clipId = 'plot-area';

  constructor(private readonly spec: ChartSpec) {
    this.width = spec.width ?? 720;
    this.height = spec.height ?? 480;
    this.top = spec.subtitle ? 72 : 44;
    for (const axis of [spec.x, spec.y]) {
      if (!(axis.max > axis.min)) throw new RangeError(`Axis "${axis.label}": max must exceed min`);
      if (axis.log && axis.min <= 0) throw new RangeError(`Axis "${axis.label}": log scale needs min > 0`);
    }
  }

  private get plotWidth(): number {
    return this.width - this.left - this.right;
  }

  private get plotHeight(): number {
    return this.height - this.top - this.bottom;
  }

  private fraction(axis: AxisSpec, v: number): number {
    if (axis.log) {
      const lv = Math.log10(Math.max(v, Number.MIN_VALUE));
      return (lv - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min));
    }
    return (v - axis.min) / (axis.max - axis.min);
  }

  /** SVG x of a data x value. */
  x(v: number): number {
    return this.left + this.fraction(this.spec.x, v) * this.plotWidth;
  }

  /** SVG y of a data y value. */
  y(v: number): number {
    return this.top + (1 - this.fraction(this.spec.y, v)) * this.plotHeight;
  }

  private pointsAttr(points: readonly (readonly [number, number])[]): string {
    return points.map(([px, py]) => `${num(this.x(px))},${num(this.y(py))}`).join(' ');
  }

  /** A line through data points (clipped to the plot area). */
  polyline(points: readonly (readonly [number, number])[], style: Style): this {
    if (points.length > 0)
      this.data.push(`<polyline points="${this.pointsAttr(points)}" ${styleAttrs(style)}/>`);
    return this;
  }

  /** A closed, filled shape through data points (clipped). */
  polygon(points: readonly (readonly [number, number])[], style: Style): this {
    if (points.length > 0)
      this.data.push(`<polygon points="${this.pointsAttr(points)}" ${styleAttrs(style)}/>`);
    return this;
  }

  /** A rectangle between two data corners (clipped). */
  rect(x0: number, y0: number, x1: number, y1: number, style: Style): this {
    const sx = Math.min(this.x(x0), this.x(x1));
    const sy = Math.min(this.y(y0), this.y(y1));
    const w = Math.abs(this.x(x1) - this.x(x0));
    const h = Math.abs(this.y(y1) - this.y(y0));
    this.data.push(
      `<rect x="${num(sx)}" y="${num(sy)}" width="${num(w)}" height="${num(h)}" ${styleAttrs(style)}/>`,
    );
    return this;
  }

  /** A marker at a data point, with a radius in SVG units (drawn above the data, not clipped). */
  circle(cx: number, cy: number, r: number, style: Style): this {
    this.overlay.push(
      `<circle cx="${num(this.x(cx))}" cy="${num(this.y(cy))}" r="${num(r)}" ${styleAttrs(style)}/>`,
    );
    return this;
  }

  /** A vertical line across the plot at data x (clipped). */
  vline(xv: number, style: Style): this {
    const sx = num(this.x(xv));
    this.data.push(
      `<line x1="${sx}" y1="${num(this.top)}" x2="${sx}" y2="${num(this.top + this.plotHeight)}" ${styleAttrs(style)}/>`,
    );
    return this;
  }

  /** Text at a data point, offset in SVG units (not clipped). */
  label(
    xv: number,
    yv: number,
    text: string,
    opts: {
      dx?: number;
      dy?: number;
      anchor?: 'start' | 'middle' | 'end';
      color?: string;
      size?: number;
    } = {},
  ): this {
    const sx = this.x(xv) + (opts.dx ?? 0);
    const sy = this.y(yv) + (opts.dy ?? 0);
    this.overlay.push(
      `<text x="${num(sx)}" y="${num(sy)}" text-anchor="${opts.anchor ?? 'start'}" font-size="${opts.size ?? 12}" fill="${escapeXml(opts.color ?? COLORS.ink)}">${escapeXml(text)}</text>`,
    );
    return this;
  }

  legend(items: readonly LegendItem[]): this {
    this.legendItems.push(...items);
    return this;
  }

  private axes(): string[] {
    const out: string[] = [];
    const { x, y } = this.spec;
    const x0 = this.left;
    const x1 = this.left + this.plotWidth;
    const y0 = this.top + this.plotHeight;
    const y1 = this.top;
    const inRange = (a: AxisSpec, v: number): boolean => v >= a.min - 1e-12 && v <= a.max + 1e-12;
    for (const v of x.minorTicks ?? []) {
      if (!inRange(x, v)) continue;
      const sx = num(this.x(v));
      out.push(`<line x1="${sx}" y1="${num(y1)}" x2="${sx}" y2="${num(y0)}" stroke="#eeeeee"/>`);
    }
    for (const v of y.minorTicks ?? []) {
      if (!inRange(y, v)) continue;
      const sy = num(this.y(v));
      out.push(`<line x1="${num(x0)}" y1="${sy}" x2="${num(x1)}" y2="${sy}" stroke="#eeeeee"/>`);
    }
    const fx = x.format ?? ((v: number) => String(v));
    const fy = y.format ?? ((v: number) => String(v));
    for (const v of x.ticks) {
      if (!inRange(x, v)) continue;
      const sx = num(this.x(v));
      out.push(`<line x1="${sx}" y1="${num(y1)}" x2="${sx}" y2="${num(y0)}" stroke="#dddddd"/>`);
      out.push(`<line x1="${sx}" y1="${num(y0)}" x2="${sx}" y2="${num(y0 + 5)}" stroke="${COLORS.ink}"/>`);
      out.push(
        `<text x="${sx}" y="${num(y0 + 19)}" text-anchor="middle" font-size="12" fill="${COLORS.ink}">${escapeXml(fx(v))}</text>`,
      );
    }
    for (const v of y.ticks) {
      if (!inRange(y, v)) continue;
      const sy = num(this.y(v));
      out.push(`<line x1="${num(x0)}" y1="${sy}" x2="${num(x1)}" y2="${sy}" stroke="#dddddd"/>`);
      out.push(`<line x1="${num(x0 - 5)}" y1="${sy}" x2="${num(x0)}" y2="${sy}" stroke="${COLORS.ink}"/>`);
      out.push(
        `<text x="${num(x0 - 8)}" y="${num(Number(sy) + 4)}" text-anchor="end" font-size="12" fill="${COLORS.ink}">${escapeXml(fy(v))}</text>`,
      );
    }
    out.push(
      `<rect x="${num(x0)}" y="${num(y1)}" width="${num(this.plotWidth)}" height="${num(this.plotHeight)}" fill="none" stroke="${COLORS.ink}"/>`,
    );
    out.push(
      `<text class="axis-label" x="${num(x0 + this.plotWidth / 2)}" y="${num(this.height - 14)}" text-anchor="middle" font-size="13" fill="${COLORS.ink}">${escapeXml(x.label)}</text>`,
    );
    const ly = this.top + this.plotHeight / 2;
    out.push(
      `<text class="axis-label" x="18" y="${num(ly)}" text-anchor="middle" font-size="13" fill="${COLORS.ink}" transform="rotate(-90 18 ${num(ly)})">${escapeXml(y.label)}</text>`,
    );
    return out;
  }

  private legendSvg(position: 'top-left' | 'top-right' | 'bottom-right'): string[] {
    if (this.legendItems.length === 0) return [];
    const rowH = 18;
    const w = 18 + 30 + Math.max(...this.legendItems.map((i) => i.label.length)) * 6.6;
    const h = 10 + rowH * this.legendItems.length;
    const lx = position === 'top-left' ? this.left + 10 : this.left + this.plotWidth - w - 10;
    const ly = position === 'bottom-right' ? this.top + this.plotHeight - h - 10 : this.top + 10;
    const out = [
      `<g class="legend">`,
      `<rect x="${num(lx)}" y="${num(ly)}" width="${num(w)}" height="${num(h)}" fill="#ffffff" fill-opacity="0.9" stroke="#bbbbbb"/>`,
    ];
    this.legendItems.forEach((item, i) => {
      const cy = ly + 5 + rowH * i + rowH / 2;
      const sx = lx + 10;
      const c = escapeXml(item.color);
      if (item.kind === 'area') {
        out.push(
          `<rect x="${num(sx)}" y="${num(cy - 6)}" width="24" height="12" fill="${c}" fill-opacity="0.35" stroke="${c}"/>`,
        );
      } else if (item.kind === 'marker') {
        out.push(`<circle cx="${num(sx + 12)}" cy="${num(cy)}" r="5" fill="${c}" stroke="#ffffff"/>`);
      } else {
        const dash = item.kind === 'dashed' ? ' stroke-dasharray="6 4"' : '';
        out.push(
          `<line x1="${num(sx)}" y1="${num(cy)}" x2="${num(sx + 24)}" y2="${num(cy)}" stroke="${c}" stroke-width="2.5"${dash}/>`,
        );
      }
      out.push(
        `<text x="${num(sx + 32)}" y="${num(cy + 4)}" font-size="12" fill="${COLORS.ink}">${escapeXml(item.label)}</text>`,
      );
    });
    out.push('</g>');
    return out;
  }

  /** The complete SVG document. */
  toString(legendPosition: 'top-left' | 'top-right' | 'bottom-right' = 'top-right'): string {
    const { title, subtitle } = this.spec;
    const parts = [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}" font-family="Helvetica, Arial, sans-serif">`,
      `<title>${escapeXml(title)}</title>`,
      `<rect width="100%" height="100%" fill="#ffffff"/>`,
      `<defs><clipPath id="${this.clipId}"><rect x="${num(this.left)}" y="${num(this.top)}" width="${num(this.plotWidth)}" height="${num(this.plotHeight)}"/></clipPath></defs>`,
      `<text class="title" x="${num(this.width / 2)}" y="24" text-anchor="middle" font-size="16" font-weight="bold" fill="${COLORS.ink}">${escapeXml(title)}</text>`,
      subtitle
        ? `<text class="subtitle" x="${num(this.width / 2)}" y="44" text-anchor="middle" font-size="12" fill="${COLORS.grey}">${escapeXml(subtitle)}</text>`
        : '',
      ...this.axes(),
      `<g class="data" clip-path="url(#${this.clipId})">`,
      ...this.data,
      `</g>`,
      ...this.overlay,
      ...this.legendSvg(legendPosition),
      `</svg>`,
    ];
    return `${parts.filter((p) => p !== '').join('\n')}\n`;
  }
}
