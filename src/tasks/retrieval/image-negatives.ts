// Image negatives for retrieval fine-tuning: each true caption is also ranked against other images of its
// batch (in-batch negatives, as ALBEF's and BLIP's image-text matching does). The official recipe ranks
// each image against captions only, so the rank head never learns to compare one caption under different
// images, which is what text-to-image retrieval asks of it. The draw is a pure function of
// (seed, step, micro), so a resumed run draws the same images.
import { hashSeed, Prng } from '../../data/rng.js';

export interface ImageNegatives {
  /** [B][count] batch indices of the negative images of each caption (never its own image) */
  index: number[][];
  /** [B][count] true where the negative image's caption is the same text as the true one: not a negative */
  excused: boolean[][];
}

/**
 * For each caption of a batch, `count` other images of the batch drawn without replacement (count must be
 * below the batch size). An image whose caption is the same text as the true one is drawn as any other and
 * marked `excused`, so the loss can leave it out while keeping one shape for the whole batch.
 */
export function drawImageNegatives(trueTexts: readonly string[], count: number, key: { seed: number; step: number; micro: number }): ImageNegatives {
  const B = trueTexts.length;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`image negatives must be an integer >= 0, got ${count}`);
  if (count > 0 && count > B - 1) throw new RangeError(`image negatives: ${count} per caption need a batch of at least ${count + 1} images, got ${B}`);
  const rng = new Prng(hashSeed('irtr-image-negatives', key.seed, key.step, key.micro));
  const index = trueTexts.map((_, i) => {
    const others = Array.from({ length: B - 1 }, (_, j) => (j < i ? j : j + 1));
    for (let k = 0; k < count; k++) {
      const r = k + rng.int(others.length - k); // partial Fisher-Yates: the first `count` are a uniform draw
      [others[k], others[r]] = [others[r]!, others[k]!];
    }
    return others.slice(0, count);
  });
  return { index, excused: index.map((row, i) => row.map((j) => trueTexts[j] === trueTexts[i])) };
}
