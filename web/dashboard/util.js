// Small helpers shared by the views: JSON requests, element building, number formatting, colours.

/** GET /api/<path>?params as JSON; throws an Error with the server's message on failure. */
export async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else if (v !== undefined && v !== null) q.set(k, String(v));
  }
  const res = await fetch(`/api/${path}${q.size ? `?${q}` : ''}`, { cache: 'no-store' });
  return answer(res);
}

export async function answer(res) {
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** h('div', {class: 'x', onclick: f}, 'text', child, ...): an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A number as the tables show it: 4 significant digits, small ones in exponent form. */
export function fmt(x) {
  if (x === null || x === undefined) return '–';
  if (typeof x !== 'number') return typeof x === 'object' ? JSON.stringify(x) : String(x);
  if (Number.isInteger(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

export function ago(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return `${s.toFixed(0)} s ago`;
  if (s < 3600) return `${(s / 60).toFixed(0)} min ago`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`;
  return new Date(ms).toLocaleDateString();
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function colour(i, alpha = 1) {
  const c = PALETTE[i % PALETTE.length];
  if (alpha === 1) return c;
  const n = parseInt(c.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** A link to a file of the runs folder (served as it is by /files/). */
export function fileHref(rel) {
  return `/files/${rel.split('/').map(encodeURIComponent).join('/')}`;
}

/** An error box. */
export function errorBox(message) {
  return h('div', { class: 'error' }, message);
}
