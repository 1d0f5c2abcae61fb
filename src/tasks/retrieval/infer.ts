// `flm retrieve` and the library's score(): image-text pairs scored. The score depends on the checkpoint:
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
import { chunks, loadImageBatch, type ImageInput } from '../common/inference-inputs.js';
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

export interface PairScores {
  /** what scored the pairs: 'rank' (retrieval head), 'caption' (caption likelihood) or the pretraining objective */
  kind: string;
  /** S[i, j] = score of image i with text j (higher = better match), row-major [images, texts] */
  scores: Float32Array;
  images: number;
  texts: number;
}

/**
 * Every (image, text) pair scored (see the header for the score of each kind of checkpoint). Texts are
 * preprocessed like captions (E.4); images are decoded `batchSize` at a time, texts scored `textBatch`
 * at a time against each image (the evaluation's batching, spec F).
 */
export async function scorePairs(
  run: RunModel, images: readonly ImageInput[], texts: readonly string[], o: { batchSize?: number; textBatch?: number } = {},
): Promise<PairScores> {
  if (images.length === 0) throw new RangeError('no images to score');
  if (texts.length === 0) throw new RangeError('no texts to score');
  texts.forEach((t, j) => {
    if (typeof t !== 'string' || t.trim() === '') throw new RangeError(texts.length === 1 ? 'the query text is empty' : `text #${j} is empty`);
  });
  const queries = texts.map(preprocessCaption);
  const nT = queries.length;
  const scores = new Float32Array(images.length * nT);
  const bs = o.batchSize ?? 32;
  if (run.task === 'caption') {
    const { model, tokens } = captionModelOf(run);
    let row = 0;
    for (const group of chunks(images, bs)) {
      const batch = await loadImageBatch(group, run.config.image_size, row); // [n, 3, S, S]
      try {
        queries.forEach((q, j) => {
          const s = captionLogLikelihood(model, run.tokenizer, tokens, batch, q); // [n]
          for (let i = 0; i < group.length; i++) scores[(row + i) * nT + j] = s[i]!;
        });
      } finally {
        batch.dispose();
      }
      row += group.length;
    }
    return { kind: 'caption', scores, images: images.length, texts: nT };
  }
  const { kind, scorer } = pairScorer(run);
  const T = Math.max(1, o.textBatch ?? 64);
  const e = run.tokenizer.encodeBatch(queries);
  const all = {
    ids: tensor(e.ids, { shape: e.shape, dtype: 'int64' }), // [N_txt, L]
    masks: tensor(e.attentionMask, { shape: e.shape, dtype: 'int64' }), // [N_txt, L]
    wordIds: tensor(e.wordIds, { shape: e.shape, dtype: 'int64' }), // [N_txt, L]
  };
  try {
    let row = 0;
    for (const group of chunks(images, bs)) {
      const batch = await loadImageBatch(group, run.config.image_size, row); // [n, 3, S, S]
      try {
        for (let i = 0; i < group.length; i++) {
          noGrad(() => tidy(() => {
            const image = batch.narrow(0, i, 1); // [1, 3, S, S]
            for (let start = 0; start < nT; start += T) {
              const count = Math.min(T, nT - start);
              tidy(() => {
                const slice: TextSlice = {
                  ids: all.ids.narrow(0, start, count), masks: all.masks.narrow(0, start, count), wordIds: all.wordIds.narrow(0, start, count), start, count,
                };
                scores.set(scorer.score(image, row + i, slice), (row + i) * nT + start);
              });
            }
          }));
        }
      } finally {
        batch.dispose();
      }
      row += group.length;
    }
  } finally {
    scorer.restore?.();
    for (const t of Object.values(all)) t.dispose();
  }
  return { kind, scores, images: images.length, texts: nT };
}

/** Every image file scored for the text, best first. The text is preprocessed like a caption (E.4). */
export async function retrieveImages(run: RunModel, paths: readonly string[], text: string, o: { batchSize?: number } = {}): Promise<{ score: string; ranked: RankedImage[] }> {
  if (text.trim() === '') throw new RangeError('the query text is empty');
  const r = await scorePairs(run, paths, [text], o);
  const ranked = paths.map((path, i) => ({ path, score: r.scores[i]! }));
  return { score: r.kind, ranked: ranked.sort((a, b) => b.score - a.score) };
}
