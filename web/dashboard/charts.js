// Line charts with uPlot (node_modules/uplot, served by the dashboard; the global `uPlot`).
import { h, colour, fmt } from './util.js';

/** markers on a line only while few points are in view (zoom in to see them) */
const fewPoints = (_u, _i, i0, i1) => i1 - i0 < 50;

/** tick spacings of a step axis: whole steps only */
const STEP_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];

/**
 * A chart of several named series over a shared x axis. `series`: [{label, points: [[x, y], ...],
 * colour, band?: [[x, lo, hi], ...]}]. Returns {el, update(series), destroy()}; update keeps the chart
 * when the series labels are unchanged.
 */
export function lineChart({ title, xLabel, yLabel, series, height = 220, logY = false, key = title, integerX = false }) {
  const box = h('div', { class: 'chart', 'data-chart': key, 'data-points': 0 }, h('div', { class: 'chart-title' }, title));
  const body = h('div', { class: 'chart-body' });
  box.append(body);
  let plot = null;
  let labels = '';

  const build = (list) => {
    // uPlot wants one x array and y arrays aligned to it: join the series' own x values
    const tables = [];
    const opts = [{ label: xLabel, value: (_u, v) => fmt(v) }];
    const bands = [];
    list.forEach((s, i) => {
      tables.push([s.points.map((p) => p[0]), s.points.map((p) => p[1])]);
      opts.push({ label: s.label, stroke: s.colour ?? colour(i), width: 2, spanGaps: true, value: (_u, v) => fmt(v), points: { show: fewPoints } });
    });
    list.forEach((s, i) => {
      if (!s.band) return;
      tables.push([s.band.map((p) => p[0]), s.band.map((p) => p[2])]);
      tables.push([s.band.map((p) => p[0]), s.band.map((p) => p[1])]);
      const hi = opts.length;
      const c = s.colour ?? colour(i);
      opts.push({ label: `${s.label} max`, stroke: c, width: 0.5, dash: [4, 4], spanGaps: true, points: { show: false }, value: (_u, v) => fmt(v) });
      opts.push({ label: `${s.label} min`, stroke: c, width: 0.5, dash: [4, 4], spanGaps: true, points: { show: false }, value: (_u, v) => fmt(v) });
      bands.push({ series: [hi, hi + 1], fill: typeof c === 'string' && c.startsWith('#') ? `${c}22` : 'rgba(0,0,0,0.1)' });
    });
    const data = tables.length ? uPlot.join(tables) : [[]];
    return { data, opts, bands };
  };

  const render = (list) => {
    const { data, opts, bands } = build(list);
    box.dataset.points = String(list.reduce((n, s) => n + s.points.length, 0));
    const sig = opts.map((o) => o.label).join('\u0001');
    if (plot && sig === labels) {
      plot.setData(data);
      return;
    }
    plot?.destroy();
    labels = sig;
    const width = Math.max(300, body.clientWidth || box.clientWidth || 480);
    plot = new uPlot({
      width, height,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      axes: [
        { label: xLabel, size: 40, ...(integerX ? { incrs: STEP_INCRS } : {}) },
        // wide enough for the longest tick label
        { label: yLabel, values: (_u, ticks) => ticks.map(fmt), size: (_u, values) => 30 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v).length)) },
      ],
      series: opts, bands,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    }, data, body);
    // the band edges are drawn but not listed: the legend names one line per series
    const rows = plot.root.querySelectorAll('.u-legend .u-series');
    rows.forEach((row, i) => { if (i > list.length) row.style.display = 'none'; });
  };

  const onResize = () => plot?.setSize({ width: Math.max(300, body.clientWidth), height });
  window.addEventListener('resize', onResize);
  // the first render happens once the box is in the document, so it knows its width
  queueMicrotask(() => render(series));
  return {
    el: box,
    update: (list) => render(list),
    destroy: () => {
      window.removeEventListener('resize', onResize);
      plot?.destroy();
      plot = null;
    },
  };
}
