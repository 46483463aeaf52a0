// Charts as inline SVG built in the page (no chart library, nothing from
// the internet; the CSP allows neither). Two shapes: a time chart (lines
// or bars over the query's range, x by time so buckets without data leave a
// gap instead of being squeezed out) and a bar chart over categories
// (grouped: one bar per series in each category). Both take an optional
// target drawn as a dashed reference line. Every chart carries <title> and
// <desc> for screen readers, a <title> on each mark (hover text) and a
// visually hidden table with the same figures.
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
// The drawing box in SVG units; the SVG scales to its container's width.
const W = 640, H = 220;
const PAD = { left: 66, right: 16, top: 14, bottom: 28 };
let nextId = 0;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const titled = (el, text) => { el.append(s('title', {}, text)); return el; };

/** The top of the y axis: the data, the target and `floor` (e.g. 1 for shares), rounded up to 1, 2, 2.5 or 5 × 10ⁿ so the ticks read well. */
export function scaleMax(values, target, floor = 0) {
  const finite = values.filter((v) => Number.isFinite(v));
  const top = Math.max(floor, target ?? 0, ...finite);
  if (!(top > 0)) return 1;
  if (floor && top <= floor) return floor;
  const step = 10 ** Math.floor(Math.log10(top));
  return [1, 2, 2.5, 5, 10].map((m) => m * step).find((v) => v >= top);
}

function frame(title, desc, yMax, format, target) {
  const id = `chart-${++nextId}`;
  const y = (v) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / yMax);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, class: 'chart-svg', preserveAspectRatio: 'xMidYMid meet' },
    s('title', { id: `${id}-t` }, title), s('desc', { id: `${id}-d` }, desc));
  const axis = s('g', { class: 'axis', 'aria-hidden': 'true' });
  for (const v of [0, yMax / 2, yMax]) {
    axis.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  svg.append(axis);
  const drawTarget = () => {
    if (target == null || !Number.isFinite(target.value)) return;
    svg.append(titled(s('g', { class: 'target' },
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(target.value), y2: y(target.value), class: 'target-line', 'stroke-dasharray': '6 4' }),
      s('text', { x: W - PAD.right - 4, y: y(target.value) - 5, 'text-anchor': 'end' }, target.label)), target.label));
  };
  return { svg, y, drawTarget };
}

function table(caption, head, rows) {
  return h('table', { class: 'visually-hidden' }, h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))));
}

/**
 * A chart over time.
 * points: [{at: ms, values: [number|null per series]}], sorted by time.
 * series: [{name, kind: 'line'|'bar'}]; from/to/bucketMs: the query's range and bucket length.
 */
export function timeChart({ title, desc, from, to, bucketMs, points, series, format, yMax, target, xLabel }) {
  const { svg, y, drawTarget } = frame(title, desc, yMax, format, target);
  const span = Math.max(1, to - from);
  const x = (at) => PAD.left + (W - PAD.left - PAD.right) * ((at - from) / span);
  const slot = Math.max(2, (W - PAD.left - PAD.right) * (bucketMs / span));
  const bars = series.filter((sr) => sr.kind === 'bar').length;
  series.forEach((sr, si) => {
    const g = s('g', { class: `series series-${si}`, 'data-series': sr.name });
    if (sr.kind === 'bar') {
      const bw = Math.max(1, (slot * 0.8) / Math.max(1, bars));
      for (const p of points) {
        const v = p.values[si];
        if (!Number.isFinite(v)) continue;
        g.append(titled(s('rect', { x: x(p.at) + slot * 0.1 + bw * si, y: y(v), width: bw, height: Math.max(0, y(0) - y(v)), class: 'mark' }),
          `${xLabel(p.at)}: ${sr.name} ${format(v)}`));
      }
    } else {
      // A line breaks where a bucket has no value (nothing happened to measure), rather than drawing through it.
      let d = '', prev = null;
      for (const p of points) {
        const v = p.values[si];
        if (!Number.isFinite(v)) { prev = null; continue; }
        const cx = x(p.at + bucketMs / 2);
        d += `${prev !== null && p.at - prev <= bucketMs * 1.5 ? 'L' : 'M'}${cx.toFixed(1)} ${y(v).toFixed(1)} `;
        prev = p.at;
        g.append(titled(s('circle', { cx, cy: y(v), r: 3, class: 'mark' }), `${xLabel(p.at)}: ${sr.name} ${format(v)}`));
      }
      if (d) g.prepend(s('path', { d, class: 'line', fill: 'none' }));
    }
    svg.append(g);
  });
  const labels = s('g', { class: 'axis', 'aria-hidden': 'true' });
  for (const at of [from, from + span / 2, to - bucketMs]) labels.append(s('text', { x: x(at + bucketMs / 2), y: H - 8, 'text-anchor': 'middle' }, xLabel(at)));
  svg.append(labels);
  drawTarget();
  return [svg, table(title, ['', ...series.map((sr) => sr.name)], points.map((p) => [xLabel(p.at), ...p.values.map((v) => (Number.isFinite(v) ? format(v) : '–'))]))];
}

/** Bars per category, grouped by series: categories [{label (under the bar), name (in titles and the table; default label), values: [number per series]}]. */
export function barChart({ title, desc, categories, series, format, yMax, target }) {
  const { svg, y, drawTarget } = frame(title, desc, yMax, format, target);
  const slot = (W - PAD.left - PAD.right) / Math.max(1, categories.length);
  const bw = (slot * 0.75) / Math.max(1, series.length);
  categories.forEach((c, ci) => {
    const x0 = PAD.left + slot * ci + slot * 0.125;
    series.forEach((sr, si) => {
      const v = c.values[si];
      if (!Number.isFinite(v)) return;
      svg.append(titled(s('rect', { x: x0 + bw * si, y: y(v), width: Math.max(1, bw - 2), height: Math.max(0, y(0) - y(v)), class: `mark series-${si}` }),
        `${c.name ?? c.label}: ${sr.name} ${format(v)}`));
    });
    // Narrow slots (many people) label every other bar; each bar's own title has the full name.
    const every = Math.ceil(60 / slot);
    if (ci % every === 0) {
      const short = c.label.length > 12 ? `${c.label.slice(0, 11)}…` : c.label;
      svg.append(s('text', { x: x0 + (slot * 0.75) / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis', 'aria-hidden': 'true' }, short));
    }
  });
  drawTarget();
  return [svg, table(title, ['', ...series.map((sr) => sr.name)], categories.map((c) => [c.name ?? c.label, ...c.values.map((v) => (Number.isFinite(v) ? format(v) : '–'))]))];
}

/** The legend under a chart: one swatch per series, the target when there is one. */
export function legend(series, target) {
  return h('ul', { class: 'legend', 'aria-hidden': 'true' },
    series.map((sr, i) => h('li', {}, h('span', { class: `swatch series-${i}` }), sr.name)),
    target ? h('li', {}, h('span', { class: 'swatch target' }), target.label) : null);
}
