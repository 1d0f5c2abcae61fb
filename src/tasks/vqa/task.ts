// VQA fine-tuning (official `ft_vqa`, spec D.8, E.7): vqa_classifier(cls_feats) over a fixed answer
// vocabulary, BCE-with-logits against the annotators' soft scores (1 -> 0.3, 2 -> 0.6, 3 -> 0.9,
// >= 4 -> 1), mean over B·C times C. Evaluation: the VQA score, the argmax answer scored by its soft
// target (spec F).
//
// `answerHead: 'lm'` answers with the language model instead (lm-answers.ts): each answer scored by its
// log-likelihood after the question on the forward stream, a softmax over the answers in training.
//
// The answer vocabulary: the shapes world's fixed VQA_ANSWERS, or for other data the normalised
// `multiple_choice_answer` values seen at least `minAnswerCount` times in the training data (official:
// 9, over train+val). Training questions without an in-vocabulary answer are dropped, as the official
// code does. The vocabulary is saved in every checkpoint (`answers`), where `flm vqa` reads it.
import { noGrad, tensor, tidy } from '../../tensor/index.js';
import type { FLMModel } from '../../models/index.js';
import { vqaAnswerScore, vqaLoss, vqaSoftmaxLoss, vqaTargets, type ObjectiveResult } from '../../objectives/index.js';
import { VqaScore, argmaxRows, normalizeVqaWord, type VqaTarget } from '../../eval/metrics/vqa.js';
import { VQA_ANSWERS } from '../../data/shapes/index.js';
import { MemorySource } from '../../data/formats/common.js';
import { parseDatasetSpec } from '../../data/spec.js';
import { DataError, type DataItem, type DatasetSource, type ItemMeta, type VqaMeta } from '../../data/types.js';
import type { Batch } from '../../data/loader.js';
import type { TextTokenizer } from '../../data/tokenizer.js';
import { evalBatches } from '../common/eval-batches.js';
import { answerCounts, isVqaMeta, mainAnswer } from './answers.js';
import { ANY_TYPE, answerPriorOf, priorAnswer, type AnswerPrior } from './answer-prior.js';
import { answerPlan, lmAnswerScores, type AnswerPlan } from './lm-answers.js';
import { clsFeatures, fullLosses, type EvalOptions, type FinetuneTask, type StepContext, type TaskEvaluation, batchTensors } from '../common/task.js';

/**
 * One answered question: the VQAv2 result-file keys, then the question, the expected answer, the
 * question and answer types where the data has them, and the question's VQA score (the answer prior's too).
 */
export interface VqaPrediction {
  question_id: number;
  answer: string;
  question: string;
  expected?: string;
  question_type?: string;
  answer_type?: string;
  score: number;
  prior_score?: number;
}

/** Soft target of a question over the vocabulary (answers outside it are dropped). */
export function vqaTargetOf(meta: ItemMeta | undefined, index: ReadonlyMap<string, number>): VqaTarget {
  if (!isVqaMeta(meta)) throw new DataError('a VQA example has no answers (its meta is not VQA meta): use a VQA dataset (shapes:...&task=vqa, vqa:...)');
  const labels: number[] = [];
  const scores: number[] = [];
  for (const [answer, count] of answerCounts(meta)) {
    const c = index.get(answer);
    if (c === undefined) continue;
    labels.push(c);
    scores.push(vqaAnswerScore(count));
  }
  return { labels, scores };
}

async function allItems(src: DatasetSource): Promise<DataItem[]> {
  const out: DataItem[] = [];
  for await (const e of src) if (e.ok) out.push(e.item);
  return out;
}

/** The answer vocabulary of a training set (see the header). */
export function answerVocabulary(items: readonly DataItem[], o: { shapes: boolean; minAnswerCount: number }): string[] {
  if (o.shapes) return VQA_ANSWERS.map(normalizeVqaWord);
  const freq = new Map<string, number>();
  for (const it of items) {
    const m = it.meta;
    if (!isVqaMeta(m)) continue;
    const n = mainAnswer(m);
    if (n !== undefined) freq.set(n, (freq.get(n) ?? 0) + 1);
  }
  const vocab = [...freq].filter(([, n]) => n >= o.minAnswerCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([a]) => a);
  if (vocab.length === 0) throw new DataError(`no answer occurs ${o.minAnswerCount} times or more in the training data: lower --min-answer-count`);
  return vocab;
}

/** What answers: a new classifier on cls_feats (official), or the forward stream's language model. */
export type VqaAnswerHead = 'classifier' | 'lm';

class VqaTask implements FinetuneTask {
  readonly name = 'vqa' as const;
  readonly index: ReadonlyMap<string, number>;
  private plan: { tok: TextTokenizer; plan: AnswerPlan } | null = null;
  readonly loadFromSource: readonly string[];

  /** mean soft target of every answer over `classPriorCount` training questions (null: evaluation only) */
  classPrior: Float64Array | null = null;
  classPriorCount = 0;

  constructor(readonly answers: readonly string[], readonly prior: AnswerPrior | null, readonly head: VqaAnswerHead) {
    this.index = new Map(answers.map((a, i) => [a, i]));
    this.loadFromSource = head === 'lm' ? ['lm_score.'] : [];
  }

  /**
   * A new classifier's output biases start at the log-odds of each answer's mean soft target. With the
   * official zero biases, BCE over every answer spends its first hundreds of steps pushing all the
   * logits down (Adam moves a bias ~lr per step) before any question is told apart.
   */
  initHeads(model: FLMModel, missing: readonly string[] | null): string | null {
    const head = model.vqa_classifier;
    if (this.head !== 'classifier' || !head || !this.classPrior || !head.l3.bias) return null;
    if (missing !== null && !missing.includes('vqa_classifier.3.bias')) return null;
    const logOdds = Float32Array.from(this.classPrior, (p) => {
      const q = Math.min(Math.max(p, 1e-4), 1 - 1e-4);
      return Math.log(q / (1 - q));
    });
    noGrad(() => tidy(() => { head.l3.bias!.copy_(tensor(logOdds)); }));
    return `vqa_classifier.3.bias: the log-odds of each answer's mean soft target over ${this.classPriorCount} training questions`;
  }

  get stateExtras(): Record<string, unknown> {
    return { answers: this.answers, ...(this.prior ? { answer_prior: this.prior } : {}), ...(this.head === 'lm' ? { answer_head: 'lm' } : {}) };
  }

  modelOverrides() {
    // the lm head reads `lm_score`, the forward stream's LM head of a caption model and (shared weights,
    // the default) of an FLM pretraining
    return this.head === 'lm' ? { loss_names: fullLosses({ ar: 1 }) } : { loss_names: fullLosses({ vqa: 1 }), vqa_label_size: this.answers.length };
  }

  private planFor(tok: TextTokenizer): AnswerPlan {
    if (this.plan?.tok !== tok) this.plan = { tok, plan: answerPlan(tok, this.answers) };
    return this.plan.plan;
  }

  /** [B, C]: classifier logits, or (lm) the answers' log-likelihoods; the argmax is the answer either way. */
  logits(model: FLMModel, b: Batch, tok: TextTokenizer) {
    if (this.head === 'lm') return lmAnswerScores(model, tok, this.planFor(tok), batchTensors(b).image, b.texts);
    if (!model.vqa_classifier) throw new Error('the model has no vqa_classifier head (loss_names.vqa = 0)');
    const x = batchTensors(b);
    return model.vqa_classifier.forward(clsFeatures(model, x.image, x.textIds, x.textMasks)); // [B, C]
  }

  loss(model: FLMModel, b: Batch, tok: TextTokenizer, _ctx: StepContext): ObjectiveResult {
    const t = b.meta.map((m) => vqaTargetOf(m, this.index));
    const targets = vqaTargets(t.map((x) => x.labels), t.map((x) => x.scores), this.answers.length); // [B, C]
    return (this.head === 'lm' ? vqaSoftmaxLoss : vqaLoss)({ logits: this.logits(model, b, tok), targets });
  }

  async evaluate(model: FLMModel, tok: TextTokenizer, spec: string, o: EvalOptions = {}): Promise<TaskEvaluation> {
    const score = new VqaScore();
    // the answer-prior baseline, scored by the same scorer from one-hot logits
    const priorScore = new VqaScore();
    const C = this.answers.length;
    const predictions: VqaPrediction[] = [];
    let n = 0;
    for await (const b of evalBatches(spec, model.config.image_size, tok, model.config.max_text_len, o)) {
      const logits = noGrad(() => tidy(() => this.logits(model, b, tok).toTypedArray() as Float32Array)); // [B·C]
      const targets = b.meta.map((m) => vqaTargetOf(m, this.index));
      score.update(logits, C, targets);
      if (this.prior) priorScore.update(this.priorLogits(b.meta as VqaMeta[], C), C, targets);
      const first = predictions.length;
      argmaxRows(logits, C).forEach((c, i) => {
        const m = b.meta[i] as VqaMeta;
        predictions.push({
          question_id: m.questionId, answer: this.answers[c]!, question: b.texts[i]!, ...(m.multipleChoiceAnswer !== undefined ? { expected: m.multipleChoiceAnswer } : {}),
          ...(m.questionType !== undefined ? { question_type: m.questionType } : {}), ...(m.answerType !== undefined ? { answer_type: m.answerType } : {}),
          score: score.rows[first + i]!, ...(this.prior ? { prior_score: priorScore.rows[first + i]! } : {}),
        });
      });
      n += b.size;
    }
    const vqaScore = score.compute();
    return {
      metrics: { vqa_score: vqaScore, ...(this.prior ? { vqa_prior_score: priorScore.compute() } : {}), n }, selection: vqaScore, predictions,
      items: { vqa_score: score.rows, ...(this.prior ? { vqa_prior_score: priorScore.rows } : {}) },
    };
  }

  /** One-hot rows at the prior's answer (the most common answer of all types where a type's is outside the vocabulary). */
  private priorLogits(metas: readonly VqaMeta[], C: number): Float32Array {
    const prior = this.prior!;
    const fallback = this.index.get(prior[ANY_TYPE]!) ?? 0;
    const out = new Float32Array(metas.length * C);
    metas.forEach((m, i) => {
      out[i * C + (this.index.get(priorAnswer(prior, m)) ?? fallback)] = 1;
    });
    return out;
  }
}

/**
 * The VQA task. With training data: its vocabulary (unless `answers` is given) and a source without
 * the unanswerable questions; without: evaluation only, `answers` required.
 */
export async function createVqaTask(
  train: { spec: string; source: DatasetSource } | null,
  o: { answers?: readonly string[]; prior?: AnswerPrior | null; minAnswerCount: number; answerHead?: VqaAnswerHead },
): Promise<{ task: FinetuneTask; source: DatasetSource | null }> {
  if (!train) {
    if (!o.answers || o.answers.length === 0) throw new Error('VQA evaluation needs the answer vocabulary of the fine-tuned run (state.json `answers`)');
    return { task: new VqaTask(o.answers, o.prior ?? null, o.answerHead ?? 'classifier'), source: null };
  }
  const items = await allItems(train.source);
  if (!items.some((it) => isVqaMeta(it.meta))) throw new DataError(`${train.spec}: no VQA questions (use shapes:...&task=vqa or a vqa: spec)`);
  const answers = o.answers ?? answerVocabulary(items, { shapes: parseDatasetSpec(train.spec).scheme === 'shapes', minAnswerCount: o.minAnswerCount });
  const task = new VqaTask(answers, answerPriorOf(items), o.answerHead ?? 'classifier');
  const kept: DataItem[] = [];
  const mean = new Float64Array(answers.length);
  for (const it of items) {
    const t = vqaTargetOf(it.meta, task.index);
    if (t.labels.length === 0) continue;
    kept.push(it);
    t.labels.forEach((c, k) => { mean[c]! += t.scores[k]!; });
  }
  if (kept.length === 0) throw new DataError(`${train.spec}: no question has an answer in the vocabulary`);
  task.classPrior = mean.map((v) => v / kept.length);
  task.classPriorCount = kept.length;
  const s = train.source;
  return { task, source: new MemorySource(s.name, kept, s.textKind, s.openFailures, s.imagesPerItem) };
}
