/**
 * Image pipeline (spec E.4, `clip` transform): decode with sharp (libvips) -> composite transparency
 * onto a background -> sRGB 8-bit -> resize the shorter side to S (bicubic) -> centre crop S x S ->
 * Float32 CHW normalised with the CLIP mean/std. With augmentation (`clip_randaug`) RandAugment runs on
 * the original-size RGB image before the resize.
 */
import sharp from 'sharp';
import type { Sharp, SharpOptions } from 'sharp';
import { randAugment, type RandAugmentOptions, type RgbImage } from './randaugment.js';
import type { ImageRef } from './types.js';

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export type Rgb = readonly [number, number, number];

export interface ImageOptions {
  /** Output side S. */
  size: number;
  /** Colour that transparent pixels are composited onto; default white. */
  background?: Rgb;
  /** RandAugment on the original-size image, seeded per sample; omitted in evaluation. */
  augment?: RandAugmentOptions & { seed: number };
}

export type { RgbImage };

const WHITE: Rgb = [255, 255, 255];

async function open(ref: ImageRef): Promise<Sharp> {
  // 'truncated' rejects cut-off files (what PIL refuses too) but tolerates benign decoder warnings
  // such as bad EXIF blocks, which are common in web-crawled sets.
  const opts: SharpOptions = { failOn: 'truncated' };
  switch (ref.kind) {
    case 'path': return sharp(ref.path, opts);
    case 'bytes': return sharp(ref.bytes, opts);
    case 'raw': return sharp(ref.data, { ...opts, raw: { width: ref.width, height: ref.height, channels: 3 } });
    case 'synthetic': {
      const { renderShapesImage } = await import('./formats/shapes.js');
      const img = renderShapesImage(ref.args);
      return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
    }
  }
}

function flattenRgb(img: Sharp, bg: Rgb): Sharp {
  // Palette, grey, CMYK and 16-bit inputs all end up as 3-band 8-bit sRGB.
  return img
    .flatten({ background: { r: bg[0], g: bg[1], b: bg[2] } })
    .toColourspace('srgb')
    .removeAlpha();
}

/** Force 3 interleaved channels (libvips may keep a single band for grey input). */
function toRgb(buf: Buffer, width: number, height: number, channels: number): Uint8Array {
  const n = width * height;
  if (channels === 3) return new Uint8Array(buf.buffer, buf.byteOffset, n * 3);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const r = buf[p] as number;
    out[i * 3] = r;
    out[i * 3 + 1] = channels >= 3 ? (buf[p + 1] as number) : r;
    out[i * 3 + 2] = channels >= 3 ? (buf[p + 2] as number) : r;
  }
  return out;
}

async function rawRgb(img: Sharp): Promise<RgbImage> {
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data: toRgb(data, info.width, info.height, info.channels), width: info.width, height: info.height };
}

/** Decode to full-size 8-bit RGB with transparency composited onto `background`. */
export async function decodeRgb(ref: ImageRef, background: Rgb = WHITE): Promise<RgbImage> {
  return rawRgb(flattenRgb(await open(ref), background));
}

function resizeCrop(img: Sharp, size: number): Sharp {
  // fit 'cover' + centre = torchvision Resize(shorter side) followed by CenterCrop.
  return img.resize(size, size, { fit: 'cover', position: 'centre', kernel: 'cubic' });
}

/** Resize the shorter side to `size` and centre-crop, returning 8-bit RGB [size, size, 3]. */
export async function loadRgb(ref: ImageRef, opts: ImageOptions): Promise<Uint8Array> {
  const bg = opts.background ?? WHITE;
  if (opts.augment === undefined) {
    return (await rawRgb(resizeCrop(flattenRgb(await open(ref), bg), opts.size))).data;
  }
  const full = await decodeRgb(ref, bg);
  const aug = randAugment(full, opts.augment.seed, opts.augment);
  const raw = sharp(aug.data, { raw: { width: aug.width, height: aug.height, channels: 3 } });
  return (await rawRgb(resizeCrop(raw, opts.size))).data;
}

/** 8-bit RGB HWC -> Float32 CHW, (x/255 - mean) / std per channel. */
export function normalizeClip(rgb: Uint8Array, size: number, out: Float32Array = new Float32Array(3 * size * size), offset = 0): Float32Array {
  const plane = size * size;
  if (rgb.length < plane * 3) throw new RangeError(`normalizeClip: expected ${plane * 3} bytes, got ${rgb.length}`);
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * (CLIP_STD[c] as number));
    const shift = (CLIP_MEAN[c] as number) / (CLIP_STD[c] as number);
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (rgb[i * 3 + c] as number) * scale - shift;
  }
  return out;
}

/** The whole `clip` (or `clip_randaug`) transform: a Float32Array [3, S, S]. Throws on unreadable images. */
export async function loadImageTensor(ref: ImageRef, opts: ImageOptions): Promise<Float32Array> {
  return normalizeClip(await loadRgb(ref, opts), opts.size);
}

/**
 * Decode fully (to detect truncation) but cheaply: JPEG shrink-on-load makes this several times faster
 * than a full-size decode. Returns the original dimensions.
 */
export async function checkImage(ref: ImageRef): Promise<{ width: number; height: number }> {
  const img = await open(ref);
  const meta = await img.metadata();
  await img.resize(32, 32, { fit: 'inside' }).raw().toBuffer();
  return { width: meta.width ?? 0, height: meta.height ?? 0 };
}
