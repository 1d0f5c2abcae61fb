// Inputs of the inference commands and the library API: images (files, encoded bytes or decoded RGB
// pixels) decoded with the evaluation `clip` transform (spec E.4) into one batch, image folders, and
// text batches.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { tensor, type Tensor } from '../../tensor/index.js';
import { loadImageTensor, type RgbImage } from '../../data/image.js';
import type { ImageRef } from '../../data/types.js';
import type { TextTokenizer } from '../../data/tokenizer.js';

export class InputError extends Error {
  override readonly name = 'InputError';
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.bmp'];

/** One image file as a normalised Float32Array [3, S, S]; missing, unreadable or corrupt files throw InputError. */
export async function loadImageFile(path: string, size: number): Promise<Float32Array> {
  if (!existsSync(path)) throw new InputError(`image ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new InputError(`image ${path} is a directory, not an image file`);
  try {
    return await loadImageTensor({ kind: 'path', path }, { size });
  } catch (e) {
    throw new InputError(`cannot decode image ${path}: ${(e as Error).message} (expected a PNG, JPEG or WebP file)`);
  }
}

/**
 * An image to run a model on:
 *   string      a file path (PNG, JPEG, WebP, GIF, TIFF, ...)
 *   Uint8Array  the bytes of an encoded image file (a Buffer from readFile or fetch)
 *   RgbImage    decoded pixels {data, width, height}: 8-bit RGB, interleaved, row-major (data.length = width·height·3)
 */
export type ImageInput = string | Uint8Array | RgbImage;

/** How an input is named in messages and outputs: its path, or `image #i`. */
export function imageName(input: ImageInput, index: number): string {
  return typeof input === 'string' ? input : `image #${index}`;
}

function imageRef(input: ImageInput, index: number): ImageRef {
  const origin = imageName(input, index);
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw new InputError(`${origin} is empty (0 bytes)`);
    return { kind: 'bytes', bytes: input, origin };
  }
  const { data, width, height } = input as Partial<RgbImage>;
  if (!(data instanceof Uint8Array) || !Number.isInteger(width) || !Number.isInteger(height) || width! < 1 || height! < 1) {
    throw new InputError(`${origin}: expected a file path, encoded image bytes (Uint8Array) or decoded RGB pixels {data: Uint8Array, width, height}`);
  }
  const n = width! * height!;
  if (data.length !== n * 3) {
    const hint = data.length === n * 4 ? ' (that is RGBA: drop the alpha channel, or pass the encoded file)' : '';
    throw new InputError(`${origin}: ${width}x${height} RGB pixels need ${n * 3} bytes, got ${data.length}${hint}`);
  }
  return { kind: 'raw', data, width: width!, height: height!, origin };
}

/** One image as a normalised Float32Array [3, S, S]; missing, unreadable or corrupt images throw InputError. */
export async function loadImageInput(input: ImageInput, size: number, index = 0): Promise<Float32Array> {
  if (typeof input === 'string') return loadImageFile(input, size);
  const ref = imageRef(input, index);
  try {
    return await loadImageTensor(ref, { size });
  } catch (e) {
    throw new InputError(`cannot decode ${ref.kind === 'bytes' ? `${imageName(input, index)} (${ref.bytes.length} bytes)` : imageName(input, index)}: ${(e as Error).message}${ref.kind === 'bytes' ? ' (expected a PNG, JPEG or WebP file)' : ''}`);
  }
}

/** Images as one batch [N, 3, S, S]; `first` numbers them in messages (`image #first+i`). */
export async function loadImageBatch(images: readonly ImageInput[], size: number, first = 0): Promise<Tensor> {
  const plane = 3 * size * size;
  const flat = new Float32Array(images.length * plane);
  const pixels = await Promise.all(images.map((p, i) => loadImageInput(p, size, first + i)));
  pixels.forEach((px, i) => flat.set(px, i * plane));
  return tensor(flat, { shape: [images.length, 3, size, size] });
}

/** The image files of a folder (by extension, sorted by name). */
export function listImages(dir: string): string[] {
  if (!existsSync(dir)) throw new InputError(`image folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new InputError(`${dir} is not a folder`);
  const files = readdirSync(dir).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort().map((f) => join(dir, f));
  if (files.length === 0) throw new InputError(`${dir} holds no image files (${IMAGE_EXTENSIONS.join(' ')})`);
  return files;
}

/** Tokenized texts: ids and attention mask [B, L] int64 (L = the tokenizer's max length). */
export function textBatch(tok: TextTokenizer, texts: readonly string[]): { textIds: Tensor; textMasks: Tensor } {
  const e = tok.encodeBatch(texts);
  return {
    textIds: tensor(e.ids, { shape: e.shape, dtype: 'int64' }),
    textMasks: tensor(e.attentionMask, { shape: e.shape, dtype: 'int64' }),
  };
}

/** Splits items into consecutive chunks of n. */
export function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
