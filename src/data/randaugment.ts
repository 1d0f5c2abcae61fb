/**
 * RandAugment as the ViLT/METER/FLM recipes use it (`vilt/transforms/randaug.py`, spec E.4): N ops
 * drawn with replacement from a 14-op list, each at magnitude M/30 of its range, on the original-size
 * RGB image. Written as pixel math on the raw buffer because the ops follow PIL's definitions
 * (ImageOps / ImageEnhance / Image.transform with NEAREST and black fill), which sharp does not offer
 * one to one; every op is a single pass over the pixels.
 */
import { Prng } from './rng.js';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface RandAugmentOptions {
  /** Number of ops per image (default 2). */
  n?: number;
  /** Magnitude on the 0..30 scale (default 9). */
  m?: number;
}

type Op = (img: RgbImage, v: number, rng: Prng) => RgbImage;

const clip8 = (x: number): number => (x < 0 ? 0 : x > 255 ? 255 : x);

/** Apply one 256-entry LUT per channel. */
function mapLut(img: RgbImage, luts: readonly Uint8Array[]): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  const [l0, l1, l2] = luts as [Uint8Array, Uint8Array, Uint8Array];
  for (let i = 0; i < src.length; i += 3) {
    out[i] = l0[src[i] as number] as number;
    out[i + 1] = l1[src[i + 1] as number] as number;
    out[i + 2] = l2[src[i + 2] as number] as number;
  }
  return { ...img, data: out };
}

function histograms(img: RgbImage): Uint32Array[] {
  const h0 = new Uint32Array(256);
  const h1 = new Uint32Array(256);
  const h2 = new Uint32Array(256);
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    h0[d[i] as number]++;
    h1[d[i + 1] as number]++;
    h2[d[i + 2] as number]++;
  }
  return [h0, h1, h2];
}

/** PIL ImageOps.autocontrast(cutoff=0), per channel. */
function autoContrast(img: RgbImage): RgbImage {
  const luts = histograms(img).map((h) => {
    const lut = new Uint8Array(256);
    let lo = 0;
    while (lo < 256 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi >= 0 && h[hi] === 0) hi--;
    for (let i = 0; i < 256; i++) {
      if (hi <= lo) lut[i] = i;
      else {
        const scale = 255 / (hi - lo);
        lut[i] = clip8(Math.trunc(i * scale - lo * scale));
      }
    }
    return lut;
  });
  return mapLut(img, luts);
}

/** PIL ImageOps.equalize, per channel. */
function equalize(img: RgbImage): RgbImage {
  const luts = histograms(img).map((h) => {
    const lut = new Uint8Array(256);
    const nonzero = Array.from(h).filter((x) => x > 0);
    const total = nonzero.reduce((a, b) => a + b, 0);
    const step = nonzero.length <= 1 ? 0 : Math.floor((total - (nonzero[nonzero.length - 1] as number)) / 255);
    if (step === 0) {
      for (let i = 0; i < 256; i++) lut[i] = i;
      return lut;
    }
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = clip8(Math.floor(n / step));
      n += h[i] as number;
    }
    return lut;
  });
  return mapLut(img, luts);
}

function solarizeLut(threshold: number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i < threshold ? i : 255 - i;
  return lut;
}

function solarize(img: RgbImage, v: number): RgbImage {
  const lut = solarizeLut(v);
  return mapLut(img, [lut, lut, lut]);
}

function solarizeAdd(img: RgbImage, v: number): RgbImage {
  const add = Math.trunc(v);
  const sol = solarizeLut(128);
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = sol[clip8(i + add)] as number;
  return mapLut(img, [lut, lut, lut]);
}

function posterize(img: RgbImage, v: number): RgbImage {
  const bits = Math.max(1, Math.trunc(v));
  const mask = ~(2 ** (8 - bits) - 1) & 0xff;
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i & mask;
  return mapLut(img, [lut, lut, lut]);
}

/** PIL's "L" conversion (ITU-R 601-2 luma, fixed point). */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** PIL Image.blend(degenerate, img, f) per byte: trunc(d + f (x - d)), clipped. */
function blendWith(img: RgbImage, degenerate: Uint8Array | number, f: number): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  if (typeof degenerate === 'number') {
    const lut = new Uint8Array(256);
    for (let x = 0; x < 256; x++) lut[x] = clip8(Math.trunc(degenerate + f * (x - degenerate)));
    return mapLut(img, [lut, lut, lut]);
  } else {
    for (let i = 0; i < src.length; i++) {
      const d = degenerate[i] as number;
      out[i] = clip8(Math.trunc(d + f * ((src[i] as number) - d)));
    }
  }
  return { ...img, data: out };
}

function color(img: RgbImage, f: number): RgbImage {
  const d = img.data;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i] as number;
    const g = d[i + 1] as number;
    const b = d[i + 2] as number;
    const l = luma(r, g, b);
    out[i] = clip8(Math.trunc(l + f * (r - l)));
    out[i + 1] = clip8(Math.trunc(l + f * (g - l)));
    out[i + 2] = clip8(Math.trunc(l + f * (b - l)));
  }
  return { ...img, data: out };
}

function contrast(img: RgbImage, f: number): RgbImage {
  const d = img.data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 3) sum += luma(d[i] as number, d[i + 1] as number, d[i + 2] as number);
  return blendWith(img, Math.trunc(sum / (d.length / 3) + 0.5), f);
}

function brightness(img: RgbImage, f: number): RgbImage {
  return blendWith(img, 0, f);
}

/** PIL ImageFilter.SMOOTH (3x3, centre 5, scale 13) with edge pixels kept, then blend. */
function sharpness(img: RgbImage, f: number): RgbImage {
  const { width: w, height: h, data: d } = img;
  const smooth = new Uint8Array(d);
  const row = w * 3;
  for (let y = 1; y < h - 1; y++) {
    for (let i = y * row + 3, end = y * row + row - 3; i < end; i++) {
      const up = i - row;
      const down = i + row;
      const s = (d[up - 3] as number) + (d[up] as number) + (d[up + 3] as number)
        + (d[i - 3] as number) + 5 * (d[i] as number) + (d[i + 3] as number)
        + (d[down - 3] as number) + (d[down] as number) + (d[down + 3] as number);
      smooth[i] = clip8(Math.floor(s / 13 + 0.5));
    }
  }
  return blendWith(img, smooth, f);
}

/**
 * PIL Image.transform(AFFINE, (a, b, c, d, e, f), NEAREST): output pixel (x, y) samples the input at
 * (a x' + b y' + c, d x' + e y' + f) with x' = x + 0.5, y' = y + 0.5; outside is black.
 */
function affine(img: RgbImage, m: readonly [number, number, number, number, number, number]): RgbImage {
  const { width: w, height: h, data: src } = img;
  const [a, b, c, d, e, f] = m;
  const out = new Uint8Array(src.length);
  for (let y = 0; y < h; y++) {
    const yc = y + 0.5;
    for (let x = 0; x < w; x++) {
      const xc = x + 0.5;
      const xi = Math.floor(a * xc + b * yc + c);
      const yi = Math.floor(d * xc + e * yc + f);
      if (xi < 0 || yi < 0 || xi >= w || yi >= h) continue;
      const o = (y * w + x) * 3;
      const s = (yi * w + xi) * 3;
      out[o] = src[s] as number;
      out[o + 1] = src[s + 1] as number;
      out[o + 2] = src[s + 2] as number;
    }
  }
  return { ...img, data: out };
}

/** PIL Image.rotate(deg): counter-clockwise about the centre, same size. */
function rotate(img: RgbImage, deg: number): RgbImage {
  const t = (-deg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cx = img.width / 2;
  const cy = img.height / 2;
  return affine(img, [cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy]);
}

const signed = (v: number, rng: Prng): number => (rng.next() > 0.5 ? -v : v);

/** The 14 ops with their [min, max] ranges, in the reference order. */
export const RANDAUG_OPS: ReadonlyArray<{ name: string; min: number; max: number; op: Op }> = [
  { name: 'AutoContrast', min: 0, max: 1, op: (img) => autoContrast(img) },
  { name: 'Equalize', min: 0, max: 1, op: (img) => equalize(img) },
  { name: 'Rotate', min: 0, max: 30, op: (img, v, rng) => rotate(img, signed(v, rng)) },
  { name: 'Posterize', min: 0, max: 4, op: (img, v) => posterize(img, v) },
  { name: 'Solarize', min: 0, max: 256, op: (img, v) => solarize(img, v) },
  { name: 'SolarizeAdd', min: 0, max: 110, op: (img, v) => solarizeAdd(img, v) },
  { name: 'Color', min: 0.1, max: 1.9, op: (img, v) => color(img, v) },
  { name: 'Contrast', min: 0.1, max: 1.9, op: (img, v) => contrast(img, v) },
  { name: 'Brightness', min: 0.1, max: 1.9, op: (img, v) => brightness(img, v) },
  { name: 'Sharpness', min: 0.1, max: 1.9, op: (img, v) => sharpness(img, v) },
  { name: 'ShearX', min: 0, max: 0.3, op: (img, v, rng) => affine(img, [1, signed(v, rng), 0, 0, 1, 0]) },
  { name: 'ShearY', min: 0, max: 0.3, op: (img, v, rng) => affine(img, [1, 0, 0, signed(v, rng), 1, 0]) },
  { name: 'TranslateXabs', min: 0, max: 100, op: (img, v, rng) => affine(img, [1, 0, signed(v, rng), 0, 1, 0]) },
  { name: 'TranslateYabs', min: 0, max: 100, op: (img, v, rng) => affine(img, [1, 0, 0, 0, 1, signed(v, rng)]) },
];

/** Apply one named op at an explicit value (for tests and previews). */
export function applyOp(name: string, img: RgbImage, value: number, seed = 0): RgbImage {
  const entry = RANDAUG_OPS.find((o) => o.name === name);
  if (entry === undefined) throw new Error(`RandAugment: unknown op "${name}"`);
  return entry.op(img, value, new Prng(seed));
}

/** RandAugment(N, M): a pure function of (image, seed). */
export function randAugment(img: RgbImage, seed: number, opts: RandAugmentOptions = {}): RgbImage {
  const n = opts.n ?? 2;
  const m = opts.m ?? 9;
  const rng = new Prng(seed);
  const picks = Array.from({ length: n }, () => RANDAUG_OPS[rng.int(RANDAUG_OPS.length)] as (typeof RANDAUG_OPS)[number]);
  let out = img;
  for (const { min, max, op } of picks) out = op(out, (m / 30) * (max - min) + min, rng);
  return out;
}
