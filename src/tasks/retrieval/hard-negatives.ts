// Hard negatives for retrieval fine-tuning, chosen by words rather than by the model: of some captions
// drawn uniformly from the pool, the ones whose word sets overlap the true caption's most
// (Jaccard), never the true caption itself. Random negatives of a small world differ from the true caption
// in a colour or a shape that one glance tells apart, so a rank head trained on them never learns which
// attribute goes with which object, and the evaluation's near-duplicate captions are exactly that.
// ALBEF and BLIP mine hard negatives by their contrastive similarity; FLM has no contrastive head, and
// scoring every in-batch pair with the rank head would cost a second forward pass of B x B pairs.
import { hashSeed, Prng } from '../../data/rng.js';

/** Captions drawn per hard negative wanted, at least 32. */
export const HARD_CANDIDATES_PER_NEGATIVE = 8;

function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0));
}

/** |A ∩ B| / |A ∪ B| of the two captions' word sets (1 for two empty captions). */
export function wordOverlap(a: string, b: string): number {
  return jaccard(wordSet(a), wordSet(b));
}

function jaccard(x: ReadonlySet<string>, y: ReadonlySet<string>): number {
  let both = 0;
  for (const w of x) if (y.has(w)) both++;
  const either = x.size + y.size - both;
  return either === 0 ? 1 : both / either;
}

/**
 * For each true caption, `count` negatives from the pool: the `count` most word-overlapping of
 * max(32, 8 x count) uniform draws, ties in draw order, skipping draws equal to the true caption (when
 * too few differ, the rest are the remaining draws in order). A pure function of (seed, step, micro), so
 * a resumed run draws the same negatives.
 */
export function drawHardNegatives(pool: readonly string[], trueTexts: readonly string[], count: number, key: { seed: number; step: number; micro: number }): string[][] {
  if (count === 0) return trueTexts.map(() => []);
  const rng = new Prng(hashSeed('irtr-hard-negatives', key.seed, key.step, key.micro));
  const draws = Math.max(32, HARD_CANDIDATES_PER_NEGATIVE * count);
  return trueTexts.map((truth) => {
    const truthWords = wordSet(truth);
    const drawn = Array.from({ length: draws }, () => pool[rng.int(pool.length)]!);
    const ranked = drawn
      .map((text, order) => ({ text, order, score: text === truth ? -1 : jaccard(wordSet(text), truthWords) }))
      .sort((a, b) => b.score - a.score || a.order - b.order);
    return ranked.slice(0, count).map((r) => r.text);
  });
}
