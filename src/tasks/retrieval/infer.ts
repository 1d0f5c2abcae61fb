// `flm retrieve`: rank the images of a folder for one text. The score depends on the checkpoint:
//   rank      a retrieval fine-tuned model: rank_output(cls_feats) (spec D.10, F; retrieval-eval.ts)
//   caption   a caption model: log-likelihood of `<s> <bos> text <eos> </s>` on the forward stream (D.11)
//   flm, ar, mlm, prefixlm   a pretrained model: minus its pretraining loss (zero-shot.ts)
import { noGrad, tensor, tidy, type Tensor } from '../../tensor/index.js';
import { forwardMask, lmLabels, toAdditive } from '../../objectives/index.js';
import { preprocessCaption } from '../../data/text.js';
import { CheckpointError } from '../../train/checkpoint.js';
import { captionImageTokens, forwardStream } from '../caption/decode.js';
import { encodeCaptions, type CaptionTokens } from '../caption/tokens.js';
import { captionModelOf } from '../caption/infer.js';
import { chunks, loadImageBatch } from '../common/inference-inputs.js';
import { rowCrossEntropy } from '../common/inference-features.js';
import { rankScorer, type PairScorer, type TextSlice } from './eval.js';
import { zeroShotObjective, zeroShotScorer } from './zero-shot.js';
import type { FLMModel } from '../../models/index.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import type { RunModel } from '../common/inference-model.js';

export interface RankedImage {
  path: string;
  score: number;
}

/** Log-likelihood per image [n] of one caption on the forward stream (mean over its tokens). images [n, 3, S, S]. */
export function captionLogLikelihood(model: FLMModel, tok: TextTokenizer, ct: CaptionTokens, images: Tensor, text: string): Float32Array | number[] {
  return noGrad(() => tidy(() => {
    const n = images.shape[0]!;
    const e = encodeCaptions(tok, ct, [text], model.config.max_text_len);
    const ids = tensor(e.ids, { shape: e.shape, dtype: 'int64' }).repeat(n, 1); // [n, L]
    const masks = tensor(e.mask, { shape: e.shape, dtype: 'int64' }).repeat(n, 1); // [n, L]
    const L = ids.shape[1]!;
    const f = forwardStream(model, captionImageTokens(model, images), ids, toAdditive(forwardMask(masks))); // [n, L, H]
    const logits = model.lm_score!.forward(f.narrow(1, 1, L - 2)); // [n, L-2, V]
    return rowCrossEntropy(logits, lmLabels(ids).narrow(1, 1, L - 2), tok.specialIds.pad).neg().toFlatArray(); // [n]
  }));
}

/** The scorer of a non-caption checkpoint: its rank head, or minus its pretraining loss. */
function pairScorer(run: RunModel): { kind: string; scorer: PairScorer & { restore?(): void } } {
  if (run.model.rank_output) return { kind: 'rank', scorer: rankScorer(run.model as FLMModel) };
  if (run.task !== 'pretrain') {
    throw new CheckpointError(`${run.dir}: a ${run.task} checkpoint cannot score image-text pairs (use a retrieval, caption or pretraining checkpoint)`);
  }
  const objective = zeroShotObjective(run.model, (run.state.config as { objective?: unknown } | undefined)?.objective);
  return { kind: objective, scorer: zeroShotScorer(run.model, objective) };
}

/** Every image file scored for the text, best first. The text is preprocessed like a caption (E.4). */
export async function retrieveImages(run: RunModel, paths: readonly string[], text: string, o: { batchSize?: number } = {}): Promise<{ score: string; ranked: RankedImage[] }> {
  if (text.trim() === '') throw new RangeError('the query text is empty');
  const query = preprocessCaption(text);
  const scored: RankedImage[] = [];
  if (run.task === 'caption') {
    const { model, tokens } = captionModelOf(run);
    for (const group of chunks(paths, o.batchSize ?? 32)) {
      const images = await loadImageBatch(group, run.config.image_size); // [n, 3, S, S]
      try {
        const s = captionLogLikelihood(model, run.tokenizer, tokens, images, query);
        group.forEach((path, i) => scored.push({ path, score: s[i]! }));
      } finally {
        images.dispose();
      }
    }
    return { score: 'caption', ranked: scored.sort((a, b) => b.score - a.score) };
  }
  const { kind, scorer } = pairScorer(run);
  const e = run.tokenizer.encodeBatch([query]);
  const slice: TextSlice = {
    ids: tensor(e.ids, { shape: e.shape, dtype: 'int64' }), masks: tensor(e.attentionMask, { shape: e.shape, dtype: 'int64' }),
    wordIds: tensor(e.wordIds, { shape: e.shape, dtype: 'int64' }), start: 0, count: 1,
  };
  try {
    for (const [i, path] of paths.entries()) {
      const image = await loadImageBatch([path], run.config.image_size); // [1, 3, S, S]
      try {
        scored.push({ path, score: noGrad(() => tidy(() => scorer.score(image, i, slice)[0]!)) });
      } finally {
        image.dispose();
      }
    }
  } finally {
    scorer.restore?.();
    for (const t of [slice.ids, slice.masks, slice.wordIds]) t.dispose();
  }
  return { score: kind, ranked: scored.sort((a, b) => b.score - a.score) };
}
