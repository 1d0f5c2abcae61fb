// The race's SVG charts: a line per contestant with a shaded band (the 95% interval), and thin lines
// for the training losses. Hand-written SVG, as the other charts of the project (train/plot.ts).
import { axesSvg, escapeXml, niceTicks } from '../train/plot.js';

const COLORS: Record<string, string> = { flm: '#d62728', mlm: '#1f77b4', ar: '#2ca02c', prefixlm: '#9467bd' };
export const color = (o: string, i: number): string => COLORS[o] ?? ['#ff7f0e', '#8c564b', '#e377c2', '#17becf'][i % 4]!;

export interface Band {
  name: string;
  color: string;
  points: { x: number; y: number; lo?: number; hi?: number }[];
  thin?: boolean;
}

/** A line chart with optional bands (lo–hi per point) and a dashed reference line. */
export function bandChartSvg(title: string, xLabel: string, yLabel: string, series: Band[], o: { ref?: { y: number; label: string }; legend?: boolean } = {}): string {
  const W = 760;
  const H = 430;
  const m = { l: 70, r: 170, t: 40, b: 50 };
  const all = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  if (o.ref) all.push(o.ref.y);
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const finite = all.filter(Number.isFinite);
  let [y0, y1] = finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.05, y1 + 0.05];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const [x0, x1] = xs.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1];
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const fmt = (v: number): string => String(Number(v.toPrecision(3)));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    ...axesSvg(W, H, m, xLabel, yLabel),
  ];
  for (const t of niceTicks(x0, x1)) parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" y1="${sy(t).toFixed(1)}" x2="${W - m.r}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const s of series) {
    const band = s.points.filter((p) => p.lo !== undefined && p.hi !== undefined);
    if (band.length >= 2) {
      const up = band.map((p) => `${sx(p.x).toFixed(1)},${sy(p.hi!).toFixed(1)}`);
      const down = band.slice().reverse().map((p) => `${sx(p.x).toFixed(1)},${sy(p.lo!).toFixed(1)}`);
      parts.push(`<polygon points="${[...up, ...down].join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
    }
  }
  for (const s of series) {
    const ok = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (!ok.length) continue;
    const d = ok.map((p, k) => `${k ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.thin ? 1 : 2}" stroke-opacity="${s.thin ? 0.6 : 1}"/>`);
    if (!s.thin) for (const p of ok) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  if (o.ref) {
    parts.push(`<line x1="${m.l}" y1="${sy(o.ref.y).toFixed(1)}" x2="${W - m.r}" y2="${sy(o.ref.y).toFixed(1)}" stroke="#555" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${W - m.r - 4}" y="${(sy(o.ref.y) - 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(o.ref.label)}</text>`);
  }
  if (o.legend !== false) {
    const seen = new Set<string>();
    let row = 0;
    for (const s of series) {
      if (seen.has(s.name)) continue;
      seen.add(s.name);
      parts.push(`<rect x="${W - m.r + 12}" y="${m.t + 30 + row * 18}" width="14" height="4" fill="${s.color}"/>`);
      parts.push(`<text x="${W - m.r + 32}" y="${m.t + 36 + row * 18}">${escapeXml(s.name)}</text>`);
      row++;
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

