/**
 * The run directory's loss plot: an SVG we write ourselves (curves vs step, nice axis ticks,
 * optional log-scale y axis, legend, title) and a PNG of it rendered with @resvg/resvg-js.
 *
 * Points with NaN or infinite values (and non-positive ones on a log axis) are skipped; long
 * series are decimated per pixel column keeping each column's first, min, max and last point, so
 * spikes stay visible and the file stays small. Text in the PNG needs a font file: we look for
 * DejaVu Sans (Debian's fonts-dejavu-core) and a few common system fonts, or GLM_PLOT_FONT; with
 * none, the PNG is still written, without text, and `renderPng` says so.
 */
import * as fs from 'fs';
import { Resvg } from '@resvg/resvg-js';
import { argError, describe, GlmError } from '../errors';
import { writeFileAtomic } from './atomic';

/** One curve: points [step, value]. */
export interface PlotSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** CSS color; default from a palette by position. */
  color?: string;
  /** Draw a dot at every point (default: when the series has at most 60 points). */
  markers?: boolean;
}

/** Options of lossPlotSvg. */
export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (default false). */
  logScale?: boolean;
  /** Size in CSS pixels (default 800 × 480). */
  width?: number;
  height?: number;
  /** Decimate series longer than this (default: 2 per pixel column of the plot area). */
  maxPoints?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const FONT_STACK = "'DejaVu Sans', Arial, Helvetica, sans-serif";

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rounds a pixel coordinate to 2 decimals: sub-pixel accuracy, short files. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A tick step of 1, 2 or 5 × 10^k giving about `target` intervals over `span`. */
export function niceStep(span: number, target = 5): number {
  const raw = span / Math.max(1, target);
  const e = Math.floor(Math.log10(raw));
  const f = raw / 10 ** e;
  const m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  // Divide for negative exponents: 5 / 1e6 is exactly 5e-6 rounded, 5 * 1e-6 is not.
  return e >= 0 ? m * 10 ** e : m / 10 ** -e;
}

/** Linear axis: a domain widened to whole steps, and its ticks. */
export function linearTicks(lo: number, hi: number, target = 5, minStep = 0): { lo: number; hi: number; ticks: number[]; step: number } {
  if (!(hi > lo)) {
    const pad = Math.max(lo === 0 ? 1 : Math.abs(lo) * 0.1, minStep);
    lo -= pad;
    hi += pad;
  }
  const step = Math.max(niceStep(hi - lo, target), minStep);
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  const n = Math.round((b - a) / step);
  // Multiply rather than accumulate, so 0.1 + 0.2 drift never shows up in a label.
  for (let i = 0; i <= n; i++) ticks.push(a + i * step);
  return { lo: a, hi: b, ticks, step };
}

/**
 * Log axis over [lo, hi] (both > 0): the domain widened to include 1-2-5 ticks around the data,
 * and ticks at 1, 2, 5 × 10^k (or 1..9 × 10^k when the range is narrow, or linear ticks when
 * even that gives fewer than two).
 */
export function logTicks(lo: number, hi: number): { lo: number; hi: number; ticks: number[] } {
  if (!(hi > lo)) {
    lo /= 1.5;
    hi *= 1.5;
  }
  const within = (mult: number[]) => {
    const out: number[] = [];
    for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)) + 1; k++) {
      for (const m of mult) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) out.push(v);
      }
    }
    return out;
  };
  let ticks = within([1, 2, 5]);
  if (ticks.length < 3) ticks = within([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (ticks.length < 3) ticks = linearTicks(lo, hi, 4).ticks.filter((t) => t >= lo && t <= hi && t > 0);
  return { lo, hi, ticks };
}

/** A short tick label: trailing zeros removed, 12k for round thousands, exponent for tiny/huge. */
export function formatTick(v: number, step?: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  if (a >= 1e4 && Math.round(v) % 1000 === 0) return `${v / 1000}k`;
  const decimals = step !== undefined ? Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)) : 4;
  return String(Number(v.toFixed(Math.min(decimals, 10))));
}

/** Finite points (positive y on a log axis), sorted by step. */
function cleanPoints(points: ReadonlyArray<readonly [number, number]>, logScale: boolean): [number, number][] {
  const out: [number, number][] = [];
  for (const p of points) {
    const x = p[0];
    const y = p[1];
    if (!Number.isFinite(x) || !Number.isFinite(y) || (logScale && y <= 0)) continue;
    out.push([x, y]);
  }
  // Stable sort: a resumed run's repeated steps (if any) keep their logged order.
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Keeps each bucket's first, min, max and last point (in step order), with `buckets` equal-width
 * buckets over the x range: the drawn line looks the same at that resolution, spikes included.
 */
export function decimate(points: [number, number][], buckets: number): [number, number][] {
  if (points.length <= buckets * 4 || points.length < 3) return points;
  const x0 = points[0][0];
  const span = points[points.length - 1][0] - x0 || 1;
  const out: [number, number][] = [];
  let i = 0;
  while (i < points.length) {
    const b = Math.min(buckets - 1, Math.floor(((points[i][0] - x0) / span) * buckets));
    let j = i;
    let lo = i;
    let hi = i;
    while (j < points.length && Math.min(buckets - 1, Math.floor(((points[j][0] - x0) / span) * buckets)) === b) {
      if (points[j][1] < points[lo][1]) lo = j;
      if (points[j][1] > points[hi][1]) hi = j;
      j++;
    }
    const keep = [...new Set([i, lo, hi, j - 1])].sort((p, q) => p - q);
    for (const k of keep) out.push(points[k]);
    i = j;
  }
  return out;
}

function checkSeries(op: string, series: unknown): PlotSeries[] {
  if (!Array.isArray(series)) throw argError(op, 'series', 'an array of {name, points}', describe(series));
  series.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof (s as PlotSeries).name !== 'string' || !Array.isArray((s as PlotSeries).points)) {
      throw argError(op, `series[${i}]`, 'an object {name: string, points: [step, value][]}', describe(s));
    }
    (s as PlotSeries).points.forEach((p, j) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
        throw argError(op, `series[${i}].points[${j}]`, 'a pair [step, value] of numbers', describe(p));
      }
    });
  });
  return series as PlotSeries[];
}

function checkSize(op: string, name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 10000) throw argError(op, name, 'an integer in [100, 10000]', describe(v));
  return v;
}

/** The loss plot as a standalone SVG document. */
export function lossPlotSvg(series: PlotSeries[], options: PlotOptions = {}): string {
  const op = 'lossPlotSvg';
  const list = checkSeries(op, series);
  const W = checkSize(op, 'options.width', options.width, 800);
  const H = checkSize(op, 'options.height', options.height, 480);
  const log = options.logScale === true;
  const title = options.title ?? 'Loss';
  const xLabel = options.xLabel ?? 'step';
  const yLabel = options.yLabel ?? (log ? 'loss (log scale)' : 'loss');
  const m = { left: 72, right: 24, top: title ? 44 : 20, bottom: 52 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const maxPoints = options.maxPoints ?? pw * 2;
  if (!Number.isInteger(maxPoints) || maxPoints < 4) throw argError(op, 'options.maxPoints', 'an integer >= 4', describe(options.maxPoints));

  const cleaned = list.map((s) => {
    const pts = cleanPoints(s.points, log);
    return { s, pts: decimate(pts, Math.max(1, Math.floor(maxPoints / 4))), n: pts.length };
  });
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const { pts } of cleaned) {
    for (const [x, y] of pts) {
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
  }
  const empty = !Number.isFinite(xmin);
  if (empty) {
    xmin = 0; xmax = 1; ymin = log ? 1 : 0; ymax = log ? 10 : 1;
  }
  // Steps are integers: no tick at step 0.5.
  const integerX = cleaned.every(({ pts }) => pts.every(([x]) => Number.isInteger(x)));
  const xa = linearTicks(xmin, xmax, 6, integerX ? 1 : 0);
  // Steps are never negative: do not extend the axis below 0.
  if (xmin >= 0 && xa.lo < 0) {
    xa.lo = 0;
    xa.ticks = xa.ticks.filter((t) => t >= 0);
  }
  const sx = (x: number) => m.left + ((x - xa.lo) / (xa.hi - xa.lo)) * pw;
  let sy: (y: number) => number;
  let yTicks: number[];
  let yStep: number | undefined;
  if (log) {
    const ya = logTicks(ymin, ymax);
    const l0 = Math.log10(ya.lo);
    const l1 = Math.log10(ya.hi);
    // 4% headroom on each side, so the extreme points are not drawn on the frame.
    const pad = (l1 - l0) * 0.04;
    sy = (y: number) => m.top + ph - ((Math.log10(y) - (l0 - pad)) / (l1 - l0 + 2 * pad)) * ph;
    yTicks = ya.ticks;
  } else {
    const ya = linearTicks(ymin, ymax, 5);
    sy = (y: number) => m.top + ph - ((y - ya.lo) / (ya.hi - ya.lo)) * ph;
    yTicks = ya.ticks;
    yStep = ya.step;
  }

  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${esc(FONT_STACK)}" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<defs><clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  // Grid and ticks.
  o.push('<g stroke="#e6e6e6" stroke-width="1">');
  for (const t of xa.ticks) o.push(`<line x1="${px(sx(t))}" y1="${m.top}" x2="${px(sx(t))}" y2="${m.top + ph}"/>`);
  for (const t of yTicks) o.push(`<line x1="${m.left}" y1="${px(sy(t))}" x2="${m.left + pw}" y2="${px(sy(t))}"/>`);
  o.push('</g>');
  o.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444444" stroke-width="1"/>`);
  o.push('<g fill="#333333" text-anchor="middle">');
  for (const t of xa.ticks) {
    o.push(`<line x1="${px(sx(t))}" y1="${m.top + ph}" x2="${px(sx(t))}" y2="${m.top + ph + 5}" stroke="#444444"/>`);
    o.push(`<text x="${px(sx(t))}" y="${m.top + ph + 18}">${esc(formatTick(t, xa.step))}</text>`);
  }
  o.push('</g><g fill="#333333" text-anchor="end">');
  for (const t of yTicks) {
    o.push(`<line x1="${m.left - 5}" y1="${px(sy(t))}" x2="${m.left}" y2="${px(sy(t))}" stroke="#444444"/>`);
    o.push(`<text x="${m.left - 8}" y="${px(sy(t) + 4)}">${esc(formatTick(t, yStep))}</text>`);
  }
  o.push('</g>');
  // Axis labels and title.
  o.push(`<text x="${px(m.left + pw / 2)}" y="${H - 12}" text-anchor="middle" fill="#222222" font-size="13">${esc(xLabel)}</text>`);
  o.push(`<text x="18" y="${px(m.top + ph / 2)}" text-anchor="middle" fill="#222222" font-size="13" transform="rotate(-90 18 ${px(m.top + ph / 2)})">${esc(yLabel)}</text>`);
  if (title) o.push(`<text x="${px(W / 2)}" y="28" text-anchor="middle" fill="#111111" font-size="16" font-weight="bold">${esc(title)}</text>`);
  if (empty) o.push(`<text x="${px(m.left + pw / 2)}" y="${px(m.top + ph / 2)}" text-anchor="middle" fill="#888888" font-size="14">no data yet</text>`);
  // Curves (clipped to the frame), then markers (unclipped: a point on the frame stays a whole dot).
  o.push('<g clip-path="url(#plot)" fill="none" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round">');
  cleaned.forEach(({ s, pts }, i) => {
    const color = esc(s.color ?? PALETTE[i % PALETTE.length]);
    if (pts.length >= 2) o.push(`<polyline stroke="${color}" points="${pts.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(' ')}"/>`);
  });
  o.push('</g><g stroke="none">');
  cleaned.forEach(({ s, pts, n }, i) => {
    const color = esc(s.color ?? PALETTE[i % PALETTE.length]);
    if (s.markers ?? n <= 60) for (const [x, y] of pts) o.push(`<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="2.8" fill="${color}"/>`);
  });
  o.push('</g>');
  // Legend, top right inside the plot.
  const shown = cleaned.filter(({ s }) => s.name !== '');
  if (shown.length > 0) {
    const lw = 24 + Math.max(...shown.map(({ s }) => s.name.length)) * 7 + 16;
    const lh = 8 + shown.length * 18;
    const lx = m.left + pw - lw - 10;
    const ly = m.top + 10;
    o.push(`<g><rect x="${px(lx)}" y="${ly}" width="${px(lw)}" height="${lh}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`);
    shown.forEach(({ s }, k) => {
      const color = esc(s.color ?? PALETTE[cleaned.findIndex((c) => c.s === s) % PALETTE.length]);
      const y = ly + 4 + 9 + k * 18;
      o.push(`<line x1="${px(lx + 8)}" y1="${y}" x2="${px(lx + 28)}" y2="${y}" stroke="${color}" stroke-width="2.5"/>`);
      o.push(`<text x="${px(lx + 34)}" y="${y + 4}" fill="#222222">${esc(s.name)}</text>`);
    });
    o.push('</g>');
  }
  o.push('</svg>');
  return o.join('\n') + '\n';
}

/**
 * Train and val loss series from metrics entries: `trainKey` (default "loss") and `valKey`
 * (default "valLoss") of each entry that has them as numbers, against `step`.
 */
export function lossSeriesFromMetrics(
  entries: ReadonlyArray<{ step: number; [k: string]: unknown }>,
  keys: { trainKey?: string; valKey?: string } = {},
): PlotSeries[] {
  const trainKey = keys.trainKey ?? 'loss';
  const valKey = keys.valKey ?? 'valLoss';
  const pick = (k: string): [number, number][] =>
    entries.filter((e) => typeof e[k] === 'number').map((e) => [e.step, e[k] as number]);
  const out: PlotSeries[] = [{ name: 'train loss', points: pick(trainKey) }];
  const val = pick(valKey);
  if (val.length > 0) out.push({ name: 'val loss', points: val, markers: val.length <= 60 });
  return out;
}

const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', // Debian/Ubuntu fonts-dejavu-core
  '/usr/share/fonts/TTF/DejaVuSans.ttf', // Arch
  '/usr/share/fonts/dejavu/DejaVuSans.ttf', // Fedora
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf', // macOS
  '/Library/Fonts/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

/**
 * The font file PNG text is drawn with: GLM_PLOT_FONT if it names a file, else the first
 * candidate found, else null. GLM_PLOT_FONT=none turns text in PNGs off (and system fonts too).
 */
export function findPlotFont(): string | null {
  const env = process.env.GLM_PLOT_FONT;
  if (env === 'none') return null;
  if (env && fs.existsSync(env)) return env;
  for (const f of FONT_CANDIDATES) if (fs.existsSync(f)) return f;
  return null;
}

let systemFontsDrawText: boolean | null = null;

/** Whether resvg's system font scan finds anything to draw text with (probed once, ~30 ms). */
function systemFontsWork(): boolean {
  if (systemFontsDrawText === null) {
    const probe = '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30"><text x="4" y="22" font-size="20" font-family="sans-serif">Hg</text></svg>';
    const img = new Resvg(probe, { font: { loadSystemFonts: true } }).render();
    let ink = 0;
    for (let i = 3; i < img.pixels.length; i += 4) if (img.pixels[i] > 0) ink++;
    systemFontsDrawText = ink > 0;
  }
  return systemFontsDrawText;
}

/** A rendered PNG and how its text was drawn. */
export interface PngResult {
  png: Uint8Array;
  /** The font file used, "system" for resvg's system font scan, or null when no font was found (no text). */
  font: string | null;
}

/** Renders an SVG to PNG at `width` pixels wide (default: the SVG's own width). */
export function renderPng(svg: string, options: { width?: number } = {}): PngResult {
  const op = 'renderPng';
  if (typeof svg !== 'string') throw argError(op, 'svg', 'an SVG document as a string', describe(svg));
  const fontFile = findPlotFont();
  let font: string | null = fontFile;
  let fontOpts: { loadSystemFonts: boolean; fontFiles?: string[] };
  if (fontFile) {
    // The title is bold: load the bold face beside the regular one when there is one.
    const bold = fontFile.replace(/(\.ttf)$/i, '-Bold$1');
    fontOpts = { loadSystemFonts: false, fontFiles: bold !== fontFile && fs.existsSync(bold) ? [fontFile, bold] : [fontFile] };
  }
  else if (process.env.GLM_PLOT_FONT !== 'none' && systemFontsWork()) {
    fontOpts = { loadSystemFonts: true };
    font = 'system';
  } else fontOpts = { loadSystemFonts: false };
  try {
    const r = new Resvg(svg, {
      font: fontOpts,
      fitTo: options.width ? { mode: 'width', value: options.width } : { mode: 'original' },
      background: '#ffffff',
      logLevel: 'off',
    });
    return { png: new Uint8Array(r.render().asPng()), font };
  } catch (err) {
    throw new GlmError(op, `could not render the SVG: ${(err as Error).message}`);
  }
}

/** What writeLossPlot wrote. */
export interface LossPlotFiles {
  svgPath: string;
  pngPath: string | null;
  /** As in PngResult (null also when no PNG was asked for). */
  font: string | null;
}

/**
 * Writes the loss plot as SVG (and PNG unless `pngPath` is null), both atomically. The PNG is
 * rendered at 2× the SVG size for sharp text. Check `font` for null: then the PNG has no text.
 */
export function writeLossPlot(svgPath: string, pngPath: string | null, series: PlotSeries[], options: PlotOptions = {}): LossPlotFiles {
  const svg = lossPlotSvg(series, options);
  let font: string | null = null;
  if (pngPath !== null) {
    const width = (options.width ?? 800) * 2;
    const r = renderPng(svg, { width });
    font = r.font;
    writeFileAtomic(pngPath, r.png);
  }
  writeFileAtomic(svgPath, svg);
  return { svgPath, pngPath, font };
}
