// Data of the retrieval task: the caption pool that training negatives are drawn from (spec D.10:
// `draw_false_text` captions drawn uniformly from the whole dataset) and the evaluation set (every image
// of a split with all of its captions, spec F).
import { createDecoder } from '../../data/decode.js';
import { openDataset } from '../../data/spec.js';
import { dedupeCaptions, preprocessText } from '../../data/text.js';
import { hashSeed, Prng } from '../../data/rng.js';
import { DataError, type DataItem, type DatasetSource, type SourceEntry } from '../../data/types.js';

/** Every entry of a source, in order (indexed sources by index, streams front to back). */
async function* entries(src: DatasetSource): AsyncGenerator<SourceEntry> {
  if (src.kind === 'indexed') {
    for (let i = 0; i < src.length; i++) yield await src.get(i);
    return;
  }
  const it = src[Symbol.asyncIterator]();
  for (;;) {
    const n = await it.next();
    if (n.done === true) return;
    yield n.value;
  }
}

/** The texts of an item as the loader feeds them: duplicates dropped, captions preprocessed (spec E.4). */
export function itemTexts(item: DataItem, src: DatasetSource): string[] {
  return dedupeCaptions(item.captions).map((t) => preprocessText(t, src.textKind));
}

/** Up to `limit` preprocessed texts of the source, in source order. */
export async function captionPool(src: DatasetSource, limit = 200_000): Promise<string[]> {
  const out: string[] = [];
  for await (const e of entries(src)) {
    if (e.ok) out.push(...itemTexts(e.item, src));
    if (out.length >= limit) break;
  }
  if (out.length === 0) throw new DataError(`${src.name}: no captions to draw retrieval negatives from`);
  return out.slice(0, limit);
}

/**
 * `count` negatives for each of `images` images, uniform over the pool (a draw may hit a caption of the
 * same image, as in the official code). A pure function of (seed, step, micro), so a resumed run draws
 * the same negatives.
 */
export function drawNegatives(pool: readonly string[], images: number, count: number, key: { seed: number; step: number; micro: number }): string[][] {
  const rng = new Prng(hashSeed('irtr-negatives', key.seed, key.step, key.micro));
  return Array.from({ length: images }, () => Array.from({ length: count }, () => pool[rng.int(pool.length)]!));
}

/** An evaluation split: N_img images and N_txt captions, each caption tagged with its image. */
export interface RetrievalSet {
  /** [N_img, 3, S, S] CLIP-normalised, row-major */
  images: Float32Array;
  imageSize: number;
  /** item key of each image row */
  imageIds: string[];
  /** preprocessed captions, all captions of image 0 first (Karpathy order) */
  texts: string[];
  /** image id of each caption */
  textImageIds: string[];
  /** images that could not be decoded (their captions are left out too) */
  skipped: number;
}

/** Decodes the first `limit` images of a caption dataset spec with their captions. */
export async function loadRetrievalSet(spec: string, imageSize: number, o: { limit?: number; workers?: number } = {}): Promise<RetrievalSet> {
  const src = await openDataset(spec);
  const decoder = createDecoder(o.workers ?? 1);
  const limit = o.limit ?? Infinity;
  const items: DataItem[] = [];
  try {
    if (src.imagesPerItem !== 1) throw new DataError(`${spec}: retrieval needs one image per item, this dataset has ${src.imagesPerItem}`);
    for await (const e of entries(src)) {
      if (items.length >= limit) break;
      if (e.ok && e.item.captions.length > 0) items.push(e.item);
    }
    // decode in parallel; results keep the item order
    const decoded = await Promise.all(items.map((it) => decoder.decode({ refs: [it.images[0]!], opts: { size: imageSize } })));
    const plane = 3 * imageSize * imageSize;
    const ok = decoded.flatMap((r, i) => (r.ok ? [{ item: items[i]!, pixels: r.images[0]! }] : []));
    if (ok.length === 0) throw new DataError(`${spec}: no image could be decoded`);
    const images = new Float32Array(ok.length * plane);
    const set: RetrievalSet = { images, imageSize, imageIds: [], texts: [], textImageIds: [], skipped: items.length - ok.length };
    ok.forEach(({ item, pixels }, i) => {
      images.set(pixels, i * plane);
      set.imageIds.push(item.key);
      for (const t of itemTexts(item, src)) {
        set.texts.push(t);
        set.textImageIds.push(item.key);
      }
    });
    return set;
  } finally {
    await decoder.close();
    await src.close?.();
  }
}
