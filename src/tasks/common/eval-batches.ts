// One pass over an evaluation dataset in order (no shuffle, no augmentation, the last short batch kept),
// for the classification tasks (VQA, NLVR2).
import { openDataset } from '../../data/spec.js';
import { DataLoader, type Batch } from '../../data/loader.js';
import type { DatasetSource } from '../../data/types.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import type { EvalOptions } from './task.js';

export async function* evalBatches(spec: string | DatasetSource, imageSize: number, tok: TextTokenizer, maxTextLength: number, o: EvalOptions = {}): AsyncGenerator<Batch> {
  const src = typeof spec === 'string' ? await openDataset(spec) : spec;
  const loader = new DataLoader(src, {
    batchSize: o.batchSize ?? 64, imageSize, tokenizer: tok, maxTextLength, shuffle: false, dropLast: false, pairs: 'first', workers: o.workers ?? 1,
  });
  const limit = o.limit ?? Infinity;
  let seen = 0;
  try {
    for await (const b of loader) {
      if (seen >= limit) break;
      seen += b.size;
      yield b;
    }
  } finally {
    await loader.close();
    if (typeof spec === 'string') await src.close?.();
  }
}
