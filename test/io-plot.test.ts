/**
 * lib/io/plot.ts: tick selection (nice steps, log ticks, clean labels), the SVG (points mapped onto
 * the frame, NaN/Infinity skipped, one point, no points, decimation keeping spikes, escaping,
 * log scale) and the PNG (real PNG of the right size; text drawn when a font is found).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  decimate,
  findPlotFont,
  formatTick,
  linearTicks,
  logTicks,
  lossPlotSvg,
  lossSeriesFromMetrics,
  niceStep,
  renderPng,
  writeLossPlot,
} from '../lib/io/plot';
import { assertThrows } from './helpers/assert';
import { rng, seedNote } from './helpers/random';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-io-p-'));

/** The frame rectangle of the plot area. */
function frame(svg: string): { x: number; y: number; w: number; h: number } {
  const m = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none" stroke="#444444"/.exec(svg);
  assert.ok(m, 'frame rect');
  return { x: +m![1], y: +m![2], w: +m![3], h: +m![4] };
}

/** Points of every polyline, in order. */
function polylines(svg: string): [number, number][][] {
  return [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) =>
    m[1].split(' ').map((p) => p.split(',').map(Number) as [number, number]),
  );
}

const ticks = suite('plot ticks');

ticks('niceStep gives 1, 2 or 5 × 10^k near span/target', () => {
  const r = rng();
  for (let i = 0; i < 500; i++) {
    const span = 10 ** r.uniform(-6, 8);
    const s = niceStep(span, 5);
    const k = Math.floor(Math.log10(s) + 1e-9);
    const m = Math.round(s / 10 ** k);
    assert.ok([1, 2, 5, 10].includes(m) && Math.abs(s / 10 ** k - m) < 1e-9, `step ${s} for span ${span} ${seedNote()}`);
    // Thresholds 1.5, 3, 7 on the mantissa put span/step in [0.6, 1.5) × target.
    assert.ok(span / s >= 3 - 1e-9 && span / s < 7.5 + 1e-9, `span/step ${span / s} ${seedNote()}`);
  }
});

ticks('linearTicks cover the data with whole steps and few ticks', () => {
  const r = rng();
  for (let i = 0; i < 500; i++) {
    const a = r.uniform(-1e3, 1e3) * 10 ** r.int(-3, 3);
    const b = a + Math.abs(r.normal()) * 10 ** r.int(-3, 4);
    const t = linearTicks(a, b, 5);
    assert.ok(t.lo <= a && t.hi >= b, `[${t.lo}, ${t.hi}] covers [${a}, ${b}] ${seedNote()}`);
    assert.ok(t.ticks.length >= 2 && t.ticks.length <= 12, `${t.ticks.length} ticks ${seedNote()}`);
    // v / step carries float64 rounding relative to its size (up to ~1e10 here).
    for (const v of t.ticks) assert.ok(Math.abs(v / t.step - Math.round(v / t.step)) < 1e-6 + Math.abs(v / t.step) * 1e-12, `${v} multiple of ${t.step} ${seedNote()}`);
  }
  assert.equal(linearTicks(0, 5000, 6).ticks, [0, 1000, 2000, 3000, 4000, 5000]);
  // Degenerate range is widened; minStep keeps steps integer.
  const one = linearTicks(7, 7, 6, 1);
  assert.ok(one.lo < 7 && one.hi > 7 && one.step >= 1);
});

ticks('labels have no float noise', () => {
  const t = linearTicks(0, 0.3, 6);
  const labels = t.ticks.map((v) => formatTick(v, t.step));
  assert.equal(labels, ['0', '0.05', '0.1', '0.15', '0.2', '0.25', '0.3']);
  assert.is(formatTick(12000, 1000), '12k');
  assert.is(formatTick(2.5e-5), '2.5e-5');
  assert.is(formatTick(3), '3');
});

ticks('logTicks: positive ticks inside the range, 1-2-5 when wide, finer when narrow', () => {
  assert.equal(logTicks(0.01, 100).ticks, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]);
  const narrow = logTicks(2.8, 11);
  assert.ok(narrow.ticks.length >= 3, narrow.ticks.join());
  for (const v of narrow.ticks) assert.ok(v >= 2.8 && v <= 11);
  const veryNarrow = logTicks(3.01, 3.09);
  assert.ok(veryNarrow.ticks.length >= 2 && veryNarrow.ticks.every((v) => v >= 3.01 && v <= 3.09), veryNarrow.ticks.join());
});

const svgs = suite('plot svg');

svgs('points land on the frame: first at bottom-left, last at top-right', () => {
  const svg = lossPlotSvg([{ name: 'train loss', points: [[0, 2], [50, 3], [100, 4]] }]);
  const f = frame(svg);
  const [line] = polylines(svg);
  assert.equal(line[0], [f.x, f.y + f.h]);
  assert.equal(line[1], [f.x + f.w / 2, f.y + f.h / 2]);
  assert.equal(line[2], [f.x + f.w, f.y]);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.includes('>train loss</text>'), 'legend');
});

svgs('NaN and Infinity points are skipped; 1 point draws a marker; no points says so', () => {
  const svg = lossPlotSvg([{ name: 'train', points: [[0, 5], [1, NaN], [2, Infinity], [3, -Infinity], [4, 4]] }]);
  assert.not.ok(/NaN|Infinity/.test(svg), 'no NaN/Infinity coordinates');
  assert.is(polylines(svg)[0].length, 2);
  const one = lossPlotSvg([{ name: 'train', points: [[10, 3.5]] }]);
  assert.is(polylines(one).length, 0);
  assert.is((one.match(/<circle /g) ?? []).length, 1);
  const f = frame(one);
  const c = /<circle cx="([\d.]+)" cy="([\d.]+)"/.exec(one)!;
  assert.ok(+c[1] > f.x && +c[1] < f.x + f.w && +c[2] > f.y && +c[2] < f.y + f.h, 'inside the frame');
  const none = lossPlotSvg([{ name: 'train', points: [[1, NaN]] }]);
  assert.ok(none.includes('no data yet'));
  assert.ok(lossPlotSvg([]).includes('no data yet'));
});

svgs('thousands of points are decimated, keeping the spike and the ends', () => {
  const r = rng();
  const pts: [number, number][] = Array.from({ length: 20000 }, (_, i) => [i, 3 + r.uniform(0, 0.2)]);
  pts[12345][1] = 9; // a spike
  const svg = lossPlotSvg([{ name: 'train', points: pts }], { width: 800 });
  const [line] = polylines(svg);
  assert.ok(line.length <= 2000, `${line.length} points drawn`);
  const f = frame(svg);
  const ya = linearTicks(3, 9, 5);
  const xa = linearTicks(0, 19999, 6, 1);
  // Coordinates are written with 2 decimals: 0.005 px.
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 0.0051, `${what}: ${a} vs ${b}`);
  near(Math.min(...line.map((p) => p[1])), f.y + f.h * (1 - (9 - ya.lo) / (ya.hi - ya.lo)), 'spike drawn at y = 9');
  near(line[0][0], f.x, 'first step');
  near(line[line.length - 1][0], f.x + f.w * (19999 / xa.hi), 'last step');
  assert.ok(svg.length < 80000, `svg ${svg.length} bytes`);
  // decimate itself: every bucket keeps its extremes; order kept.
  const d = decimate(pts, 100);
  assert.ok(d.length <= 400);
  assert.ok(d.some((p) => p[1] === 9));
  for (let i = 1; i < d.length; i++) assert.ok(d[i][0] > d[i - 1][0]);
});

svgs('log scale skips non-positive values and spaces decades equally', () => {
  const svg = lossPlotSvg([{ name: 'l', points: [[0, 100], [1, 10], [2, 1], [3, 0], [4, -1]] }], { logScale: true });
  const [line] = polylines(svg);
  assert.is(line.length, 3);
  assert.ok(Math.abs((line[1][1] - line[0][1]) - (line[2][1] - line[1][1])) < 0.02, 'equal decades');
  assert.ok(svg.includes('loss (log scale)'));
});

svgs('text is escaped; bad arguments name the argument', async () => {
  const svg = lossPlotSvg([{ name: 'a<b>&"c"', points: [[0, 1], [1, 2]] }], { title: '<script>x</script>' });
  assert.not.ok(svg.includes('<script>'));
  assert.ok(svg.includes('&lt;script&gt;') && svg.includes('a&lt;b&gt;&amp;&quot;c&quot;'));
  await assertThrows(() => lossPlotSvg([{ name: 'x', points: [[0]] as unknown as [number, number][] }]), 'lossPlotSvg', 'series[0].points[0]');
  await assertThrows(() => lossPlotSvg([], { width: 5 }), 'options.width');
  await assertThrows(() => lossPlotSvg({} as unknown as []), 'series');
});

svgs('lossSeriesFromMetrics picks train and val loss by step', () => {
  const s = lossSeriesFromMetrics([{ step: 1, loss: 5 }, { step: 2, loss: 4, valLoss: 4.5 }, { step: 3, lr: 1 }]);
  assert.equal(s.map((x) => [x.name, x.points]), [['train loss', [[1, 5], [2, 4]]], ['val loss', [[2, 4.5]]]]);
});

const png = suite('plot png');

/** Width and height from a PNG's IHDR chunk. */
function pngSize(b: Uint8Array): [number, number] {
  assert.equal(Array.from(b.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  const dv = new DataView(b.buffer, b.byteOffset);
  return [dv.getUint32(16), dv.getUint32(20)];
}

png('renders a PNG at the asked width, with text when a font is found', () => {
  const svg = lossPlotSvg([{ name: 'train loss', points: [[0, 10], [100, 3]] }], { title: 'Loss' });
  const a = renderPng(svg, { width: 1600 });
  assert.equal(pngSize(a.png), [1600, 960]);
  // Same plot without any text: the PNGs differ exactly when text was drawn.
  const b = renderPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''), { width: 1600 });
  if (a.font === null) {
    console.log(`  [plot] no font found (${findPlotFont()}): PNG text cannot be checked; install fonts-dejavu-core or set GLM_PLOT_FONT`);
    assert.equal(Array.from(a.png), Array.from(b.png), 'no font: text draws nothing, and nothing fails');
  } else {
    assert.not.equal(Array.from(a.png), Array.from(b.png), `text drawn with ${a.font}`);
  }
});

png('without a font the PNG is still written, without text, and says so', () => {
  const svg = lossPlotSvg([{ name: 'train loss', points: [[0, 10], [100, 3]] }]);
  const saved = process.env.GLM_PLOT_FONT;
  process.env.GLM_PLOT_FONT = 'none';
  try {
    const a = renderPng(svg);
    assert.is(a.font, null);
    assert.equal(pngSize(a.png), [800, 480]);
    const b = renderPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
    assert.equal(Array.from(a.png), Array.from(b.png), 'no text drawn');
  } finally {
    if (saved === undefined) delete process.env.GLM_PLOT_FONT;
    else process.env.GLM_PLOT_FONT = saved;
  }
});

png('writeLossPlot writes both files atomically', () => {
  const svgPath = path.join(tmp, 'loss.svg');
  const pngPath = path.join(tmp, 'loss.png');
  const series = [{ name: 'train loss', points: [[0, 10], [1, 9]] as [number, number][] }];
  const res = writeLossPlot(svgPath, pngPath, series, { width: 400, height: 300 });
  assert.is(fs.readFileSync(svgPath, 'utf8'), lossPlotSvg(series, { width: 400, height: 300 }));
  assert.equal(pngSize(new Uint8Array(fs.readFileSync(pngPath))), [800, 600]);
  assert.is(res.font, findPlotFont() ?? res.font);
  writeLossPlot(svgPath, null, series);
  assert.equal(fs.readdirSync(tmp).sort(), ['loss.png', 'loss.svg']);
});

png.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

ticks.run();
svgs.run();
png.run();
