// Image-text retrieval fine-tuning (official `ft_irtr_*` = loss {itm: 0.5, irtr: 1}, spec D.10, E.7):
//   irtr  each image against its true caption (candidate 0) and `negatives` (draw_false_text = 15)
//         captions drawn uniformly from the training data (`hardNegatives` of them instead chosen by
//         word overlap with the true caption, hard-negatives.ts); one backbone pass over B·K pairs;
//         K-way softmax over rank_output(cls_feats) [B, K], target 0.
//   image negatives (`imageNegatives` M > 0, not in the official recipe): each true caption is also ranked
//         against M other images of the batch (all of them when the micro-batch has fewer), a (1 + M)-way
//         softmax with its own image first (term irtr_img, weight 1; image-negatives.ts says why).
//   loss scorer (`scorer: 'loss'`, not in the official recipe): a pair's score is minus its FLM pretraining
//         loss (the zero-shot scorer, zero-shot.ts), trained by the same softmaxes, plus the true
//         captions' own loss (weight `lmWeight`); no rank or ITM head. Zero-shot ranking by that loss is
//         already strong for text-to-image retrieval, which a new rank head has to learn from nothing.
//   itm   weight 0.5: half of the true captions get another image of the batch (D.6); CE of
//         itm_score(cls_feats). The official single-stream ITM path cannot run (H.11), so ITM reads the
//         FLM backbone's cls_feats, as rank_output does. itm_score is frozen and rank_output shares
//         storage with its row 1 (B.8): both reproduced by the model (heads.ts RankOutput).
// Each negative caption gets its own attention masks and reconstructor queries (the official code
// reuses the true caption's, D.10 [bug?]; only the </s> query column differs).
import type { FLMModel, LossName } from '../../models/index.js';
import { irtrLoss, itmLoss, sampleItmBatch, type ObjectiveResult } from '../../objectives/index.js';
import type { Batch } from '../../data/loader.js';
import type { DatasetSource } from '../../data/types.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { captionPool, drawNegatives, loadRetrievalSet, type RetrievalSet } from './data.js';
import { drawHardNegatives } from './hard-negatives.js';
import { drawImageNegatives } from './image-negatives.js';
import { F, tensor, type Tensor } from '../../tensor/index.js';
import { evaluateRetrieval, rankScorer } from './eval.js';
import { DEFAULT_LM_WEIGHT } from './spec.js';
import { pairLoss, zeroShotScorer } from './zero-shot.js';
import { batchImage, clsFeatures, fullLosses, textTensors, type EvalOptions, type FinetuneTask, type StepContext, type TaskEvaluation } from '../common/task.js';

export interface RetrievalTaskOptions {
  /** captions per image besides the true one (official draw_false_text = 15) */
  negatives: number;
  /** how many of the negatives are hard ones (the most word-overlapping of random draws); 0: all random */
  hardNegatives?: number;
  /** weight of the ITM term (official 0.5; 0 turns it off) */
  itmWeight: number;
  /** other images of the batch each true caption is also ranked against (0: none, as the official code) */
  imageNegatives?: number;
  /** what scores a pair: 'rank' = rank_output(cls_feats) (official), 'loss' = minus the FLM pretraining loss */
  scorer?: RetrievalScorer;
  /** 'loss' scorer: weight of the true captions' own pretraining loss beside the ranking terms */
  lmWeight?: number;
}

export const RETRIEVAL_SCORERS = ['rank', 'loss'] as const;
export type RetrievalScorer = (typeof RETRIEVAL_SCORERS)[number];

export const RETRIEVAL_LOSSES: Partial<Record<LossName, number>> = { itm: 0.5, irtr: 1 };

/** The irtr (+ itm) loss of one micro-batch. pool: preprocessed captions negatives are drawn from. */
export function retrievalLoss(model: FLMModel, b: Batch, tok: TextTokenizer, pool: readonly string[], ctx: StepContext, o: RetrievalTaskOptions): ObjectiveResult {
  const byLoss = (o.scorer ?? 'rank') === 'loss';
  if (!byLoss && !model.rank_output) throw new Error('the retrieval model has no rank_output head (loss_names.irtr = 0)');
  if (byLoss && !model.lm_score_r) throw new Error('the loss scorer needs an FLM model with its LM heads (fine-tune it from an FLM pretraining run)');
  // scores [P] of pairs (images [P, 3, S, S], texts [P, L])
  const pairScores = (images: Tensor, ids: Tensor, masks: Tensor): Tensor => (byLoss
    ? pairLoss(model, 'flm', images, { ids, masks, wordIds: ids, start: 0, count: ids.size(0) }, {}).neg() // (FLM's loss reads no word ids)
    : model.rank_output!.forward(clsFeatures(model, images, ids, masks)).reshape(-1));
  const B = b.size;
  const K = 1 + o.negatives;
  const L = model.config.max_text_len;
  const key = { seed: ctx.seed, step: ctx.step, micro: ctx.micro };
  const hard = o.hardNegatives ?? 0;
  const random = drawNegatives(pool, B, o.negatives - hard, key);
  const hardOnes = drawHardNegatives(pool, b.texts, hard, key);
  const negatives = random.map((r, i) => [...hardOnes[i]!, ...r]);
  const texts = b.texts.flatMap((t, i) => [t, ...negatives[i]!]); // image-major, true caption first
  const text = textTensors(tok, texts, L); // [B·K, L]
  const image = batchImage(b); // [B, 3, S, S]
  const pairs = image.repeatInterleave(K, 0); // [B·K, 3, S, S]
  const scores = pairScores(pairs, text.ids, text.masks); // [B·K]
  let irtr = irtrLoss({ scores, numCandidates: K });
  const trueIds = text.ids.reshape(B, K, L).select(1, 0); // [B, L]
  const trueMasks = text.masks.reshape(B, K, L).select(1, 0); // [B, L]
  const M = Math.min(o.imageNegatives ?? 0, B - 1); // a micro-batch smaller than 1 + M ranks against all its other images
  if (M > 0) {
    // each true caption under its own image (the score above) and under M other images of the batch
    const neg = drawImageNegatives(b.texts, M, key);
    const negImages = image.indexSelect(0, tensor(BigInt64Array.from(neg.index.flat(), BigInt), { shape: [B * M], dtype: 'int64' })); // [B·M, 3, S, S]
    const negScores = pairScores(negImages, trueIds.repeatInterleave(M, 0), trueMasks.repeatInterleave(M, 0)).reshape(B, M); // [B, M]
    const excuse = tensor(Float32Array.from(neg.excused.flat(), (x) => (x ? -1e4 : 0)), { shape: [B, M] }); // [B, M]
    const t2i = irtrLoss({ scores: F.cat([scores.reshape(B, K).narrow(1, 0, 1), negScores.add(excuse)], 1), numCandidates: 1 + M }); // [B, 1 + M]
    irtr = {
      loss: irtr.loss.add(t2i.loss),
      terms: { irtr: irtr.loss, irtr_img: t2i.loss },
      metrics: { ...irtr.metrics, irtrImageAccuracy: t2i.metrics.irtrAccuracy! },
    };
  }
  if (byLoss) {
    // the true captions' own pretraining loss keeps the scorer a language model while the ranking terms sharpen it
    const w = o.lmWeight ?? DEFAULT_LM_WEIGHT;
    if (w <= 0) return irtr;
    const lm = scores.reshape(B, K).select(1, 0).neg().mean(); // []
    return { loss: irtr.loss.add(lm.mul(w)), terms: { ...irtr.terms, lm }, metrics: irtr.metrics };
  }
  if (o.itmWeight <= 0) return irtr;
  const { labels, imageIndex } = sampleItmBatch(B); // [B], [B]
  const itmLogits = model.itm(clsFeatures(model, image.indexSelect(0, imageIndex), trueIds, trueMasks)); // [B, 2]
  const itm = itmLoss({ logits: itmLogits, labels });
  return {
    loss: irtr.loss.add(itm.loss.mul(o.itmWeight)),
    terms: { ...irtr.terms, itm: itm.loss },
    metrics: { ...irtr.metrics, ...itm.metrics },
  };
}

class RetrievalTask implements FinetuneTask {
  readonly name = 'retrieval' as const;
  readonly stateExtras = {};
  readonly #sets = new Map<string, RetrievalSet>();

  constructor(readonly pool: readonly string[], readonly opts: RetrievalTaskOptions) {}

  modelOverrides() {
    return { loss_names: fullLosses(this.opts.scorer === 'loss' ? { flm: 1 } : RETRIEVAL_LOSSES) };
  }

  loss(model: FLMModel, b: Batch, tok: TextTokenizer, ctx: StepContext): ObjectiveResult {
    if (this.pool.length === 0) throw new Error('retrieval training needs a caption pool (createRetrievalTask with the training data)');
    return retrievalLoss(model, b, tok, this.pool, ctx, this.opts);
  }

  async evaluate(model: FLMModel, tok: TextTokenizer, spec: string, o: EvalOptions = {}): Promise<TaskEvaluation> {
    const key = `${spec}|${model.config.image_size}|${o.limit ?? ''}`;
    let set = this.#sets.get(key);
    if (!set) {
      set = await loadRetrievalSet(spec, model.config.image_size, { limit: o.limit, workers: o.workers });
      this.#sets.set(key, set); // kept for the next evaluation of the run
    }
    // a model fine-tuned with the loss scorer has no rank head: it ranks by its FLM loss, as zero-shot retrieval does
    const r = evaluateRetrieval(set, model.rank_output ? rankScorer(model) : zeroShotScorer(model, 'flm'), tok, { textBatch: o.batchSize, progress: o.progress, pg: o.pg ?? null });
    return { metrics: { ...r.metrics }, selection: r.metrics.r1_sum, ranks: r.ranks, items: r.items };
  }
}

/** The retrieval task; with training data, its captions become the negative pool. */
export async function createRetrievalTask(train: DatasetSource | null, opts: RetrievalTaskOptions): Promise<FinetuneTask> {
  if (!Number.isInteger(opts.negatives) || opts.negatives < 1) throw new RangeError(`negatives must be an integer >= 1, got ${opts.negatives}`);
  const hard = opts.hardNegatives ?? 0;
  if (!Number.isInteger(hard) || hard < 0 || hard > opts.negatives) throw new RangeError(`hard negatives must be an integer in [0, negatives = ${opts.negatives}], got ${hard}`);
  if (!(RETRIEVAL_SCORERS as readonly string[]).includes(opts.scorer ?? 'rank')) throw new RangeError(`scorer must be one of ${RETRIEVAL_SCORERS.join(', ')}, got ${String(opts.scorer)}`);
  const images = opts.imageNegatives ?? 0;
  if (!Number.isInteger(images) || images < 0) throw new RangeError(`image negatives must be an integer >= 0, got ${images}`);
  return new RetrievalTask(train ? await captionPool(train) : [], opts);
}
