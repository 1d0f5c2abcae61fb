/**
 * Rasteriser: scene -> RGB Uint8Array [H*W*3], HWC, row-major. Anti-aliased by supersampling.
 */
import { BACKGROUND_RGB, COLOUR_RGB, type Scene, type Shape } from './scene.js';

export interface RenderOptions {
  /** Samples per pixel along each axis (default 4, i.e. 16 samples per pixel). */
  supersample?: number;
}

/** Polygon vertices as flat [x0, y0, x1, y1, ...] in local units (v down). */
const STAR_POLY: Float64Array = (() => {
  const pts: number[] = [];
  for (let k = 0; k < 10; k++) {
    const rad = k % 2 === 0 ? 1.08 : 0.48;
    const ang = -Math.PI / 2 + (k * Math.PI) / 5;
    pts.push(rad * Math.cos(ang), rad * Math.sin(ang) + 0.08);
  }
  return Float64Array.from(pts);
})();

const TRIANGLE_POLY = Float64Array.from([0, -0.95, 0.95, 0.7, -0.95, 0.7]);

function inPolygon(u: number, v: number, poly: Float64Array): boolean {
  let inside = false;
  const n = poly.length;
  for (let i = 0, j = n - 2; i < n; j = i, i += 2) {
    const xi = poly[i] as number;
    const yi = poly[i + 1] as number;
    const xj = poly[j] as number;
    const yj = poly[j + 1] as number;
    if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Whether the local point (u, v) lies inside the shape. Local units: the bounding radius is 1
 * (shapes may exceed it by up to ~15%, which the placement gap absorbs); v points down.
 */
export function insideShape(shape: Shape, u: number, v: number): boolean {
  if (u * u + v * v > 1.2 * 1.2) return false; // every shape lies within 1.2 of its centre
  switch (shape) {
    case 'circle': return u * u + v * v <= 0.85 * 0.85;
    case 'square': return Math.abs(u) <= 0.7 && Math.abs(v) <= 0.7;
    case 'diamond': return Math.abs(u) + Math.abs(v) <= 1.0;
    case 'cross': {
      const au = Math.abs(u);
      const av = Math.abs(v);
      return (au <= 0.95 && av <= 0.3) || (au <= 0.3 && av <= 0.95);
    }
    case 'triangle': return inPolygon(u, v, TRIANGLE_POLY);
    case 'star': return inPolygon(u, v, STAR_POLY);
  }
}

export function renderScene(scene: Scene, size = 64, opts: RenderOptions = {}): Uint8Array {
  const ss = Math.max(1, Math.floor(opts.supersample ?? 4));
  const n = ss * ss;
  const acc = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    acc[p * 3] = BACKGROUND_RGB[0] * n;
    acc[p * 3 + 1] = BACKGROUND_RGB[1] * n;
    acc[p * 3 + 2] = BACKGROUND_RGB[2] * n;
  }
  // Objects never overlap, so each one only replaces background samples.
  for (const o of scene.objects) {
    const col = COLOUR_RGB[o.colour];
    const reach = o.r * 1.2 * size;
    const x0 = Math.max(0, Math.floor(o.x * size - reach));
    const x1 = Math.min(size - 1, Math.ceil(o.x * size + reach));
    const y0 = Math.max(0, Math.floor(o.y * size - reach));
    const y1 = Math.min(size - 1, Math.ceil(o.y * size + reach));
    // Shape membership at pixel corners, shared by neighbouring pixels. A pixel whose corners and
    // centre agree is taken as fully inside or outside; only edge pixels are supersampled.
    const gw = x1 - x0 + 2;
    const corner = new Uint8Array(gw * (y1 - y0 + 2));
    for (let gy = 0; gy <= y1 - y0 + 1; gy++) {
      const v = ((y0 + gy) / size - o.y) / o.r;
      for (let gx = 0; gx < gw; gx++) corner[gy * gw + gx] = insideShape(o.shape, ((x0 + gx) / size - o.x) / o.r, v) ? 1 : 0;
    }
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const g = (py - y0) * gw + (px - x0);
        const corners = (corner[g] as number) + (corner[g + 1] as number) + (corner[g + gw] as number) + (corner[g + gw + 1] as number);
        const centre = insideShape(o.shape, ((px + 0.5) / size - o.x) / o.r, ((py + 0.5) / size - o.y) / o.r);
        let hits = 0;
        if (corners === 4 && centre) hits = n;
        else if (corners > 0 || centre) {
          for (let sy = 0; sy < ss; sy++) {
            const v = ((py + (sy + 0.5) / ss) / size - o.y) / o.r;
            for (let sx = 0; sx < ss; sx++) {
              const u = ((px + (sx + 0.5) / ss) / size - o.x) / o.r;
              if (insideShape(o.shape, u, v)) hits++;
            }
          }
        }
        if (hits === 0) continue;
        const p = (py * size + px) * 3;
        for (let c = 0; c < 3; c++) acc[p + c] = (acc[p + c] as number) + hits * ((col[c] as number) - (BACKGROUND_RGB[c] as number));
      }
    }
  }
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((acc[i] as number) / n);
  return out;
}
