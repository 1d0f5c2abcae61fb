// Minimal SVG line charts for the training curves (no dependency: a chart is a few paths and labels).
import { writeFileSync } from 'node:fs';

export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** About n round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  // a range within a few float ulps of its values (two evaluations equal but for rounding) has no ticks
  // of its own: a step below the ulp would never advance the loop
  if (!(hi > lo) || hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  const first = Math.ceil(lo / step);
  for (let k = first; k <= first + 4 * n && k * step <= hi + step * 1e-6; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

const fmt = (v: number): string => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3))));
export const escapeXml = (s: string): string => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** Both axes of a chart with their labels: margins m around a W x H drawing. */
export function axesSvg(W: number, H: number, m: { l: number; r: number; t: number; b: number }, xLabel: string, yLabel: string): string[] {
  return [
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${escapeXml(yLabel)}</text>`,
  ];
}

export function lineChartSvg(title: string, xLabel: string, yLabel: string, series: Series[], o: { width?: number; height?: number; logY?: boolean; legend?: boolean } = {}): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const legend = o.legend ?? true;
  const m = { l: 70, r: legend ? 160 : 20, t: 40, b: 50 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
  const ty = (y: number): number => (o.logY ? Math.log10(y) : y);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => ty(p[1]));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  // a flat series (or one flat but for rounding) gets a unit range around it
  if (!(y1 - y0 > 1e-9 * Math.max(Math.abs(y0), Math.abs(y1)))) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((ty(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    ...axesSvg(W, H, m, xLabel, `${yLabel}${o.logY ? ' (log)' : ''}`),
  ];
  for (const t of niceTicks(x0, x1)) parts.push(`<text x="${sx(t)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    const v = o.logY ? 10 ** t : t;
    parts.push(`<line x1="${m.l}" y1="${sy(v)}" x2="${W - m.r}" y2="${sy(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
    if (ok.length) {
      const d = ok.map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
      parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.6"/>`);
      if (ok.length <= 30) for (const [x, y] of ok) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${c}"/>`);
    }
    if (!legend) return;
    parts.push(`<rect x="${W - m.r + 12}" y="${m.t + i * 18}" width="12" height="3" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 30}" y="${m.t + i * 18 + 5}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeLineChart(path: string, title: string, xLabel: string, yLabel: string, series: Series[], o?: { logY?: boolean }): void {
  writeFileSync(path, lineChartSvg(title, xLabel, yLabel, series, o));
}

/** One chart of a grid: its title (the metric) and its lines. */
export interface GridChart {
  title: string;
  series: Series[];
}

/**
 * Small multiples: one chart per entry, `cols` to a row, under one title, so metrics of different
 * scales (BLEU in [0, 1], CIDEr-D up to 10, recall in %) each get an axis of their own.
 */
export function chartGridSvg(title: string, xLabel: string, charts: GridChart[], o: { cols?: number; width?: number; height?: number } = {}): string {
  const cols = Math.max(1, Math.min(o.cols ?? 3, charts.length));
  const w = o.width ?? 360;
  const h = o.height ?? 240;
  const top = 36;
  const rows = Math.ceil(charts.length / cols);
  const W = cols * w;
  const H = top + rows * h;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`,
  ];
  charts.forEach((c, i) => {
    const chart = lineChartSvg(c.title, xLabel, '', c.series, { width: w, height: h, legend: c.series.length > 1 });
    parts.push(`<g transform="translate(${(i % cols) * w},${top + Math.floor(i / cols) * h})">`, chart, '</g>');
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeChartGrid(path: string, title: string, xLabel: string, charts: GridChart[]): void {
  writeFileSync(path, chartGridSvg(title, xLabel, charts));
}
