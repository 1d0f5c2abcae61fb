// Image preprocessing of the in-browser library: 8-bit RGB or RGBA pixels (ImageData, a canvas's
// getImageData, decoded PNG bytes) -> the model input [3, S, S], normalised with the manifest's mean and
// std by the same arithmetic as the Node pipeline (data/image.ts normalizeClip), so an S x S opaque
// image gives bit-identical input.
//
// Other sizes are resized here: shorter side to S, centre crop (the Node pipeline's `cover`), with a
// separable Catmull-Rom (bicubic) filter widened when shrinking. libvips, which the Node pipeline
// uses, resamples with its own kernels and rounding, so resized pixels can differ by a few levels;
// for identical results feed images already at S x S.

export interface PixelImage {
  /** interleaved 8-bit RGB or RGBA, row-major (data.length = width * height * 3 or 4) */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

export interface Normalization {
  size: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  background: readonly [number, number, number];
}

/** RGB of an image (RGBA composited onto the background, as the Node pipeline flattens transparency). */
export function toRgb(img: PixelImage, background: readonly [number, number, number]): Uint8Array {
  const { width: w, height: h, data } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`image size ${w}x${h} is not a positive integer size`);
  const n = w * h;
  if (data.length === n * 3) return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (data.length !== n * 4) throw new RangeError(`a ${w}x${h} image needs ${n * 3} (RGB) or ${n * 4} (RGBA) bytes, got ${data.length}`);
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = data[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(data[i * 4 + c]! * a + background[c]! * (1 - a));
  }
  return out;
}

function cubic(x: number): number {
  const a = -0.5; // Catmull-Rom
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** One axis of a separable resize: src [outer, inN, inner] -> [outer, outN, inner]. */
function resample(src: Float64Array, outer: number, inN: number, inner: number, outN: number): Float64Array {
  const out = new Float64Array(outer * outN * inner);
  const scale = inN / outN;
  const support = 2 * Math.max(1, scale);
  for (let o = 0; o < outN; o++) {
    const center = (o + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.floor(center - support + 1));
    const hi = Math.min(inN - 1, Math.ceil(center + support - 1));
    const weights: number[] = [];
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const wgt = cubic((i - center) / Math.max(1, scale));
      weights.push(wgt);
      sum += wgt;
    }
    for (let a = 0; a < outer; a++) {
      for (let c = 0; c < inner; c++) {
        let v = 0;
        for (let i = lo; i <= hi; i++) v += weights[i - lo]! * src[(a * inN + i) * inner + c]!;
        out[(a * outN + o) * inner + c] = v / sum;
      }
    }
  }
  return out;
}

/** Shorter side to `size`, centre crop: RGB [size, size, 3]. */
export function resizeCover(rgb: Uint8Array, width: number, height: number, size: number): Uint8Array {
  if (width === size && height === size) return rgb;
  const scale = size / Math.min(width, height);
  const w = Math.max(size, Math.round(width * scale));
  const h = Math.max(size, Math.round(height * scale));
  const rows = resample(Float64Array.from(rgb), height, width, 3, w); // [height, w, 3]
  const full = resample(rows, 1, height, w * 3, h); // [h, w, 3]
  const left = Math.floor((w - size) / 2);
  const top = Math.floor((h - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(full[((y + top) * w + x + left) * 3 + c]!)));
    }
  }
  return out;
}

/** 8-bit RGB HWC -> Float32 CHW, (x/255 - mean) / std per channel (the arithmetic of data/image.ts normalizeClip). */
export function normalize(rgb: Uint8Array, n: Normalization, out: Float32Array = new Float32Array(3 * n.size * n.size)): Float32Array {
  const plane = n.size * n.size;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * n.std[c]!);
    const shift = n.mean[c]! / n.std[c]!;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = rgb[i * 3 + c]! * scale - shift;
  }
  return out;
}

/** The whole preprocessing: pixels -> Float32Array [3, S, S]. */
export function preprocessImage(img: PixelImage, n: Normalization): Float32Array {
  return normalize(resizeCover(toRgb(img, n.background), img.width, img.height, n.size), n);
}
