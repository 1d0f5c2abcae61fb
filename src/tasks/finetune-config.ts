// Settings of a fine-tuning run, their per-task defaults (the official recipes of spec E.7, scaled to
// the shapes world on a CPU) and their validation.
import { PRECISIONS, type Precision } from '../train/loop.js';
import { PRESETS, type PresetName } from '../models/index.js';
import { TrainConfigError } from '../train/pretrain.js';
import { resolveWarmupSteps } from '../train/schedule.js';
import { TASK_NAMES, type TaskName } from './task.js';
import { TASK_DATA } from './task-data.js';

export interface FinetuneConfig {
  task: TaskName;
  /** pretraining (or fine-tuning) run folder or checkpoint folder; null: random init of `preset` */
  from: string | null;
  /** model size when starting from scratch (otherwise the source run's) */
  preset: PresetName;
  /** training data spec */
  data: string;
  /** data evaluated every `evalEvery` steps and at the end (best checkpoint by the task's metric); null: none */
  valData: string | null;
  out: string;
  steps: number;
  /** effective batch: images (retrieval, each with 1 + negatives captions), questions or statement pairs */
  batchSize: number;
  /** examples per forward pass; batchSize must be a multiple */
  microBatch: number;
  lr: number;
  /** warmup steps, or a fraction of `steps` when < 1 */
  warmup: number;
  endLr: number;
  decayPower: number;
  weightDecay: number;
  lrMultHead: number;
  lrMultCrossModal: number;
  optimizer: 'adamw' | 'adamw-hf';
  clipNorm: number;
  /** dropout of the text and fusion layers (null: the source model's) */
  dropRate: number | null;
  /** from scratch: a tokenizer.json (null: train a BPE vocabulary on the data) */
  tokenizer: string | null;
  vocabSize: number | null;
  augment: boolean;
  workers: number;
  seed: number;
  threads: number;
  logEvery: number;
  saveEvery: number;
  evalEvery: number;
  keepLast: number;
  maxNonFinite: number;
  timeBudgetS: number;
  /** 'bf16': bfloat16 autocast of the forward pass (CPU); 'fp32': float32 throughout */
  precision: Precision;
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
  const c: FinetuneConfig = { ...input, precision: input.precision ?? 'fp32' };
  const bad: string[] = [];
  if (!PRECISIONS.includes(c.precision)) bad.push(`precision must be one of ${PRECISIONS.join(', ')}, got '${String(c.precision)}'`);
  const int = (k: keyof FinetuneConfig, min: number): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad.push(`${k} must be an integer >= ${min}, got ${String(v)}`);
  };
  const num = (k: keyof FinetuneConfig, min: number, max = Infinity): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad.push(`${k} must be a number in [${min}, ${max}], got ${String(v)}`);
  };
  if (!(TASK_NAMES as readonly string[]).includes(c.task)) bad.push(`task must be one of ${TASK_NAMES.join(', ')}, got '${String(c.task)}'`);
  if (!(c.preset in PRESETS)) bad.push(`preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${String(c.preset)}'`);
  if (typeof c.data !== 'string' || !c.data) bad.push('data (a dataset spec) is required');
  if (typeof c.out !== 'string' || !c.out) bad.push('out (the run folder) is required');
  if (c.from !== null && (typeof c.from !== 'string' || !c.from)) bad.push('from must be a run or checkpoint folder, or null');
  if (c.valData !== null && (typeof c.valData !== 'string' || !c.valData)) bad.push('valData must be a dataset spec or null');
  int('steps', 1); int('batchSize', 1); int('microBatch', 1); int('seed', 0); int('threads', 0); int('logEvery', 1); int('saveEvery', 1);
  int('evalEvery', 1); int('keepLast', 1); int('workers', 0); int('maxNonFinite', 0); int('negatives', 1); int('evalBatch', 1);
  int('evalLimit', 0); int('minAnswerCount', 1);
  num('lr', 0, 10); num('warmup', 0, Number.MAX_SAFE_INTEGER); num('endLr', 0, 10); num('decayPower', 0, 100); num('weightDecay', 0, 10);
  num('lrMultHead', 0, 1e6); num('lrMultCrossModal', 0, 1e6); num('clipNorm', 0, 1e9); num('timeBudgetS', 0, 1e9); num('itmWeight', 0, 1e3);
  if (c.dropRate !== null) num('dropRate', 0, 0.99);
  if (c.vocabSize !== null) int('vocabSize', 16);
  if (c.optimizer !== 'adamw' && c.optimizer !== 'adamw-hf') bad.push(`optimizer must be 'adamw' or 'adamw-hf', got '${String(c.optimizer)}'`);
  if (typeof c.augment !== 'boolean') bad.push(`augment must be true or false, got ${String(c.augment)}`);
  if (Number.isInteger(c.batchSize) && Number.isInteger(c.microBatch) && c.batchSize % c.microBatch !== 0) {
    bad.push(`batchSize (${c.batchSize}) must be a multiple of microBatch (${c.microBatch})`);
  }
  if (Number.isFinite(c.warmup) && c.warmup >= 0 && Number.isInteger(c.steps) && c.steps >= 1) {
    try {
      const w = resolveWarmupSteps(c.warmup, c.steps);
      if (w >= c.steps) bad.push(`warmup (${w} steps) must be shorter than steps (${c.steps})`);
    } catch (e) {
      bad.push((e as Error).message);
    }
  }
  if (c.lr <= c.endLr) bad.push(`lr (${c.lr}) must be larger than endLr (${c.endLr})`);
  if (bad.length) throw new TrainConfigError(`invalid fine-tuning config:\n  - ${bad.join('\n  - ')}`);
  return c;
}
