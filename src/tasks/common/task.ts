// What the fine-tuning recipe (finetune-recipe.ts) and `flm eval` need from a downstream task: the task's
// model heads, the loss of one micro-batch, and an evaluation that returns the task's metrics and its
// checkpoint-selection value (spec F). Implemented by retrieval/, vqa/ and nlvr2/ (task.ts).
import type { ProcessGroup } from '../../dist/process-group.js';
import { tensor, tidy, type Tensor } from '../../tensor/index.js';
import { specialIds, type ConfigOverrides, type FLMModel, type LossName } from '../../models/index.js';
import { flmMasks, fusionIds, type ObjectiveResult } from '../../objectives/index.js';
import type { Batch } from '../../data/loader.js';
import type { TextTokenizer } from '../../data/tokenizer.js';

export type { StepContext } from '../../train/recipe.js';
import type { StepContext } from '../../train/recipe.js';
import type { VqaPrediction } from '../vqa/task.js';

export interface EvalOptions {
  /** texts (retrieval) or examples (VQA, NLVR2) per forward pass */
  batchSize?: number;
  /** only the first n images (retrieval) or examples */
  limit?: number;
  /** decode worker threads */
  workers?: number;
  /** progress messages (stderr); none when absent */
  progress?: (message: string) => void;
  /**
   * Data parallelism (a fine-tune under `--nproc`): retrieval splits the images over the ranks and
   * all-gathers the scores; VQA and NLVR2 evaluate the whole set on every rank (same numbers everywhere).
   */
  pg?: ProcessGroup | null;
}

export type TaskMetrics = Record<string, number>;

export interface TaskEvaluation {
  metrics: TaskMetrics;
  /** the checkpoint-selection value (higher is better): IR@1 + TR@1, VQA score, NLVR2 accuracy */
  selection: number;
  /** VQA: each question's answer (the EvalAI submission keys {question_id, answer}, then the question, its types and score) */
  predictions?: VqaPrediction[];
  /** per metric that is a mean over examples, each example's score (`flm compare` bootstraps over them) */
  items?: Record<string, number[]>;
  /** retrieval: where each query's first correct item ranks (1 = best) */
  ranks?: RetrievalRankList;
  /** NLVR2: the verdict on each statement */
  judgements?: Nlvr2Judgement[];
}

/** One NLVR2 verdict: the official prediction-file keys (identifier, "True"/"False"), the statement and its label where known. */
export interface Nlvr2Judgement {
  identifier: string;
  prediction: 'True' | 'False';
  sentence: string;
  label?: 'True' | 'False';
  /** the kind of statement, where the data says (the shapes world) */
  statement_type?: string;
}

/** Retrieval ranks per query: each image's best true caption among all captions, each caption's image among all images (null: none is correct). */
export interface RetrievalRankList {
  images: Array<{ image_id: string; rank: number | null }>;
  texts: Array<{ text: string; image_id: string; rank: number | null }>;
}

export interface FinetuneTask {
  readonly name: string;
  /** JSON saved in every checkpoint's state.json (VQA: `answers`, read by `flm vqa` and `flm eval vqa`) */
  readonly stateExtras: Record<string, unknown>;
  /** loss_names (and the VQA answer count) of the task model (spec E.7) */
  modelOverrides(): ConfigOverrides;
  /** loss of one training micro-batch; tensors are freed by the caller's tidy */
  loss(model: FLMModel, batch: Batch, tokenizer: TextTokenizer, ctx: StepContext): ObjectiveResult;
  /**
   * Initialise the new task heads from the training data (VQA: output biases at the answer prior).
   * `missing`: the parameter names the source did not provide (null: the whole model is new).
   * Returns a line for the init report, or null when nothing was done.
   */
  initHeads?(model: FLMModel, missing: readonly string[] | null): string | null;
  /**
   * Parameter-name prefixes a fine-tune from a run (`--from`) must load rather than initialise (VQA
   * answered by the LM: the pretrained LM head); the recipe refuses a source without them.
   */
  readonly loadFromSource?: readonly string[];
  /** metrics on a dataset spec; the model is in eval mode and no gradient is recorded */
  evaluate(model: FLMModel, tokenizer: TextTokenizer, spec: string, o?: EvalOptions): Promise<TaskEvaluation>;
}

/**
 * cls_feats [B, H] of (image, text) pairs: the pooled reconstructor CLS of the three-stream model
 * (spec B.5 step 8), which every FLM fine-tuning head reads. The span corruption rate is 0: reconstructor
 * rows are independent and row 0 is never corrupted, so cls_feats are the same at any rate (B.5, H.20).
 * imageTokenTypeIdx: 1, or 2 for NLVR2's second image (B.7).
 */
export function clsFeatures(model: FLMModel, image: Tensor, textIds: Tensor, textMasks: Tensor, imageTokenTypeIdx = 1): Tensor {
  return tidy(() => {
    const fusion = fusionIds(textIds, textMasks, specialIds(model.config).mask); // [B, L]
    const out = model.forward({ image, textIds, textMasks, fusionIds: fusion, masks: flmMasks(textMasks), imageTokenTypeIdx }, { lmLogits: false });
    return out.clsFeats; // [B, H]
  });
}

/** loss_names with every loss not named at 0. */
export function fullLosses(active: Partial<Record<LossName, number>>): Record<LossName, number> {
  return { itm: 0, mlm: 0, ar: 0, flm: 0, vqa: 0, nlvr2: 0, irtr: 0, ...active };
}

/** Image slot `slot` of a loader batch as a tensor [B, 3, S, S]. */
export function batchImage(b: Batch, slot = 0): Tensor {
  const data = b.images[slot];
  if (data === undefined) throw new RangeError(`the batch has ${b.images.length} image slot(s); slot ${slot} was asked for (NLVR2 data has two)`);
  return tensor(data, { shape: b.imageShape }); // [B, 3, S, S]
}

/** Tokenized texts as [B, L] int64 ids and attention mask. */
export function textTensors(tok: TextTokenizer, texts: readonly string[], maxLength: number): { ids: Tensor; masks: Tensor } {
  const e = tok.encodeBatch(texts, maxLength);
  return {
    ids: tensor(e.ids, { shape: e.shape, dtype: 'int64' }), // [B, L]
    masks: tensor(e.attentionMask, { shape: e.shape, dtype: 'int64' }), // [B, L]
  };
}

export interface TextImageBatch {
  image: Tensor; // [B, 3, S, S] float32, CLIP-normalised
  textIds: Tensor; // [B, L] int64: <s> w .. </s> <pad> ..
  textMasks: Tensor; // [B, L] int64, 1 on real tokens
  wordIds?: Tensor; // [B, L] int64, -1 on specials (whole-word masking)
}

/** Typed arrays of a loader batch as the model's input tensors. */
export function batchTensors(b: Batch): TextImageBatch {
  if (!b.text) throw new Error('batch has no tokenized text (the loader needs a tokenizer)');
  const [B, L] = b.text.shape;
  const image = tensor(b.images[0]!, { shape: b.imageShape });
  const ids = tensor(b.text.ids, { shape: [B, L], dtype: 'int64' });
  const masks = tensor(b.text.attentionMask, { shape: [B, L], dtype: 'int64' });
  const words = tensor(b.text.wordIds, { shape: [B, L], dtype: 'int64' });
  return { image, textIds: ids, textMasks: masks, wordIds: words };
}
