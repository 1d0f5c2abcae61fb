// loadModel(): a trained model as one object — caption, answer, judge, score and embed images and
// texts with the weights of a model folder, a checkpoint folder or a run folder. Each method runs the
// same inference code as the `flm` commands (src/tasks/*/infer.ts, common/embed.ts), so the library
// and the CLI give the same answers.
import { setNumThreads } from '../tensor/index.js';
import type { FLMConfig } from '../models/index.js';
import { loadRunModel, type RunModel } from '../tasks/common/inference-model.js';
import type { ImageInput } from '../tasks/common/inference-inputs.js';
import { captionImages, type GeneratedCaption } from '../tasks/caption/infer.js';
import { answerQuestion, type VqaAnswerScore } from '../tasks/vqa/infer.js';
import { judgeStatement, type Nlvr2Judgement } from '../tasks/nlvr2/infer.js';
import { scorePairs } from '../tasks/retrieval/infer.js';
import { embedFeatures } from '../tasks/common/embed.js';

export type { ImageInput } from '../tasks/common/inference-inputs.js';
export type { RgbImage } from '../data/image.js';

/** What a model was trained for; it decides which methods work (`capabilities`). */
export type ModelTask = 'pretrain' | 'retrieval' | 'vqa' | 'nlvr2' | 'caption';

/** The methods of a model that its task and heads support. */
export type Capability = 'caption' | 'answer' | 'judge' | 'score' | 'embed';

export interface LoadModelOptions {
  /** in a run folder: 'best', 'latest' or a step folder name such as 'step-00000100' (default: best when the run has one, else latest) */
  which?: string;
  /** libtorch intra-op threads, for the whole process (default: the process default, every core; `flm info` shows it) */
  threads?: number;
}

/** Decoding options, as `flm caption` takes them. */
export interface CaptionOptions {
  /** beam size (default 1: greedy, the official decoder) */
  beam?: number;
  /** beam score = sum(log p) / length^lengthPenalty (default 1) */
  lengthPenalty?: number;
  /** generated tokens at most, the stop token included (default 30, capped by the model's text length) */
  maxSteps?: number;
  /** images per decoding batch (default 32) */
  batchSize?: number;
}

export interface Caption {
  caption: string;
  /** false when the length limit, not an end token, ended the caption */
  stopped: boolean;
}

export interface Answer {
  answer: string;
  /** sigmoid of the answer's logit (VQA is trained with BCE on soft scores) */
  score: number;
}

export interface AnswerResult extends Answer {
  /** the `top` best answers, best first (the first is `answer`) */
  top: Answer[];
}

export interface Judgement {
  /** the model's verdict: the statement is true of the image pair */
  label: boolean;
  /** probability of "true" */
  probability: number;
}

/**
 * Scores of every (image, text) pair, higher = better match:
 *   'rank'      a retrieval model: its rank head on the fused features (the fine-tuned score)
 *   'caption'   a caption model: mean log-likelihood of the text as the image's caption
 *   'flm' | 'mlm' | 'ar' | 'prefixlm'   a pretrained model: minus its pretraining loss (zero-shot)
 * Scores of different kinds are not comparable.
 */
export interface ScoreMatrix {
  kind: string;
  /** scores[i][j]: image i with text j */
  scores: number[][];
}

/**
 * Pooled features. FLM has no contrastive head, so image and text features live in different spaces:
 * compare images with images and texts with texts; use score() for image-text pairs.
 *   image  'vit_cls_ln_post': the vision tower's class token after its last layer norm (width of the ViT)
 *   text   'text_bottom_cls': the text CLS after the uni-modal text layers, without an image
 */
export interface Embeddings {
  kind: 'image' | 'text';
  feature: 'vit_cls_ln_post' | 'text_bottom_cls';
  dim: number;
  /** one vector per input, in order */
  vectors: Float32Array[];
}

export type EmbedInput = { images: readonly ImageInput[] } | { texts: readonly string[] };

export interface FlmModel {
  /** the folder the weights were read from (for a run folder: the checkpoint chosen) */
  readonly dir: string;
  readonly task: ModelTask;
  /** the training step of the weights */
  readonly step: number;
  /** the model config (official names) */
  readonly config: Readonly<FLMConfig>;
  /** the methods this model supports; the others throw a ModelTaskError */
  readonly capabilities: readonly Capability[];
  /** Captions for one image, or for each of several images (caption models). */
  caption(image: ImageInput, options?: CaptionOptions): Promise<Caption>;
  caption(images: readonly ImageInput[], options?: CaptionOptions): Promise<Caption[]>;
  /** The answer to a question about an image, with the `top` (default 5) best (VQA models). */
  answer(image: ImageInput, question: string, options?: { top?: number }): Promise<AnswerResult>;
  /** Whether a statement is true of a pair of images [left, right] (NLVR2 models). */
  judge(pair: readonly [ImageInput, ImageInput], statement: string): Promise<Judgement>;
  /** The image-text score matrix (retrieval, caption and pretraining models; see ScoreMatrix). */
  score(images: readonly ImageInput[], texts: readonly string[], options?: { batchSize?: number }): Promise<ScoreMatrix>;
  /** Pooled image or text features (every model; see Embeddings). */
  embed(input: EmbedInput, options?: { batchSize?: number }): Promise<Embeddings>;
  /** Frees the model's native memory; the object is unusable afterwards. Safe to call twice. */
  dispose(): void;
}

/** A method was called on a model whose task has no head for it. */
export class ModelTaskError extends Error {
  override readonly name = 'ModelTaskError';
}

const TASK_CAPABILITIES: Record<ModelTask, readonly Capability[]> = {
  pretrain: ['score', 'embed'],
  retrieval: ['score', 'embed'],
  caption: ['caption', 'score', 'embed'],
  vqa: ['answer', 'embed'],
  nlvr2: ['judge', 'embed'],
};

/** Which fine-tuning gives a model each capability (for the error messages). */
const NEEDS: Record<Capability, { tasks: string; finetune: string }> = {
  caption: { tasks: 'a caption model', finetune: 'caption' },
  answer: { tasks: 'a VQA model', finetune: 'vqa' },
  judge: { tasks: 'an NLVR2 model', finetune: 'nlvr2' },
  score: { tasks: 'a retrieval, caption or pretraining model', finetune: 'retrieval' },
  embed: { tasks: 'any model', finetune: 'retrieval' },
};

const isTask = (t: string): t is ModelTask => t in TASK_CAPABILITIES;

class LoadedModel implements FlmModel {
  readonly dir: string;
  readonly task: ModelTask;
  readonly step: number;
  readonly config: Readonly<FLMConfig>;
  readonly capabilities: readonly Capability[];
  #run: RunModel | null;

  constructor(run: RunModel, task: ModelTask) {
    this.#run = run;
    this.dir = run.dir;
    this.task = task;
    this.step = Number(run.state.step);
    this.config = run.config;
    this.capabilities = TASK_CAPABILITIES[task];
  }

  /** The loaded model, once the model supports `what`. */
  #use(what: Capability): RunModel {
    if (!this.#run) throw new Error(`the model of ${this.dir} was disposed`);
    if (!this.capabilities.includes(what)) {
      const n = NEEDS[what];
      const alt = this.task === 'nlvr2' && what === 'answer' ? ' (an NLVR2 model judges statements about image pairs: use judge([left, right], statement))' : '';
      throw new ModelTaskError(`${what}() needs ${n.tasks}; ${this.dir} is a ${this.task} model${alt}. Fine-tune one with \`flm finetune ${n.finetune} --from ${this.dir}\``);
    }
    return this.#run;
  }

  caption(image: ImageInput, options?: CaptionOptions): Promise<Caption>;
  caption(images: readonly ImageInput[], options?: CaptionOptions): Promise<Caption[]>;
  async caption(images: ImageInput | readonly ImageInput[], options: CaptionOptions = {}): Promise<Caption | Caption[]> {
    const run = this.#use('caption');
    const list = Array.isArray(images) ? (images as readonly ImageInput[]) : [images as ImageInput];
    const out = (await captionImages(run, list, options)).map((c: GeneratedCaption): Caption => ({ caption: c.caption, stopped: c.stopped }));
    return Array.isArray(images) ? out : out[0]!;
  }

  async answer(image: ImageInput, question: string, options: { top?: number } = {}): Promise<AnswerResult> {
    const run = this.#use('answer');
    const top = options.top ?? 5;
    if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be a positive integer, got ${top}`);
    const answers = await answerQuestion(run, image, question, { top });
    const best = answers[0]!;
    return { answer: best.answer, score: best.score, top: answers.map((a: VqaAnswerScore) => ({ answer: a.answer, score: a.score })) };
  }

  async judge(pair: readonly [ImageInput, ImageInput], statement: string): Promise<Judgement> {
    const j: Nlvr2Judgement = await judgeStatement(this.#use('judge'), pair, statement);
    return { label: j.label, probability: j.probability };
  }

  async score(images: readonly ImageInput[], texts: readonly string[], options: { batchSize?: number } = {}): Promise<ScoreMatrix> {
    const r = await scorePairs(this.#use('score'), images, texts, options);
    const scores = Array.from({ length: r.images }, (_, i) => Array.from(r.scores.subarray(i * r.texts, (i + 1) * r.texts)));
    return { kind: r.kind, scores };
  }

  async embed(input: EmbedInput, options: { batchSize?: number } = {}): Promise<Embeddings> {
    const f = await embedFeatures(this.#use('embed'), input, options);
    try {
      const [n, dim] = f.features.shape as [number, number];
      const flat = Float32Array.from(f.features.toFlatArray());
      return { kind: f.kind, feature: f.feature, dim, vectors: Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim)) };
    } finally {
      f.features.dispose();
    }
  }

  dispose(): void {
    this.#run?.model.dispose();
    this.#run = null;
  }
}

/**
 * Loads a trained model: a model folder (`flm export`, or any checkpoint folder: config.json,
 * tokenizer.json, model.safetensors), a checkpoint folder, or a run folder (its best checkpoint, else
 * the latest). Older checkpoint folders, which kept the tokenizer in the run folder, load too.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<FlmModel> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('loadModel: give the path of a model, checkpoint or run folder');
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError(`loadModel: threads must be a positive integer, got ${options.threads}`);
    setNumThreads(options.threads);
  }
  const run = await loadRunModel(dir, { which: options.which ?? 'auto' });
  if (!isTask(run.task)) {
    run.model.dispose();
    throw new ModelTaskError(`${run.dir}: unknown task '${run.task}' (known: ${Object.keys(TASK_CAPABILITIES).join(', ')})`);
  }
  return new LoadedModel(run, run.task);
}
