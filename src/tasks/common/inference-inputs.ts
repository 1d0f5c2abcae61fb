// Inputs of the inference commands: image files (PNG, JPEG, WebP, ...) decoded with the evaluation
// `clip` transform (spec E.4) into one batch, image folders, and text batches.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { tensor, type Tensor } from '../../tensor/index.js';
import { loadImageTensor } from '../../data/image.js';
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

/** Image files as one batch [N, 3, S, S]. */
export async function loadImageBatch(paths: readonly string[], size: number): Promise<Tensor> {
  const plane = 3 * size * size;
  const flat = new Float32Array(paths.length * plane);
  const pixels = await Promise.all(paths.map((p) => loadImageFile(p, size)));
  pixels.forEach((px, i) => flat.set(px, i * plane));
  return tensor(flat, { shape: [paths.length, 3, size, size] });
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
