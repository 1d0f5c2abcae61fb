// Settings of a fine-tuning run, their per-task defaults (the official recipes of spec E.7, scaled to
// the shapes world on a CPU) and their validation.
import { SettingChecks, checkCommonSettings, type CommonTrainSettings } from '../train/config-checks.js';
import type { PresetName } from '../models/index.js';
import { TASK_NAMES, type TaskName } from './task.js';
import { TASK_DATA } from './task-data.js';

export interface FinetuneConfig extends CommonTrainSettings {
  task: TaskName;
  /** pretraining (or fine-tuning) run folder or checkpoint folder; null: random init of `preset` */
  from: string | null;
  preset: PresetName;
  /** data evaluated every `evalEvery` steps and at the end (best checkpoint by the task's metric); null: none */
  valData: string | null;
  /** examples per forward pass: images (retrieval, each with 1 + negatives captions), questions or statement pairs */
  microBatch: number;
  evalEvery: number;
  /** retrieval: captions drawn per image besides the true one (official draw_false_text 15) */
  negatives: number;
  /** retrieval: weight of the ITM term (official 0.5) */
  itmWeight: number;
  /** evaluation batch: texts per image pass (retrieval), examples per pass (VQA, NLVR2) */
  evalBatch: number;
  /** evaluation: only the first n images / examples of valData (0: all) */
  evalLimit: number;
  /** VQA on non-shapes data: answers kept in the vocabulary (official 9) */
  minAnswerCount: number;
}

export const FINETUNE_DEFAULTS: Omit<FinetuneConfig, 'task' | 'data' | 'valData' | 'out'> = {
  from: null, preset: 'small', steps: 200, batchSize: 16, microBatch: 16, lr: 1e-4, warmup: 0.1, endLr: 0, decayPower: 1,
  weightDecay: 0.01, lrMultHead: 5, lrMultCrossModal: 5, optimizer: 'adamw', clipNorm: 0, dropRate: null, tokenizer: null,
  vocabSize: null, augment: false, workers: 1, seed: 0, threads: 0, logEvery: 10, saveEvery: 100, evalEvery: 100, keepLast: 2,
  maxNonFinite: 10, timeBudgetS: 0, precision: 'fp32', negatives: 15, itmWeight: 0.5, evalBatch: 64, evalLimit: 0, minAnswerCount: 9,
};

/**
 * Per-task defaults. Official recipes (E.7): retrieval lr 5e-6, head x5, cross-modal x5, batch 512,
 * 15 negatives (a 16-way softmax); VQA lr 5e-6, head x50, x5, batch 512; NLVR2 lr 1e-5, head x10, x5,
 * batch 256; all warmup 0.1 with linear decay. The multipliers are kept; the base lr is raised (5e-5:
 * retrieval from a short small-preset FLM pretrain collapsed to a constant score at 3e-4 and learned
 * least at 1e-4) and the batches (and retrieval negatives: 3, a 4-way softmax; --negatives 15 for the
 * official one) shrunk so that a default run of the small preset takes minutes on two CPU cores.
 */
export const TASK_DEFAULTS: Record<TaskName, Partial<FinetuneConfig> & { data: string; valData: string; testData: string }> = {
  retrieval: { ...TASK_DATA.retrieval, steps: 100, evalEvery: 50, batchSize: 8, microBatch: 8, negatives: 3, lr: 5e-5, lrMultHead: 5, lrMultCrossModal: 5 },
  vqa: { ...TASK_DATA.vqa, steps: 150, evalEvery: 50, batchSize: 32, microBatch: 32, lr: 5e-5, lrMultHead: 50, lrMultCrossModal: 5 },
  nlvr2: { ...TASK_DATA.nlvr2, steps: 150, evalEvery: 50, batchSize: 16, microBatch: 16, lr: 5e-5, lrMultHead: 10, lrMultCrossModal: 5 },
};

/** The full default settings of a task (data, out and the task's recipe included). */
export function finetuneDefaults(task: TaskName): FinetuneConfig {
  const { testData: _t, ...d } = TASK_DEFAULTS[task];
  return { ...FINETUNE_DEFAULTS, out: `runs/${task}`, ...d, task };
}

export function validateFinetuneConfig(input: FinetuneConfig): FinetuneConfig {
  const ch = new SettingChecks<FinetuneConfig>({ ...input, precision: input.precision ?? 'fp32' });
  const c = ch.c;
  if (!(TASK_NAMES as readonly string[]).includes(c.task)) ch.fail(`task must be one of ${TASK_NAMES.join(', ')}, got '${String(c.task)}'`);
  checkCommonSettings(ch);
  if (c.from !== null && (typeof c.from !== 'string' || !c.from)) ch.fail('from must be a run or checkpoint folder, or null');
  if (c.valData !== null && (typeof c.valData !== 'string' || !c.valData)) ch.fail('valData must be a dataset spec or null');
  for (const k of ['evalEvery', 'negatives', 'evalBatch', 'minAnswerCount'] as const) ch.int(k, 1);
  ch.int('evalLimit', 0);
  ch.num('itmWeight', 0, 1e3);
  ch.bool('augment');
  return ch.done('fine-tuning');
}
